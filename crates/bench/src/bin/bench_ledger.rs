//! Ledger benchmark: transfers/s and p99 at 1, 16 and 64 concurrent writers, spread over
//! 1,000 wallets and on one hot wallet, on SQLite and (when configured) PostgreSQL.
//!
//! Each cell measures two pairs in the same run, each pair with its own ratio:
//! - unbatched: `ledger::transfer` in a transaction per transfer, next to a raw-SQL loop
//!   issuing the same writes one transaction per transfer;
//! - batched: `ledger::batch::Batcher` (group commit), next to a raw-SQL group-commit loop
//!   that queues the same way and issues the same multi-row statements per batch.
//!
//! `cargo run --release -p augur-bench --bin bench_ledger`; PostgreSQL with
//! `AUGUR_BENCH_POSTGRES_URL=postgres://…`; `AUGUR_BENCH_SECS` per measurement (default 3);
//! `AUGUR_BENCH_SKIP_SQLITE=1` for PostgreSQL alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use augur::accounts::NewUser;
use augur::auth::Role;
use domain::ledger::batch::{self, Batcher, DEFAULT_MAX_BATCH};
use domain::ledger::{self, AccountKind, AccountRef, Currency, TransferRequest};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement,
    TransactionTrait, Value,
};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

const WALLETS: usize = 1_000;

struct Accounts {
    users: Vec<Uuid>,
    /// (available account id, wallet id) per user, for the raw loop.
    ids: Vec<(Uuid, Uuid)>,
}

async fn setup(db: &DatabaseConnection) -> anyhow::Result<Accounts> {
    let now = chrono::Utc::now();
    let txn = store::begin_write(db).await?;
    let mut users = Vec::new();
    for i in 0..WALLETS {
        let u = NewUser {
            email: Some(format!("ledger{i}@example.com")),
            ..NewUser::new(Role::Client, "Bench")
        }
        .into_active_model(now)
        .insert(&txn)
        .await?;
        ledger::transfer(
            &txn,
            TransferRequest {
                debit: AccountRef::platform(AccountKind::PromotionsExpense, Currency::INR),
                credit: AccountRef::wallet(u.id, Currency::INR),
                amount: 1_000_000_000,
                kind: "credit".into(),
                reference: "bench".into(),
                idempotency_key: format!("fund-{}", u.id),
                hold_id: None,
                description: "bench funding".into(),
            },
            now,
        )
        .await?;
        users.push(u.id);
    }
    txn.commit().await?;
    db.execute_unprepared("ANALYZE").await?;
    let mut ids = Vec::new();
    for u in &users {
        let acc = ledger::ensure_account(db, &AccountRef::wallet(*u, Currency::INR), now).await?;
        let w = ledger::ensure_wallet(db, *u, Currency::INR, now).await?;
        ids.push((acc, w.id));
    }
    Ok(Accounts { users, ids })
}

/// Picks (from, to) for call `n`: spread = any two wallets; hot = always from wallet 0.
fn pair(n: u64, hot: bool) -> (usize, usize) {
    let a = (n.wrapping_mul(2654435761) % WALLETS as u64) as usize;
    let b = (n.wrapping_mul(40503).wrapping_add(7) % WALLETS as u64) as usize;
    let from = if hot { 0 } else { a };
    let to = if b == from { (b + 1) % WALLETS } else { b };
    (from, to)
}

async fn ledger_op(
    db: &DatabaseConnection,
    acc: &Accounts,
    n: u64,
    hot: bool,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let txn = store::begin_write(db).await?;
    ledger::transfer(&txn, bench_request(acc, n, hot), now).await?;
    txn.commit().await?;
    Ok(())
}

