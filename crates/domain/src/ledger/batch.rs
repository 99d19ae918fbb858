//! Group commit for stand-alone ledger transfers.
//!
//! Owns the `Batcher` handle, its bounded queue, and the writer task behind it that applies
//! everything queued in one database transaction: one idempotency lookup, one locking read
//! of the accounts and one of the wallets, a handful of multi-row writes and one COMMIT for
//! up to `max_batch` transfers. A transaction per transfer costs about ten round trips and
//! (on SQLite) a turn at the single write lock each; a batch pays that once.
//!
//! Every transfer in a batch keeps the rules of `ledger::transfer`, evaluated in queue order
//! against balances held in memory while the rows are locked:
//! - a key applied before (in the database or earlier in the batch) returns that transfer and
//!   moves nothing; the same key for another transfer is a conflict;
//! - a debit that would take an account below its floor, or a transfer touching a frozen
//!   wallet, is refused for that request alone, with the single-transfer error;
//! - account balances, wallet rows and `wallet_transactions` (balance before/after computed
//!   in order) are written in the same transaction as the transfers.
//!
//! If the batch's transaction fails as a whole (a connection error, a deadlock, a key
//! inserted by another writer since the lookup, a wallet for a user that does not exist),
//! nothing of it was applied, and its transfers are applied again one at a time through
//! `ledger::transfer`, so one bad request cannot fail its neighbours. Idempotency keys make
//! that safe even when a COMMIT's outcome is unknown: a transfer that did land comes back
//! as `Applied::Replayed`, never twice.
//!
//! Locks are taken in the order and strength `ledger::transfer` uses: wallet rows by user,
//! then accounts by id, each `FOR NO KEY UPDATE` on PostgreSQL.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use futures::FutureExt;
use sea_orm::{DatabaseConnection, DbErr, Value};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{
    AccountKind, AccountRef, Applied, Currency, LedgerError, TransferRequest, check, replay,
    signed, transfer, wallet_users,
};
pub use store::bulk::own_connection;
use store::bulk::{Limits, Sql, exec_rows};
use store::entity::ledger_transfer;
pub use store::lite::Conn;
use store::lite::WriterDb;
use store::status::WalletStatus;

/// Transfers applied in one transaction at most. Larger batches amortise more but hold the
/// locks (and SQLite's write gate) longer, which the single-transfer path waits behind.
pub const DEFAULT_MAX_BATCH: usize = 256;

/// Account ids never change, so they are remembered; past this many the memory is dropped
/// and rebuilt from the database.
const MAX_REMEMBERED_ACCOUNTS: usize = 100_000;

#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Most transfers in one transaction.
    pub max_batch: usize,
    /// Transfers that may wait in the queue before `submit` waits too (back-pressure).
    pub queue: usize,
    /// Most bound parameters in one statement; `None` means the backend's own limit. Tests
    /// set it low to exercise the chunking.
    pub max_bind_params: Option<usize>,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_batch: DEFAULT_MAX_BATCH,
            queue: 4 * DEFAULT_MAX_BATCH,
            max_bind_params: None,
        }
    }
}

/// Counters since the batcher started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchStats {
    /// Batches taken from the queue.
    pub batches: u64,
    /// Transfers in those batches.
    pub transfers: u64,
    /// Batches whose transaction failed and whose transfers were applied one at a time.
    pub fallbacks: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    transfers: AtomicU64,
    fallbacks: AtomicU64,
}

/// The handle to one writer task; clones share it. The writer ends once every handle is
/// dropped and the queue is drained.
#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Job>,
    counters: Arc<Counters>,
}

struct Job {
    pending: Pending,
    reply: oneshot::Sender<Result<Applied, LedgerError>>,
}

/// One transfer waiting to be applied in a batch, at the time it was asked for.
#[derive(Debug, Clone)]
pub struct Pending {
    pub req: TransferRequest,
    pub now: DateTime<Utc>,
}

impl Batcher {
    /// Starts the writer task on the current Tokio runtime. The writer works on a connection
    /// of its own, opened with `db`'s settings (see `own_connection`).
    pub fn start(db: DatabaseConnection) -> Self {
        Self::with_config(db, BatchConfig::default())
    }

