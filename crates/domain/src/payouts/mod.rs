//! Practitioners' earnings and payouts. Earnings are a ledger account per practitioner;
//! requesting a payout moves money from earnings to `payouts_pending`; an admin rejects it
//! (money goes back) or marks it paid (money leaves to `payouts_paid`, a receipt is made).
//! Every admin step is audited; every move is a keyed ledger transfer.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, Set,
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{self, Actor, Change};
use crate::error::{Error, Result};
use crate::ledger::{self, AccountKind, AccountRef, Currency, MAX_AMOUNT, TransferRequest};
use crate::payments::human_reference;
use store::WriteTxn;
use store::entity::{ledger_account, payout, payout_account, practitioner, user};
use store::money::Bps;
use store::status::PayoutStatus;

/// The platform's commission for a practitioner: their override, else the default.
pub fn commission_for(default_bps: u16, practitioner_override: Option<i32>) -> Bps {
    let bps = practitioner_override
        .and_then(|b| u16::try_from(b).ok())
        .filter(|b| *b <= 10_000)
        .unwrap_or(default_bps);
    // `bps` is at most 10 000 here, so the constructor cannot refuse it.
    Bps::new(bps.min(10_000)).unwrap_or(Bps::ZERO)
}

// Where a practitioner's payouts go, as shown back to them and kept on each payout: the
// account number masked to its last four digits.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutAccountView {
    pub method: String,
    pub account_holder: String,
    /// Only the last four digits are shown.
    pub bank_account_masked: Option<String>,
    pub ifsc: Option<String>,
    pub upi_id: Option<String>,
}

fn mask(n: &str) -> String {
    let tail: Vec<char> = n.chars().rev().take(4).collect();
    format!("••••{}", tail.into_iter().rev().collect::<String>())
}

impl PayoutAccountView {
    /// Where the money goes, as a notice may show it: the UPI id, or the masked account.
    pub fn destination(&self) -> String {
        match (&self.upi_id, &self.bank_account_masked, &self.ifsc) {
            (Some(upi), _, _) => upi.clone(),
            (None, Some(acct), Some(ifsc)) => format!("{acct} ({ifsc})"),
            (None, Some(acct), None) => acct.clone(),
            (None, None, _) => "—".to_owned(),
        }
    }
}

impl From<payout_account::Model> for PayoutAccountView {
    fn from(a: payout_account::Model) -> Self {
        Self {
            method: a.method,
            account_holder: a.account_holder,
            bank_account_masked: a.bank_account_number.as_deref().map(mask),
            ifsc: a.ifsc,
            upi_id: a.upi_id,
        }
    }
}

/// The currency a practitioner earns and is paid out in.
pub fn currency_of(p: &practitioner::Model) -> Result<Currency> {
    ledger::stored_currency(&p.currency)
}

/// The balance of one of a practitioner's accounts (earnings, payouts pending).
pub async fn balance<C: ConnectionTrait>(
    conn: &C,
    kind: AccountKind,
    practitioner: Uuid,
    currency: Currency,
) -> Result<i64> {
    Ok(ledger_account::Entity::find()
        .filter(ledger_account::Column::Kind.eq(kind.as_str()))
        .filter(ledger_account::Column::OwnerKey.eq(practitioner.to_string()))
        .filter(ledger_account::Column::Currency.eq(currency.as_str()))
        .one(conn)
        .await?
        .map_or(0, |a| a.balance))
}

/// What a practitioner earned in one week (Monday to Sunday, UTC), minor units.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct WeekEarned {
    #[schema(value_type = String, format = Date)]
    pub week_start: chrono::NaiveDate,
    pub earned: i64,
}

