use sea_orm::entity::prelude::*;

/// Money sent back to a client through the gateway a top-up came in by.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Human reference (`RF…`).
    pub reference: String,
    pub payment_order_id: Uuid,
    pub user_id: Uuid,
    pub amount: i64,
    /// The package bonus and promo credit this refund takes back, on top of `amount`.
    pub clawback: i64,
    pub currency: String,
    pub reason: String,
    pub note: String,
    /// pending | succeeded | failed
    pub status: String,
    pub gateway_refund_id: Option<String>,
    /// The hold that keeps the money out of reach while the gateway works.
    pub hold_id: Uuid,
    pub created_by: Uuid,
    pub idempotency_key: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
