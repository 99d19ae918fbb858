//! Group commit (`ledger::batch::Batcher`): the same answers and invariants as
//! `ledger::transfer`, with many transfers per transaction.

use std::time::Duration;

use augur::accounts::NewUser;
use augur::auth::Role;
use domain::ledger::batch::{BatchConfig, Batcher, own_connection};
use domain::ledger::{
    self, AccountKind, AccountRef, Applied, Currency, LedgerError, TransferRequest,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use store::entity::{ledger_transfer, wallet, wallet_transaction};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};
use crate::wallet::assert_invariants;

both_backends!(
    concurrent_batched_and_single_transfers_keep_every_invariant,
    one_batch_refuses_only_its_bad_requests,
    failed_batch_falls_back_one_transfer_at_a_time,
    chunked_statements_apply_a_batch_in_order,
    a_full_batch_over_hundreds_of_wallets_is_one_transaction,
    a_batch_updates_its_accounts_by_key_in_a_large_table,
);

async fn users(app: &TestApp, n: usize) -> Vec<Uuid> {
    let now = app.state.clock.now();
    let mut out = Vec::new();
    for _ in 0..n {
        let u = NewUser::new(Role::Client, "Batch")
            .into_active_model(now)
            .insert(&app.state.db)
            .await
            .unwrap();
        out.push(u.id);
    }
    out
}

fn gift(from: Uuid, to: Uuid, amount: i64, key: &str) -> TransferRequest {
    TransferRequest {
        debit: AccountRef::wallet(from, Currency::INR),
        credit: AccountRef::wallet(to, Currency::INR),
        amount,
        kind: "gift".into(),
        reference: "batch-test".into(),
        idempotency_key: key.to_owned(),
        hold_id: None,
        description: "gift".into(),
    }
}

