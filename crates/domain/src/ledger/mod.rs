//! The double-entry ledger: every movement of money is one transfer from a debit account to
//! a credit account, applied once per idempotency key, inside the caller's transaction.
//!
//! Balances are credits minus debits, so the balances of all accounts in a currency always
//! sum to zero; money enters and leaves the platform only through the gateway and payout
//! accounts, which may go negative. Client wallet and earnings accounts may not.
//! A client's wallet is two accounts (available and held) plus the `wallets` summary row and
//! one `wallet_transactions` history row per transfer, all written in the same transaction.
//!
//! Callers open the transaction with `db::begin_write` and pass it in; later features
//! (live sessions, appointments, shop) only use the functions here. Stand-alone transfers
//! that need no transaction of their own can go through `batch::Batcher` instead, which
//! applies many of them per transaction (group commit) with the same rules.

pub mod batch;
pub mod holds;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, Kind};
use store::entity::{ledger_account, ledger_transfer, wallet, wallet_transaction};
use store::money::Bps;
pub use store::money::Currency;
use store::status::WalletStatus;

/// A currency read back from a row. Every writer stores a parsed code, so one that does not
/// parse means a damaged row; refusing beats moving money in a guessed currency.
pub fn stored_currency(raw: &str) -> Result<Currency, Error> {
    Currency::parse(raw).map_err(|why| {
        Error::internal(anyhow::anyhow!(
            "a stored currency {raw:?} does not parse: {why}"
        ))
    })
}

/// A rate in basis points read back from a row (a commission, a fee); out of range means a
/// damaged row, never a silent zero that would hand the whole amount to one side.
pub fn stored_bps(raw: i32) -> Result<Bps, Error> {
    u16::try_from(raw)
        .ok()
        .and_then(|bps| Bps::new(bps).ok())
        .ok_or_else(|| {
            Error::internal(anyhow::anyhow!(
                "a stored rate of {raw} basis points is out of range"
            ))
        })
}

/// Largest single transfer accepted (10^12 minor units), far above any real payment and far
/// below where sums could overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A client's spendable money.
    ClientAvailable,
    /// A client's money reserved by holds.
    ClientHeld,
    /// What the platform owes a practitioner.
    PractitionerEarnings,
    PlatformRevenue,
    /// Money the platform gives away (promotions, goodwill); goes negative.
    PromotionsExpense,
    /// Money received through a payment gateway; goes negative as it flows in.
    GatewayClearing,
    /// Earnings a practitioner asked to be paid out, until an admin pays or rejects.
    PayoutsPending,
    /// Money paid out to practitioners' banks; grows as payouts are made.
    PayoutsPaid,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::ClientAvailable => "client_available",
            AccountKind::ClientHeld => "client_held",
            AccountKind::PractitionerEarnings => "practitioner_earnings",
            AccountKind::PlatformRevenue => "platform_revenue",
            AccountKind::PromotionsExpense => "promotions_expense",
            AccountKind::GatewayClearing => "gateway_clearing",
            AccountKind::PayoutsPending => "payouts_pending",
            AccountKind::PayoutsPaid => "payouts_paid",
        }
    }

    /// Accounts holding someone's money may never go below zero.
    pub fn min_balance(self) -> Option<i64> {
        match self {
            AccountKind::ClientAvailable
            | AccountKind::ClientHeld
            | AccountKind::PractitionerEarnings => Some(0),
            _ => None,
        }
    }

    fn is_wallet(self) -> bool {
        matches!(self, AccountKind::ClientAvailable | AccountKind::ClientHeld)
    }
}

/// Names an account: its kind, whose it is ('' for the platform; a gateway's name for
/// clearing) and its currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountRef {
    pub kind: AccountKind,
    pub owner: String,
    pub currency: Currency,
}

