use sea_orm::entity::prelude::*;

/// Where a practitioner's payouts go.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payout_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub practitioner_id: Uuid,
    /// bank | upi
    pub method: String,
    pub account_holder: String,
    pub bank_account_number: Option<String>,
    pub ifsc: Option<String>,
    pub upi_id: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