    pub fn with_config(db: DatabaseConnection, config: BatchConfig) -> Self {
        let config = BatchConfig {
            max_batch: config.max_batch.max(1),
            queue: config.queue.max(1),
            ..config
        };
        let (tx, rx) = mpsc::channel(config.queue);
        let counters = Arc::new(Counters::default());
        let sink = Sink {
            db: WriterDb::open(&db, || own_connection(&db)),
            pool: db,
            main: None,
        };
        if let WriterDb::Lite(_) = sink.db {
            let sink = Sink {
                main: Some(tokio::runtime::Handle::current()),
                ..sink
            };
            let counters = counters.clone();
            store::lite::spawn_writer("ledger-writer", move || writer(sink, config, counters, rx));
        } else {
            tokio::spawn(writer(sink, config, counters.clone(), rx));
        }
        Self { tx, counters }
    }

    /// Applies `req` in the next batch and answers as `ledger::transfer` would. The transfer
    /// is committed before this returns `Ok`. A caller that stops waiting does not withdraw
    /// the request: it is applied anyway, and a retry with its key returns it.
    pub async fn submit(
        &self,
        req: TransferRequest,
        now: DateTime<Utc>,
    ) -> Result<Applied, LedgerError> {
        check(&req)?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                pending: Pending { req, now },
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Transfers waiting in the queue (not yet taken into a batch).
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    pub fn stats(&self) -> BatchStats {
        BatchStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            transfers: self.counters.transfers.load(Ordering::Relaxed),
            fallbacks: self.counters.fallbacks.load(Ordering::Relaxed),
        }
    }
}

fn stopped() -> LedgerError {
    LedgerError::Db(DbErr::Custom("the ledger batch writer has stopped".into()))
}

/// What the writer writes through, and the pool its one-at-a-time fallback uses.
struct Sink {
    db: WriterDb,
    pool: DatabaseConnection,
    /// The runtime that owns the pool's connections, when the writer runs on a thread of
    /// its own.
    main: Option<tokio::runtime::Handle>,
}

impl Sink {
    /// Applies the batch in one transaction and returns each job's answer, or fails as a
    /// whole having applied nothing (rolled back before the fallback starts, so on SQLite
    /// the write lock is free for it).
    async fn apply(
        &self,
        config: &BatchConfig,
        known: &mut AccountIds,
        jobs: &[Pending],
    ) -> Result<Answers, DbErr> {
        let seen: &AccountIds = known;
        let (answers, ids) = self
            .db
            .write(async |conn| {
                decide_and_write(conn, config.max_bind_params, seen, jobs, Keys::MayRepeat).await
            })
            .await?;
        known.learn(ids);
        Ok(answers)
    }

    /// The single-transfer path in a transaction of its own.
    async fn apply_one(
        &self,
        req: TransferRequest,
        now: DateTime<Utc>,
    ) -> Result<Applied, LedgerError> {
        let one = apply_one(self.pool.clone(), req, now);
        match &self.main {
            None => one.await,
            Some(main) => main
                .spawn(one)
                .await
                .map_err(|e| LedgerError::Db(DbErr::Custom(format!("ledger fallback: {e}"))))?,
        }
    }
}

async fn writer(
    store: Sink,
    config: BatchConfig,
    counters: Arc<Counters>,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut known = AccountIds::default();
    let mut jobs = Vec::with_capacity(config.max_batch);
    // Whatever queued while the previous batch was being written forms the next batch, so a
    // lone caller waits for no timer and a busy queue fills batches by itself.
    while rx.recv_many(&mut jobs, config.max_batch).await > 0 {
        let batch = std::mem::take(&mut jobs);
        let run = write_batch(&store, &config, &counters, &mut known, batch);
        // A bug in one batch must not stop the ledger: its callers see their answer channel
        // close (an error), and the next batch starts afresh.
        if AssertUnwindSafe(run).catch_unwind().await.is_err() {
            tracing::error!("ledger batch writer panicked; that batch's callers got an error");
            known = AccountIds::default();
        }
    }
}