/// Funds `user` through the single-transfer path, from the promotions budget.
async fn fund(app: &TestApp, user: Uuid, amount: i64) {
    let now = app.state.clock.now();
    let txn = store::begin_write(&app.state.db).await.unwrap();
    ledger::transfer(
        &txn,
        TransferRequest {
            debit: AccountRef::platform(AccountKind::PromotionsExpense, Currency::INR),
            credit: AccountRef::wallet(user, Currency::INR),
            amount,
            kind: "credit".into(),
            reference: "seed".into(),
            idempotency_key: format!("seed-{user}"),
            hold_id: None,
            description: "seed".into(),
        },
        now,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
}

async fn freeze(app: &TestApp, user: Uuid) {
    wallet::Entity::update_many()
        .col_expr(wallet::Column::Status, Expr::value("frozen"))
        .filter(wallet::Column::UserId.eq(user))
        .exec(&app.state.db)
        .await
        .unwrap();
}

async fn available(app: &TestApp, user: Uuid) -> i64 {
    wallet::Entity::find()
        .filter(wallet::Column::UserId.eq(user))
        .one(&app.state.db)
        .await
        .unwrap()
        .map_or(0, |w| w.available)
}

async fn transfer_count(app: &TestApp) -> u64 {
    ledger_transfer::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

/// Runs `f` repeatedly until it holds, failing after 10 s.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..2_000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Holds the batcher's writer in its first batch, so everything submitted until `release`
/// queues up and is applied as the next batch, in submission order.
struct Gate {
    txn: store::WriteTxn,
    blocker: tokio::task::JoinHandle<Result<Applied, LedgerError>>,
}

impl Gate {
    async fn close(app: &TestApp, batcher: &Batcher, blocked_user: Uuid) -> Gate {
        // On SQLite the open write transaction holds the write gate; on PostgreSQL the row
        // lock on the promotions account stops the blocker, which debits it.
        let txn = store::begin_write(&app.state.db).await.unwrap();
        txn.execute_unprepared(
            "UPDATE ledger_accounts SET updated_at = updated_at WHERE kind = 'promotions_expense'",
        )
        .await
        .unwrap();
        let before = batcher.stats().batches;
        let (b, now) = (batcher.clone(), app.state.clock.now());
        let blocker = tokio::spawn(async move {
            b.submit(
                TransferRequest {
                    debit: AccountRef::platform(AccountKind::PromotionsExpense, Currency::INR),
                    credit: AccountRef::wallet(blocked_user, Currency::INR),
                    amount: 1,
                    kind: "credit".into(),
                    reference: "blocker".into(),
                    idempotency_key: "blocker".into(),
                    hold_id: None,
                    description: "blocker".into(),
                },
                now,
            )
            .await
        });
        until("the writer to take the blocker", || {
            batcher.stats().batches == before + 1 && batcher.queued() == 0
        })
        .await;
        Gate { txn, blocker }
    }

    async fn release(self) {
        self.txn.commit().await.unwrap();
        assert!(self.blocker.await.unwrap().unwrap().is_new());
    }
}

type Pending = tokio::task::JoinHandle<Result<Applied, LedgerError>>;

/// Submits `req` and waits until it is queued, so submissions queue in call order.
async fn queue(app: &TestApp, batcher: &Batcher, req: TransferRequest) -> Pending {
    let before = batcher.queued();
    let (b, now) = (batcher.clone(), app.state.clock.now());
    let handle = tokio::spawn(async move { b.submit(req, now).await });
    until("the submission to queue", || batcher.queued() == before + 1).await;
    handle
}

async fn concurrent_batched_and_single_transfers_keep_every_invariant(b: Backend) {
    let app = TestApp::spawn(b).await;
    let batcher = Batcher::start(app.state.db.clone());
    let wallets = users(&app, 10).await;
    for u in &wallets {
        fund(&app, *u, 20_000).await;
    }
    // The drain wallet holds exactly 100, and every task tries to take 1 from it 4 times.
    let drain = users(&app, 1).await[0];
    fund(&app, drain, 100).await;
    let frozen = users(&app, 1).await[0];
    fund(&app, frozen, 500).await;
    freeze(&app, frozen).await;
    let seeded = transfer_count(&app).await;

    let mut tasks = Vec::new();
    for task in 0..64u64 {
        let (state, batcher, wallets) = (app.state.clone(), batcher.clone(), wallets.clone());
        tasks.push(tokio::spawn(async move {
            let mut seed = task.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(11);
            let mut next = move |n: u64| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed % n
            };
            let (mut new, mut drained, mut dry) = (0u64, 0u64, 0u64);
            // This task's applied requests and the transfer ids they got.
            let mut done: Vec<(TransferRequest, Uuid)> = Vec::new();
            for step in 0..16 {
                let now = state.clock.now();
                let key = format!("c{task}-{step}");
                let from = wallets[next(10) as usize];
                let to = wallets[next(10) as usize];
                if step % 4 == 0 {
                    let req = gift(drain, to, 1, &key);
                    match batcher.submit(req, now).await {
                        Ok(Applied::New(_)) => {
                            drained += 1;
                            new += 1;
                        }
                        Err(LedgerError::InsufficientFunds("client_available")) => dry += 1,
                        other => panic!("drain answered {other:?}"),
                    }
                    continue;
                }
                match next(8) {
                    // Batched wallet-to-wallet, often more than the payer has left.
                    0..=3 => {
                        let req = gift(from, to, 1 + next(4_000) as i64, &key);
                        match batcher.submit(req.clone(), now).await {
                            Ok(Applied::New(t)) => {
                                new += 1;
                                done.push((req, t.id));
                            }
                            Err(LedgerError::InsufficientFunds(_)) => {}
                            other => panic!("batched transfer answered {other:?}"),
                        }
                    }
                    // A replay of an applied request returns the first transfer; the same
                    // key for another amount is refused.
                    4 if !done.is_empty() => {
                        let (req, id) = done[next(done.len() as u64) as usize].clone();
                        let mut other = req.clone();
                        match batcher.submit(req, now).await {
                            Ok(Applied::Replayed(t)) => assert_eq!(t.id, id),
                            answer => panic!("replay answered {answer:?}"),
                        }
                        other.amount += 1;
                        assert!(matches!(
                            batcher.submit(other, now).await,
                            Err(LedgerError::IdempotencyConflict)
                        ));
                    }
                    // The frozen wallet neither pays nor receives.
                    5 => {
                        // The payers here can always pay, so frozen is the only refusal.
                        let req = if next(2) == 0 {
                            gift(frozen, to, 1, &key)
                        } else {
                            TransferRequest {
                                debit: AccountRef::platform(
                                    AccountKind::PromotionsExpense,
                                    Currency::INR,
                                ),
                                ..gift(from, frozen, 1, &key)
                            }
                        };
                        assert!(matches!(
                            batcher.submit(req, now).await,
                            Err(LedgerError::WalletFrozen)
                        ));
                    }
                    // The single-transfer path at the same time, on the same wallets.
                    _ => {
                        let txn = store::begin_write(&state.db).await.unwrap();
                        let req = gift(from, to, 1 + next(4_000) as i64, &key);
                        match ledger::transfer(&txn, req, now).await {
                            Ok(a) => {
                                assert!(a.is_new());
                                txn.commit().await.unwrap();
                                new += 1;
                            }
                            Err(LedgerError::InsufficientFunds(_)) => txn.rollback().await.unwrap(),
                            Err(e) => panic!("single transfer answered {e:?}"),
                        }
                    }
                }
            }
            (new, drained, dry)
        }));
    }
    let (mut new, mut drained, mut dry) = (0, 0, 0);
    for t in tasks {
        let (n, d, x) = t.await.unwrap();
        new += n;
        drained += d;
        dry += x;
    }
    assert_eq!(drained, 100, "exactly what the drain wallet held moved out");
    assert_eq!(dry, 64 * 4 - 100);
    assert_eq!(available(&app, drain).await, 0);
    assert_eq!(
        available(&app, frozen).await,
        500,
        "the frozen wallet moved"
    );
    assert_eq!(
        transfer_count(&app).await,
        seeded + new,
        "one row per applied transfer"
    );
    let stats = batcher.stats();
    assert!(
        stats.batches < stats.transfers,
        "submissions were grouped: {stats:?}"
    );
    assert_eq!(stats.fallbacks, 0, "{stats:?}");
    assert_invariants(&app).await;
}

async fn one_batch_refuses_only_its_bad_requests(b: Backend) {
    let app = TestApp::spawn(b).await;
    let batcher = Batcher::start(app.state.db.clone());
    let u = users(&app, 5).await;
    let (a, bb, c, frozen, z) = (u[0], u[1], u[2], u[3], u[4]);
    let practitioner = Uuid::now_v7();
    fund(&app, a, 1_000).await;
    fund(&app, frozen, 300).await;
    freeze(&app, frozen).await;
    let earnings = |amount| TransferRequest {
        credit: AccountRef::earnings(practitioner, Currency::INR),
        ..gift(c, c, amount, "k6")
    };

    let gate = Gate::close(&app, &batcher, z).await;
    let mut pending = Vec::new();
    for req in [
        gift(a, bb, 600, "k1"),      // 0: applied, A has 400
        gift(a, c, 600, "k2"),       // 1: overdraft
        gift(a, c, 400, "k3"),       // 2: applied, A has 0
        gift(a, bb, 600, "k1"),      // 3: replay of 0
        gift(a, bb, 601, "k1"),      // 4: the key reused for another amount
        gift(frozen, a, 100, "k4"),  // 5: frozen payer
        gift(bb, frozen, 100, "k5"), // 6: frozen payee
        earnings(150),               // 7: to an account created in the batch
        gift(bb, a, 600, "k7"),      // 8: applied, A has 600
        gift(a, c, 600, "k2"),       // 9: the key refused in 1 now applies
        gift(a, z, 1, "blocker"),    // 10: a key from an earlier batch, another transfer
    ] {
        pending.push(queue(&app, &batcher, req).await);
    }
    let before = batcher.stats();
    gate.release().await;
    let mut answers = Vec::new();
    for p in pending {
        answers.push(p.await.unwrap());
    }
    let after = batcher.stats();
    assert_eq!(
        (after.batches - before.batches, after.fallbacks),
        (1, 0),
        "one batch, no fallback"
    );

    let first = match &answers[0] {
        Ok(Applied::New(t)) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        answers[1],
        Err(LedgerError::InsufficientFunds("client_available"))
    ));
    assert!(answers[2].as_ref().unwrap().is_new());
    match &answers[3] {
        Ok(Applied::Replayed(t)) => assert_eq!(t, &first, "a replay returns the first result"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(answers[4], Err(LedgerError::IdempotencyConflict)));
    assert!(matches!(answers[5], Err(LedgerError::WalletFrozen)));
    assert!(matches!(answers[6], Err(LedgerError::WalletFrozen)));
    assert!(answers[7].as_ref().unwrap().is_new());
    assert!(answers[8].as_ref().unwrap().is_new());
    assert!(answers[9].as_ref().unwrap().is_new());
    assert!(matches!(answers[10], Err(LedgerError::IdempotencyConflict)));

    assert_eq!(available(&app, a).await, 0);
    assert_eq!(available(&app, bb).await, 0);
    assert_eq!(available(&app, c).await, 400 + 600 - 150);
    assert_eq!(available(&app, frozen).await, 300);
    // A's history inside the batch follows the queue order.
    let wallet_a = ledger::ensure_wallet(&app.state.db, a, Currency::INR, app.state.clock.now())
        .await
        .unwrap();
    let history: Vec<(i64, i64)> = wallet_transaction::Entity::find()
        .filter(wallet_transaction::Column::WalletId.eq(wallet_a.id))
        .order_by_asc(wallet_transaction::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.balance_before, h.balance_after))
        .collect();
    assert_eq!(
        history,
        [(0, 1_000), (1_000, 400), (400, 0), (0, 600), (600, 0)]
    );
    assert_invariants(&app).await;
}

