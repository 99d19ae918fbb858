use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub reference: String,
    pub service_id: Uuid,
    pub practitioner_id: Uuid,
    pub practitioner_user_id: Uuid,
    pub client_id: Uuid,
    pub channel: String,
    pub status: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub block_start: DateTimeUtc,
    pub block_end: DateTimeUtc,
    pub time_zone: String,
    pub price: i64,
    pub discount: i64,
    pub amount: i64,
    pub currency: String,
    pub commission_bps: i32,
    pub promo_code: Option<String>,
    pub promo_id: Option<Uuid>,
    pub hold_id: Option<Uuid>,
    pub client_notes: String,
    pub respond_by: DateTimeUtc,
    pub reschedule_count: i32,
    /// A new start the practitioner proposed; the client accepts or declines it.
    pub proposed_starts_at: Option<DateTimeUtc>,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
    pub refunded: i64,
    pub captured: i64,
    pub client_joined_at: Option<DateTimeUtc>,
    pub practitioner_joined_at: Option<DateTimeUtc>,
    pub consultation_id: Option<Uuid>,
    pub reminders_sent: String,
    pub confirmed_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
