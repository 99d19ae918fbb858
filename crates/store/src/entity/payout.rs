use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payouts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Human reference (`PO…`).
    pub reference: String,
    pub practitioner_id: Uuid,
    pub amount: i64,
    pub currency: String,
    /// requested | approved | rejected | paid
    pub status: String,
    pub destination: String,
    pub note: Option<String>,
    /// The bank's or UPI's reference for the transfer (UTR).
    pub paid_reference: Option<String>,
    /// Unique receipt number, given when paid.
    pub receipt_number: Option<String>,
    pub idempotency_key: String,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
    pub paid_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