async fn failed_batch_falls_back_one_transfer_at_a_time(b: Backend) {
    let app = TestApp::spawn(b).await;
    let batcher = Batcher::start(app.state.db.clone());
    let u = users(&app, 4).await;
    let (a, bb, c, z) = (u[0], u[1], u[2], u[3]);
    fund(&app, a, 1_000).await;
    // No such user: creating the wallet row breaks its foreign key, which fails the batch's
    // transaction as a whole.
    let ghost = Uuid::now_v7();

    let gate = Gate::close(&app, &batcher, z).await;
    let mut pending = Vec::new();
    for req in [
        gift(a, bb, 10, "f1"),
        gift(a, ghost, 10, "f2"),
        gift(a, c, 10, "f3"),
        gift(a, bb, 10, "f1"),
        gift(a, c, 5_000, "f4"),
    ] {
        pending.push(queue(&app, &batcher, req).await);
    }
    let before = batcher.stats();
    gate.release().await;
    let mut answers = Vec::new();
    for p in pending {
        answers.push(p.await.unwrap());
    }
    assert_eq!(batcher.stats().fallbacks - before.fallbacks, 1);
    let first = answers[0].as_ref().unwrap();
    assert!(first.is_new());
    assert!(
        matches!(answers[1], Err(LedgerError::Db(_))),
        "{:?}",
        answers[1]
    );
    assert!(answers[2].as_ref().unwrap().is_new());
    match &answers[3] {
        Ok(Applied::Replayed(t)) => assert_eq!(t.id, first.transfer().id),
        other => panic!("{other:?}"),
    }
    assert!(matches!(answers[4], Err(LedgerError::InsufficientFunds(_))));
    assert_eq!(available(&app, a).await, 980, "applied once each");
    assert_eq!(available(&app, bb).await, 10);
    assert_eq!(available(&app, c).await, 10);
    assert_invariants(&app).await;

    // The writer carries on with the next batch.
    let next = batcher
        .submit(gift(a, c, 1, "f5"), app.state.clock.now())
        .await
        .unwrap();
    assert!(next.is_new());
}

