use domain::payments::sandbox::{SIGNATURE_HEADER, signature_header, webhook_secret};
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp};

both_backends!(
    promo_quote_explains_refusals,
    topup_with_promo_pays_less_and_credits_in_full,
    promo_usage_limit_holds_under_concurrent_redemption,
    a_per_user_limit_holds_when_one_user_races_twenty_redemptions,
    a_code_made_before_caps_gives_nothing_where_practitioners_set_prices,
);

async fn create(app: &TestApp, admin: &str, body: Value) -> Resp {
    app.post("/api/v1/admin/promo-codes", Some(admin), body)
        .await
}

async fn quote(app: &TestApp, token: &str, code: &str, price: i64, context: &str) -> Value {
    app.post(
        "/api/v1/promos/quote",
        Some(token),
        json!({"code": code, "price": price, "context": context}),
    )
    .await
    .expect(200)
}

async fn topup(app: &TestApp, token: &str, key: &str, amount: i64, code: Option<&str>) -> Resp {
    app.post_keyed(
        "/api/v1/wallet/topups",
        token,
        key,
        json!({"amount": amount, "promo_code": code}),
    )
    .await
}

async fn pay(app: &TestApp, order: &Value) -> Resp {
    let gateway_order = order["gateway_order_id"].as_str().unwrap();
    let body = json!({"id": format!("evt_{gateway_order}"), "type": "payment.succeeded", "created": 0,
        "data": {"order_id": gateway_order, "payment_id": "pay_x", "amount": order["amount"], "currency": "INR"}})
    .to_string();
    let header = signature_header(
        &webhook_secret(&app.state),
        app.state.clock.now().timestamp(),
        body.as_bytes(),
    );
    let res = app
        .client
        .post(format!("{}/api/v1/payments/webhooks/sandbox", app.base))
        .header(SIGNATURE_HEADER, header)
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

fn save20() -> Value {
    json!({"code": "save20", "description": "20 % off", "discount": {"percentage": {"bps": 2000}}, "max_discount": 10_000,
           "min_order": 5_000, "usage_limit": 100, "per_user_limit": 1, "contexts": ["topup"]})
}

async fn promo_quote_explains_refusals(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (token, _, _) = app.register("buyer@example.com").await;
    let created = create(&app, &admin, save20()).await.expect(201);
    assert_eq!(created["code"], "SAVE20");
    create(&app, &admin, save20())
        .await
        .problem(409, "code_taken");
    create(
        &app,
        &admin,
        json!({"code": "bad code!", "discount": {"fixed": {"amount": 0}}}),
    )
    .await
    .problem(422, "validation_failed");
    create(&app, &token, save20())
        .await
        .problem(403, "forbidden");

    let q = quote(&app, &token, "save20", 20_000, "topup").await;
    assert_eq!(
        (
            q["applied"].as_bool(),
            q["discount"].as_i64(),
            q["final_amount"].as_i64()
        ),
        (Some(true), Some(4_000), Some(16_000))
    );
    assert_eq!(
        quote(&app, &token, "SAVE20", 100_000, "topup").await["discount"],
        10_000,
        "capped by max_discount"
    );
    assert_eq!(
        quote(&app, &token, "SAVE20", 1_000, "topup").await["refusal"],
        "below_minimum_order"
    );
    assert_eq!(
        quote(&app, &token, "SAVE20", 20_000, "session").await["refusal"],
        "wrong_context"
    );
    assert_eq!(
        quote(&app, &token, "NOPE", 20_000, "topup").await["refusal"],
        "unknown"
    );
    let id = created["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/admin/promo-codes/{id}/deactivate"),
        Some(&admin),
        json!({}),
    )
    .await
    .expect(200);
    let q = quote(&app, &token, "SAVE20", 20_000, "topup").await;
    assert_eq!(
        (
            q["applied"].as_bool(),
            q["refusal"].as_str(),
            q["final_amount"].as_i64()
        ),
        (Some(false), Some("inactive"), Some(20_000))
    );
}

