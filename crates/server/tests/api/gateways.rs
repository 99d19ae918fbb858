//! The Razorpay and Stripe adapters against local fake gateways that check the documented
//! request shapes, and their webhooks signed with the real algorithms.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use providers::payments as protocol;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp};

both_backends!(
    razorpay_topup_via_orders_api_webhook_and_checkout_return,
    stripe_topup_via_payment_intents_and_webhook,
    the_sandbox_checkout_exists_only_while_the_sandbox_is_the_gateway,
    a_misspelled_provider_or_a_sandbox_in_production_stops_the_server,
    an_unanswered_refund_keeps_its_money_aside_until_the_gateway_is_asked,
);

const RZP_KEY_ID: &str = "rzp_test_AugurKey";
const RZP_KEY_SECRET: &str = "rzp-key-secret-for-tests";
pub(crate) const RZP_WEBHOOK_NEW: &str = "rzp-webhook-secret-new";
const RZP_WEBHOOK_OLD: &str = "rzp-webhook-secret-old";
const STRIPE_KEY: &str = "sk_test_AugurSecretKey";
const WHSEC_NEW: &str = "whsec_new_for_tests";
const WHSEC_OLD: &str = "whsec_old_for_tests";

type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A fake gateway: records each request and answers like the real API when the request has
/// the documented shape, 400 otherwise.
pub(crate) async fn fake_gateway() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let (s1, s2) = (seen.clone(), seen.clone());
    let app = Router::new()
        .route(
            "/v1/orders",
            post(move |headers: HeaderMap, body: Bytes| {
                let seen = s1.clone();
                async move {
                    seen.lock().unwrap().push((headers.clone(), body.clone()));
                    use base64::Engine;
                    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{RZP_KEY_ID}:{RZP_KEY_SECRET}")));
                    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let ok = headers.get("authorization").is_some_and(|v| v == auth.as_str())
                        && headers.get("content-type").is_some_and(|v| v.to_str().unwrap().starts_with("application/json"))
                        && req["amount"].is_i64()
                        && req["currency"] == "INR"
                        && req["receipt"].as_str().is_some_and(|r| r.starts_with("TP") && r.len() <= 40)
                        && req["notes"]["augur_order_id"].is_string();
                    if !ok {
                        return (StatusCode::BAD_REQUEST, json!({"error": {"code": "BAD_REQUEST_ERROR"}}).to_string());
                    }
                    (
                        StatusCode::OK,
                        json!({"id": "order_FakeRzp001", "entity": "order", "amount": req["amount"], "amount_paid": 0,
                               "amount_due": req["amount"], "currency": "INR", "receipt": req["receipt"], "status": "created",
                               "attempts": 0, "notes": req["notes"], "created_at": 1_718_000_000})
                        .to_string(),
                    )
                }
            }),
        )
        .route(
            "/v1/payment_intents",
            post(move |headers: HeaderMap, body: Bytes| {
                let seen = s2.clone();
                async move {
                    seen.lock().unwrap().push((headers.clone(), body.clone()));
                    let form: Vec<(String, String)> = url_pairs(&body);
                    let get = |k: &str| form.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
                    let ok = headers.get("authorization").is_some_and(|v| v == format!("Bearer {STRIPE_KEY}").as_str())
                        && headers.get("idempotency-key").is_some()
                        && headers.get("content-type").is_some_and(|v| v == "application/x-www-form-urlencoded")
                        && get("amount").is_some_and(|a| a.parse::<i64>().is_ok())
                        && get("currency").as_deref() == Some("inr")
                        && get("metadata[augur_order_id]").is_some();
                    if !ok {
                        return (StatusCode::BAD_REQUEST, json!({"error": {"type": "invalid_request_error"}}).to_string());
                    }
                    let amount: i64 = get("amount").unwrap().parse().unwrap();
                    (
                        StatusCode::OK,
                        json!({"id": "pi_FakeStripe001", "object": "payment_intent", "amount": amount, "amount_received": 0,
                               "currency": "inr", "status": "requires_payment_method", "client_secret": "pi_FakeStripe001_secret_x",
                               "metadata": {"augur_order_id": get("metadata[augur_order_id]")}})
                        .to_string(),
                    )
                }
            }),
        );
    let app = app
        .route(
            "/v1/payments/{id}/refund",
            post(|axum::extract::Path(id): axum::extract::Path<String>, headers: HeaderMap, body: Bytes| async move {
                use base64::Engine;
                let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{RZP_KEY_ID}:{RZP_KEY_SECRET}")));
                let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if headers.get("authorization").is_none_or(|v| v != auth.as_str()) || !id.starts_with("pay_") || !req["amount"].is_i64() {
                    return (StatusCode::BAD_REQUEST, json!({"error": {"code": "BAD_REQUEST_ERROR"}}).to_string());
                }
                (StatusCode::OK, json!({"id": "rfnd_Fake001", "entity": "refund", "amount": req["amount"], "payment_id": id, "status": "processed"}).to_string())
            }),
        )
        .route(
            "/v1/refunds",
            post(|headers: HeaderMap, body: Bytes| async move {
                let form = url_pairs(&body);
                let get = |k: &str| form.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
                let ok = headers.get("authorization").is_some_and(|v| v == format!("Bearer {STRIPE_KEY}").as_str())
                    && headers.get("idempotency-key").is_some()
                    && get("payment_intent").is_some_and(|p| p.starts_with("pi_"))
                    && get("amount").is_some_and(|a| a.parse::<i64>().is_ok());
                if !ok {
                    return (StatusCode::BAD_REQUEST, json!({"error": {"type": "invalid_request_error"}}).to_string());
                }
                let amount: i64 = get("amount").unwrap().parse().unwrap();
                (StatusCode::OK, json!({"id": "re_Fake001", "object": "refund", "amount": amount, "status": "succeeded"}).to_string())
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// `a=1&b%5Bc%5D=2` → pairs, decoding %XX and `+`.
pub(crate) fn url_pairs(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (decode(k), decode(v))))
        .collect()
}

pub(crate) async fn start_topup(app: &TestApp, token: &str, amount: i64) -> Value {
    let res = app
        .client
        .post(format!("{}/api/v1/wallet/topups", app.base))
        .bearer_auth(token)
        .header("idempotency-key", "gw-1")
        .json(&json!({"amount": amount}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

pub(crate) async fn post_raw(
    app: &TestApp,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Resp {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
    }
}

pub(crate) async fn available(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/wallet", Some(token)).await.expect(200)["available"]
        .as_i64()
        .unwrap()
}

async fn razorpay_topup_via_orders_api_webhook_and_checkout_return(b: Backend) {
    let (base, seen) = fake_gateway().await;
    let app = TestApp::spawn_with(b, |c| {
        c.payment_gateway = domain::config::GatewayKind::Razorpay;
        c.razorpay_base_url = base.clone();
        c.razorpay_key_id = Some(RZP_KEY_ID.into());
        c.razorpay_key_secret = Some(RZP_KEY_SECRET.into());
        c.razorpay_webhook_secrets = Some(format!("{RZP_WEBHOOK_NEW},{RZP_WEBHOOK_OLD}").into());
    })
    .await;
    let (token, _, _) = app.register("rzp@example.com").await;
    let topup = start_topup(&app, &token, 49_900).await;
    assert_eq!(topup["gateway"], "razorpay");
    assert_eq!(topup["gateway_order_id"], "order_FakeRzp001");
    assert_eq!(seen.lock().unwrap().len(), 1, "one Orders API call");
    let page = app
        .client
        .get(topup["checkout_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(RZP_KEY_ID) && page.contains("order_FakeRzp001"));

    let body = json!({"entity": "event", "account_id": "acc_Test", "event": "payment.captured", "contains": ["payment"],
        "payload": {"payment": {"entity": {"id": "pay_Fake001", "entity": "payment", "amount": 49_900, "currency": "INR",
        "status": "captured", "order_id": "order_FakeRzp001", "method": "upi", "notes": {}}}}, "created_at": 1_718_000_060})
    .to_string();
    let sign =
        |secret: &str| protocol::razorpay_webhook_signature(secret.as_bytes(), body.as_bytes());
    let path = "/api/v1/payments/webhooks/razorpay";
    post_raw(
        &app,
        path,
        &[
            ("x-razorpay-signature", sign("wrong")),
            ("x-razorpay-event-id", "evt_r1".into()),
        ],
        &body,
    )
    .await
    .problem(401, "signature_mismatch");
    post_raw(
        &app,
        path,
        &[("x-razorpay-signature", sign(RZP_WEBHOOK_NEW))],
        &body,
    )
    .await
    .problem(400, "event_id_missing");
    assert_eq!(available(&app, &token).await, 0);
    // Signed with the old secret during a rotation: accepted.
    let first = post_raw(
        &app,
        path,
        &[
            ("x-razorpay-signature", sign(RZP_WEBHOOK_OLD)),
            ("x-razorpay-event-id", "evt_r1".into()),
        ],
        &body,
    )
    .await;
    assert_eq!(first.expect(200)["outcome"], "credited");
    let again = post_raw(
        &app,
        path,
        &[
            ("x-razorpay-signature", sign(RZP_WEBHOOK_NEW)),
            ("x-razorpay-event-id", "evt_r1".into()),
        ],
        &body,
    )
    .await;
    assert_eq!(again.expect(200)["outcome"], "duplicate");
    assert_eq!(available(&app, &token).await, 49_900);

    // The browser's checkout return for the same payment credits nothing more.
    let form_sig = protocol::razorpay_checkout_signature(
        RZP_KEY_SECRET.as_bytes(),
        "order_FakeRzp001",
        "pay_Fake001",
    );
    let ret = format!("{}/checkout/razorpay/order_FakeRzp001/return", app.base);
    let bad = app
        .client
        .post(&ret)
        .form(&[
            ("razorpay_payment_id", "pay_Fake001"),
            ("razorpay_order_id", "order_FakeRzp001"),
            ("razorpay_signature", "00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "not a signature at all");
    let zeros = "0".repeat(64);
    let wrong = app
        .client
        .post(&ret)
        .form(&[
            ("razorpay_payment_id", "pay_Fake001"),
            ("razorpay_order_id", "order_FakeRzp001"),
            ("razorpay_signature", zeros.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401, "a wrong signature");
    let good = app
        .client
        .post(&ret)
        .form(&[
            ("razorpay_payment_id", "pay_Fake001"),
            ("razorpay_order_id", "order_FakeRzp001"),
            ("razorpay_signature", form_sig.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
    assert_eq!(available(&app, &token).await, 49_900);

    // A partial refund through the Refunds API.
    let admin = app.admin_token().await;
    let id = topup["id"].as_str().unwrap();
    let res = app
        .client
        .post(format!("{}/api/v1/admin/topups/{id}/refunds", app.base))
        .bearer_auth(&admin)
        .header("idempotency-key", "rzp-refund")
        .json(&json!({"amount": 900, "reason": "goodwill"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["gateway_refund_id"], "rfnd_Fake001");
    assert_eq!(available(&app, &token).await, 49_000);
}

async fn stripe_topup_via_payment_intents_and_webhook(b: Backend) {
    let (base, seen) = fake_gateway().await;
    let app = TestApp::spawn_with(b, |c| {
        c.payment_gateway = domain::config::GatewayKind::Stripe;
        c.stripe_base_url = base.clone();
        c.stripe_secret_key = Some(STRIPE_KEY.into());
        c.stripe_webhook_secrets = Some(format!("{WHSEC_NEW},{WHSEC_OLD}").into());
    })
    .await;
    let (token, _, _) = app.register("stripe@example.com").await;
    let topup = start_topup(&app, &token, 2_500).await;
    assert_eq!(topup["gateway_order_id"], "pi_FakeStripe001");
    assert_eq!(topup["client_secret"], "pi_FakeStripe001_secret_x");
    let (headers, _) = seen.lock().unwrap()[0].clone();
    assert!(
        headers
            .get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("augur-topup-")
    );
    let id = topup["id"].as_str().unwrap();
    let view = app
        .get(&format!("/api/v1/wallet/topups/{id}"), Some(&token))
        .await
        .expect(200);
    assert!(
        view.get("client_secret").is_none(),
        "the client secret is never stored"
    );

    let now = app.state.clock.now().timestamp();
    let body = json!({"id": "evt_S1", "object": "event", "api_version": "2024-06-20", "created": now, "livemode": false,
        "data": {"object": {"id": "pi_FakeStripe001", "object": "payment_intent", "amount": 2_500, "amount_received": 2_500,
        "currency": "inr", "status": "succeeded", "metadata": {}, "last_payment_error": null}}, "type": "payment_intent.succeeded"})
    .to_string();
    let path = "/api/v1/payments/webhooks/stripe";
    let header =
        |secret: &str, t: i64| protocol::stripe_signature_header(secret, t, body.as_bytes());
    post_raw(
        &app,
        path,
        &[("stripe-signature", header("whsec_wrong", now))],
        &body,
    )
    .await
    .problem(401, "signature_mismatch");
    post_raw(
        &app,
        path,
        &[("stripe-signature", header(WHSEC_NEW, now - 301))],
        &body,
    )
    .await
    .problem(401, "signature_stale");
    assert_eq!(available(&app, &token).await, 0);
    let outcomes = [
        post_raw(
            &app,
            path,
            &[("stripe-signature", header(WHSEC_OLD, now))],
            &body,
        )
        .await
        .expect(200)["outcome"]
            .clone(),
        post_raw(
            &app,
            path,
            &[("stripe-signature", header(WHSEC_NEW, now))],
            &body,
        )
        .await
        .expect(200)["outcome"]
            .clone(),
        post_raw(
            &app,
            path,
            &[("stripe-signature", header(WHSEC_NEW, now))],
            &body,
        )
        .await
        .expect(200)["outcome"]
            .clone(),
    ];
    assert_eq!(
        outcomes,
        [json!("credited"), json!("duplicate"), json!("duplicate")]
    );
    assert_eq!(available(&app, &token).await, 2_500);
    let admin = app.admin_token().await;
    let id = topup["id"].as_str().unwrap();
    let res = app
        .client
        .post(format!("{}/api/v1/admin/topups/{id}/refunds", app.base))
        .bearer_auth(&admin)
        .header("idempotency-key", "stripe-refund")
        .json(&json!({"amount": 2_500, "reason": "other"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let refund: Value = res.json().await.unwrap();
    assert_eq!(refund["gateway_refund_id"], "re_Fake001");
    assert_eq!(available(&app, &token).await, 0);
    // Webhooks of a gateway that is not configured are refused.
    post_raw(&app, "/api/v1/payments/webhooks/razorpay", &[], "{}")
        .await
        .problem(404, "gateway_not_configured");
}

pub(crate) fn razorpay_config(c: &mut domain::config::Config, base: &str) {
    c.payment_gateway = domain::config::GatewayKind::Razorpay;
    c.razorpay_base_url = base.to_owned();
    c.razorpay_key_id = Some(RZP_KEY_ID.into());
    c.razorpay_key_secret = Some(RZP_KEY_SECRET.into());
    c.razorpay_webhook_secrets = Some(RZP_WEBHOOK_NEW.to_owned().into());
}

/// The sandbox's "Pay" button moves no money, so it must not exist beside a real gateway:
/// a sandbox order left from before the switch can neither be paid there nor be settled by
/// the real gateway's webhook naming it.
async fn the_sandbox_checkout_exists_only_while_the_sandbox_is_the_gateway(b: Backend) {
    let sandboxed = TestApp::spawn(b).await;
    let (token, _, _) = sandboxed.register("switch@example.com").await;
    let order = start_topup(&sandboxed, &token, 50_000).await;
    assert_eq!(order["gateway"], "sandbox");
    let order_id = order["gateway_order_id"].as_str().unwrap().to_owned();
    let checkout = format!("/sandbox/checkout/{order_id}");
    assert_eq!(
        sandboxed
            .client
            .get(format!("{}{checkout}", sandboxed.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let (base, _) = fake_gateway().await;
    let real = TestApp::spawn_beside(&sandboxed, |c| razorpay_config(c, &base)).await;
    for (method, path) in [
        (reqwest::Method::GET, checkout.clone()),
        (reqwest::Method::POST, format!("{checkout}/pay")),
        (reqwest::Method::POST, format!("{checkout}/fail")),
        (
            reqwest::Method::POST,
            "/api/v1/payments/webhooks/sandbox".to_owned(),
        ),
    ] {
        let res = real
            .client
            .request(method.clone(), format!("{}{path}", real.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{method} {path} exists beside Razorpay");
    }
    let spec = real.get("/api/openapi.json", None).await.expect(200);
    assert!(
        spec["paths"]
            .get("/api/v1/payments/webhooks/sandbox")
            .is_none()
    );

    // A correctly signed Razorpay capture naming the sandbox order credits nothing.
    let body = json!({"entity": "event", "event": "payment.captured", "contains": ["payment"],
        "payload": {"payment": {"entity": {"id": "pay_Switch", "entity": "payment", "amount": 50_000,
        "currency": "INR", "status": "captured", "order_id": order_id}}}, "created_at": 1_718_000_060})
    .to_string();
    let signature =
        protocol::razorpay_webhook_signature(RZP_WEBHOOK_NEW.as_bytes(), body.as_bytes());
    let answer = post_raw(
        &real,
        "/api/v1/payments/webhooks/razorpay",
        &[
            ("x-razorpay-signature", signature),
            ("x-razorpay-event-id", "evt_switch".into()),
        ],
        &body,
    )
    .await
    .expect(200);
    assert_ne!(answer["outcome"], "credited");
    assert_eq!(available(&real, &token).await, 0);
    let after = real
        .get(
            &format!("/api/v1/wallet/topups/{}", order["id"].as_str().unwrap()),
            Some(&token),
        )
        .await
        .expect(200);
    assert_eq!(after["status"], "created");
}

/// Runs `augur serve` with extra environment and expects it to refuse to start; returns
/// what it printed.
async fn refused_start(database_url: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_augur"));
    cmd.args(["serve", "--bind", "127.0.0.1:0"])
        .env("AUGUR_DATABASE_URL", database_url)
        .env("AUGUR_LOG_LEVEL", "warn")
        .env_remove("AUGUR_JWT_SECRET")
        .env_remove("AUGUR_PAYMENT_GATEWAY")
        .env_remove("AUGUR_ENVIRONMENT")
        .kill_on_drop(true)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("augur must exit, not serve")
        .unwrap();
    assert!(!out.status.success(), "augur started with {env:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn a_misspelled_provider_or_a_sandbox_in_production_stops_the_server(b: Backend) {
    let url = crate::helpers::fresh_database_url(&b).await;
    // Once an unknown spelling silently ran the sandbox, whose checkout credits wallets.
    let said = refused_start(&url, &[("AUGUR_PAYMENT_GATEWAY", "Razorpay")]).await;
    assert!(
        said.contains("Razorpay")
            && ["sandbox", "razorpay", "stripe"]
                .iter()
                .all(|v| said.contains(v)),
        "the error names the value and the allowed ones: {said}"
    );
    let said = refused_start(&url, &[("AUGUR_SMS_PROVIDER", "msg91")]).await;
    assert!(said.contains("msg91") && said.contains("twilio"), "{said}");

    let said = refused_start(&url, &[("AUGUR_ENVIRONMENT", "production")]).await;
    for reason in [
        "payment_gateway is the sandbox",
        "sms_provider is the sandbox",
        "email_provider is the sandbox",
        "push_provider is the sandbox",
        "jwt_secret is not set",
    ] {
        assert!(said.contains(reason), "missing {reason:?} in: {said}");
    }
    // Everything real but the demo data: still refused.
    let said = refused_start(
        &url,
        &[
            ("AUGUR_ENVIRONMENT", "production"),
            (
                "AUGUR_JWT_SECRET",
                "production-secret-production-secret-0123",
            ),
            ("AUGUR_PAYMENT_GATEWAY", "stripe"),
            ("AUGUR_STRIPE_SECRET_KEY", "sk_test_x"),
            ("AUGUR_SMS_PROVIDER", "twilio"),
            ("AUGUR_EMAIL_PROVIDER", "smtp"),
            ("AUGUR_PUSH_PROVIDER", "fcm"),
            ("AUGUR_DEMO", "true"),
        ],
    )
    .await;
    assert!(
        said.contains("demo is on") && !said.contains("sandbox"),
        "{said}"
    );
}

type Refunds = Arc<Mutex<Vec<Value>>>;

/// A Razorpay that creates one order, keeps the refunds it makes, lists them, and misbehaves
/// on cue by amount: 11,100 is refunded and then answered too late; 22,200 is refused
/// outright; 33,300 gets a 503 without being refunded the first time it is asked.
async fn razorpay_with_refunds() -> (String, Refunds) {
    let refunds: Refunds = Arc::default();
    let (made, listed) = (refunds.clone(), refunds.clone());
    let unavailable_once = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let app = Router::new()
        .route(
            "/v1/orders",
            post(|body: Bytes| async move {
                let req: Value = serde_json::from_slice(&body).unwrap();
                json!({"id": "order_Refunds1", "entity": "order", "amount": req["amount"], "currency": "INR",
                       "receipt": req["receipt"], "status": "created", "notes": req["notes"], "created_at": 1})
                .to_string()
            }),
        )
        .route(
            "/v1/payments/{id}/refund",
            post(move |axum::extract::Path(id): axum::extract::Path<String>, body: Bytes| {
                let made = made.clone();
                let unavailable_once = unavailable_once.clone();
                async move {
                    let req: Value = serde_json::from_slice(&body).unwrap();
                    let amount = req["amount"].as_i64().unwrap();
                    if amount == 22_200 {
                        return (StatusCode::BAD_REQUEST, json!({"error": {"code": "BAD_REQUEST_ERROR",
                            "description": "The refund amount provided is greater than amount captured"}}).to_string());
                    }
                    if amount == 33_300 && unavailable_once.swap(false, std::sync::atomic::Ordering::SeqCst) {
                        return (StatusCode::SERVICE_UNAVAILABLE, "upstream unavailable".to_owned());
                    }
                    let refund = {
                        let mut all = made.lock().unwrap();
                        let r = json!({"id": format!("rfnd_Fake{}", all.len() + 1), "entity": "refund", "amount": amount,
                                       "payment_id": id, "receipt": req["receipt"], "status": "processed"});
                        all.push(r.clone());
                        r
                    };
                    if amount == 11_100 {
                        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
                    }
                    (StatusCode::OK, refund.to_string())
                }
            }),
        )
        .route(
            "/v1/payments/{id}/refunds",
            axum::routing::get(move || {
                let listed = listed.clone();
                async move {
                    let items = listed.lock().unwrap().clone();
                    json!({"entity": "collection", "count": items.len(), "items": items}).to_string()
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), refunds)
}

async fn refund_call(app: &TestApp, admin: &str, topup: &str, key: &str, amount: i64) -> Resp {
    app.post_keyed(
        &format!("/api/v1/admin/topups/{topup}/refunds"),
        admin,
        key,
        json!({"amount": amount, "reason": "technical_fault"}),
    )
    .await
}

/// A refund the gateway made but answered too late must not be refunded again (a new key
/// would do it twice at the bank), nor released back into the wallet: it stays pending with
/// its money set aside, and the sweeper learns from the gateway's refund list what happened.
async fn an_unanswered_refund_keeps_its_money_aside_until_the_gateway_is_asked(b: Backend) {
    let (base, refunds) = razorpay_with_refunds().await;
    let app = TestApp::spawn_with(b, |c| {
        razorpay_config(c, &base);
        c.gateway_timeout_secs = 1;
    })
    .await;
    let admin = app.admin_token().await;
    let (token, _, _) = app.register("refunds@example.com").await;
    let topup = start_topup(&app, &token, 100_000).await;
    let body = json!({"entity": "event", "event": "payment.captured", "contains": ["payment"],
        "payload": {"payment": {"entity": {"id": "pay_Refunds1", "entity": "payment", "amount": 100_000,
        "currency": "INR", "status": "captured", "order_id": "order_Refunds1"}}}, "created_at": 1_718_000_060})
    .to_string();
    let signature =
        protocol::razorpay_webhook_signature(RZP_WEBHOOK_NEW.as_bytes(), body.as_bytes());
    post_raw(
        &app,
        "/api/v1/payments/webhooks/razorpay",
        &[
            ("x-razorpay-signature", signature),
            ("x-razorpay-event-id", "evt_paid".into()),
        ],
        &body,
    )
    .await
    .expect(200);
    assert_eq!(available(&app, &token).await, 100_000);
    let id = topup["id"].as_str().unwrap();

    // Refunded at the gateway, answered after our timeout: pending, the money set aside.
    let pending = refund_call(&app, &admin, id, "late", 11_100).await;
    assert_eq!(pending.status, 202);
    assert_eq!(pending.body["status"], "pending");
    assert_eq!(available(&app, &token).await, 88_900);
    assert_eq!(refunds.lock().unwrap().len(), 1);
    // The same key again tells where it stands and asks nothing of the gateway.
    let again = refund_call(&app, &admin, id, "late", 11_100).await;
    assert_eq!(
        (again.status.as_u16(), again.body["id"].clone()),
        (202, pending.body["id"].clone())
    );
    // No other refund of the top-up while its fate is unknown.
    refund_call(&app, &admin, id, "another", 5_000)
        .await
        .problem(409, "refund_pending");
    assert_eq!(refunds.lock().unwrap().len(), 1);

    // The sweeper finds it in the gateway's list: settled, without a second refund.
    assert_eq!(
        domain::payments::refunds::sweep(&app.state).await.unwrap(),
        0
    );
    app.advance(301);
    // A node on another gateway (here the sandbox, which would say "refunded" to anything)
    // leaves it alone: only Razorpay knows what became of Razorpay's money.
    let sandbox = TestApp::spawn_beside(&app, |_| {}).await;
    assert_eq!(
        domain::payments::refunds::sweep(&sandbox.state)
            .await
            .unwrap(),
        0
    );
    assert_eq!(available(&app, &token).await, 88_900);
    assert_eq!(
        domain::payments::refunds::sweep(&app.state).await.unwrap(),
        1
    );
    assert_eq!(
        refunds.lock().unwrap().len(),
        1,
        "refunded once at the bank"
    );
    let done = refund_call(&app, &admin, id, "late", 11_100)
        .await
        .expect(201);
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["gateway_refund_id"], "rfnd_Fake1");
    assert_eq!(available(&app, &token).await, 88_900);

    // A definite refusal gives the money back at once.
    refund_call(&app, &admin, id, "refused", 22_200)
        .await
        .problem(502, "gateway_refund_failed");
    assert_eq!(available(&app, &token).await, 88_900);

    // A 503 that refunded nothing: pending, then the sweeper finds no refund under the key
    // and asks again, once.
    let unknown = refund_call(&app, &admin, id, "unavailable", 33_300).await;
    assert_eq!(unknown.status, 202);
    assert_eq!(available(&app, &token).await, 55_600);
    assert_eq!(refunds.lock().unwrap().len(), 1);
    app.advance(301);
    assert_eq!(
        domain::payments::refunds::sweep(&app.state).await.unwrap(),
        1
    );
    assert_eq!(refunds.lock().unwrap().len(), 2);
    let done = refund_call(&app, &admin, id, "unavailable", 33_300)
        .await
        .expect(201);
    assert_eq!(done["gateway_refund_id"], "rfnd_Fake2");
    assert_eq!(available(&app, &token).await, 55_600);
    crate::wallet::assert_invariants(&app).await;
}