/// What sessions, appointments and tips credited to the practitioner's earnings in each of
/// the last `weeks` weeks, oldest first, this week last. Read from the ledger: payouts
/// coming back after a rejection are not earnings and are left out.
pub async fn earned_by_week<C: ConnectionTrait>(
    conn: &C,
    practitioner: Uuid,
    currency: Currency,
    now: chrono::DateTime<chrono::Utc>,
    weeks: u32,
) -> Result<Vec<WeekEarned>> {
    use chrono::Datelike;
    let today = now.date_naive();
    let this_week = today - chrono::Days::new(u64::from(today.weekday().num_days_from_monday()));
    let first = this_week - chrono::Days::new(7 * u64::from(weeks.saturating_sub(1)));
    let mut out: Vec<WeekEarned> = (0..weeks)
        .map(|i| WeekEarned {
            week_start: first + chrono::Days::new(7 * u64::from(i)),
            earned: 0,
        })
        .collect();
    let account = ledger_account::Entity::find()
        .filter(ledger_account::Column::Kind.eq(AccountKind::PractitionerEarnings.as_str()))
        .filter(ledger_account::Column::OwnerKey.eq(practitioner.to_string()))
        .filter(ledger_account::Column::Currency.eq(currency.as_str()))
        .one(conn)
        .await?;
    let Some(account) = account else {
        return Ok(out);
    };
    let since = first.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let rows: Vec<(chrono::DateTime<chrono::Utc>, i64)> =
        store::entity::ledger_transfer::Entity::find()
            .select_only()
            .column(store::entity::ledger_transfer::Column::CreatedAt)
            .column(store::entity::ledger_transfer::Column::Amount)
            .filter(store::entity::ledger_transfer::Column::CreditAccountId.eq(account.id))
            .filter(store::entity::ledger_transfer::Column::CreatedAt.gte(since))
            .filter(store::entity::ledger_transfer::Column::Kind.is_in([
                "consultation",
                "booking",
                "tip",
            ]))
            .into_tuple()
            .all(conn)
            .await?;
    for (at, amount) in rows {
        let days = (at.date_naive() - first).num_days();
        if let Some(week) = usize::try_from(days / 7).ok().and_then(|i| out.get_mut(i)) {
            week.earned += amount;
        }
    }
    Ok(out)
}

fn pending_account(practitioner: Uuid, currency: Currency) -> AccountRef {
    AccountRef {
        kind: AccountKind::PayoutsPending,
        owner: practitioner.to_string(),
        currency,
    }
}

/// Asks for `amount` of `p`'s earnings to be paid out: the money moves from earnings to
/// `payouts_pending` (the ledger refuses more than is earned) and a `requested` payout
/// records where it goes. `key` is the practitioner's idempotency key.
pub async fn request(
    txn: &WriteTxn,
    requester: &user::Model,
    p: &practitioner::Model,
    amount: i64,
    min_amount: i64,
    key: &str,
    now: DateTime<Utc>,
) -> Result<payout::Model> {
    // Payout notices and receipts go by email; an address nobody proved may not be theirs.
    if !requester.email_verified {
        return Err(Error::forbidden(
            "email_unverified",
            "Verify your email address before asking for a payout",
        ));
    }
    if !(min_amount..=MAX_AMOUNT).contains(&amount) {
        return Err(Error::field(
            "amount",
            "out_of_range",
            format!("must be between {min_amount} and {MAX_AMOUNT}"),
        ));
    }
    let account = payout_account::Entity::find_by_id(p.id)
        .one(txn)
        .await?
        .ok_or_else(|| Error::conflict("payout_account_missing", "Set a payout account first"))?;
    let currency = currency_of(p)?;
    let id = Uuid::now_v7();
    ledger::transfer(
        txn,
        TransferRequest {
            debit: AccountRef::earnings(p.id, currency),
            credit: pending_account(p.id, currency),
            amount,
            kind: "payout_request".into(),
            reference: format!("payout:{id}"),
            idempotency_key: format!("payout-request:{id}"),
            hold_id: None,
            description: "Payout requested".into(),
        },
        now,
    )
    .await?;
    Ok(payout::ActiveModel {
        id: Set(id),
        reference: Set(human_reference("PO")),
        practitioner_id: Set(p.id),
        amount: Set(amount),
        currency: Set(currency.as_str().to_owned()),
        status: Set(PayoutStatus::Requested.as_str().into()),
        destination: Set(serde_json::to_string(&PayoutAccountView::from(account))
            .map_err(|e| Error::internal(e.into()))?),
        note: Set(None),
        paid_reference: Set(None),
        receipt_number: Set(None),
        idempotency_key: Set(key.to_owned()),
        created_at: Set(now),
        decided_at: Set(None),
        paid_at: Set(None),
    }
    .insert(txn)
    .await?)
}

