use domain::payments::sandbox::{SIGNATURE_HEADER, signature_header, webhook_secret};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp};

both_backends!(
    topup_through_sandbox_checkout_credits_once,
    webhook_replayed_three_times_and_out_of_order_credits_once,
    bad_or_foreign_webhooks_credit_nothing,
    topup_requests_are_validated_and_private,
    credit_package_pays_price_and_credits_bonus,
    topup_refunds_are_partial_capped_and_idempotent,
    a_refund_stuck_by_a_crash_is_settled_by_the_sweeper,
    a_refund_takes_back_its_share_of_the_bonus,
);

async fn start_topup(app: &TestApp, token: &str, key: &str, amount: i64) -> Resp {
    app.post_keyed(
        "/api/v1/wallet/topups",
        token,
        key,
        json!({"amount": amount}),
    )
    .await
}

/// Posts a webhook signed the way the sandbox gateway signs them.
async fn deliver(app: &TestApp, event: &Value, signed_at: i64, secret: Option<&str>) -> Resp {
    let body = event.to_string();
    let secret = secret
        .map(str::to_owned)
        .unwrap_or_else(|| webhook_secret(&app.state));
    let res = app
        .client
        .post(format!("{}/api/v1/payments/webhooks/sandbox", app.base))
        .header("content-type", "application/json")
        .header(
            SIGNATURE_HEADER,
            signature_header(&secret, signed_at, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
    }
}

fn event(id: &str, kind: &str, order: &str, amount: i64) -> Value {
    json!({"id": id, "type": kind, "created": 0, "data": {"order_id": order, "payment_id": format!("pay_{id}"), "amount": amount, "currency": "INR"}})
}

fn gateway_order_id(topup: &Value) -> String {
    topup["checkout_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

async fn available(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/wallet", Some(token)).await.expect(200)["available"]
        .as_i64()
        .unwrap()
}

async fn topup_through_sandbox_checkout_credits_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (token, _, _) = app.register("payer@example.com").await;
    // The welcome messages.
    domain::jobs::run_pending(&app.state).await.unwrap();
    let topup = start_topup(&app, &token, "t-1", 50_000).await.expect(201);
    assert_eq!(topup["status"], "created");
    assert!(topup["reference"].as_str().unwrap().starts_with("TP"));
    let checkout = topup["checkout_url"].as_str().unwrap().to_owned();
    assert!(checkout.starts_with(&app.base), "{checkout}");
    let page = app
        .client
        .get(&checkout)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Pay INR 500.00"), "{page}");

    // The browser presses "Pay": the sandbox queues a signed webhook back to the server.
    let res = app
        .client
        .post(format!("{checkout}/pay"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(
        available(&app, &token).await,
        0,
        "nothing is credited before the webhook arrives"
    );
    // The webhook, then the in-app and email messages of the credit it caused.
    assert_eq!(domain::jobs::run_pending(&app.state).await.unwrap(), 3);
    assert_eq!(available(&app, &token).await, 50_000);
    let emails = app.state.sandbox_email.as_ref().unwrap().sent();
    assert_eq!(
        emails.last().unwrap().subject,
        "₹500.00 added to your Augur wallet"
    );

    let id = topup["id"].as_str().unwrap();
    let order = app
        .get(&format!("/api/v1/wallet/topups/{id}"), Some(&token))
        .await
        .expect(200);
    assert_eq!(order["status"], "paid");
    let page = app
        .client
        .get(&checkout)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<b>paid</b>"), "{page}");
    // Pressing again after payment sends another (distinct) event: still credited once.
    app.client
        .post(format!("{checkout}/pay"))
        .send()
        .await
        .unwrap();
    domain::jobs::run_pending(&app.state).await.unwrap();
    assert_eq!(available(&app, &token).await, 50_000);

    let hist = app
        .get("/api/v1/wallet/transactions", Some(&token))
        .await
        .expect(200);
    assert_eq!(hist["items"].as_array().unwrap().len(), 1);
    assert_eq!(hist["items"][0]["kind"], "topup");
    let rec = app
        .get("/api/v1/admin/ledger/reconciliation", Some(&admin))
        .await
        .expect(200);
    assert_eq!(rec["balanced"], true, "{rec}");
    let log = app
        .get("/api/v1/admin/audit-logs?action=wallet.topup", Some(&admin))
        .await
        .expect(200);
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
    assert_eq!(log["items"][0]["actor_role"], "system");
}

async fn webhook_replayed_three_times_and_out_of_order_credits_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (token, _, _) = app.register("replay@example.com").await;
    let now = app.state.clock.now().timestamp();
    let first = start_topup(&app, &token, "o-1", 10_000).await.expect(201);
    let order = gateway_order_id(&first);
    let paid = event("evt_a", "payment.succeeded", &order, 10_000);
    let outcomes: Vec<Value> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(deliver(&app, &paid, now, None).await.expect(200)["outcome"].clone());
        }
        v
    };
    assert_eq!(
        outcomes,
        [json!("credited"), json!("duplicate"), json!("duplicate")]
    );
    // Another event id for the same order (a gateway retry with a new id) credits nothing.
    assert_eq!(
        deliver(
            &app,
            &event("evt_b", "payment.succeeded", &order, 10_000),
            now,
            None
        )
        .await
        .expect(200)["outcome"],
        "already_paid"
    );
    // A late failure cannot undo a payment.
    deliver(
        &app,
        &event("evt_c", "payment.failed", &order, 10_000),
        now,
        None,
    )
    .await
    .expect(200);
    let id = first["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/wallet/topups/{id}"), Some(&token))
            .await
            .expect(200)["status"],
        "paid"
    );
    assert_eq!(available(&app, &token).await, 10_000);

    // Out of order: the failure of a first attempt arrives, then the success of a retry.
    let second = start_topup(&app, &token, "o-2", 2_500).await.expect(201);
    let order2 = gateway_order_id(&second);
    assert_eq!(
        deliver(
            &app,
            &event("evt_d", "payment.failed", &order2, 2_500),
            now,
            None
        )
        .await
        .expect(200)["outcome"],
        "marked_failed"
    );
    assert_eq!(
        deliver(
            &app,
            &event("evt_e", "payment.succeeded", &order2, 2_500),
            now,
            None
        )
        .await
        .expect(200)["outcome"],
        "credited"
    );
    assert_eq!(
        deliver(
            &app,
            &event("evt_d", "payment.failed", &order2, 2_500),
            now,
            None
        )
        .await
        .expect(200)["outcome"],
        "duplicate"
    );
    assert_eq!(available(&app, &token).await, 12_500);
}

