//! The worker's batched billing: many due sessions' minutes charged in one transaction.
//!
//! One session per transaction cost about 22 statements per charge (two ledger transfers,
//! the minute's row, a savepoint, the balance check, the progress update), and every charge
//! updated the one platform-revenue account: 10,000 sessions crossing a minute together
//! were charged over 17 s (SQLite) to 27 s (PostgreSQL). A batch here:
//! 1. locks its sessions' rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL: a row another node's
//!    worker or an `end` holds is left to that transaction, as in the one-session path);
//! 2. decides, from the locked rows and the clients' wallets, which sessions it can charge
//!    whole: both sides present, and every owed minute affordable from an active wallet;
//! 3. applies every leg of those minutes through the ledger's group commit
//!    (`ledger::batch::decide_and_write`, the rules of `ledger::transfer` evaluated in order,
//!    one update per account and per wallet, history rows chained in order), with the keys
//!    the one-session path uses, `live:{consultation}:{minute}:{leg}`. The keys are not
//!    looked up first (`Keys::Fresh`): only minutes past the locked row's `minutes_billed`
//!    are charged, and every path moves that count in the transaction of their legs;
//! 4. writes the minutes' rows (primary key per consultation and minute) and each session's
//!    progress with one multi-row statement each, then commits.
//!
//! Everything it leaves out (a side gone beyond the grace window, a wallet that cannot pay
//! every owed minute or is frozen, a leg the ledger refused) goes back to the worker, which
//! bills those sessions one per transaction as before: they end, partly charged, exactly as
//! they would have. A leg refused inside the batch rolls the batch back and it runs again
//! without that session, so a session that cannot pay never fails the others.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::DatabaseConnection;
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Value,
};
use uuid::Uuid;

use super::billing::{self, MinuteCharge};
use super::engine::{Status, TickReport, currency_of, minute_transfers, terms_of, warn_with};
use super::events::{LiveEvent, Outbox};
use crate::Services;
use crate::error::Result;
use crate::ledger::batch::{AccountIds, Conn, Keys, Pending, decide_and_write};
use store::bulk::{Limits, Sql, exec_rows, own_connection};
use store::entity::{consultation, wallet};
use store::status::WalletStatus;

/// The batches' connection and the ledger account ids they learned. A connection of its own
/// with a large statement cache (`ledger::batch::own_connection`): batch statements differ
/// by row count, and through the shared pool most were prepared again, a round trip each on
/// PostgreSQL. Account ids never change, so each batch need not look up the same few
/// hundred accounts by name again.
pub struct BillingConn {
    db: DatabaseConnection,
    known: tokio::sync::Mutex<AccountIds>,
}

impl BillingConn {
    pub fn new(db: &DatabaseConnection) -> Self {
        Self {
            db: own_connection(db),
            known: tokio::sync::Mutex::new(AccountIds::default()),
        }
    }
}

/// Rounds of one batch at most: each round that the ledger refuses a leg leaves that
/// session out and tries the rest again.
const ROUNDS: usize = 3;

/// One session the batch charges.
struct Plan {
    c: consultation::Model,
    charges: Vec<MinuteCharge>,
    /// Range of this session's requests in the batch's list.
    legs: std::ops::Range<usize>,
}