async fn write_batch(
    store: &Sink,
    config: &BatchConfig,
    counters: &Counters,
    known: &mut AccountIds,
    jobs: Vec<Job>,
) {
    counters.batches.fetch_add(1, Ordering::Relaxed);
    counters
        .transfers
        .fetch_add(jobs.len() as u64, Ordering::Relaxed);
    let (pending, replies): (Vec<Pending>, Vec<_>) =
        jobs.into_iter().map(|j| (j.pending, j.reply)).unzip();
    match store.apply(config, known, &pending).await {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                // A caller that gave up has dropped its receiver; its transfer stands.
                let _ = reply.send(answer);
            }
        }
        Err(e) => {
            counters.fallbacks.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                error = %e,
                transfers = pending.len(),
                "ledger batch failed; applying its transfers one at a time"
            );
            for (p, reply) in pending.into_iter().zip(replies) {
                let answer = store.apply_one(p.req, p.now).await;
                let _ = reply.send(answer);
            }
        }
    }
}

/// The single-transfer path in a transaction of its own.
async fn apply_one(
    db: DatabaseConnection,
    req: TransferRequest,
    now: DateTime<Utc>,
) -> Result<Applied, LedgerError> {
    store::in_write_txn(&db, async |txn| transfer(txn, req, now).await).await
}

/// Account ids by name, learned from committed batches only (an id read in a batch that
/// rolled back might belong to an account that was never created).
#[derive(Default)]
pub struct AccountIds(HashMap<AccountRef, Uuid>);

impl AccountIds {
    pub fn learn(&mut self, ids: HashMap<AccountRef, Uuid>) {
        if self.0.len() + ids.len() > MAX_REMEMBERED_ACCOUNTS {
            self.0.clear();
        }
        self.0.extend(ids);
    }
}

/// A locked account as the batch moves it.
struct Account {
    balance: i64,
    min_balance: Option<i64>,
    /// Net change written at the end.
    delta: i64,
    moved: bool,
}

/// A locked wallet row as the batch moves it.
struct WalletRow {
    id: Uuid,
    active: bool,
    available: i64,
    held: i64,
    d_available: i64,
    d_held: i64,
    credited: i64,
    debited: i64,
    moved: bool,
}

struct HistoryRow {
    id: Uuid,
    wallet_id: Uuid,
    transfer_id: Uuid,
    amount: i64,
    balance_before: i64,
    balance_after: i64,
    held_after: i64,
    job: usize,
}

pub type Answers = Vec<Result<Applied, LedgerError>>;

/// The columns of a `ledger_transfers` row, in table order.
type TransferRow = (
    Uuid,
    Uuid,
    Uuid,
    i64,
    String,
    String,
    String,
    String,
    Option<Uuid>,
    DateTime<Utc>,
);

fn transfer_model(row: TransferRow) -> ledger_transfer::Model {
    let (id, debit_account_id, credit_account_id, amount, currency, kind, reference, key, hold, at) =
        row;
    ledger_transfer::Model {
        id,
        debit_account_id,
        credit_account_id,
        amount,
        currency,
        kind,
        reference,
        idempotency_key: key,
        hold_id: hold,
        created_at: at,
    }
}

/// Whether a batch's keys may have been applied before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// Any key may be a replay: they are looked up first.
    MayRepeat,
    /// The caller's locked rows prove that no key was applied before (the live worker bills
    /// only minutes after the session's `minutes_billed`, which moves in the same
    /// transaction as their legs). The lookup is skipped; should the proof ever fail, the
    /// unique index refuses the insert and the whole transaction fails, moving nothing.
    Fresh,
}

