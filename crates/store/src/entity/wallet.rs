use sea_orm::entity::prelude::*;

/// A client's wallet in one currency: a summary of its two ledger accounts, written in the
/// same transaction as every transfer that touches them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "wallets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub currency: String,
    /// available + held
    pub balance: i64,
    pub available: i64,
    pub held: i64,
    pub total_credited: i64,
    pub total_debited: i64,
    /// active | frozen
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