async fn topup_with_promo_pays_less_and_credits_in_full(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (token, _, _) = app.register("saver@example.com").await;
    create(&app, &admin, save20()).await.expect(201);
    let order = topup(&app, &token, "p-1", 20_000, Some("save20"))
        .await
        .expect(201);
    assert_eq!(
        (order["amount"].as_i64(), order["discount"].as_i64()),
        (Some(16_000), Some(4_000)),
        "the client pays 16,000"
    );
    assert_eq!(pay(&app, &order).await.expect(200)["outcome"], "credited");
    let w = app.get("/api/v1/wallet", Some(&token)).await.expect(200);
    assert_eq!(
        w["available"], 20_000,
        "the wallet receives the full 20,000"
    );
    let hist = app
        .get("/api/v1/wallet/transactions", Some(&token))
        .await
        .expect(200);
    let kinds: Vec<&str> = hist["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["promo", "topup"]);
    let id = order["id"].as_str().unwrap();
    let receipt = app
        .get(&format!("/api/v1/wallet/topups/{id}/receipt"), Some(&token))
        .await
        .expect(200);
    assert!(
        receipt["receipt_number"]
            .as_str()
            .unwrap()
            .starts_with("RCPT-")
    );
    assert_eq!(
        (
            receipt["amount_paid"].as_i64(),
            receipt["promo_discount"].as_i64(),
            receipt["wallet_credit"].as_i64()
        ),
        (Some(16_000), Some(4_000), Some(20_000))
    );
    let (stranger, _, _) = app.register("stranger@example.com").await;
    app.get(
        &format!("/api/v1/wallet/topups/{id}/receipt"),
        Some(&stranger),
    )
    .await
    .problem(404, "not_found");
    let unpaid = topup(&app, &token, "p-3", 20_000, None).await.expect(201);
    app.get(
        &format!(
            "/api/v1/wallet/topups/{}/receipt",
            unpaid["id"].as_str().unwrap()
        ),
        Some(&token),
    )
    .await
    .problem(409, "not_paid");
    // Once per user.
    topup(&app, &token, "p-2", 20_000, Some("save20"))
        .await
        .problem(422, "promo_refused");
    let codes = app
        .get("/api/v1/admin/promo-codes", Some(&admin))
        .await
        .expect(200);
    assert_eq!(codes["items"][0]["used_count"], 1);
    let rec = app
        .get("/api/v1/admin/ledger/reconciliation", Some(&admin))
        .await
        .expect(200);
    assert_eq!(rec["balanced"], true, "{rec}");
}

async fn promo_usage_limit_holds_under_concurrent_redemption(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    create(
        &app,
        &admin,
        json!({"code": "LIMIT3", "discount": {"fixed": {"amount": 500}}, "usage_limit": 3}),
    )
    .await
    .expect(201);
    // Nine clients all get a valid quote and start a top-up before anyone pays.
    let mut buyers = Vec::new();
    for i in 0..9 {
        let (token, _, _) = app.register(&format!("racer{i}@example.com")).await;
        let order = topup(&app, &token, "race", 2_000, Some("LIMIT3"))
            .await
            .expect(201);
        assert_eq!(order["amount"], 1_500);
        buyers.push((token, order));
    }
    let mut tasks = Vec::new();
    for (_, order) in &buyers {
        let (client, base, secret, order) = (
            app.client.clone(),
            app.base.clone(),
            webhook_secret(&app.state),
            order.clone(),
        );
        let now = app.state.clock.now().timestamp();
        tasks.push(tokio::spawn(async move {
            let gateway_order = order["gateway_order_id"].as_str().unwrap().to_owned();
            let body = json!({"id": format!("evt_{gateway_order}"), "type": "payment.succeeded", "created": 0,
                "data": {"order_id": gateway_order, "payment_id": "pay_x", "amount": 1_500, "currency": "INR"}})
            .to_string();
            let res = client
                .post(format!("{base}/api/v1/payments/webhooks/sandbox"))
                .header(SIGNATURE_HEADER, signature_header(&secret, now, body.as_bytes()))
                .body(body)
                .send()
                .await
                .unwrap();
            res.status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let mut with_bonus = 0;
    for (token, _) in &buyers {
        match app.get("/api/v1/wallet", Some(token)).await.expect(200)["available"]
            .as_i64()
            .unwrap()
        {
            2_000 => with_bonus += 1,
            1_500 => {}
            other => panic!("unexpected balance {other}"),
        }
    }
    assert_eq!(with_bonus, 3, "exactly the limit of three bonuses");
    let codes = app
        .get("/api/v1/admin/promo-codes", Some(&admin))
        .await
        .expect(200);
    assert_eq!(codes["items"][0]["used_count"], 3);
    let rec = app
        .get("/api/v1/admin/ledger/reconciliation", Some(&admin))
        .await
        .expect(200);
    assert_eq!(rec["balanced"], true, "{rec}");
}

/// One user starts twenty top-ups with a once-per-user code (each quote is fine: nothing is
/// redeemed yet), then all twenty payments arrive at once: exactly one gets the credit.
async fn a_per_user_limit_holds_when_one_user_races_twenty_redemptions(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    create(
        &app,
        &admin,
        json!({"code": "ONCE", "discount": {"fixed": {"amount": 500}}, "per_user_limit": 1,
               "contexts": ["topup"]}),
    )
    .await
    .expect(201);
    let (token, _, _) = app.register("greedy@example.com").await;
    let mut orders = Vec::new();
    for i in 0..20 {
        let order = topup(&app, &token, &format!("once-{i}"), 2_000, Some("ONCE"))
            .await
            .expect(201);
        assert_eq!(order["amount"], 1_500);
        orders.push(order);
    }
    let now = app.state.clock.now().timestamp();
    let tasks: Vec<_> = orders
        .iter()
        .map(|order| {
            let (client, base, secret) = (
                app.client.clone(),
                app.base.clone(),
                webhook_secret(&app.state),
            );
            let gateway_order = order["gateway_order_id"].as_str().unwrap().to_owned();
            tokio::spawn(async move {
                let body = json!({"id": format!("evt_{gateway_order}"), "type": "payment.succeeded", "created": 0,
                    "data": {"order_id": gateway_order, "payment_id": "pay_x", "amount": 1_500, "currency": "INR"}})
                .to_string();
                client
                    .post(format!("{base}/api/v1/payments/webhooks/sandbox"))
                    .header(SIGNATURE_HEADER, signature_header(&secret, now, body.as_bytes()))
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let wallet = app.get("/api/v1/wallet", Some(&token)).await.expect(200);
    assert_eq!(
        wallet["available"],
        20 * 1_500 + 500,
        "every payment credited, the code's 500 once"
    );
    let codes = app
        .get("/api/v1/admin/promo-codes", Some(&admin))
        .await
        .expect(200);
    assert_eq!(codes["items"][0]["used_count"], 1);
    crate::wallet::assert_invariants(&app).await;
}

/// A percentage code without a cap, made before caps were required (the API refuses one
/// now, so it is written straight into the table): it still works on top-ups, and gives
/// nothing on sessions or appointments, whose prices practitioners set.
async fn a_code_made_before_caps_gives_nothing_where_practitioners_set_prices(b: Backend) {
    use sea_orm::{ActiveModelTrait, Set};
    use store::entity::promo_code;
    let app = TestApp::spawn(b).await;
    let now = app.state.clock.now();
    promo_code::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        code: Set("OLDFREE".into()),
        description: Set(String::new()),
        discount: Set(r#"{"percentage":{"bps":10000}}"#.into()),
        currency: Set("INR".into()),
        max_discount: Set(None),
        min_order: Set(None),
        usage_limit: Set(None),
        per_user_limit: Set(None),
        used_count: Set(0),
        valid_from: Set(now - chrono::Duration::days(1)),
        valid_until: Set(None),
        active: Set(true),
        user_type: Set("all".into()),
        contexts: Set("[]".into()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    let (token, _, _) = app.register("old@example.com").await;
    for context in ["session", "appointment"] {
        let q = quote(&app, &token, "OLDFREE", 10_000_000, context).await;
        assert_eq!(q["applied"], false, "{q}");
        assert_eq!(q["refusal"], "uncapped_percentage");
    }
    let q = quote(&app, &token, "OLDFREE", 10_000, "topup").await;
    assert_eq!(
        (q["applied"].as_bool(), q["discount"].as_i64()),
        (Some(true), Some(10_000))
    );
}