/// Everything of `apply` but the COMMIT; also returns the account ids it used, to be
/// remembered once committed. Callers with a transaction of their own (the live billing
/// worker) use it directly: the transfers then commit or roll back with their other writes.
pub async fn decide_and_write(
    txn: Conn<'_>,
    max_bind_params: Option<usize>,
    known: &AccountIds,
    jobs: &[Pending],
    keys: Keys,
) -> Result<(Answers, HashMap<AccountRef, Uuid>), DbErr> {
    let backend = txn.backend();
    let limit = Limits::new(backend, max_bind_params);
    let now = jobs.iter().map(|j| j.now).max().unwrap_or_else(Utc::now);

    // 1. Keys applied before this batch, in one lookup.
    let mut prior: HashMap<String, ledger_transfer::Model> = HashMap::new();
    if keys == Keys::MayRepeat {
        let mut keys: Vec<&str> = jobs
            .iter()
            .map(|j| j.req.idempotency_key.as_str())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        for chunk in limit.runs(&keys, |k| (1, k.len())) {
            let mut sql = Sql::new(
                backend,
                "SELECT id, debit_account_id, credit_account_id, amount, currency, kind, \
                 reference, idempotency_key, hold_id, created_at FROM ledger_transfers \
                 WHERE idempotency_key IN ",
            );
            sql.list(chunk.iter().map(|k| Value::from(*k)));
            let found: Vec<TransferRow> = sql.rows(txn).await?;
            prior.extend(found.into_iter().map(|row| {
                let t = transfer_model(row);
                (t.idempotency_key.clone(), t)
            }));
        }
    }

    // 2. Account ids (replays need them too, to tell a replay from a conflict).
    let mut refs: Vec<&AccountRef> = Vec::new();
    let mut seen: HashSet<&AccountRef> = HashSet::new();
    for j in jobs {
        for r in [&j.req.debit, &j.req.credit] {
            if seen.insert(r) {
                refs.push(r);
            }
        }
    }
    let ids = account_ids(txn, known, &refs, now, limit).await?;
    let id_of = |r: &AccountRef| {
        ids.get(r)
            .copied()
            .ok_or_else(|| DbErr::RecordNotFound("ledger account".into()))
    };

    // 3. Lock what the new transfers touch: wallet rows by user, then accounts in id order.
    let fresh = |j: &Pending| !prior.contains_key(&j.req.idempotency_key);
    let mut lock_ids: Vec<Uuid> = Vec::new();
    let mut wallet_keys: Vec<(Uuid, Currency)> = Vec::new();
    for j in jobs.iter().filter(|j| fresh(j)) {
        lock_ids.push(id_of(&j.req.debit)?);
        lock_ids.push(id_of(&j.req.credit)?);
        for user in wallet_users(&j.req) {
            wallet_keys.push((user, j.req.debit.currency));
        }
    }
    lock_ids.sort_unstable();
    lock_ids.dedup();
    wallet_keys.sort_unstable();
    wallet_keys.dedup();
    let mut wallets = lock_wallets(txn, &wallet_keys, now, limit).await?;
    let mut accounts = lock_accounts(txn, &lock_ids, limit).await?;

    // 4. Decide each job in queue order against the running balances.
    let mut answers = Vec::with_capacity(jobs.len());
    let mut transfers: Vec<ledger_transfer::Model> = Vec::new();
    let mut history: Vec<HistoryRow> = Vec::new();
    let mut applied: HashMap<&str, usize> = HashMap::new();
    for (index, job) in jobs.iter().enumerate() {
        let req = &job.req;
        let (debit_id, credit_id) = (id_of(&req.debit)?, id_of(&req.credit)?);
        let earlier = applied
            .get(req.idempotency_key.as_str())
            .map(|&i| &transfers[i])
            .or_else(|| prior.get(&req.idempotency_key));
        if let Some(t) = earlier {
            answers.push(replay(t.clone(), debit_id, credit_id, req.amount));
            continue;
        }
        let users = wallet_users(req);
        let currency = req.debit.currency;
        if let Err(e) = admissible(req, debit_id, &users, &accounts, &wallets) {
            answers.push(Err(e));
            continue;
        }
        for (id, delta) in [(debit_id, -req.amount), (credit_id, req.amount)] {
            let a = accounts
                .get_mut(&id)
                .ok_or_else(|| DbErr::RecordNotFound("locked ledger account".into()))?;
            a.balance += delta;
            a.delta += delta;
            a.moved = true;
        }
        // Ids are minted here, after the locks, so within each wallet they follow the order
        // the money moved in (`Uuid::now_v7` is monotonic within the process), as on the
        // single path; history is read back ordered by id.
        let transfer_id = Uuid::now_v7();
        for user in users {
            let d_available = signed(req, user, AccountKind::ClientAvailable);
            let d_held = signed(req, user, AccountKind::ClientHeld);
            let w = wallets
                .get_mut(&(user, currency))
                .ok_or_else(|| DbErr::RecordNotFound("locked wallet".into()))?;
            let before = w.available;
            w.available += d_available;
            w.held += d_held;
            w.d_available += d_available;
            w.d_held += d_held;
            // Totals count each transfer's effect on the wallet, not the batch's net.
            let total = d_available + d_held;
            if total > 0 {
                w.credited += total;
            } else {
                w.debited -= total;
            }
            w.moved = true;
            history.push(HistoryRow {
                id: Uuid::now_v7(),
                wallet_id: w.id,
                transfer_id,
                amount: d_available,
                balance_before: before,
                balance_after: w.available,
                held_after: w.held,
                job: index,
            });
        }
        applied.insert(req.idempotency_key.as_str(), transfers.len());
        transfers.push(ledger_transfer::Model {
            id: transfer_id,
            debit_account_id: debit_id,
            credit_account_id: credit_id,
            amount: req.amount,
            currency: currency.as_str().to_owned(),
            kind: req.kind.clone(),
            reference: req.reference.clone(),
            idempotency_key: req.idempotency_key.clone(),
            hold_id: req.hold_id,
            created_at: job.now,
        });
        answers.push(Ok(Applied::New(transfers[transfers.len() - 1].clone())));
    }

    // 5. Write it all with multi-row statements.
    if !transfers.is_empty() {
        insert_transfers(txn, limit, &transfers).await?;
        let moved: Vec<(Uuid, i64)> = lock_ids
            .iter()
            .filter_map(|id| accounts.get(id).filter(|a| a.moved).map(|a| (*id, a.delta)))
            .collect();
        update_accounts(txn, limit, &moved, now).await?;
        let moved: Vec<&WalletRow> = wallet_keys
            .iter()
            .filter_map(|k| wallets.get(k).filter(|w| w.moved))
            .collect();
        update_wallets(txn, limit, &moved, now).await?;
        insert_history(txn, limit, &history, jobs).await?;
    }
    Ok((answers, ids))
}