impl AccountRef {
    pub fn wallet(user: Uuid, currency: Currency) -> Self {
        Self {
            kind: AccountKind::ClientAvailable,
            owner: user.to_string(),
            currency,
        }
    }
    pub fn held(user: Uuid, currency: Currency) -> Self {
        Self {
            kind: AccountKind::ClientHeld,
            owner: user.to_string(),
            currency,
        }
    }
    pub fn earnings(practitioner: Uuid, currency: Currency) -> Self {
        Self {
            kind: AccountKind::PractitionerEarnings,
            owner: practitioner.to_string(),
            currency,
        }
    }
    pub fn platform(kind: AccountKind, currency: Currency) -> Self {
        Self {
            kind,
            owner: String::new(),
            currency,
        }
    }
    pub fn gateway(name: &str, currency: Currency) -> Self {
        Self {
            kind: AccountKind::GatewayClearing,
            owner: name.to_owned(),
            currency,
        }
    }
    pub fn wallet_user(&self) -> Option<Uuid> {
        if self.kind.is_wallet() {
            self.owner.parse().ok()
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("amount must be between 1 and {MAX_AMOUNT} minor units")]
    InvalidAmount,
    #[error("both accounts of a transfer must use the same currency")]
    CurrencyMismatch,
    #[error("insufficient funds in {0}")]
    InsufficientFunds(&'static str),
    #[error("the wallet is frozen")]
    WalletFrozen,
    #[error("this idempotency key was already used for a different transfer")]
    IdempotencyConflict,
    #[error("the hold cannot cover this amount")]
    HoldExhausted,
    #[error("hold not found")]
    HoldNotFound,
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<LedgerError> for Error {
    fn from(e: LedgerError) -> Self {
        let msg = e.to_string();
        match e {
            LedgerError::InvalidAmount | LedgerError::CurrencyMismatch => {
                Error::field("amount", "invalid_amount", msg)
            }
            LedgerError::InsufficientFunds(_) => {
                Error::new(Kind::PaymentRequired, "insufficient_funds", msg)
            }
            LedgerError::WalletFrozen => Error::forbidden("wallet_frozen", msg),
            LedgerError::IdempotencyConflict => Error::conflict("idempotency_conflict", msg),
            LedgerError::HoldExhausted => Error::conflict("hold_exhausted", msg),
            LedgerError::HoldNotFound => Error::not_found("Hold"),
            LedgerError::Db(db) => db.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TransferRequest {
    pub debit: AccountRef,
    pub credit: AccountRef,
    pub amount: i64,
    /// What the money moved for: `topup`, `hold`, `capture`, `refund` …
    pub kind: String,
    /// What it belongs to, e.g. `topup:<order id>`; shown in wallet history.
    pub reference: String,
    /// The same key never moves money twice.
    pub idempotency_key: String,
    pub hold_id: Option<Uuid>,
    /// Human text for the wallet history.
    pub description: String,
}

#[derive(Debug, Clone)]
pub enum Applied {
    /// The transfer moved money now.
    New(ledger_transfer::Model),
    /// The key had been applied before; nothing moved.
    Replayed(ledger_transfer::Model),
}

impl Applied {
    pub fn transfer(&self) -> &ledger_transfer::Model {
        match self {
            Applied::New(t) | Applied::Replayed(t) => t,
        }
    }
    pub fn is_new(&self) -> bool {
        matches!(self, Applied::New(_))
    }
}

/// A new, empty account row for `r`.
pub fn new_account(r: &AccountRef, now: DateTime<Utc>) -> ledger_account::ActiveModel {
    ledger_account::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(r.kind.as_str().to_owned()),
        owner_key: Set(r.owner.clone()),
        currency: Set(r.currency.as_str().to_owned()),
        balance: Set(0),
        min_balance: Set(r.kind.min_balance()),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Creating an account another writer created meanwhile keeps theirs: it is the same one.
pub fn same_account() -> OnConflict {
    OnConflict::columns([
        ledger_account::Column::Kind,
        ledger_account::Column::OwnerKey,
        ledger_account::Column::Currency,
    ])
    .do_nothing()
    .to_owned()
}

/// The id of the account `r`, creating it at zero on first use.
pub async fn ensure_account<C: ConnectionTrait>(
    conn: &C,
    r: &AccountRef,
    now: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let find = || {
        ledger_account::Entity::find()
            .filter(ledger_account::Column::Kind.eq(r.kind.as_str()))
            .filter(ledger_account::Column::OwnerKey.eq(r.owner.as_str()))
            .filter(ledger_account::Column::Currency.eq(r.currency.as_str()))
    };
    if let Some(a) = find().one(conn).await? {
        return Ok(a.id);
    }
    ledger_account::Entity::insert(new_account(r, now))
        .on_conflict(same_account())
        .exec_without_returning(conn)
        .await?;
    find()
        .one(conn)
        .await?
        .map(|a| a.id)
        .ok_or_else(|| DbErr::RecordNotFound("ledger account".into()))
}

/// The wallet row of `user` in `currency`, created empty on first use.
pub async fn ensure_wallet<C: ConnectionTrait>(
    conn: &C,
    user: Uuid,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<wallet::Model, DbErr> {
    let find = || {
        wallet::Entity::find()
            .filter(wallet::Column::UserId.eq(user))
            .filter(wallet::Column::Currency.eq(currency.as_str()))
    };
    if let Some(w) = find().one(conn).await? {
        return Ok(w);
    }
    wallet::Entity::insert(wallet::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        currency: Set(currency.as_str().to_owned()),
        balance: Set(0),
        available: Set(0),
        held: Set(0),
        total_credited: Set(0),
        total_debited: Set(0),
        status: Set(WalletStatus::Active.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([wallet::Column::UserId, wallet::Column::Currency])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    find()
        .one(conn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("wallet".into()))
}

async fn move_balance<C: ConnectionTrait>(
    conn: &C,
    account: Uuid,
    delta: i64,
    kind: AccountKind,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let mut update = ledger_account::Entity::update_many()
        .col_expr(
            ledger_account::Column::Balance,
            Expr::col(ledger_account::Column::Balance).add(delta),
        )
        .col_expr(ledger_account::Column::UpdatedAt, Expr::value(now))
        .filter(ledger_account::Column::Id.eq(account));
    if delta < 0 {
        // The guard and the change are one statement, so concurrent debits cannot both
        // pass a check that only one of them may pass.
        update = update.filter(
            sea_orm::Condition::any()
                .add(ledger_account::Column::MinBalance.is_null())
                .add(
                    Expr::col(ledger_account::Column::Balance)
                        .add(delta)
                        .gte(Expr::col(ledger_account::Column::MinBalance)),
                ),
        );
    }
    let res = update.exec(conn).await?;
    if res.rows_affected != 1 {
        return Err(LedgerError::InsufficientFunds(kind.as_str()));
    }
    Ok(())
}

/// What can be refused before touching the database; the batcher refuses the same way.
pub fn check(req: &TransferRequest) -> Result<(), LedgerError> {
    if req.amount <= 0 || req.amount > MAX_AMOUNT {
        return Err(LedgerError::InvalidAmount);
    }
    if req.debit.currency != req.credit.currency {
        return Err(LedgerError::CurrencyMismatch);
    }
    Ok(())
}

/// Applies one transfer inside the caller's transaction (open it with `db::begin_write`).
/// A key seen before returns the earlier transfer and moves nothing; the same key with
/// different accounts or amount is refused.
pub async fn transfer<C: ConnectionTrait>(
    conn: &C,
    req: TransferRequest,
    now: DateTime<Utc>,
) -> Result<Applied, LedgerError> {
    check(&req)?;
    let currency = req.debit.currency;
    let debit_id = ensure_account(conn, &req.debit, now).await?;
    let credit_id = ensure_account(conn, &req.credit, now).await?;

    let id = Uuid::now_v7();
    let inserted = ledger_transfer::Entity::insert(ledger_transfer::ActiveModel {
        id: Set(id),
        debit_account_id: Set(debit_id),
        credit_account_id: Set(credit_id),
        amount: Set(req.amount),
        currency: Set(currency.as_str().to_owned()),
        kind: Set(req.kind.clone()),
        reference: Set(req.reference.clone()),
        idempotency_key: Set(req.idempotency_key.clone()),
        hold_id: Set(req.hold_id),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(ledger_transfer::Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    if inserted == 0 {
        let existing = ledger_transfer::Entity::find()
            .filter(ledger_transfer::Column::IdempotencyKey.eq(req.idempotency_key.as_str()))
            .one(conn)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("transfer by idempotency key".into()))?;
        return replay(existing, debit_id, credit_id, req.amount);
    }

    // Locks are taken in one order: the clients' wallet rows first (by user id), then the
    // accounts (by id). A transaction that applies several transfers to one client (a
    // capture and then a release) keeps holding that client's wallet row between them;
    // taking wallet rows after accounts would let it wait for an account that another
    // transaction holds while that one waits for the wallet row: a deadlock on PostgreSQL.
    let mut users = wallet_users(&req);
    users.sort_unstable();
    let mut wallets = Vec::with_capacity(users.len());
    for user in users {
        let delta_available = signed(&req, user, AccountKind::ClientAvailable);
        let delta_held = signed(&req, user, AccountKind::ClientHeld);
        let after = update_wallet(conn, user, currency, delta_available, delta_held, now).await?;
        wallets.push((after, delta_available));
    }
    let mut moves = [
        (debit_id, -req.amount, req.debit.kind),
        (credit_id, req.amount, req.credit.kind),
    ];
    moves.sort_by_key(|m| m.0);
    for (account, delta, kind) in moves {
        move_balance(conn, account, delta, kind, now).await?;
    }

    for (after, delta_available) in wallets {
        wallet_transaction::ActiveModel {
            id: Set(Uuid::now_v7()),
            wallet_id: Set(after.id),
            transfer_id: Set(id),
            kind: Set(req.kind.clone()),
            amount: Set(delta_available),
            balance_before: Set(after.available - delta_available),
            balance_after: Set(after.available),
            held_after: Set(after.held),
            reference: Set(req.reference.clone()),
            description: Set(req.description.clone()),
            created_at: Set(now),
        }
        .insert(conn)
        .await?;
    }

    Ok(Applied::New(ledger_transfer::Model {
        id,
        debit_account_id: debit_id,
        credit_account_id: credit_id,
        amount: req.amount,
        currency: currency.as_str().to_owned(),
        kind: req.kind,
        reference: req.reference,
        idempotency_key: req.idempotency_key,
        hold_id: req.hold_id,
        created_at: now,
    }))
}

/// The answer for a key that was applied before: the earlier transfer when the request is
/// the same one again, a conflict when the key is reused for something else.
pub fn replay(
    existing: ledger_transfer::Model,
    debit_id: Uuid,
    credit_id: Uuid,
    amount: i64,
) -> Result<Applied, LedgerError> {
    if existing.debit_account_id != debit_id
        || existing.credit_account_id != credit_id
        || existing.amount != amount
    {
        return Err(LedgerError::IdempotencyConflict);
    }
    Ok(Applied::Replayed(existing))
}

/// Moves the wallet summary by the transfer's effect and returns it, in one statement when
/// the wallet exists and is active. A frozen wallet refuses; a missing one is created.
async fn update_wallet<C: ConnectionTrait>(
    conn: &C,
    user: Uuid,
    currency: Currency,
    delta_available: i64,
    delta_held: i64,
    now: DateTime<Utc>,
) -> Result<wallet::Model, LedgerError> {
    let delta_total = delta_available + delta_held;
    for _ in 0..2 {
        let mut update = wallet::Entity::update_many()
            .col_expr(
                wallet::Column::Available,
                Expr::col(wallet::Column::Available).add(delta_available),
            )
            .col_expr(
                wallet::Column::Held,
                Expr::col(wallet::Column::Held).add(delta_held),
            )
            .col_expr(
                wallet::Column::Balance,
                Expr::col(wallet::Column::Balance).add(delta_total),
            )
            .col_expr(wallet::Column::UpdatedAt, Expr::value(now))
            .filter(wallet::Column::UserId.eq(user))
            .filter(wallet::Column::Currency.eq(currency.as_str()))
            .filter(wallet::Column::Status.eq(WalletStatus::Active.as_str()));
        if delta_total > 0 {
            update = update.col_expr(
                wallet::Column::TotalCredited,
                Expr::col(wallet::Column::TotalCredited).add(delta_total),
            );
        } else if delta_total < 0 {
            update = update.col_expr(
                wallet::Column::TotalDebited,
                Expr::col(wallet::Column::TotalDebited).add(-delta_total),
            );
        }
        if let Some(w) = update.exec_with_returning(conn).await?.into_iter().next() {
            return Ok(w);
        }
        // Not updated: either frozen or not created yet.
        let w = ensure_wallet(conn, user, currency, now).await?;
        if w.status != WalletStatus::Active.as_str() {
            return Err(LedgerError::WalletFrozen);
        }
    }
    Err(LedgerError::Db(DbErr::RecordNotFound("wallet".into())))
}

/// The clients whose wallets the transfer touches, debit side first, each once (a hold moves
/// money between two accounts of one wallet and writes one history row).
pub fn wallet_users(req: &TransferRequest) -> Vec<Uuid> {
    let mut users: Vec<Uuid> = Vec::with_capacity(2);
    for r in [&req.debit, &req.credit] {
        if let Some(user) = r.wallet_user()
            && !users.contains(&user)
        {
            users.push(user);
        }
    }
    users
}

/// How much this transfer changes `user`'s account of `kind`.
pub fn signed(req: &TransferRequest, user: Uuid, kind: AccountKind) -> i64 {
    let is = |r: &AccountRef| r.kind == kind && r.wallet_user() == Some(user);
    let mut d = 0;
    if is(&req.debit) {
        d -= req.amount;
    }
    if is(&req.credit) {
        d += req.amount;
    }
    d
}

/// Per currency: the sum of every account balance (zero when the books balance).
pub async fn trial_balance<C: ConnectionTrait>(conn: &C) -> Result<Vec<(String, i64, i64)>, DbErr> {
    let accounts = ledger_account::Entity::find().all(conn).await?;
    let mut out: Vec<(String, i64, i64)> = Vec::new();
    for a in accounts {
        match out.iter_mut().find(|(c, _, _)| *c == a.currency) {
            Some(entry) => {
                entry.1 += a.balance;
                entry.2 += 1;
            }
            None => out.push((a.currency.clone(), a.balance, 1)),
        }
    }
    out.sort();
    Ok(out)
}

/// Wallet rows whose available/held differ from their two ledger accounts.
pub async fn wallet_mismatches<C: ConnectionTrait>(conn: &C) -> Result<Vec<Uuid>, DbErr> {
    let accounts = ledger_account::Entity::find()
        .filter(ledger_account::Column::Kind.is_in([
            AccountKind::ClientAvailable.as_str(),
            AccountKind::ClientHeld.as_str(),
        ]))
        .all(conn)
        .await?;
    let balance_of = |kind: AccountKind, owner: &str, currency: &str| {
        accounts
            .iter()
            .find(|a| a.kind == kind.as_str() && a.owner_key == owner && a.currency == currency)
            .map_or(0, |a| a.balance)
    };
    let wallets = wallet::Entity::find().all(conn).await?;
    Ok(wallets
        .into_iter()
        .filter(|w| {
            let owner = w.user_id.to_string();
            let available = balance_of(AccountKind::ClientAvailable, &owner, &w.currency);
            let held = balance_of(AccountKind::ClientHeld, &owner, &w.currency);
            w.available != available || w.held != held || w.balance != available + held
        })
        .map(|w| w.id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    #[test]
    fn a_stored_currency_that_does_not_parse_is_an_error_not_inr() {
        assert_eq!(
            stored_currency("USD").unwrap(),
            Currency::parse("USD").unwrap()
        );
        for damaged in ["", "rupees", "12$", "US"] {
            let e = stored_currency(damaged).unwrap_err();
            assert_eq!(e.kind, Kind::Internal, "{damaged:?}");
        }
    }

    #[test]
    fn a_stored_rate_out_of_range_is_an_error_not_zero() {
        assert_eq!(stored_bps(0).unwrap().get(), 0);
        assert_eq!(stored_bps(2_500).unwrap().get(), 2_500);
        assert_eq!(stored_bps(10_000).unwrap().get(), 10_000);
        for damaged in [-1, 10_001, i32::MAX, i32::MIN] {
            assert_eq!(stored_bps(damaged).unwrap_err().kind, Kind::Internal);
        }
    }
}
