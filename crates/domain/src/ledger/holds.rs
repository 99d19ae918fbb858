//! Holds: money set aside in a client's wallet (available → held) until it is captured
//! (held → wherever it is owed), released (held → available) or expires (released by the
//! sweeper). Every step is a ledger transfer with its own idempotency key, and the hold row
//! changes with a conditional update, so racing captures can never take more than was held.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{AccountRef, Currency, LedgerError, MAX_AMOUNT, TransferRequest, transfer};
use store::entity::{ledger_hold, ledger_transfer};
use store::status::HoldStatus;

pub const ACTIVE: &str = HoldStatus::Active.as_str();

pub struct HoldRequest<'a> {
    pub user: Uuid,
    pub currency: Currency,
    pub amount: i64,
    /// What the hold is for, e.g. `booking:BK7Q2M`.
    pub reference: &'a str,
    /// The same key never places a second hold.
    pub key: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// Reserves `amount` of `user`'s available balance. Replaying `key` returns the same hold.
pub async fn place<C: ConnectionTrait>(
    conn: &C,
    req: HoldRequest<'_>,
    now: DateTime<Utc>,
) -> Result<ledger_hold::Model, LedgerError> {
    let HoldRequest {
        user,
        currency,
        amount,
        reference,
        key,
        expires_at,
    } = req;
    if amount <= 0 || amount > MAX_AMOUNT {
        return Err(LedgerError::InvalidAmount);
    }
    let id = Uuid::now_v7();
    let inserted = ledger_hold::Entity::insert(ledger_hold::ActiveModel {
        id: Set(id),
        user_id: Set(user),
        currency: Set(currency.as_str().to_owned()),
        amount: Set(amount),
        captured: Set(0),
        released: Set(0),
        status: Set(ACTIVE.to_owned()),
        reference: Set(reference.to_owned()),
        idempotency_key: Set(key.to_owned()),
        expires_at: Set(expires_at),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(ledger_hold::Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    let hold = ledger_hold::Entity::find()
        .filter(ledger_hold::Column::IdempotencyKey.eq(key))
        .one(conn)
        .await?
        .ok_or(LedgerError::HoldNotFound)?;
    if inserted == 0 {
        if hold.user_id != user || hold.amount != amount || hold.currency != currency.as_str() {
            return Err(LedgerError::IdempotencyConflict);
        }
        return Ok(hold);
    }
    transfer(
        conn,
        TransferRequest {
            debit: AccountRef::wallet(user, currency),
            credit: AccountRef::held(user, currency),
            amount,
            kind: "hold".into(),
            reference: reference.to_owned(),
            idempotency_key: format!("hold:{id}"),
            hold_id: Some(id),
            description: format!("Reserved for {reference}"),
        },
        now,
    )
    .await?;
    Ok(hold)
}

async fn load<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<ledger_hold::Model, LedgerError> {
    ledger_hold::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(LedgerError::HoldNotFound)
}

/// Marks `amount` of the hold as used by `column`; fails if the hold has less left.
async fn consume<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    amount: i64,
    column: ledger_hold::Column,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let res = ledger_hold::Entity::update_many()
        .col_expr(column, Expr::col(column).add(amount))
        .col_expr(ledger_hold::Column::UpdatedAt, Expr::value(now))
        .filter(ledger_hold::Column::Id.eq(id))
        .filter(ledger_hold::Column::Status.eq(ACTIVE))
        .filter(
            Expr::col(ledger_hold::Column::Amount)
                .sub(Expr::col(ledger_hold::Column::Captured))
                .sub(Expr::col(ledger_hold::Column::Released))
                .gte(amount),
        )
        .exec(conn)
        .await?;
    if res.rows_affected != 1 {
        return Err(LedgerError::HoldExhausted);
    }
    Ok(())
}

/// Closes the hold once nothing is left in it.
async fn settle_if_empty<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    closing: &str,
    now: DateTime<Utc>,
) -> Result<ledger_hold::Model, LedgerError> {
    let hold = load(conn, id).await?;
    if hold.amount == hold.captured + hold.released && hold.status == ACTIVE {
        let status = if hold.captured > 0 {
            HoldStatus::Captured.as_str()
        } else {
            closing
        };
        ledger_hold::Entity::update_many()
            .col_expr(ledger_hold::Column::Status, Expr::value(status))
            .col_expr(ledger_hold::Column::UpdatedAt, Expr::value(now))
            .filter(ledger_hold::Column::Id.eq(id))
            .exec(conn)
            .await?;
        return load(conn, id).await;
    }
    Ok(hold)
}

/// Takes `parts` out of the hold: each `(account, amount)` is credited from the client's
/// held balance. `key` identifies this capture; replaying it moves nothing again.
pub async fn capture<C: ConnectionTrait>(
    conn: &C,
    hold_id: Uuid,
    parts: &[(AccountRef, i64)],
    kind: &str,
    key: &str,
    now: DateTime<Utc>,
) -> Result<ledger_hold::Model, LedgerError> {
    let hold = load(conn, hold_id).await?;
    let currency = Currency::parse(&hold.currency).map_err(|_| LedgerError::CurrencyMismatch)?;
    let total: i64 = parts.iter().map(|(_, a)| *a).sum();
    if total <= 0 || parts.iter().any(|(_, a)| *a < 0) {
        return Err(LedgerError::InvalidAmount);
    }
    let part_key = |i: usize| format!("{key}:{i}");
    let first = parts.iter().position(|(_, a)| *a > 0).unwrap_or(0);
    let seen = ledger_transfer::Entity::find()
        .filter(ledger_transfer::Column::IdempotencyKey.eq(part_key(first)))
        .one(conn)
        .await?;
    if seen.is_some() {
        // This capture happened before: the hold already counts it.
        return load(conn, hold_id).await;
    }
    // The hold's own remainder is checked first: the client's held balance may include
    // other holds, which this capture must not reach into.
    consume(conn, hold_id, total, ledger_hold::Column::Captured, now).await?;
    for (i, (to, amount)) in parts.iter().enumerate() {
        if *amount == 0 {
            continue;
        }
        transfer(
            conn,
            TransferRequest {
                debit: AccountRef::held(hold.user_id, currency),
                credit: to.clone(),
                amount: *amount,
                kind: kind.to_owned(),
                reference: hold.reference.clone(),
                idempotency_key: part_key(i),
                hold_id: Some(hold_id),
                description: format!("Charged for {}", hold.reference),
            },
            now,
        )
        .await?;
    }
    settle_if_empty(conn, hold_id, HoldStatus::Released.as_str(), now).await
}

/// Returns whatever is left in the hold to the client's available balance.
pub async fn release<C: ConnectionTrait>(
    conn: &C,
    hold_id: Uuid,
    closing: &str,
    now: DateTime<Utc>,
) -> Result<ledger_hold::Model, LedgerError> {
    let hold = load(conn, hold_id).await?;
    let left = hold.amount - hold.captured - hold.released;
    if hold.status != ACTIVE || left == 0 {
        return settle_if_empty(conn, hold_id, closing, now).await;
    }
    let currency = Currency::parse(&hold.currency).map_err(|_| LedgerError::CurrencyMismatch)?;
    consume(conn, hold_id, left, ledger_hold::Column::Released, now).await?;
    transfer(
        conn,
        TransferRequest {
            debit: AccountRef::held(hold.user_id, currency),
            credit: AccountRef::wallet(hold.user_id, currency),
            amount: left,
            kind: "release".into(),
            reference: hold.reference.clone(),
            idempotency_key: format!("release:{hold_id}:{}", hold.released + left),
            hold_id: Some(hold_id),
            description: format!("Released from {}", hold.reference),
        },
        now,
    )
    .await?;
    settle_if_empty(conn, hold_id, closing, now).await
}