/// Whether `req` may move money now: the same checks, in the same order, as the guarded
/// statements of `ledger::transfer` (the debit's floor, then frozen wallets).
fn admissible(
    req: &TransferRequest,
    debit_id: Uuid,
    users: &[Uuid],
    accounts: &HashMap<Uuid, Account>,
    wallets: &HashMap<(Uuid, Currency), WalletRow>,
) -> Result<(), LedgerError> {
    let missing = || LedgerError::Db(DbErr::RecordNotFound("locked ledger row".into()));
    let debit = accounts.get(&debit_id).ok_or_else(missing)?;
    if let Some(min) = debit.min_balance
        && debit.balance - req.amount < min
    {
        return Err(LedgerError::InsufficientFunds(req.debit.kind.as_str()));
    }
    for user in users {
        let w = wallets
            .get(&(*user, req.debit.currency))
            .ok_or_else(missing)?;
        if !w.active {
            return Err(LedgerError::WalletFrozen);
        }
    }
    Ok(())
}

/// Ids of the named accounts, creating missing ones at zero (as `ensure_account` does).
async fn account_ids(
    conn: Conn<'_>,
    known: &AccountIds,
    refs: &[&AccountRef],
    now: DateTime<Utc>,
    limit: Limits,
) -> Result<HashMap<AccountRef, Uuid>, DbErr> {
    let mut ids = HashMap::with_capacity(refs.len());
    let mut unknown: Vec<&AccountRef> = Vec::new();
    for r in refs {
        match known.0.get(*r) {
            Some(id) => {
                ids.insert((*r).clone(), *id);
            }
            None => unknown.push(r),
        }
    }
    if unknown.is_empty() {
        return Ok(ids);
    }
    find_accounts(conn, &unknown, &mut ids, limit).await?;
    let absent: Vec<&AccountRef> = unknown
        .into_iter()
        .filter(|r| !ids.contains_key(*r))
        .collect();
    if absent.is_empty() {
        return Ok(ids);
    }
    // The columns of `new_account`; a row another writer created meanwhile is kept (see
    // `same_account`).
    let rows: Vec<Vec<Value>> = absent
        .iter()
        .map(|r| {
            vec![
                Uuid::now_v7().into(),
                r.kind.as_str().into(),
                r.owner.as_str().into(),
                r.currency.as_str().into(),
                0i64.into(),
                r.kind.min_balance().into(),
                now.into(),
                now.into(),
            ]
        })
        .collect();
    exec_rows(
        conn,
        limit,
        "INSERT INTO ledger_accounts (id, kind, owner_key, currency, balance, min_balance, \
         created_at, updated_at) VALUES ",
        &rows,
        |sql| sql.push(" ON CONFLICT (kind, owner_key, currency) DO NOTHING"),
    )
    .await?;
    find_accounts(conn, &absent, &mut ids, limit).await?;
    if absent.iter().any(|r| !ids.contains_key(*r)) {
        return Err(DbErr::RecordNotFound("ledger account".into()));
    }
    Ok(ids)
}

