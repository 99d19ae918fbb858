use std::collections::HashMap;

use domain::ledger::holds::{self, HoldRequest};
use domain::ledger::{self, AccountKind, AccountRef, Currency, LedgerError, TransferRequest};
use reqwest::Method;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};
use store::entity::{ledger_account, ledger_hold, ledger_transfer, wallet, wallet_transaction};
use store::money::{Bps, split_commission};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

both_backends!(
    admin_credit_is_idempotent_and_audited,
    frozen_wallet_moves_no_money,
    holds_capture_split_and_release,
    bank_of_concurrent_operations_keeps_every_invariant,
    retry_storm_on_one_key_credits_once,
    bank_over_http_keeps_every_invariant,
);

async fn credit(
    app: &TestApp,
    admin: &str,
    user: &str,
    key: &str,
    amount: i64,
) -> crate::helpers::Resp {
    app.post_keyed(
        &format!("/api/v1/admin/wallets/{user}/credits"),
        admin,
        key,
        json!({"amount": amount, "reason": "goodwill", "note": "welcome"}),
    )
    .await
}

async fn admin_credit_is_idempotent_and_audited(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (client, _, uid) = app.register("wallet@example.com").await;
    let w = app.get("/api/v1/wallet", Some(&client)).await.expect(200);
    assert_eq!(
        (w["available"].as_i64(), w["currency"].as_str()),
        (Some(0), Some("INR"))
    );

    let first = credit(&app, &admin, &uid, "k-1", 50_000).await.expect(201);
    assert_eq!(first["wallet"]["available"], 50_000);
    let again = credit(&app, &admin, &uid, "k-1", 50_000).await;
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(
        again.expect(201),
        first,
        "a replay returns the first answer"
    );
    credit(&app, &admin, &uid, "k-1", 70_000)
        .await
        .problem(422, "idempotency_key_reused");
    credit(&app, &admin, &uid, "k-2", 25_000).await.expect(201);
    let res = app
        .client
        .post(format!("{}/api/v1/admin/wallets/{uid}/credits", app.base))
        .bearer_auth(&admin)
        .json(&json!({"amount": 1, "reason": "goodwill"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "the Idempotency-Key header is required");
    credit(&app, &admin, &uid, "k-3", 0)
        .await
        .problem(422, "validation_failed");
    credit(&app, &client, &uid, "k-4", 100)
        .await
        .problem(403, "forbidden");

    let w = app.get("/api/v1/wallet", Some(&client)).await.expect(200);
    assert_eq!(w["available"], 75_000);
    assert_eq!(w["total_credited"], 75_000);
    let hist = app
        .get("/api/v1/wallet/transactions", Some(&client))
        .await
        .expect(200);
    let items = hist["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (
            items[0]["balance_before"].as_i64(),
            items[0]["balance_after"].as_i64()
        ),
        (Some(50_000), Some(75_000))
    );
    assert_eq!(
        (
            items[1]["balance_before"].as_i64(),
            items[1]["balance_after"].as_i64()
        ),
        (Some(0), Some(50_000))
    );
    let filtered = app
        .get("/api/v1/wallet/transactions?kind=hold", Some(&client))
        .await
        .expect(200);
    assert!(filtered["items"].as_array().unwrap().is_empty());

    let rec = app
        .get("/api/v1/admin/ledger/reconciliation", Some(&admin))
        .await
        .expect(200);
    assert_eq!(rec["balanced"], true, "{rec}");
    assert_eq!(rec["currencies"][0]["sum"], 0);
    let log = app
        .get(
            "/api/v1/admin/audit-logs?action=wallet.credit",
            Some(&admin),
        )
        .await
        .expect(200);
    assert_eq!(
        log["items"].as_array().unwrap().len(),
        2,
        "one audit row per credit, none for replays"
    );
}

async fn frozen_wallet_moves_no_money(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (client, _, uid) = app.register("frozen@example.com").await;
    credit(&app, &admin, &uid, "before", 1_000)
        .await
        .expect(201);
    let w = app
        .post(
            &format!("/api/v1/admin/wallets/{uid}/freeze"),
            Some(&admin),
            json!({"reason": "chargeback"}),
        )
        .await
        .expect(200);
    assert_eq!(w["status"], "frozen");
    credit(&app, &admin, &uid, "during", 1_000)
        .await
        .problem(403, "wallet_frozen");
    // Holds cannot take money out either.
    let now = app.state.clock.now();
    let txn = store::begin_write(&app.state.db).await.unwrap();
    let user: Uuid = uid.parse().unwrap();
    let err = holds::place(
        &txn,
        HoldRequest {
            user,
            currency: Currency::INR,
            amount: 10,
            reference: "t",
            key: "h-frozen",
            expires_at: now,
        },
        now,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LedgerError::WalletFrozen), "{err:?}");
    drop(txn);
    app.post(
        &format!("/api/v1/admin/wallets/{uid}/unfreeze"),
        Some(&admin),
        json!({"reason": "resolved"}),
    )
    .await
    .expect(200);
    credit(&app, &admin, &uid, "after", 1_000).await.expect(201);
    assert_eq!(
        app.get("/api/v1/wallet", Some(&client)).await.expect(200)["available"],
        2_000
    );
    let log = app
        .get("/api/v1/admin/audit-logs?target_type=wallet", Some(&admin))
        .await
        .expect(200);
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"wallet.freeze") && actions.contains(&"wallet.unfreeze"),
        "{actions:?}"
    );
    app.post(
        &format!("/api/v1/admin/wallets/{uid}/freeze"),
        Some(&client),
        json!({"reason": "x"}),
    )
    .await
    .problem(403, "forbidden");
    app.call(
        Method::GET,
        &format!("/api/v1/admin/wallets/{uid}"),
        Some(&client),
        None,
    )
    .await
    .problem(403, "forbidden");
}