/// An admin's decision on a requested payout.
#[derive(Debug, Clone)]
pub enum Decision {
    /// The bank transfer was made; its reference (UTR).
    Paid { reference: String },
    /// Not paid, and why; the money returns to earnings.
    Rejected { note: String },
}

/// Settles a requested payout: paid (money leaves to `payouts_paid`, a receipt number is
/// given) or rejected (money returns to earnings). Audited; the practitioner is told.
pub async fn decide(
    txn: &WriteTxn,
    actor: &Actor,
    id: Uuid,
    decision: Decision,
    now: DateTime<Utc>,
) -> Result<payout::Model> {
    let row = payout::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| Error::not_found("Payout"))?;
    if row.status != PayoutStatus::Requested.as_str() {
        return Err(Error::conflict(
            "invalid_transition",
            format!("A {} payout cannot change", row.status),
        ));
    }
    let currency = ledger::stored_currency(&row.currency)?;
    let (to, status, action, kind, note) = match &decision {
        Decision::Paid { reference } => (
            AccountRef::platform(AccountKind::PayoutsPaid, currency),
            PayoutStatus::Paid,
            "payout.paid",
            "payout",
            reference.as_str(),
        ),
        Decision::Rejected { note } => (
            AccountRef::earnings(row.practitioner_id, currency),
            PayoutStatus::Rejected,
            "payout.reject",
            "payout_rejected",
            note.as_str(),
        ),
    };
    ledger::transfer(
        txn,
        TransferRequest {
            debit: pending_account(row.practitioner_id, currency),
            credit: to,
            amount: row.amount,
            kind: kind.into(),
            reference: format!("payout:{}", row.id),
            idempotency_key: format!("payout-{}:{}", status.as_str(), row.id),
            hold_id: None,
            description: format!("Payout {}", row.reference),
        },
        now,
    )
    .await?;
    let mut m = row.clone().into_active_model();
    m.status = Set(status.as_str().into());
    m.decided_at = Set(Some(now));
    match &decision {
        Decision::Paid { reference } => {
            m.paid_at = Set(Some(now));
            m.paid_reference = Set(Some(reference.clone()));
            // Receipt numbers: the year and the payout's own reference, unique with it.
            m.receipt_number = Set(Some(format!(
                "RCPT-{}-{}",
                now.format("%Y"),
                row.reference.strip_prefix("PO").unwrap_or(&row.reference)
            )));
        }
        Decision::Rejected { note } => m.note = Set(Some(note.clone())),
    }
    let row = m.update(txn).await?;
    audit::record(
        txn,
        actor,
        Change {
            action,
            target_type: "payout",
            target_id: row.id.to_string(),
            before: Some(json!({"status": PayoutStatus::Requested.as_str()})),
            after: Some(json!({"status": status.as_str(), "amount": row.amount, "note": note})),
        },
        now,
    )
    .await?;
    if let Some(p) = practitioner::Entity::find_by_id(row.practitioner_id)
        .one(txn)
        .await?
    {
        crate::notifications::notify(
            txn,
            now,
            p.user_id,
            "payout.status",
            json!({
                "reference": row.reference,
                "amount": crate::notifications::format_money(row.amount, &row.currency),
                "status": status.as_str(),
                "note": note,
            }),
        )
        .await?;
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_numbers_are_masked_to_their_last_four_digits() {
        assert_eq!(mask("123456789012"), "••••9012");
        assert_eq!(mask("12"), "••••12");
        let upi = PayoutAccountView {
            method: "upi".into(),
            account_holder: "A".into(),
            bank_account_masked: None,
            ifsc: None,
            upi_id: Some("a@bank".into()),
        };
        assert_eq!(upi.destination(), "a@bank");
    }

    #[test]
    fn override_wins_and_bad_values_fall_back() {
        assert_eq!(commission_for(2_000, None).get(), 2_000);
        assert_eq!(commission_for(2_000, Some(1_500)).get(), 1_500);
        assert_eq!(commission_for(2_000, Some(20_000)).get(), 2_000);
        assert_eq!(commission_for(2_000, Some(-1)).get(), 2_000);
    }
}
