//! Client wallets: the views of balances and history, and the admin's moves on a wallet
//! (freeze, unfreeze, goodwill credit), each audited. All arithmetic and every write of
//! money goes through `crate::ledger`.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{self, Actor, Change};
use crate::error::{Error, Result};
use crate::ledger::{self, AccountKind, AccountRef, Currency, MAX_AMOUNT, TransferRequest};
use store::WriteTxn;
use store::entity::{user, wallet, wallet_transaction};
use store::status::{UserStatus, WalletStatus};

// Why an admin gives money back or credits a wallet; kept on the audit entry and the refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreditReason {
    PractitionerNoShow,
    TechnicalFault,
    Goodwill,
    Other,
}

impl CreditReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PractitionerNoShow => "practitioner_no_show",
            Self::TechnicalFault => "technical_fault",
            Self::Goodwill => "goodwill",
            Self::Other => "other",
        }
    }
}

/// Freezes (no money moves in or out) or unfreezes `owner`'s wallet in `currency`, audited
/// with the admin's reason. Returns the wallet as it was before.
pub async fn set_status(
    txn: &WriteTxn,
    actor: &Actor,
    owner: Uuid,
    currency: Currency,
    to: WalletStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<wallet::Model> {
    let w = ledger::ensure_wallet(txn, owner, currency, now).await?;
    wallet::Entity::update_many()
        .col_expr(wallet::Column::Status, Expr::value(to.as_str()))
        .col_expr(wallet::Column::UpdatedAt, Expr::value(now))
        .filter(wallet::Column::Id.eq(w.id))
        .exec(txn)
        .await?;
    audit::record(
        txn,
        actor,
        Change {
            action: match to {
                WalletStatus::Frozen => "wallet.freeze",
                WalletStatus::Active => "wallet.unfreeze",
            },
            target_type: "wallet",
            target_id: w.id.to_string(),
            before: Some(json!({"status": w.status})),
            after: Some(json!({"status": to.as_str(), "reason": reason})),
        },
        now,
    )
    .await?;
    Ok(w)
}

/// Money the platform gives a wallet from its promotions budget.
#[derive(Debug, Clone)]
pub struct PromotionalCredit {
    pub user: Uuid,
    pub currency: Currency,
    pub amount: i64,
    pub reference: String,
    /// The same key never credits twice.
    pub idempotency_key: String,
    /// Shown in the wallet's history.
    pub description: String,
}

/// Credits a wallet from the promotions account (a goodwill credit, the demo's welcome
/// money), inside the caller's transaction; returns the ledger transfer's id.
pub async fn promotional_credit(
    txn: &WriteTxn,
    credit: PromotionalCredit,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let applied = ledger::transfer(
        txn,
        TransferRequest {
            debit: AccountRef::platform(AccountKind::PromotionsExpense, credit.currency),
            credit: AccountRef::wallet(credit.user, credit.currency),
            amount: credit.amount,
            kind: "credit".into(),
            reference: credit.reference,
            idempotency_key: credit.idempotency_key,
            hold_id: None,
            description: credit.description,
        },
        now,
    )
    .await?;
    Ok(applied.transfer().id)
}

/// What a goodwill credit did.
#[derive(Debug)]
pub struct Credited {
    pub transfer_id: Uuid,
    pub wallet: wallet::Model,
}

/// Credits `target`'s wallet from the platform's promotions budget (goodwill,
/// compensation), audited. `key` is the admin's idempotency key: the same admin and key
/// never credit twice.
#[allow(clippy::too_many_arguments)]
pub async fn grant_credit(
    txn: &WriteTxn,
    actor: &Actor,
    target: &user::Model,
    currency: Currency,
    amount: i64,
    reason: CreditReason,
    note: Option<&str>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Credited> {
    if !(1..=MAX_AMOUNT).contains(&amount) {
        return Err(Error::field(
            "amount",
            "out_of_range",
            format!("must be between 1 and {MAX_AMOUNT}"),
        ));
    }
    if target.status == UserStatus::Deleted.as_str() {
        return Err(Error::conflict(
            "account_deleted",
            "This account is deleted",
        ));
    }
    let granted_by = actor
        .id
        .ok_or_else(|| Error::forbidden("admin_only", "Only an admin can credit a wallet"))?;
    let transfer_id = promotional_credit(
        txn,
        PromotionalCredit {
            user: target.id,
            currency,
            amount,
            reference: format!("admin-credit:{key}"),
            idempotency_key: format!("admin-credit:{granted_by}:{key}"),
            description: note.unwrap_or("Credit from Augur").to_owned(),
        },
        now,
    )
    .await?;
    let w = ledger::ensure_wallet(txn, target.id, currency, now).await?;
    audit::record(
        txn,
        actor,
        Change {
            action: "wallet.credit",
            target_type: "wallet",
            target_id: w.id.to_string(),
            before: Some(json!({"available": w.available - amount})),
            after: Some(json!({"available": w.available, "amount": amount, "reason": reason, "note": note, "transfer_id": transfer_id})),
        },
        now,
    )
    .await?;
    Ok(Credited {
        transfer_id,
        wallet: w,
    })
}

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
            status: WalletStatus::Active.as_str().into(),
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

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyBalance {
    pub currency: String,
    /// Sum of every ledger account's balance; zero when the books balance.
    pub sum: i64,
    pub accounts: i64,
    pub balanced: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reconciliation {
    pub balanced: bool,
    pub currencies: Vec<CurrencyBalance>,
    /// Wallet rows whose balances differ from their ledger accounts (should be none).
    pub wallet_mismatches: Vec<Uuid>,
}

/// Whether the books balance: per currency the ledger sums to zero (the gateway edge
/// included), and every wallet row equals its accounts.
pub async fn reconciliation(db: &sea_orm::DatabaseConnection) -> Result<Reconciliation> {
    let currencies: Vec<CurrencyBalance> = ledger::trial_balance(db)
        .await?
        .into_iter()
        .map(|(currency, sum, accounts)| CurrencyBalance {
            currency,
            sum,
            accounts,
            balanced: sum == 0,
        })
        .collect();
    let wallet_mismatches = ledger::wallet_mismatches(db).await?;
    Ok(Reconciliation {
        balanced: currencies.iter().all(|c| c.balanced) && wallet_mismatches.is_empty(),
        currencies,
        wallet_mismatches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credit_reason_is_stored_as_its_wire_name() {
        for reason in [
            CreditReason::PractitionerNoShow,
            CreditReason::TechnicalFault,
            CreditReason::Goodwill,
            CreditReason::Other,
        ] {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
        }
    }
}