/// Looks the accounts up by name. The filter is one `IN` list per column (the unique index
/// `(kind, owner_key, currency)` serves it), and rows that match only across refs are
/// dropped here: an `OR` of one condition per ref nests a level per ref, and SQLite refuses
/// expressions deeper than 1,000, which a batch of a few hundred accounts reached.
async fn find_accounts(
    conn: Conn<'_>,
    refs: &[&AccountRef],
    ids: &mut HashMap<AccountRef, Uuid>,
    limit: Limits,
) -> Result<(), DbErr> {
    let cost = |r: &&AccountRef| (3, r.kind.as_str().len() + r.owner.len() + 3);
    for chunk in limit.runs(refs, cost) {
        let wanted: HashMap<(&str, &str, &str), &AccountRef> = chunk
            .iter()
            .map(|r| ((r.kind.as_str(), r.owner.as_str(), r.currency.as_str()), *r))
            .collect();
        let distinct = |f: fn(&AccountRef) -> &str| {
            let mut v: Vec<&str> = chunk.iter().map(|r| f(r)).collect();
            v.sort_unstable();
            v.dedup();
            v.into_iter().map(Value::from)
        };
        let mut sql = Sql::new(
            conn.backend(),
            "SELECT id, kind, owner_key, currency FROM ledger_accounts WHERE kind IN ",
        );
        sql.list(distinct(|r| r.kind.as_str()));
        sql.push(" AND owner_key IN ");
        sql.list(distinct(|r| r.owner.as_str()));
        sql.push(" AND currency IN ");
        sql.list(distinct(|r| r.currency.as_str()));
        let rows: Vec<(Uuid, String, String, String)> = sql.rows(conn).await?;
        for (id, kind, owner, currency) in rows {
            if let Some(r) = wanted.get(&(kind.as_str(), owner.as_str(), currency.as_str())) {
                ids.insert((*r).clone(), id);
            }
        }
    }
    Ok(())
}

/// Locks the accounts (`ids` sorted, so rows are locked in id order like the single path)
/// and reads what the decisions need. The lock is `FOR NO KEY UPDATE`, the one PostgreSQL's
/// own `UPDATE` takes: `FOR UPDATE` would also block the key-share locks that inserting a
/// transfer takes on its accounts (the foreign keys), and the single path inserts its
/// transfer before it updates balances, in debit/credit order rather than id order, so the
/// two paths could deadlock. SQLite needs no row locks: the write gate and
/// `BEGIN IMMEDIATE` already make the batch the only writer.
async fn lock_accounts(
    conn: Conn<'_>,
    ids: &[Uuid],
    limit: Limits,
) -> Result<HashMap<Uuid, Account>, DbErr> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in limit.runs(ids, |_| (1, 16)) {
        let mut sql = Sql::new(
            conn.backend(),
            "SELECT id, balance, min_balance FROM ledger_accounts WHERE id IN ",
        );
        sql.list(chunk.iter().map(|id| Value::from(*id)));
        sql.push(" ORDER BY id");
        sql.lock_rows();
        let rows: Vec<(Uuid, i64, Option<i64>)> = sql.rows(conn).await?;
        for (id, balance, min_balance) in rows {
            out.insert(
                id,
                Account {
                    balance,
                    min_balance,
                    delta: 0,
                    moved: false,
                },
            );
        }
    }
    if out.len() != ids.len() {
        return Err(DbErr::RecordNotFound("ledger account to lock".into()));
    }
    Ok(out)
}

