use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_transfers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Loses `amount`.
    pub debit_account_id: Uuid,
    /// Gains `amount`.
    pub credit_account_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub kind: String,
    pub reference: String,
    pub idempotency_key: String,
    pub hold_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