async fn bad_or_foreign_webhooks_credit_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (token, _, _) = app.register("target@example.com").await;
    let now = app.state.clock.now().timestamp();
    let topup = start_topup(&app, &token, "b-1", 5_000).await.expect(201);
    let order = gateway_order_id(&topup);
    let paid = event("evt_x", "payment.succeeded", &order, 5_000);

    deliver(&app, &paid, now, Some("not-the-secret"))
        .await
        .problem(401, "signature_mismatch");
    deliver(&app, &paid, now - 301, None)
        .await
        .problem(401, "signature_stale");
    deliver(&app, &paid, now + 301, None)
        .await
        .problem(401, "signature_stale");
    let res = app
        .client
        .post(format!("{}/api/v1/payments/webhooks/sandbox", app.base))
        .header("content-type", "application/json")
        .body(paid.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "no signature header");
    let res = app
        .client
        .post(format!("{}/api/v1/payments/webhooks/sandbox", app.base))
        .header(SIGNATURE_HEADER, "t=abc,v9=zz")
        .body(paid.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "garbled signature header");
    // A signed body that is tampered with after signing.
    let body = paid.to_string();
    let header = signature_header(&webhook_secret(&app.state), now, body.as_bytes());
    let res = app
        .client
        .post(format!("{}/api/v1/payments/webhooks/sandbox", app.base))
        .header(SIGNATURE_HEADER, header)
        .body(body.replace("5000", "9000"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "tampered body");

    assert_eq!(
        deliver(
            &app,
            &event("evt_y", "refund.created", &order, 5_000),
            now,
            None
        )
        .await
        .expect(200)["outcome"],
        "ignored"
    );
    assert_eq!(
        deliver(
            &app,
            &event("evt_z", "payment.succeeded", &order, 4_999),
            now,
            None
        )
        .await
        .expect(200)["outcome"],
        "rejected"
    );
    assert_eq!(
        deliver(
            &app,
            &event("evt_w", "payment.succeeded", "sbx_order_nope", 5_000),
            now,
            None
        )
        .await
        .expect(200)["outcome"],
        "rejected"
    );
    assert_eq!(available(&app, &token).await, 0, "nothing was credited");
    // The genuine event still works afterwards.
    assert_eq!(
        deliver(&app, &paid, now, None).await.expect(200)["outcome"],
        "credited"
    );
    assert_eq!(available(&app, &token).await, 5_000);
}