async fn chunked_statements_apply_a_batch_in_order(b: Backend) {
    let app = TestApp::spawn(b).await;
    // 16 parameters per statement: one history row, one transfer or three wallets each.
    let batcher = Batcher::with_config(
        app.state.db.clone(),
        BatchConfig {
            max_bind_params: Some(16),
            ..BatchConfig::default()
        },
    );
    let wallets = users(&app, 11).await;
    let z = wallets[10];
    let mut expected = [0i64; 10];
    for (i, u) in wallets[..10].iter().enumerate() {
        fund(&app, *u, 300).await;
        expected[i] = 300;
    }
    let gate = Gate::close(&app, &batcher, z).await;
    let mut pending = Vec::new();
    let mut seed = 7u64;
    for n in 0..60 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let (from, to) = ((seed >> 33) as usize % 10, (seed >> 17) as usize % 10);
        let amount = 1 + (seed >> 40) as i64 % 200;
        // What applying the queue in order must give.
        let ok = expected[from] >= amount;
        if ok {
            expected[from] -= amount;
            expected[to] += amount;
        }
        let req = gift(wallets[from], wallets[to], amount, &format!("ch{n}"));
        pending.push((queue(&app, &batcher, req).await, ok));
    }
    gate.release().await;
    for (p, ok) in pending {
        let answer = p.await.unwrap();
        assert_eq!(answer.is_ok(), ok, "{answer:?}");
    }
    assert_eq!(batcher.stats().fallbacks, 0);
    for (i, u) in wallets[..10].iter().enumerate() {
        assert_eq!(available(&app, *u).await, expected[i], "wallet {i}");
    }
    assert_invariants(&app).await;
}