/// Bills the due sessions `ids` in one transaction. Returns what it charged and the
/// sessions it left to the one-session path.
pub async fn bill_batch(
    app: &Services,
    ids: &[Uuid],
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<(TickReport, Vec<Uuid>)> {
    let mut left_out: HashSet<Uuid> = HashSet::new();
    for _ in 0..ROUNDS {
        match round(app, ids, &left_out, now, grace).await? {
            Round::Done(report, mut out) => {
                let mut left: Vec<Uuid> = left_out.into_iter().collect();
                left.append(&mut out);
                return Ok((report, left));
            }
            Round::Refused(sessions) => left_out.extend(sessions),
        }
    }
    // The ledger kept refusing: every session goes down the one-session path.
    Ok((TickReport::default(), ids.to_vec()))
}

enum Round {
    /// Committed; the report and the sessions this round left out.
    Done(TickReport, Vec<Uuid>),
    /// Rolled back: the ledger refused a leg of these sessions.
    Refused(Vec<Uuid>),
}

async fn round(
    app: &Services,
    ids: &[Uuid],
    skip: &HashSet<Uuid>,
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<Round> {
    let mut report = TickReport::default();
    let mut left_out = Vec::new();
    let outages = app.outages.current();
    // Taken before the transaction: a batch waiting for it must hold no lock (on SQLite,
    // not the write gate) that the batch holding it needs. Batches of one node therefore
    // run one at a time, as they would queue on the platform-revenue row anyway.
    let mut known = app.billing.known.lock().await;
    let txn = store::begin_write(&app.billing.db).await?;
    let backend = txn.get_database_backend();
    let limit = Limits::new(backend, None);

    // 1. Lock the sessions.
    let wanted: Vec<Uuid> = ids
        .iter()
        .filter(|id| !skip.contains(id))
        .copied()
        .collect();
    let mut rows: Vec<consultation::Model> = Vec::with_capacity(wanted.len());
    for chunk in limit.runs(&wanted, |_| (1, 16)) {
        let mut q = consultation::Entity::find()
            .filter(consultation::Column::Id.is_in(chunk.iter().copied()))
            .filter(consultation::Column::Status.eq(Status::Active.as_str()));
        if backend == DatabaseBackend::Postgres {
            q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        rows.extend(q.all(&txn).await?);
    }

    // 2. Who is owed what; who the one-session path must handle.
    let clients: Vec<Uuid> = rows.iter().map(|c| c.client_id).collect();
    let wallets = wallets_of(&txn, limit, &clients).await?;
    let mut plans: Vec<Plan> = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    for c in rows {
        let Some(started) = c.started_at else {
            continue;
        };
        let presence = billing::Presence::new(started, c.client_seen_at, c.practitioner_seen_at);
        // A side went away, or a damaged row: settling, closing and reporting are the
        // one-session path's work.
        if presence.gone(now, grace).is_some() || currency_of(&c).is_err() || terms_of(&c).is_err()
        {
            left_out.push(c.id);
            continue;
        }
        let owed = billing::owed_minutes(&presence, &outages);
        let billed = c.minutes_billed as u32;
        if owed <= billed {
            continue;
        }
        let start = pending.len();
        let mut charges = Vec::new();
        let mut client_pays = 0;
        for index in billed..owed {
            let (charge, legs) = minute_transfers(&c, index)?;
            client_pays += charge.client_pays;
            charges.push(charge);
            pending.extend(legs.into_iter().map(|req| Pending { req, now }));
        }
        let (available, active) = wallets
            .get(&(c.client_id, currency_of(&c)?.as_str().to_owned()))
            .copied()
            .unwrap_or((0, true));
        if client_pays > 0 && (!active || available < client_pays) {
            // Not every owed minute can be paid: the one-session path charges what can be
            // and ends the session at the first unpaid minute.
            pending.truncate(start);
            left_out.push(c.id);
            continue;
        }
        plans.push(Plan {
            c,
            charges,
            legs: start..pending.len(),
        });
    }
    if plans.is_empty() {
        txn.commit().await?;
        return Ok(Round::Done(report, left_out));
    }

    // 3. The money, through the ledger's group commit.
    let (answers, ids) =
        decide_and_write((&txn).into(), None, &known, &pending, Keys::Fresh).await?;
    let refused: Vec<Uuid> = plans
        .iter()
        .filter(|p| answers[p.legs.clone()].iter().any(Result::is_err))
        .map(|p| p.c.id)
        .collect();
    if !refused.is_empty() {
        // A balance moved since the wallets were read (a tip, a hold): nothing of this
        // round stands, and the next leaves those sessions to the one-session path.
        txn.rollback().await?;
        return Ok(Round::Refused(refused));
    }

    // 4. The minutes' rows and each session's progress; then the warnings.
    let mut out = Outbox::default();
    let mut minutes: Vec<Vec<Value>> = Vec::new();
    for p in &mut plans {
        for charge in &p.charges {
            minutes.push(vec![
                p.c.id.into(),
                (charge.index as i32).into(),
                charge.free.into(),
                charge.client_pays.into(),
                charge.discount.into(),
                charge.practitioner_earns.into(),
                charge.platform_earns.into(),
                charge.promotion_pays.into(),
                now.into(),
            ]);
            p.c.minutes_billed += 1;
            p.c.amount_charged += charge.client_pays;
            p.c.discount_total += charge.discount;
            p.c.free_minutes_used += i32::from(charge.free);
            out.both(&p.c, LiveEvent::minute_charged(&p.c, charge));
            report.minutes_charged += 1;
        }
    }
    exec_rows(
        (&txn).into(),
        limit,
        "INSERT INTO consultation_minutes (consultation_id, minute_index, free, client_paid, \
         discount, practitioner_earned, platform_earned, promotion_paid, charged_at) VALUES ",
        &minutes,
        |sql: &mut Sql| sql.push(" ON CONFLICT (consultation_id, minute_index) DO NOTHING"),
    )
    .await?;
    // Balances after the charges, read in the transaction, as the one-session path does.
    let after = wallets_of(&txn, limit, &clients).await?;
    for p in &mut plans {
        let key = (p.c.client_id, currency_of(&p.c)?.as_str().to_owned());
        let available = after.get(&key).map_or(0, |w| w.0);
        warn_with(&txn, &mut p.c, available, now, &mut out).await?;
    }
    save_progress((&txn).into(), limit, &plans, now).await?;
    txn.commit().await?;
    // Learned only once committed: an account created by a rolled-back batch does not exist.
    known.learn(ids);
    drop(known);
    out.publish(app).await;
    Ok(Round::Done(report, left_out))
}

/// Available balance and whether the wallet is active, by (user, currency).
async fn wallets_of<C: ConnectionTrait>(
    conn: &C,
    limit: Limits,
    users: &[Uuid],
) -> Result<HashMap<(Uuid, String), (i64, bool)>, DbErr> {
    let mut out = HashMap::with_capacity(users.len());
    for chunk in limit.runs(users, |_| (1, 16)) {
        let rows: Vec<(Uuid, String, i64, String)> = wallet::Entity::find()
            .select_only()
            .columns([
                wallet::Column::UserId,
                wallet::Column::Currency,
                wallet::Column::Available,
                wallet::Column::Status,
            ])
            .filter(wallet::Column::UserId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(conn)
            .await?;
        for (user, currency, available, status) in rows {
            out.insert(
                (user, currency),
                (available, status == WalletStatus::Active.as_str()),
            );
        }
    }
    Ok(out)
}

/// Writes every session's billing progress in one statement (per chunk). The rows are
/// locked by this transaction, so the new values are absolute.
async fn save_progress(
    conn: Conn<'_>,
    limit: Limits,
    plans: &[Plan],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let rows: Vec<Vec<Value>> = plans
        .iter()
        .map(|p| {
            vec![
                p.c.id.into(),
                p.c.minutes_billed.into(),
                p.c.amount_charged.into(),
                p.c.discount_total.into(),
                p.c.free_minutes_used.into(),
                p.c.warned_at_minutes_left.into(),
            ]
        })
        .collect();
    let n = exec_rows(
        conn,
        limit,
        "WITH v(id, minutes_billed, amount_charged, discount_total, free_minutes_used, \
         warned_at_minutes_left) AS (VALUES ",
        &rows,
        |sql| {
            sql.push(
                ") UPDATE consultations SET minutes_billed = v.minutes_billed, \
                 amount_charged = v.amount_charged, discount_total = v.discount_total, \
                 free_minutes_used = v.free_minutes_used, \
                 warned_at_minutes_left = v.warned_at_minutes_left, updated_at = ",
            );
            sql.bind(now);
            sql.push(" FROM v WHERE consultations.id = v.id");
        },
    )
    .await?;
    if n != rows.len() as u64 {
        return Err(DbErr::RecordNotUpdated);
    }
    Ok(())
}