async fn topup_requests_are_validated_and_private(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (token, _, _) = app.register("careful@example.com").await;
    start_topup(&app, &token, "v-1", 50)
        .await
        .problem(422, "validation_failed");
    start_topup(&app, &token, "v-2", 100_000_000)
        .await
        .problem(422, "validation_failed");
    let first = start_topup(&app, &token, "v-3", 1_000).await.expect(201);
    let again = start_topup(&app, &token, "v-3", 1_000).await.expect(201);
    assert_eq!(first, again, "a retried start returns the same order");
    start_topup(&app, &token, "v-3", 2_000)
        .await
        .problem(422, "idempotency_key_reused");
    let list = app
        .get("/api/v1/wallet/topups", Some(&token))
        .await
        .expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (other, _, _) = app.register("other@example.com").await;
    let id = first["id"].as_str().unwrap();
    app.get(&format!("/api/v1/wallet/topups/{id}"), Some(&other))
        .await
        .problem(404, "not_found");
    assert!(
        app.get("/api/v1/wallet/topups", Some(&other))
            .await
            .expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let res = app
        .client
        .post(format!("{}/api/v1/wallet/topups", app.base))
        .bearer_auth(&token)
        .json(&json!({"amount": 1_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "Idempotency-Key is required");
}

/// Bought 500 for 550 (a package bonus of 50): refunding the 500 takes the 50 back as well,
/// in proportion for partial refunds; a wallet that spent it cannot be refunded from.
async fn a_refund_takes_back_its_share_of_the_bonus(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (token, _, user) = app.register("bonus@example.com").await;
    let pkg = app
        .post(
            "/api/v1/admin/credit-packages",
            Some(&admin),
            json!({"name": "Saver 500", "price": 50_000, "credit": 55_000}),
        )
        .await
        .expect(201);
    let order = app
        .post_keyed(
            "/api/v1/wallet/topups",
            &token,
            "bonus-1",
            json!({"package_id": pkg["id"]}),
        )
        .await
        .expect(201);
    let now = app.state.clock.now().timestamp();
    deliver(
        &app,
        &event(
            "evt_b",
            "payment.succeeded",
            &gateway_order_id(&order),
            50_000,
        ),
        now,
        None,
    )
    .await
    .expect(200);
    assert_eq!(available(&app, &token).await, 55_000);
    let id = order["id"].as_str().unwrap();

    // A fifth of the price takes a fifth of the bonus with it.
    let part = refund(&app, &admin, id, "bonus-r1", 10_000)
        .await
        .expect(201);
    assert_eq!(part["clawback"], 1_000);
    assert_eq!(available(&app, &token).await, 44_000);

    // The client commits 5,000 elsewhere: the remaining 40,000 of the price (and its 4,000
    // of bonus) can no longer be refunded, and nothing moves.
    // The client's money is committed elsewhere (a hold, as a booking takes).
    let txn = store::begin_write(&app.state.db).await.unwrap();
    let at = app.state.clock.now();
    domain::ledger::holds::place(
        &txn,
        domain::ledger::holds::HoldRequest {
            user: user.parse().unwrap(),
            currency: domain::ledger::Currency::INR,
            amount: 5_000,
            reference: "test:spend",
            key: "test-spend",
            expires_at: at + chrono::Duration::days(1),
        },
        at,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(available(&app, &token).await, 39_000);
    refund(&app, &admin, id, "bonus-r2", 40_000)
        .await
        .problem(402, "insufficient_funds");
    assert_eq!(available(&app, &token).await, 39_000);
    // What the wallet still covers goes through: 35,000 of price and 3,500 of bonus.
    let rest = refund(&app, &admin, id, "bonus-r3", 35_000)
        .await
        .expect(201);
    assert_eq!(rest["clawback"], 3_500);
    assert_eq!(available(&app, &token).await, 500);
    crate::wallet::assert_invariants(&app).await;
}

async fn credit_package_pays_price_and_credits_bonus(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (token, _, _) = app.register("bundle@example.com").await;
    let pkg = app
        .post(
            "/api/v1/admin/credit-packages",
            Some(&admin),
            json!({"name": "Saver 500", "price": 50_000, "credit": 55_000}),
        )
        .await
        .expect(201);
    assert_eq!(pkg["bonus"], 5_000);
    app.post(
        "/api/v1/admin/credit-packages",
        Some(&admin),
        json!({"name": "Bad", "price": 50_000, "credit": 10}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        "/api/v1/admin/credit-packages",
        Some(&token),
        json!({"name": "x", "price": 100, "credit": 100}),
    )
    .await
    .problem(403, "forbidden");
    let on_sale = app.get("/api/v1/wallet/packages", None).await.expect(200);
    assert_eq!(on_sale.as_array().unwrap().len(), 1);

    let pid = pkg["id"].as_str().unwrap();
    let res = app
        .client
        .post(format!("{}/api/v1/wallet/topups", app.base))
        .bearer_auth(&token)
        .header("idempotency-key", "pkg-1")
        .json(&json!({"package_id": pid}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let order: Value = res.json().await.unwrap();
    assert_eq!(
        (order["amount"].as_i64(), order["package_bonus"].as_i64()),
        (Some(50_000), Some(5_000))
    );
    let now = app.state.clock.now().timestamp();
    let paid = event(
        "evt_pkg",
        "payment.succeeded",
        &gateway_order_id(&order),
        50_000,
    );
    assert_eq!(
        deliver(&app, &paid, now, None).await.expect(200)["outcome"],
        "credited"
    );
    assert_eq!(
        deliver(&app, &paid, now, None).await.expect(200)["outcome"],
        "duplicate"
    );
    assert_eq!(
        available(&app, &token).await,
        55_000,
        "price plus bonus, once"
    );

    // A package off sale cannot be bought; an amount that disagrees with it is refused.
    let res = app
        .client
        .post(format!("{}/api/v1/wallet/topups", app.base))
        .bearer_auth(&token)
        .header("idempotency-key", "pkg-2")
        .json(&json!({"package_id": pid, "amount": 1_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    app.post(
        &format!("/api/v1/admin/credit-packages/{pid}/deactivate"),
        Some(&admin),
        json!({}),
    )
    .await
    .expect(200);
    assert!(
        app.get("/api/v1/wallet/packages", None)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .is_empty()
    );
    let res = app
        .client
        .post(format!("{}/api/v1/wallet/topups", app.base))
        .bearer_auth(&token)
        .header("idempotency-key", "pkg-3")
        .json(&json!({"package_id": pid}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let rec = app
        .get("/api/v1/admin/ledger/reconciliation", Some(&admin))
        .await
        .expect(200);
    assert_eq!(rec["balanced"], true, "{rec}");
}

async fn refund(app: &TestApp, admin: &str, topup: &str, key: &str, amount: i64) -> Resp {
    app.post_keyed(
        &format!("/api/v1/admin/topups/{topup}/refunds"),
        admin,
        key,
        json!({"amount": amount, "reason": "technical_fault", "note": "duplicate charge"}),
    )
    .await
}

async fn topup_refunds_are_partial_capped_and_idempotent(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (token, _, _) = app.register("refund@example.com").await;
    let order = start_topup(&app, &token, "r-1", 10_000).await.expect(201);
    let id = order["id"].as_str().unwrap();
    refund(&app, &admin, id, "too-early", 1_000)
        .await
        .problem(409, "not_paid");
    let now = app.state.clock.now().timestamp();
    deliver(
        &app,
        &event(
            "evt_r",
            "payment.succeeded",
            &gateway_order_id(&order),
            10_000,
        ),
        now,
        None,
    )
    .await
    .expect(200);

    let first = refund(&app, &admin, id, "rf-1", 4_000).await.expect(201);
    assert_eq!(
        (first["status"].as_str(), first["refunded_total"].as_i64()),
        (Some("succeeded"), Some(4_000))
    );
    assert!(first["reference"].as_str().unwrap().starts_with("RF"));
    assert_eq!(
        refund(&app, &admin, id, "rf-1", 4_000).await.expect(201),
        first,
        "a replay returns the first answer"
    );
    assert_eq!(available(&app, &token).await, 6_000);
    refund(&app, &admin, id, "rf-2", 6_001)
        .await
        .problem(409, "refund_exceeds_payment");
    refund(&app, &admin, id, "rf-3", 6_000).await.expect(201);
    refund(&app, &admin, id, "rf-4", 1)
        .await
        .problem(409, "refund_exceeds_payment");
    assert_eq!(available(&app, &token).await, 0);
    refund(&app, &token, id, "rf-5", 1)
        .await
        .problem(403, "forbidden");

    // A wallet that has already spent the money cannot be refunded from.
    let second = start_topup(&app, &token, "r-2", 5_000).await.expect(201);
    deliver(
        &app,
        &event(
            "evt_r2",
            "payment.succeeded",
            &gateway_order_id(&second),
            5_000,
        ),
        now,
        None,
    )
    .await
    .expect(200);
    let txn = store::begin_write(&app.state.db).await.unwrap();
    let user: uuid::Uuid = app.get("/api/v1/me", Some(&token)).await.expect(200)["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    domain::ledger::holds::place(
        &txn,
        domain::ledger::holds::HoldRequest {
            user,
            currency: domain::ledger::Currency::INR,
            amount: 4_500,
            reference: "booking",
            key: "spent",
            expires_at: app.state.clock.now(),
        },
        app.state.clock.now(),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    refund(&app, &admin, second["id"].as_str().unwrap(), "rf-6", 1_000)
        .await
        .problem(402, "insufficient_funds");
    let listed = app
        .get(
            &format!("/api/v1/wallet/topups/{}", second["id"].as_str().unwrap()),
            Some(&token),
        )
        .await
        .expect(200);
    assert_eq!(listed["status"], "paid");

    let rec = app
        .get("/api/v1/admin/ledger/reconciliation", Some(&admin))
        .await
        .expect(200);
    assert_eq!(rec["balanced"], true, "{rec}");
    let log = app
        .get("/api/v1/admin/audit-logs?action=topup.refund", Some(&admin))
        .await
        .expect(200);
    assert_eq!(log["items"].as_array().unwrap().len(), 2);
}

async fn a_refund_stuck_by_a_crash_is_settled_by_the_sweeper(b: Backend) {
    use sea_orm::sea_query::{Expr, ExprTrait};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    use store::entity::{payment_order, refund as refund_row};
    let app = TestApp::spawn(b).await;
    let (token, _, user) = app.register("stuck@example.com").await;
    let order = start_topup(&app, &token, "s-1", 10_000).await.expect(201);
    let now = app.state.clock.now().timestamp();
    deliver(
        &app,
        &event(
            "evt_s",
            "payment.succeeded",
            &gateway_order_id(&order),
            10_000,
        ),
        now,
        None,
    )
    .await
    .expect(200);
    // The state a server leaves when it dies after setting the money aside and before
    // recording the gateway's answer: claimed on the order, held, refund pending.
    let order_id: uuid::Uuid = order["id"].as_str().unwrap().parse().unwrap();
    let user: uuid::Uuid = user.parse().unwrap();
    let at = app.state.clock.now();
    let txn = store::begin_write(&app.state.db).await.unwrap();
    payment_order::Entity::update_many()
        .col_expr(
            payment_order::Column::Refunded,
            Expr::col(payment_order::Column::Refunded).add(3_000),
        )
        .filter(payment_order::Column::Id.eq(order_id))
        .exec(&txn)
        .await
        .unwrap();
    let refund_id = uuid::Uuid::now_v7();
    let hold = domain::ledger::holds::place(
        &txn,
        domain::ledger::holds::HoldRequest {
            user,
            currency: domain::ledger::Currency::INR,
            amount: 3_000,
            reference: "refund:stuck",
            key: &format!("refund-hold:{refund_id}"),
            expires_at: at + chrono::Duration::days(7),
        },
        at,
    )
    .await
    .unwrap();
    refund_row::ActiveModel {
        id: Set(refund_id),
        reference: Set("RFSTUCK0001".into()),
        payment_order_id: Set(order_id),
        user_id: Set(user),
        amount: Set(3_000),
        clawback: Set(0),
        currency: Set("INR".into()),
        reason: Set("goodwill".into()),
        note: Set(String::new()),
        status: Set("pending".into()),
        gateway_refund_id: Set(None),
        hold_id: Set(hold.id),
        created_by: Set(user),
        idempotency_key: Set("stuck".into()),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await
    .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(
        available(&app, &token).await,
        7_000,
        "set aside, not spendable"
    );

    // Not yet: a refund may still be in flight.
    assert_eq!(
        domain::payments::refunds::sweep(&app.state).await.unwrap(),
        0
    );
    app.advance(301);
    assert_eq!(
        domain::payments::refunds::sweep(&app.state).await.unwrap(),
        1
    );
    let r = refund_row::Entity::find_by_id(refund_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, "succeeded");
    assert!(r.gateway_refund_id.is_some());
    assert_eq!(available(&app, &token).await, 7_000);
    // Settled once: another sweep does nothing.
    app.advance(301);
    assert_eq!(
        domain::payments::refunds::sweep(&app.state).await.unwrap(),
        0
    );
    crate::wallet::assert_invariants(&app).await;
    let wallet = app.get("/api/v1/wallet", Some(&token)).await.expect(200);
    assert_eq!(
        wallet["held"], 0,
        "the hold was captured, not left dangling"
    );
}