/// A full batch (256 transfers) between 512 different wallets: over a thousand ledger rows
/// looked up and locked by one transaction. Looking the accounts up with one `OR` per
/// account nested past SQLite's expression depth limit (1,000) at this size, and every
/// such batch fell back to one transfer at a time.
async fn a_full_batch_over_hundreds_of_wallets_is_one_transaction(b: Backend) {
    const N: usize = 256;
    let app = TestApp::spawn(b).await;
    let batcher = Batcher::start(app.state.db.clone());
    let payers = users(&app, N).await;
    let payees = users(&app, N).await;
    for p in &payers {
        fund(&app, *p, 1_000).await;
    }
    let blocked = users(&app, 1).await[0];
    let gate = Gate::close(&app, &batcher, blocked).await;
    let before = batcher.stats();
    let mut pending = Vec::new();
    for (n, (from, to)) in payers.iter().zip(&payees).enumerate() {
        let req = gift(*from, *to, 1 + n as i64, &format!("wide{n}"));
        pending.push(queue(&app, &batcher, req).await);
    }
    gate.release().await;
    for p in pending {
        p.await.unwrap().unwrap();
    }
    let after = batcher.stats();
    assert_eq!(after.fallbacks, before.fallbacks);
    assert_eq!(after.batches, before.batches + 1, "{before:?} -> {after:?}");
    for (n, (from, to)) in payers.iter().zip(&payees).enumerate() {
        assert_eq!(available(&app, *from).await, 1_000 - 1 - n as i64);
        assert_eq!(available(&app, *to).await, 1 + n as i64);
    }
    assert_invariants(&app).await;
}

/// The writers' statements find their rows by key however the table and batch sizes
/// compare. On PostgreSQL, 225 account updates in one `UPDATE … FROM (VALUES …)` over
/// 6,000 accounts were planned as a hash join over a scan of the whole table (its cost
/// model assumes uncached random reads), so every batch read every account. The writers'
/// connection plans them by the primary key; the tables updated in place keep room on
/// their pages for HOT updates.
async fn a_batch_updates_its_accounts_by_key_in_a_large_table(b: Backend) {
    const ACCOUNTS: usize = 6_000;
    const BATCH: usize = 225;
    let app = TestApp::spawn(b).await;
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let pg = backend == sea_orm::DatabaseBackend::Postgres;
    let fill = if pg {
        format!(
            "INSERT INTO ledger_accounts (id, kind, owner_key, currency, balance, min_balance, \
             created_at, updated_at) SELECT gen_random_uuid(), 'payouts_paid', 'bench-' || g, 'INR', 0, NULL, \
             now(), now() FROM generate_series(1, {ACCOUNTS}) g"
        )
    } else {
        format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {ACCOUNTS}) \
             INSERT INTO ledger_accounts (id, kind, owner_key, currency, balance, min_balance, \
             created_at, updated_at) SELECT lower(hex(randomblob(16))), 'payouts_paid', 'bench-' || n, 'INR', 0, \
             NULL, '2026-01-01', '2026-01-01' FROM g"
        )
    };
    db.execute_unprepared(&fill).await.unwrap();
    db.execute_unprepared("ANALYZE").await.unwrap();
    let ids: Vec<String> = db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            format!("SELECT id FROM ledger_accounts WHERE owner_key LIKE 'bench-%' LIMIT {BATCH}"),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            if pg {
                r.try_get_by_index::<Uuid>(0).unwrap().to_string()
            } else {
                r.try_get_by_index::<String>(0).unwrap()
            }
        })
        .collect();
    assert_eq!(ids.len(), BATCH);
    let cast = if pg { "::uuid" } else { "" };
    let values: Vec<String> = ids.iter().map(|id| format!("('{id}'{cast}, 1)")).collect();
    let update = format!(
        "WITH v(id, delta) AS (VALUES {}) UPDATE ledger_accounts SET balance = \
         ledger_accounts.balance + v.delta FROM v WHERE ledger_accounts.id = v.id",
        values.join(", ")
    );
    let writer = own_connection(db);
    let explain = if pg {
        "EXPLAIN "
    } else {
        "EXPLAIN QUERY PLAN "
    };
    let plan: Vec<String> = writer
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            format!("{explain}{update}"),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            // PostgreSQL answers one text column; SQLite (id, parent, notused, detail).
            if pg {
                r.try_get_by_index::<String>(0).unwrap()
            } else {
                r.try_get_by_index::<String>(3).unwrap()
            }
        })
        .collect();
    let plan = plan.join("\n");
    if pg {
        assert!(!plan.contains("Seq Scan on ledger_accounts"), "{plan}");
        assert!(plan.contains("ledger_accounts_pkey"), "{plan}");
        let options: Option<Vec<String>> = db
            .query_one_raw(sea_orm::Statement::from_string(
                backend,
                "SELECT reloptions FROM pg_class WHERE relname = 'consultations'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        assert_eq!(options, Some(vec!["fillfactor=80".to_owned()]));
    } else {
        assert!(!plan.contains("SCAN ledger_accounts"), "{plan}");
        assert!(plan.contains("SEARCH ledger_accounts"), "{plan}");
    }
    // And the statement does what it says.
    let done = writer.execute_unprepared(&update).await.unwrap();
    assert_eq!(done.rows_affected(), BATCH as u64);
}
