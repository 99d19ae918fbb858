//! Client wallets over HTTP: my balances and history; admins see any wallet, freeze and
//! unfreeze it, grant goodwill credit, and check that the books balance.
//! All arithmetic and every write goes through `crate::ledger`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use store::entity::{wallet, wallet_transaction};

#[derive(Debug, Serialize, ToSchema)]
pub struct WalletView {
    pub currency: String,
    /// available + held, in minor units.
    pub balance: i64,
    /// What can be spent now.
    pub available: i64,
    /// Reserved by holds (pending bookings, live sessions).
    pub held: i64,
    pub total_credited: i64,
    pub total_debited: i64,
    /// `active` or `frozen`.
    pub status: String,
}

impl WalletView {
    pub fn empty(currency: &str) -> Self {
        Self {
            currency: currency.to_owned(),
            balance: 0,
            available: 0,
            held: 0,
            total_credited: 0,
            total_debited: 0,
            status: "active".into(),
        }
    }
}

impl From<wallet::Model> for WalletView {
    fn from(w: wallet::Model) -> Self {
        Self {
            currency: w.currency,
            balance: w.balance,
            available: w.available,
            held: w.held,
            total_credited: w.total_credited,
            total_debited: w.total_debited,
            status: w.status,
        }
    }
}

/// One line of wallet history.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalletTransactionView {
    pub id: Uuid,
    pub kind: String,
    /// Signed change of the available balance, minor units.
    pub amount: i64,
    pub balance_before: i64,
    pub balance_after: i64,
    pub held_after: i64,
    pub reference: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

impl From<wallet_transaction::Model> for WalletTransactionView {
    fn from(t: wallet_transaction::Model) -> Self {
        Self {
            id: t.id,
            kind: t.kind,
            amount: t.amount,
            balance_before: t.balance_before,
            balance_after: t.balance_after,
            held_after: t.held_after,
            reference: t.reference,
            description: t.description,
            created_at: t.created_at,
        }
    }
}