async fn holds_capture_split_and_release(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (client, _, uid) = app.register("holder@example.com").await;
    credit(&app, &admin, &uid, "fund", 10_000).await.expect(201);
    let user: Uuid = uid.parse().unwrap();
    let practitioner = Uuid::now_v7();
    let now = app.state.clock.now();
    let txn = store::begin_write(&app.state.db).await.unwrap();
    let req = || HoldRequest {
        user,
        currency: Currency::INR,
        amount: 6_000,
        reference: "booking:BK1",
        key: "hold-1",
        expires_at: now,
    };
    let hold = holds::place(&txn, req(), now).await.unwrap();
    let replay = holds::place(&txn, req(), now).await.unwrap();
    assert_eq!(hold.id, replay.id, "the same key places one hold");
    let split = split_commission(4_000, Bps::new(2_000).unwrap());
    let parts = [
        (
            AccountRef::earnings(practitioner, Currency::INR),
            split.practitioner,
        ),
        (
            AccountRef::platform(AccountKind::PlatformRevenue, Currency::INR),
            split.platform,
        ),
    ];
    let captured = holds::capture(&txn, hold.id, &parts, "capture", "cap-1", now)
        .await
        .unwrap();
    assert_eq!(captured.captured, 4_000);
    // A replayed capture moves nothing more.
    let again = holds::capture(&txn, hold.id, &parts, "capture", "cap-1", now)
        .await
        .unwrap();
    assert_eq!(again.captured, 4_000);
    // More than is left is refused.
    // More than this hold has left is refused, even while another hold keeps the held balance
    // high enough.
    holds::place(
        &txn,
        HoldRequest {
            user,
            currency: Currency::INR,
            amount: 1_000,
            reference: "other",
            key: "hold-2",
            expires_at: now,
        },
        now,
    )
    .await
    .unwrap();
    let too_much = [(
        AccountRef::platform(AccountKind::PlatformRevenue, Currency::INR),
        2_001,
    )];
    assert!(matches!(
        holds::capture(&txn, hold.id, &too_much, "capture", "cap-2", now).await,
        Err(LedgerError::HoldExhausted)
    ));
    let released = holds::release(&txn, hold.id, "released", now)
        .await
        .unwrap();
    assert_eq!(
        (released.released, released.status.as_str()),
        (2_000, "captured")
    );
    txn.commit().await.unwrap();

    let w = app.get("/api/v1/wallet", Some(&client)).await.expect(200);
    assert_eq!(
        (
            w["available"].as_i64(),
            w["held"].as_i64(),
            w["balance"].as_i64()
        ),
        (Some(5_000), Some(1_000), Some(6_000))
    );
    let hist = app
        .get("/api/v1/wallet/transactions?limit=100", Some(&client))
        .await
        .expect(200);
    let kinds: Vec<&str> = hist["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["release", "hold", "capture", "capture", "hold", "credit"]
    );
    assert_invariants(&app).await;
    let rec = app
        .get("/api/v1/admin/ledger/reconciliation", Some(&admin))
        .await
        .expect(200);
    assert_eq!(rec["balanced"], true, "{rec}");
}