/// The same writes as a transfer between two wallets, as hand-written SQL: insert the
/// transfer, guarded debit, credit, both wallet rows, both history rows.
async fn raw_op(db: &DatabaseConnection, acc: &Accounts, n: u64, hot: bool) -> anyhow::Result<()> {
    let (from, to) = pair(n, hot);
    let (a_from, w_from) = acc.ids[from];
    let (a_to, w_to) = acc.ids[to];
    let backend = db.get_database_backend();
    let now = chrono::Utc::now();
    let tid = Uuid::now_v7();
    let txn = store::begin_write(db).await?;
    let exec = |sql: &str, values: Vec<Value>| Statement::from_sql_and_values(backend, sql, values);
    txn.execute_raw(exec(
        "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, kind, reference, idempotency_key, hold_id, created_at) \
         VALUES ($1, $2, $3, 1, 'INR', 'raw', 'raw', $4, NULL, $5)",
        vec![tid.into(), a_from.into(), a_to.into(), format!("r-{}", tid.simple()).into(), now.into()],
    ))
    .await?;
    let (first, second) = if a_from < a_to {
        ((a_from, -1i64), (a_to, 1i64))
    } else {
        ((a_to, 1i64), (a_from, -1i64))
    };
    for (account, delta) in [first, second] {
        let r = txn
            .execute_raw(exec(
                "UPDATE ledger_accounts SET balance = balance + $1, updated_at = $2 WHERE id = $3 AND (min_balance IS NULL OR balance + $1 >= min_balance)",
                vec![delta.into(), now.into(), account.into()],
            ))
            .await?;
        anyhow::ensure!(r.rows_affected() == 1, "insufficient funds");
    }
    for (wallet, delta) in [(w_from, -1i64), (w_to, 1i64)] {
        let row = txn
            .query_one_raw(exec(
                "UPDATE wallets SET available = available + $1, balance = balance + $1, updated_at = $2 WHERE id = $3 RETURNING available",
                vec![delta.into(), now.into(), wallet.into()],
            ))
            .await?
            .ok_or_else(|| anyhow::anyhow!("wallet missing"))?;
        let after: i64 = row.try_get("", "available")?;
        txn.execute_raw(exec(
            "INSERT INTO wallet_transactions (id, wallet_id, transfer_id, kind, amount, balance_before, balance_after, held_after, reference, description, created_at) \
             VALUES ($1, $2, $3, 'raw', $4, $5, $6, 0, 'raw', 'raw', $7)",
            vec![Uuid::now_v7().into(), wallet.into(), tid.into(), delta.into(), (after - delta).into(), after.into(), now.into()],
        ))
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The transfer of call `n`: 1 paisa between two funded wallets, under a fresh key.
fn bench_request(acc: &Accounts, n: u64, hot: bool) -> TransferRequest {
    let (from, to) = pair(n, hot);
    TransferRequest {
        debit: AccountRef::wallet(acc.users[from], Currency::INR),
        credit: AccountRef::wallet(acc.users[to], Currency::INR),
        amount: 1,
        kind: "bench".into(),
        reference: "bench".into(),
        idempotency_key: format!("b-{}", Uuid::now_v7().simple()),
        hold_id: None,
        description: "bench".into(),
    }
}

/// The raw group-commit loop: submitters queue their transfer, and one writer takes whatever
/// is queued (up to the batcher's batch size) and applies it in one transaction with the
/// statements `Batcher` issues for such a batch: the key lookup, the locking reads of the
/// accounts and wallet rows, then one multi-row statement each for transfers, account
/// balances, wallet rows and history. It knows every id up front and checks only what a
/// wallet-to-wallet transfer needs, so the ratio is the batcher's own overhead. Batches
/// stay far below both databases' parameter limits, so it does not chunk.
#[derive(Clone)]
struct RawBatcher {
    tx: mpsc::Sender<RawJob>,
}

struct RawJob {
    from: usize,
    to: usize,
    reply: oneshot::Sender<Result<(), String>>,
}

impl RawBatcher {
    fn start(db: DatabaseConnection, acc: Arc<Accounts>) -> Self {
        let (tx, mut rx) = mpsc::channel::<RawJob>(4 * DEFAULT_MAX_BATCH);
        tokio::spawn(async move {
            let mut jobs = Vec::with_capacity(DEFAULT_MAX_BATCH);
            while rx.recv_many(&mut jobs, DEFAULT_MAX_BATCH).await > 0 {
                let batch = std::mem::take(&mut jobs);
                let result = raw_batch(&db, &acc, &batch)
                    .await
                    .map_err(|e| e.to_string());
                for job in batch {
                    let _ = job.reply.send(result.clone());
                }
            }
        });
        Self { tx }
    }

    async fn submit(&self, n: u64, hot: bool) -> anyhow::Result<()> {
        let (from, to) = pair(n, hot);
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(RawJob { from, to, reply })
            .await
            .map_err(|_| anyhow::anyhow!("raw writer stopped"))?;
        answer.await?.map_err(anyhow::Error::msg)
    }
}

/// Hand-written SQL text and its values, with the backend's placeholders.
struct RawSql {
    backend: DatabaseBackend,
    text: String,
    values: Vec<Value>,
}

impl RawSql {
    fn new(backend: DatabaseBackend, head: &str) -> Self {
        Self {
            backend,
            text: head.to_owned(),
            values: Vec::new(),
        }
    }
    fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.values.push(v.into());
        if self.backend == DatabaseBackend::Postgres {
            self.text.push_str(&format!("${}", self.values.len()));
        } else {
            self.text.push('?');
        }
        self
    }
    fn sql(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    fn list(&mut self, values: impl IntoIterator<Item = Value>) -> &mut Self {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.bind(v);
        }
        self
    }
    fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

/// `head (row), (row) …` plus an optional `text $now text` tail, split into statements the
/// way `Batcher` splits them: on PostgreSQL a statement's message stays under 12 KiB, since
/// sqlx 0.9.0 leaves Nagle's algorithm on and a larger one waits ~40 ms for a delayed ACK.
/// (SQLite's parameter limit is far above what these batches bind.)
async fn write_rows(
    txn: &store::WriteTxn,
    backend: DatabaseBackend,
    head: &str,
    rows: Vec<Vec<Value>>,
    tail: Option<(&str, chrono::DateTime<chrono::Utc>, &str)>,
) -> anyhow::Result<()> {
    const BUDGET: usize = 12 * 1024;
    let bytes = |row: &Vec<Value>| -> usize {
        row.iter()
            .map(|v| {
                14 + match v {
                    Value::String(Some(s)) => s.len(),
                    Value::Uuid(Some(_)) => 16,
                    Value::String(None) | Value::Uuid(None) => 0,
                    _ => 8,
                }
            })
            .sum()
    };
    let mut runs: Vec<Vec<Vec<Value>>> = vec![Vec::new()];
    let mut size = 512;
    for row in rows {
        let b = bytes(&row);
        let last = runs.last_mut().expect("a run");
        if backend == DatabaseBackend::Postgres && !last.is_empty() && size + b > BUDGET {
            runs.push(Vec::new());
            size = 512;
        }
        size += b;
        runs.last_mut().expect("a run").push(row);
    }
    for run in runs.into_iter().filter(|r| !r.is_empty()) {
        let mut q = RawSql::new(backend, head);
        for (i, row) in run.into_iter().enumerate() {
            q.sql(if i == 0 { "(" } else { ", (" }).list(row).sql(")");
        }
        if let Some((before, now, after)) = tail {
            q.sql(before).bind(now).sql(after);
        }
        txn.execute_raw(q.build()).await?;
    }
    Ok(())
}

async fn raw_batch(db: &DatabaseConnection, acc: &Accounts, jobs: &[RawJob]) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    let lock = if backend == DatabaseBackend::Postgres {
        " FOR NO KEY UPDATE"
    } else {
        ""
    };
    let now = chrono::Utc::now();
    let keys: Vec<String> = jobs
        .iter()
        .map(|_| format!("rb-{}", Uuid::now_v7().simple()))
        .collect();
    let txn = store::begin_write(db).await?;

    let mut q = RawSql::new(
        backend,
        "SELECT id, idempotency_key FROM ledger_transfers WHERE idempotency_key IN (",
    );
    q.list(keys.iter().map(|k| k.clone().into())).sql(")");
    anyhow::ensure!(txn.query_all_raw(q.build()).await?.is_empty(), "key reused");

    let mut account_ids: Vec<Uuid> = jobs
        .iter()
        .flat_map(|j| [acc.ids[j.from].0, acc.ids[j.to].0])
        .collect();
    account_ids.sort_unstable();
    account_ids.dedup();
    let mut q = RawSql::new(
        backend,
        "SELECT id, balance, min_balance FROM ledger_accounts WHERE id IN (",
    );
    q.list(account_ids.iter().map(|id| (*id).into()))
        .sql(&format!(") ORDER BY id{lock}"));
    // id → (balance, floor, delta)
    let mut accounts: std::collections::HashMap<Uuid, (i64, Option<i64>, i64)> =
        std::collections::HashMap::new();
    for row in txn.query_all_raw(q.build()).await? {
        let id: Uuid = row.try_get("", "id")?;
        accounts.insert(
            id,
            (
                row.try_get("", "balance")?,
                row.try_get("", "min_balance")?,
                0,
            ),
        );
    }

    let mut wallet_ids: Vec<Uuid> = jobs
        .iter()
        .flat_map(|j| [acc.ids[j.from].1, acc.ids[j.to].1])
        .collect();
    wallet_ids.sort_unstable();
    wallet_ids.dedup();
    let mut q = RawSql::new(
        backend,
        "SELECT id, available, held, status FROM wallets WHERE id IN (",
    );
    q.list(wallet_ids.iter().map(|id| (*id).into()))
        .sql(&format!(") ORDER BY id{lock}"));
    // id → (available, held, delta, credited, debited)
    let mut wallets: std::collections::HashMap<Uuid, (i64, i64, i64, i64, i64)> =
        std::collections::HashMap::new();
    for row in txn.query_all_raw(q.build()).await? {
        let status: String = row.try_get("", "status")?;
        anyhow::ensure!(status == "active", "frozen wallet");
        let id: Uuid = row.try_get("", "id")?;
        wallets.insert(
            id,
            (
                row.try_get("", "available")?,
                row.try_get("", "held")?,
                0,
                0,
                0,
            ),
        );
    }

    let mut transfers: Vec<Vec<Value>> = Vec::new();
    let mut history: Vec<Vec<Value>> = Vec::new();
    for (job, key) in jobs.iter().zip(&keys) {
        let (a_from, w_from) = acc.ids[job.from];
        let (a_to, w_to) = acc.ids[job.to];
        let from = accounts
            .get_mut(&a_from)
            .ok_or_else(|| anyhow::anyhow!("account"))?;
        anyhow::ensure!(from.1.is_none_or(|min| from.0 > min), "insufficient funds");
        from.0 -= 1;
        from.2 -= 1;
        let to = accounts
            .get_mut(&a_to)
            .ok_or_else(|| anyhow::anyhow!("account"))?;
        to.0 += 1;
        to.2 += 1;
        let tid = Uuid::now_v7();
        transfers.push(vec![
            tid.into(),
            a_from.into(),
            a_to.into(),
            1i64.into(),
            "INR".into(),
            "raw".into(),
            "raw".into(),
            key.clone().into(),
            Option::<Uuid>::None.into(),
            now.into(),
        ]);
        for (wallet, delta) in [(w_from, -1i64), (w_to, 1i64)] {
            let w = wallets
                .get_mut(&wallet)
                .ok_or_else(|| anyhow::anyhow!("wallet"))?;
            let before = w.0;
            w.0 += delta;
            w.2 += delta;
            if delta > 0 {
                w.3 += delta;
            } else {
                w.4 -= delta;
            }
            history.push(vec![
                Uuid::now_v7().into(),
                wallet.into(),
                tid.into(),
                "raw".into(),
                delta.into(),
                before.into(),
                w.0.into(),
                w.1.into(),
                "raw".into(),
                "raw".into(),
                now.into(),
            ]);
        }
    }
    write_rows(
        &txn,
        backend,
        "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, kind, reference, idempotency_key, hold_id, created_at) VALUES ",
        transfers,
        None,
    )
    .await?;
    let rows = account_ids
        .iter()
        .map(|id| vec![(*id).into(), accounts[id].2.into()])
        .collect();
    write_rows(
        &txn,
        backend,
        "WITH v(id, delta) AS (VALUES ",
        rows,
        Some((
            ") UPDATE ledger_accounts SET balance = ledger_accounts.balance + v.delta, updated_at = ",
            now,
            " FROM v WHERE ledger_accounts.id = v.id",
        )),
    )
    .await?;
    let rows = wallet_ids
        .iter()
        .map(|id| {
            let w = wallets[id];
            vec![
                (*id).into(),
                w.2.into(),
                0i64.into(),
                w.3.into(),
                w.4.into(),
            ]
        })
        .collect();
    write_rows(
        &txn,
        backend,
        "WITH v(id, d_available, d_held, d_credited, d_debited) AS (VALUES ",
        rows,
        Some((
            ") UPDATE wallets SET available = wallets.available + v.d_available, \
             held = wallets.held + v.d_held, balance = wallets.balance + v.d_available + v.d_held, \
             total_credited = wallets.total_credited + v.d_credited, \
             total_debited = wallets.total_debited + v.d_debited, updated_at = ",
            now,
            " FROM v WHERE wallets.id = v.id",
        )),
    )
    .await?;
    write_rows(
        &txn,
        backend,
        "INSERT INTO wallet_transactions (id, wallet_id, transfer_id, kind, amount, balance_before, balance_after, held_after, reference, description, created_at) VALUES ",
        history,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

async fn run<F, Fut>(concurrency: usize, secs: f64, op: F) -> (f64, f64)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let op = Arc::new(op);
    let counter = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (op, counter) = (op.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < end {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                // Busy and serialization failures are retried by callers in real code; here a
                // failure is a benchmark bug, so it stops the run.
                op(n).await.expect("bench operation");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let p99 = all
        .get(all.len() * 99 / 100)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    (all.len() as f64 / elapsed, p99)
}

struct Cell {
    rate: f64,
    p99: f64,
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:>7.0} ({:>6.1} ms)", self.rate, self.p99)
    }
}

async fn measure<F, Fut>(conc: usize, secs: f64, op: F) -> Cell
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let (rate, p99) = run(conc, secs, op).await;
    Cell { rate, p99 }
}

async fn bench(label: &str, url: &str, secs: f64) -> anyhow::Result<()> {
    let db = store::connect(url, 64).await?;
    store::migrate(&db).await?;
    let acc = Arc::new(setup(&db).await?);
    let batcher = Batcher::start(db.clone());
    // Its writer gets a connection of its own, set up as the batcher's is.
    let raw_batcher = RawBatcher::start(batch::own_connection(&db), acc.clone());
    println!("{label}: {WALLETS} wallets, {secs:.0} s per measurement; transfers/s (p99 ms)");
    println!(
        "  {:<6} {:>4}  {:>19}  {:>19}  {:>5}  |  {:>19}  {:>19}  {:>5}  {:>5}",
        "shape",
        "conc",
        "ledger::transfer",
        "raw, txn each",
        "ratio",
        "Batcher::submit",
        "raw, batched",
        "ratio",
        "batch"
    );
    for hot in [false, true] {
        for conc in [1usize, 16, 64] {
            let (db1, acc1) = (db.clone(), acc.clone());
            let single = measure(conc, secs, move |n| {
                let (db, acc) = (db1.clone(), acc1.clone());
                async move { ledger_op(&db, &acc, n, hot).await }
            })
            .await;
            let (db2, acc2) = (db.clone(), acc.clone());
            let raw = measure(conc, secs, move |n| {
                let (db, acc) = (db2.clone(), acc2.clone());
                async move { raw_op(&db, &acc, n, hot).await }
            })
            .await;
            let before = batcher.stats();
            let (b, acc3) = (batcher.clone(), acc.clone());
            let batched = measure(conc, secs, move |n| {
                let (b, acc) = (b.clone(), acc3.clone());
                async move {
                    b.submit(bench_request(&acc, n, hot), chrono::Utc::now())
                        .await?;
                    Ok(())
                }
            })
            .await;
            let after = batcher.stats();
            anyhow::ensure!(after.fallbacks == before.fallbacks, "a batch fell back");
            let mean_batch = (after.transfers - before.transfers) as f64
                / (after.batches - before.batches) as f64;
            let rb = raw_batcher.clone();
            let raw_batched = measure(conc, secs, move |n| {
                let rb = rb.clone();
                async move { rb.submit(n, hot).await }
            })
            .await;
            println!(
                "  {:<6} {:>4}  {}  {}  {:>5.2}  |  {}  {}  {:>5.2}  {:>5.1}",
                if hot { "hot" } else { "spread" },
                conc,
                single,
                raw,
                single.rate / raw.rate,
                batched,
                raw_batched,
                batched.rate / raw_batched.rate,
                mean_batch
            );
        }
    }
    let txn = db.begin().await?;
    for (currency, sum, _) in ledger::trial_balance(&txn).await? {
        anyhow::ensure!(sum == 0, "{currency} books do not balance after the bench");
    }
    anyhow::ensure!(
        ledger::wallet_mismatches(&txn).await?.is_empty(),
        "wallet rows differ from the ledger after the bench"
    );
    txn.commit().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs: f64 = std::env::var("AUGUR_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    // `AUGUR_BENCH_SKIP_SQLITE=1` measures PostgreSQL alone.
    if std::env::var_os("AUGUR_BENCH_SKIP_SQLITE").is_none() {
        let dir =
            std::env::temp_dir().join(format!("augur-ledger-bench-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir)?;
        bench(
            "SQLite",
            &format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
            secs,
        )
        .await?;
        let _ = std::fs::remove_dir_all(&dir);
    }
    match std::env::var("AUGUR_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("AUGUR_TEST_POSTGRES_URL"))
    {
        Ok(url) => {
            let name = format!("augur_ledger_bench_{}", Uuid::now_v7().simple());
            let admin = Database::connect(url.as_str()).await?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let root = url
                .rsplit_once('/')
                .map(|(r, _)| r.to_owned())
                .unwrap_or(url.clone());
            let result = bench("PostgreSQL", &format!("{root}/{name}"), secs).await;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .ok();
            result?;
        }
        Err(_) => println!("PostgreSQL: skipped (set AUGUR_BENCH_POSTGRES_URL=postgres://…)"),
    }
    Ok(())
}
