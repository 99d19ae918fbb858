use sea_orm::entity::prelude::*;

/// A top-up: the client pays `amount` through a gateway and, once the gateway confirms,
/// the same amount is credited to their wallet exactly once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Human reference (`TP…`), unique.
    pub reference: String,
    pub user_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub gateway: String,
    pub gateway_order_id: String,
    pub gateway_payment_id: Option<String>,
    /// created | paid | failed
    pub status: String,
    pub checkout_url: String,
    pub credit_transfer_id: Option<Uuid>,
    pub promo_code_id: Option<Uuid>,
    /// Added to the wallet from the promotions budget on payment.
    pub discount: i64,
    pub package_id: Option<Uuid>,
    /// The credit package's bonus, credited from the promotions budget on payment.
    pub package_bonus: i64,
    /// Sent back through the gateway so far.
    pub refunded: i64,
    /// Unique receipt number, given when the payment is credited.
    pub receipt_number: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
