use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consultations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub reference: String,
    pub client_id: Uuid,
    pub practitioner_id: Uuid,
    pub practitioner_user_id: Uuid,
    pub channel: String,
    pub status: String,
    pub currency: String,
    pub rate_minor: i64,
    pub commission_bps: i32,
    pub free_minutes: i32,
    pub promo_code: Option<String>,
    pub promo_id: Option<Uuid>,
    pub discount_per_minute: i64,
    /// The most the promo code takes off the whole session.
    pub discount_budget: i64,
    pub requested_at: DateTimeUtc,
    pub respond_by: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub ended_at: Option<DateTimeUtc>,
    pub end_reason: Option<String>,
    pub minutes_billed: i32,
    pub free_minutes_used: i32,
    pub amount_charged: i64,
    pub discount_total: i64,
    pub client_seen_at: Option<DateTimeUtc>,
    pub practitioner_seen_at: Option<DateTimeUtc>,
    pub warned_at_minutes_left: Option<i32>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
