//! The Razorpay and Stripe adapters against local fake gateways that check the documented
//! request shapes, and their webhooks signed with the real algorithms.

use std::sync::{Arc, Mutex};

use augur::payments::protocol;
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, Resp, TestApp};

both_backends!(
    razorpay_topup_via_orders_api_webhook_and_checkout_return,
    stripe_topup_via_payment_intents_and_webhook
);

const RZP_KEY_ID: &str = "rzp_test_AugurKey";
const RZP_KEY_SECRET: &str = "rzp-key-secret-for-tests";
const RZP_WEBHOOK_NEW: &str = "rzp-webhook-secret-new";
const RZP_WEBHOOK_OLD: &str = "rzp-webhook-secret-old";
const STRIPE_KEY: &str = "sk_test_AugurSecretKey";
const WHSEC_NEW: &str = "whsec_new_for_tests";
const WHSEC_OLD: &str = "whsec_old_for_tests";

type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A fake gateway: records each request and answers like the real API when the request has
/// the documented shape, 400 otherwise.
async fn fake_gateway() -> (String, Seen) {
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

async fn start_topup(app: &TestApp, token: &str, amount: i64) -> Value {
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

async fn post_raw(app: &TestApp, path: &str, headers: &[(&str, String)], body: &str) -> Resp {
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

async fn available(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/wallet", Some(token)).await.expect(200)["available"]
        .as_i64()
        .unwrap()
}

async fn razorpay_topup_via_orders_api_webhook_and_checkout_return(b: Backend) {
    let (base, seen) = fake_gateway().await;
    let app = TestApp::spawn_with(b, |c| {
        c.payment_gateway = "razorpay".into();
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
        c.payment_gateway = "stripe".into();
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