/// Checks every ledger invariant straight from the tables.
pub(crate) async fn assert_invariants(app: &TestApp) {
    let db = &app.state.db;
    for (currency, sum, _) in ledger::trial_balance(db).await.unwrap() {
        assert_eq!(sum, 0, "{currency} books do not balance");
    }
    let accounts = ledger_account::Entity::find().all(db).await.unwrap();
    for a in &accounts {
        if let Some(min) = a.min_balance {
            assert!(
                a.balance >= min,
                "{} {} went below {min}: {}",
                a.kind,
                a.owner_key,
                a.balance
            );
        }
    }
    assert!(
        ledger::wallet_mismatches(db).await.unwrap().is_empty(),
        "wallet rows differ from the ledger"
    );
    let transfers = ledger_transfer::Entity::find().all(db).await.unwrap();
    let mut keys: Vec<&str> = transfers
        .iter()
        .map(|t| t.idempotency_key.as_str())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), transfers.len(), "a key was applied twice");
    // Each account's balance is exactly what its transfers say.
    let mut derived: HashMap<Uuid, i64> = HashMap::new();
    for t in &transfers {
        *derived.entry(t.debit_account_id).or_default() -= t.amount;
        *derived.entry(t.credit_account_id).or_default() += t.amount;
    }
    for a in &accounts {
        assert_eq!(
            a.balance,
            derived.get(&a.id).copied().unwrap_or(0),
            "account {} drifted from its transfers",
            a.id
        );
    }
    // History chains without gaps and ends at the wallet's balance.
    let history = wallet_transaction::Entity::find()
        .order_by_asc(wallet_transaction::Column::Id)
        .all(db)
        .await
        .unwrap();
    for w in wallet::Entity::find().all(db).await.unwrap() {
        let mut expected = 0;
        for h in history.iter().filter(|h| h.wallet_id == w.id) {
            assert_eq!(h.balance_before, expected, "history gap in wallet {}", w.id);
            assert_eq!(h.balance_after, h.balance_before + h.amount);
            expected = h.balance_after;
        }
        assert_eq!(
            expected, w.available,
            "history of {} does not end at its balance",
            w.id
        );
    }
    // Held money is exactly what active holds still reserve.
    let hold_rows = ledger_hold::Entity::find().all(db).await.unwrap();
    for h in &hold_rows {
        assert!(
            h.amount >= h.captured + h.released,
            "hold {} overdrawn",
            h.id
        );
    }
    for a in accounts.iter().filter(|a| a.kind == "client_held") {
        let reserved: i64 = hold_rows
            .iter()
            .filter(|h| h.user_id.to_string() == a.owner_key && h.currency == a.currency)
            .map(|h| h.amount - h.captured - h.released)
            .sum();
        assert_eq!(
            a.balance, reserved,
            "held balance of {} differs from its holds",
            a.owner_key
        );
    }
}

