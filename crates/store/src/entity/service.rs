use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "services")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub practitioner_id: Uuid,
    pub service_type_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub channel: String,
    pub duration_minutes: i32,
    pub price_minor: i64,
    pub currency: String,
    pub active: bool,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub min_notice_minutes: i32,
    pub slot_interval_minutes: i32,
    pub booking_window_days: i32,
    pub max_per_day: Option<i32>,
    pub max_per_week: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
