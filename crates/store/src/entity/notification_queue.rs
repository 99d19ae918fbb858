use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_queue")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub notification_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub event: String,
    pub category: String,
    /// in_app | email | sms | push
    pub channel: String,
    pub locale: String,
    pub recipient: Option<String>,
    /// JSON template context.
    pub data: String,
    /// pending | retrying | sent | skipped | dead
    pub status: String,
    pub job_id: Option<Uuid>,
    pub run_at: DateTimeUtc,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