async fn bank_of_concurrent_operations_keeps_every_invariant(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let mut users = Vec::new();
    for i in 0..10 {
        let (_, _, uid) = app.register(&format!("bank{i}@example.com")).await;
        credit(&app, &admin, &uid, &format!("seed-{i}"), 20_000)
            .await
            .expect(201);
        users.push(uid.parse::<Uuid>().unwrap());
    }
    let practitioner = Uuid::now_v7();
    let mut tasks = Vec::new();
    for task in 0..50u64 {
        let state = app.state.clone();
        let users = users.clone();
        tasks.push(tokio::spawn(async move {
            // A small deterministic generator per task: reproducible, no extra dependency.
            let mut seed = task
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut next = move |n: u64| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed % n
            };
            let mut my_holds: Vec<Uuid> = Vec::new();
            for step in 0..12 {
                let now = state.clock.now();
                let user = users[next(10) as usize];
                let key = format!("t{task}-s{step}");
                let txn = store::begin_write(&state.db).await.unwrap();
                let result: Result<(), LedgerError> = match next(5) {
                    0 => holds::place(
                        &txn,
                        HoldRequest {
                            user,
                            currency: Currency::INR,
                            amount: 1 + next(3_000) as i64,
                            reference: "bank",
                            key: &key,
                            expires_at: now,
                        },
                        now,
                    )
                    .await
                    .map(|h| my_holds.push(h.id)),
                    1 if !my_holds.is_empty() => {
                        let hold = my_holds[next(my_holds.len() as u64) as usize];
                        let amount = 1 + next(1_500) as i64;
                        let split = split_commission(amount, Bps::new(2_500).unwrap());
                        holds::capture(
                            &txn,
                            hold,
                            &[
                                (
                                    AccountRef::earnings(practitioner, Currency::INR),
                                    split.practitioner,
                                ),
                                (
                                    AccountRef::platform(
                                        AccountKind::PlatformRevenue,
                                        Currency::INR,
                                    ),
                                    split.platform,
                                ),
                            ],
                            "capture",
                            &key,
                            now,
                        )
                        .await
                        .map(|_| ())
                    }
                    2 if !my_holds.is_empty() => {
                        let hold = my_holds.remove(next(my_holds.len() as u64) as usize);
                        holds::release(&txn, hold, "released", now)
                            .await
                            .map(|_| ())
                    }
                    3 => {
                        let to = users[next(10) as usize];
                        if to == user {
                            Ok(())
                        } else {
                            ledger::transfer(
                                &txn,
                                TransferRequest {
                                    debit: AccountRef::wallet(user, Currency::INR),
                                    credit: AccountRef::wallet(to, Currency::INR),
                                    amount: 1 + next(2_000) as i64,
                                    kind: "gift".into(),
                                    reference: "bank".into(),
                                    idempotency_key: key.clone(),
                                    hold_id: None,
                                    description: "gift".into(),
                                },
                                now,
                            )
                            .await
                            .map(|_| ())
                        }
                    }
                    _ => ledger::transfer(
                        &txn,
                        TransferRequest {
                            debit: AccountRef::earnings(practitioner, Currency::INR),
                            credit: AccountRef::wallet(user, Currency::INR),
                            amount: 1 + next(500) as i64,
                            kind: "refund".into(),
                            reference: "bank".into(),
                            idempotency_key: key.clone(),
                            hold_id: None,
                            description: "refund".into(),
                        },
                        now,
                    )
                    .await
                    .map(|_| ()),
                };
                match result {
                    Ok(()) => txn.commit().await.unwrap(),
                    Err(LedgerError::InsufficientFunds(_) | LedgerError::HoldExhausted) => {
                        drop(txn)
                    }
                    Err(e) => panic!("unexpected ledger error: {e:?}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_invariants(&app).await;
    let rec = app
        .get("/api/v1/admin/ledger/reconciliation", Some(&admin))
        .await
        .expect(200);
    assert_eq!(rec["balanced"], true, "{rec}");
    let total_transfers = ledger_transfer::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .len();
    assert!(
        total_transfers > 100,
        "the bank should have done real work: {total_transfers} transfers"
    );
}

async fn retry_storm_on_one_key_credits_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (client, _, uid) = app.register("storm@example.com").await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (c, base, admin, uid) = (
            app.client.clone(),
            app.base.clone(),
            admin.clone(),
            uid.clone(),
        );
        tasks.push(tokio::spawn(async move {
            c.post(format!("{base}/api/v1/admin/wallets/{uid}/credits"))
                .bearer_auth(admin)
                .header("idempotency-key", "same-key")
                .json(&json!({"amount": 777, "reason": "goodwill", "note": "welcome"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201));
    assert_eq!(
        app.get("/api/v1/wallet", Some(&client)).await.expect(200)["available"],
        777,
        "credited once: {statuses:?}"
    );
    // Once settled, every retry gets the stored answer.
    credit(&app, &admin, &uid, "same-key", 777)
        .await
        .expect(201);
    assert_invariants(&app).await;
}

/// The bank again, driven through the HTTP API where routes exist (top-ups with their
/// webhooks, goodwill credits, refunds, replays) and through the ledger for holds.
async fn bank_over_http_keeps_every_invariant(b: Backend) {
    use domain::payments::sandbox::{SIGNATURE_HEADER, signature_header, webhook_secret};
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let mut users = Vec::new();
    for i in 0..10 {
        let (token, _, uid) = app.register(&format!("httpbank{i}@example.com")).await;
        users.push((token, uid));
    }
    let secret = webhook_secret(&app.state);
    // A practitioner open round the clock with a 15-minute service: bookings are the
    // hold, capture and release leg of the bank.
    let (practitioner, _) =
        crate::helpers::approved_practitioner(&app, &admin, "bank-p@example.com", "Bank P").await;
    let week = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .map(|d| json!({"weekday": d, "start": "00:00", "end": "24:00"}));
    app.call(
        reqwest::Method::PUT,
        "/api/v1/practitioners/me/availability",
        Some(&practitioner),
        Some(json!({"time_zone": "UTC", "weekly": week})),
    )
    .await
    .expect(200);
    let service = app
        .post(
            "/api/v1/practitioners/me/services",
            Some(&practitioner),
            json!({"name": "Bank", "channel": "chat", "duration_minutes": 15, "price": 2_000}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = app.state.clock.now().timestamp();
    let first_slot = chrono::DateTime::from_timestamp((now / 900 + 1) * 900, 0).unwrap()
        + chrono::Duration::hours(2);
    let mut tasks = Vec::new();
    for task in 0..50u64 {
        let (client, base, admin, users, secret, state) = (
            app.client.clone(),
            app.base.clone(),
            admin.clone(),
            users.clone(),
            secret.clone(),
            app.state.clone(),
        );
        let (practitioner, service) = (practitioner.clone(), service.clone());
        tasks.push(tokio::spawn(async move {
            let mut seed = task.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(7);
            let mut next = move |n: u64| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed % n
            };
            for step in 0..6 {
                let (token, uid) = &users[next(10) as usize];
                match next(4) {
                    0 => {
                        // Top up, then the gateway delivers the success twice.
                        let res = client
                            .post(format!("{base}/api/v1/wallet/topups"))
                            .bearer_auth(token)
                            .header("idempotency-key", format!("t{task}s{step}"))
                            .json(&json!({"amount": 1_000 + next(9_000) as i64}))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(res.status(), 201);
                        let order: Value = res.json().await.unwrap();
                        let body = json!({"id": format!("evt_{task}_{step}"), "type": "payment.succeeded", "created": 0,
                            "data": {"order_id": order["gateway_order_id"], "payment_id": "pay", "amount": order["amount"], "currency": "INR"}})
                        .to_string();
                        for _ in 0..2 {
                            let header = signature_header(&secret, state.clock.now().timestamp(), body.as_bytes());
                            let res = client
                                .post(format!("{base}/api/v1/payments/webhooks/sandbox"))
                                .header(SIGNATURE_HEADER, header)
                                .body(body.clone())
                                .send()
                                .await
                                .unwrap();
                            assert_eq!(res.status(), 200);
                        }
                        // Sometimes a partial refund right away.
                        if next(2) == 0 {
                            let res = client
                                .post(format!("{base}/api/v1/admin/topups/{}/refunds", order["id"].as_str().unwrap()))
                                .bearer_auth(&admin)
                                .header("idempotency-key", format!("rf{task}s{step}"))
                                .json(&json!({"amount": 500, "reason": "goodwill"}))
                                .send()
                                .await
                                .unwrap();
                            assert!([201, 402].contains(&res.status().as_u16()), "refund answered {}", res.status());
                        }
                    }
                    1 => {
                        // A goodwill credit, sometimes retried with the same key.
                        let key = format!("c{task}s{}", step / 2);
                        let res = client
                            .post(format!("{base}/api/v1/admin/wallets/{uid}/credits"))
                            .bearer_auth(&admin)
                            .header("idempotency-key", &key)
                            .json(&json!({"amount": 700, "reason": "goodwill"}))
                            .send()
                            .await
                            .unwrap();
                        // The same key for another wallet is a different request.
                        assert!([201, 409, 422].contains(&res.status().as_u16()), "credit answered {}", res.status());
                    }
                    _ => {
                        // A booking holds its price; the practitioner declines (released),
                        // the client cancels a confirmed one (inside a day: half captured,
                        // half released), an admin settles it as held (captured), or it
                        // stays open (still held).
                        let start = first_slot + chrono::Duration::minutes(15 * next(96 * 3) as i64);
                        let res = client
                            .post(format!("{base}/api/v1/bookings"))
                            .bearer_auth(token)
                            .header("idempotency-key", format!("b{task}s{step}"))
                            .json(&json!({"service_id": service, "start": start}))
                            .send()
                            .await
                            .unwrap();
                        match res.status().as_u16() {
                            201 => {}
                            // No money yet, the slot or the client is taken.
                            402 | 409 => continue,
                            other => panic!("booking answered {other}: {}", res.text().await.unwrap()),
                        }
                        let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
                        let post = |path: String, who: &str, body: Value| {
                            client
                                .post(format!("{base}{path}"))
                                .bearer_auth(who)
                                .header("idempotency-key", format!("x{task}s{step}"))
                                .json(&body)
                                .send()
                        };
                        let status = match next(4) {
                            0 => post(format!("/api/v1/bookings/{id}/decline"), &practitioner, json!({})).await.unwrap().status(),
                            1 => {
                                let res = post(format!("/api/v1/bookings/{id}/confirm"), &practitioner, json!({})).await.unwrap();
                                assert_eq!(res.status(), 200);
                                post(format!("/api/v1/bookings/{id}/cancel"), token, json!({})).await.unwrap().status()
                            }
                            2 => post(format!("/api/v1/admin/bookings/{id}/resolve"), &admin, json!({"outcome": "completed", "note": "held"}))
                                .await
                                .unwrap()
                                .status(),
                            _ => reqwest::StatusCode::OK,
                        };
                        assert_eq!(status, 200);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_invariants(&app).await;
    let rec = app
        .get("/api/v1/admin/ledger/reconciliation", Some(&admin))
        .await
        .expect(200);
    assert_eq!(rec["balanced"], true, "{rec}");
    // The booking leg really ran: holds were placed, captured in part and in full, and
    // released.
    let bookings = store::entity::booking::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    let count = |status: &str| bookings.iter().filter(|b| b.status == status).count();
    eprintln!(
        "bookings: {} (declined {}, cancelled {}, completed {}, open {})",
        bookings.len(),
        count("declined"),
        count("cancelled"),
        count("completed"),
        count("requested")
    );
    assert!(count("declined") > 0 && count("cancelled") > 0 && count("completed") > 0);
    assert!(
        bookings
            .iter()
            .any(|b| b.status == "cancelled" && b.captured > 0 && b.refunded > 0)
    );
    // Every paid top-up was credited exactly once.
    let orders = store::entity::payment_order::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    let topups = ledger_transfer::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    for o in orders.iter().filter(|o| o.status == "paid") {
        let credits = topups
            .iter()
            .filter(|t| t.idempotency_key == format!("topup:{}", o.id))
            .count();
        assert_eq!(credits, 1, "order {} credited {credits} times", o.id);
    }
}
