//! Ledger benchmark: transfers/s and p99 at 1, 16 and 64 concurrent writers, spread over
//! 1,000 wallets and on one hot wallet, on SQLite and (when configured) PostgreSQL — next to
//! a raw-SQL loop issuing the same statements in the same run, and their ratio.
//!
//! `cargo run --release -p augur --example bench_ledger`; PostgreSQL with
//! `AUGUR_BENCH_POSTGRES_URL=postgres://…`; `AUGUR_BENCH_SECS` per measurement (default 3).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use augur::accounts::NewUser;
use augur::auth::Role;
use augur::ledger::{self, AccountKind, AccountRef, Currency, TransferRequest};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, Statement, TransactionTrait,
    Value,
};
use uuid::Uuid;

const WALLETS: usize = 1_000;

struct Accounts {
    users: Vec<Uuid>,
    /// (available account id, wallet id) per user, for the raw loop.
    ids: Vec<(Uuid, Uuid)>,
}

async fn setup(db: &DatabaseConnection) -> anyhow::Result<Accounts> {
    let now = chrono::Utc::now();
    let txn = augur::db::begin_write(db).await?;
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
    let (from, to) = pair(n, hot);
    let now = chrono::Utc::now();
    let txn = augur::db::begin_write(db).await?;
    ledger::transfer(
        &txn,
        TransferRequest {
            debit: AccountRef::wallet(acc.users[from], Currency::INR),
            credit: AccountRef::wallet(acc.users[to], Currency::INR),
            amount: 1,
            kind: "bench".into(),
            reference: "bench".into(),
            idempotency_key: format!("b-{}", Uuid::now_v7().simple()),
            hold_id: None,
            description: "bench".into(),
        },
        now,
    )
    .await?;
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
    let txn = augur::db::begin_write(db).await?;
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

async fn bench(label: &str, url: &str, secs: f64) -> anyhow::Result<()> {
    let db = augur::db::connect(url, 64).await?;
    augur::db::migrate(&db).await?;
    let acc = Arc::new(setup(&db).await?);
    println!("{label}: {WALLETS} wallets, {secs:.0} s per cell; transfers/s (p99 ms)");
    println!(
        "  {:<8} {:>4}  {:>22}  {:>22}  {:>6}",
        "shape", "conc", "ledger::transfer", "raw SQL, same writes", "ratio"
    );
    for hot in [false, true] {
        for conc in [1usize, 16, 64] {
            let (db1, acc1) = (db.clone(), acc.clone());
            let (l_rate, l_p99) = run(conc, secs, move |n| {
                let (db, acc) = (db1.clone(), acc1.clone());
                async move { ledger_op(&db, &acc, n, hot).await }
            })
            .await;
            let (db2, acc2) = (db.clone(), acc.clone());
            let (r_rate, r_p99) = run(conc, secs, move |n| {
                let (db, acc) = (db2.clone(), acc2.clone());
                async move { raw_op(&db, &acc, n, hot).await }
            })
            .await;
            println!(
                "  {:<8} {:>4}  {:>12.0} ({:>6.1} ms)  {:>12.0} ({:>6.1} ms)  {:>6.2}",
                if hot { "hot" } else { "spread" },
                conc,
                l_rate,
                l_p99,
                r_rate,
                r_p99,
                l_rate / r_rate
            );
        }
    }
    let txn = db.begin().await?;
    for (currency, sum, _) in ledger::trial_balance(&txn).await? {
        anyhow::ensure!(sum == 0, "{currency} books do not balance after the bench");
    }
    txn.commit().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs: f64 = std::env::var("AUGUR_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let dir = std::env::temp_dir().join(format!("augur-ledger-bench-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    bench(
        "SQLite",
        &format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
        secs,
    )
    .await?;
    let _ = std::fs::remove_dir_all(&dir);
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
