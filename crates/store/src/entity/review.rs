use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub client_id: Uuid,
    pub practitioner_id: Uuid,
    pub rating: i32,
    pub text: String,
    pub public: bool,
    pub verified: bool,
    pub reply: Option<String>,
    pub replied_at: Option<DateTimeUtc>,
    pub hidden: bool,
    pub hidden_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