/// Locks the wallet rows of `keys` (sorted; `FOR NO KEY UPDATE` for the same reason as the
/// accounts), creating missing ones empty and active (as `ensure_wallet` does).
async fn lock_wallets(
    conn: Conn<'_>,
    keys: &[(Uuid, Currency)],
    now: DateTime<Utc>,
    limit: Limits,
) -> Result<HashMap<(Uuid, Currency), WalletRow>, DbErr> {
    let mut out = HashMap::with_capacity(keys.len());
    read_wallets(conn, keys, &mut out, limit).await?;
    let absent: Vec<(Uuid, Currency)> = keys
        .iter()
        .filter(|k| !out.contains_key(*k))
        .copied()
        .collect();
    if absent.is_empty() {
        return Ok(out);
    }
    let rows: Vec<Vec<Value>> = absent
        .iter()
        .map(|(user, currency)| {
            vec![
                Uuid::now_v7().into(),
                (*user).into(),
                currency.as_str().into(),
                WalletStatus::Active.as_str().into(),
                now.into(),
                now.into(),
                0i64.into(),
                0i64.into(),
                0i64.into(),
                0i64.into(),
                0i64.into(),
            ]
        })
        .collect();
    exec_rows(
        conn,
        limit,
        "INSERT INTO wallets (id, user_id, currency, status, created_at, updated_at, balance, \
         available, held, total_credited, total_debited) VALUES ",
        &rows,
        |sql| sql.push(" ON CONFLICT (user_id, currency) DO NOTHING"),
    )
    .await
    .map(drop)?;
    read_wallets(conn, &absent, &mut out, limit).await?;
    if out.len() != keys.len() {
        return Err(DbErr::RecordNotFound("wallet to lock".into()));
    }
    Ok(out)
}

async fn read_wallets(
    conn: Conn<'_>,
    keys: &[(Uuid, Currency)],
    out: &mut HashMap<(Uuid, Currency), WalletRow>,
    limit: Limits,
) -> Result<(), DbErr> {
    let mut users: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
    users.dedup();
    for chunk in limit.runs(&users, |_| (1, 16)) {
        let mut sql = Sql::new(
            conn.backend(),
            "SELECT id, user_id, currency, available, held, status FROM wallets \
             WHERE user_id IN ",
        );
        sql.list(chunk.iter().map(|u| Value::from(*u)));
        sql.push(" ORDER BY id");
        sql.lock_rows();
        type Row = (Uuid, Uuid, String, i64, i64, String);
        let rows: Vec<Row> = sql.rows(conn).await?;
        for (id, user, currency, available, held, status) in rows {
            let Ok(currency) = Currency::parse(&currency) else {
                continue;
            };
            if keys.binary_search(&(user, currency)).is_err() {
                continue;
            }
            out.insert(
                (user, currency),
                WalletRow {
                    id,
                    active: status == WalletStatus::Active.as_str(),
                    available,
                    held,
                    d_available: 0,
                    d_held: 0,
                    credited: 0,
                    debited: 0,
                    moved: false,
                },
            );
        }
    }
    Ok(())
}

/// Plain INSERT, not ON CONFLICT: a key another writer inserted since the lookup must fail
/// the batch (and send it down the one-at-a-time path, which answers it as a replay).
async fn insert_transfers(
    conn: Conn<'_>,
    limit: Limits,
    transfers: &[ledger_transfer::Model],
) -> Result<(), DbErr> {
    let rows: Vec<Vec<Value>> = transfers
        .iter()
        .map(|t| {
            vec![
                t.id.into(),
                t.debit_account_id.into(),
                t.credit_account_id.into(),
                t.amount.into(),
                t.currency.clone().into(),
                t.kind.clone().into(),
                t.reference.clone().into(),
                t.idempotency_key.clone().into(),
                t.hold_id.into(),
                t.created_at.into(),
            ]
        })
        .collect();
    exec_rows(
        conn,
        limit,
        "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, \
         currency, kind, reference, idempotency_key, hold_id, created_at) VALUES ",
        &rows,
        |_| {},
    )
    .await?;
    Ok(())
}

