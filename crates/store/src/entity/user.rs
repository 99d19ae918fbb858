use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password_hash: Option<String>,
    pub role: String,
    pub status: String,
    pub first_name: String,
    pub last_name: String,
    pub email_verified: bool,
    pub phone_verified: bool,
    pub gender: Option<String>,
    pub date_of_birth: Option<Date>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub avatar_url: Option<String>,
    pub language: String,
    pub time_zone: String,
    pub last_login_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