/// Adds each account's net change. The rows are locked and the floors were checked in
/// memory; writing deltas rather than absolute balances keeps the books balanced even if
/// that reasoning were ever wrong.
async fn update_accounts(
    conn: Conn<'_>,
    limit: Limits,
    moved: &[(Uuid, i64)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let rows: Vec<Vec<Value>> = moved
        .iter()
        .map(|(id, delta)| vec![(*id).into(), (*delta).into()])
        .collect();
    let n = exec_rows(conn, limit, "WITH v(id, delta) AS (VALUES ", &rows, |sql| {
        sql.push(
            ") UPDATE ledger_accounts SET balance = ledger_accounts.balance + v.delta, \
                 updated_at = ",
        );
        sql.bind(now);
        sql.push(" FROM v WHERE ledger_accounts.id = v.id");
    })
    .await?;
    if n != rows.len() as u64 {
        return Err(DbErr::RecordNotUpdated);
    }
    Ok(())
}

async fn update_wallets(
    conn: Conn<'_>,
    limit: Limits,
    moved: &[&WalletRow],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let rows: Vec<Vec<Value>> = moved
        .iter()
        .map(|w| {
            vec![
                w.id.into(),
                w.d_available.into(),
                w.d_held.into(),
                w.credited.into(),
                w.debited.into(),
            ]
        })
        .collect();
    let n = exec_rows(
        conn,
        limit,
        "WITH v(id, d_available, d_held, d_credited, d_debited) AS (VALUES ",
        &rows,
        |sql| {
            sql.push(
                ") UPDATE wallets SET available = wallets.available + v.d_available, \
                 held = wallets.held + v.d_held, \
                 balance = wallets.balance + v.d_available + v.d_held, \
                 total_credited = wallets.total_credited + v.d_credited, \
                 total_debited = wallets.total_debited + v.d_debited, updated_at = ",
            );
            sql.bind(now);
            sql.push(" FROM v WHERE wallets.id = v.id");
        },
    )
    .await?;
    if n != rows.len() as u64 {
        return Err(DbErr::RecordNotUpdated);
    }
    Ok(())
}

async fn insert_history(
    conn: Conn<'_>,
    limit: Limits,
    history: &[HistoryRow],
    jobs: &[Pending],
) -> Result<(), DbErr> {
    let rows: Vec<Vec<Value>> = history
        .iter()
        .map(|h| {
            let job = &jobs[h.job];
            vec![
                h.id.into(),
                h.wallet_id.into(),
                h.transfer_id.into(),
                job.req.kind.clone().into(),
                h.amount.into(),
                h.balance_before.into(),
                h.balance_after.into(),
                h.held_after.into(),
                job.req.reference.clone().into(),
                job.req.description.clone().into(),
                job.now.into(),
            ]
        })
        .collect();
    exec_rows(
        conn,
        limit,
        "INSERT INTO wallet_transactions (id, wallet_id, transfer_id, kind, amount, \
         balance_before, balance_after, held_after, reference, description, created_at) \
         VALUES ",
        &rows,
        |_| {},
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_in_memory_database_is_written_through_its_own_pool() {
        let db = store::connect("sqlite::memory:", 2).await.unwrap();
        store::migrate(&db).await.unwrap();
        let batcher = Batcher::start(db.clone());
        let req = TransferRequest {
            debit: AccountRef::platform(AccountKind::PromotionsExpense, Currency::INR),
            credit: AccountRef::platform(AccountKind::PlatformRevenue, Currency::INR),
            amount: 5,
            kind: "test".into(),
            reference: "test".into(),
            idempotency_key: "mem-1".into(),
            hold_id: None,
            description: "test".into(),
        };
        let applied = batcher.submit(req.clone(), Utc::now()).await.unwrap();
        assert!(applied.is_new());
        assert!(!batcher.submit(req, Utc::now()).await.unwrap().is_new());
        // The write landed in the database `db` reads, not in a second in-memory one.
        let balances = super::super::trial_balance(&db).await.unwrap();
        assert_eq!(balances, [("INR".to_owned(), 0, 2)]);
    }
}
