use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

both_backends!(
    otp_signs_up_then_signs_in,
    otp_wrong_code_then_attempt_limit,
    otp_expires_after_five_minutes,
    otp_resend_has_a_cooldown,
    otp_requests_are_rate_limited_per_phone,
    otp_sends_per_number_are_capped_per_day,
);

const PHONE: &str = "+919812345678";

async fn otp_signs_up_then_signs_in(b: Backend) {
    let app = TestApp::spawn(b).await;
    let sent = app
        .post(
            "/api/v1/auth/otp/request",
            None,
            json!({"phone": "+91 98123 45678"}),
        )
        .await
        .expect(202);
    assert_eq!(sent["expires_in"], 300);
    let code = app.last_sms_code(PHONE).await;
    assert_eq!(code.len(), 6);
    let first = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            json!({"phone": PHONE, "code": code, "first_name": "Ravi"}),
        )
        .await
        .expect(200);
    assert_eq!(first["created"], true);
    assert_eq!(first["user"]["phone"], PHONE);
    assert_eq!(first["user"]["phone_verified"], true);
    // A code works once.
    app.post(
        "/api/v1/auth/otp/verify",
        None,
        json!({"phone": PHONE, "code": code}),
    )
    .await
    .problem(400, "otp_not_found");

    app.advance(61);
    app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await
        .expect(202);
    let code = app.last_sms_code(PHONE).await;
    let second = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            json!({"phone": PHONE, "code": code}),
        )
        .await
        .expect(200);
    assert_eq!(second["created"], false);
    assert_eq!(second["user"]["id"], first["user"]["id"]);
    // The sent job no longer holds the code.
    let stored = <store::entity::job::Entity as sea_orm::EntityTrait>::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(
        stored.iter().all(|j| !j.payload.contains(&code)),
        "OTP codes must not stay in the jobs table"
    );
}

fn other_code(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

async fn otp_wrong_code_then_attempt_limit(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await
        .expect(202);
    let code = app.last_sms_code(PHONE).await;
    let wrong = other_code(&code);
    let first = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            json!({"phone": PHONE, "code": wrong}),
        )
        .await
        .problem(400, "otp_invalid");
    assert!(
        first["detail"]
            .as_str()
            .unwrap()
            .contains("4 attempts left")
    );
    for _ in 0..3 {
        app.post(
            "/api/v1/auth/otp/verify",
            None,
            json!({"phone": PHONE, "code": wrong}),
        )
        .await
        .problem(400, "otp_invalid");
    }
    app.post(
        "/api/v1/auth/otp/verify",
        None,
        json!({"phone": PHONE, "code": wrong}),
    )
    .await
    .problem(400, "otp_attempts_exceeded");
    // After five wrong guesses even the right code is refused.
    app.post(
        "/api/v1/auth/otp/verify",
        None,
        json!({"phone": PHONE, "code": code}),
    )
    .await
    .problem(400, "otp_attempts_exceeded");
    app.post(
        "/api/v1/auth/otp/verify",
        None,
        json!({"phone": PHONE, "code": "12ab"}),
    )
    .await
    .problem(422, "validation_failed");
}

async fn otp_expires_after_five_minutes(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await
        .expect(202);
    let code = app.last_sms_code(PHONE).await;
    app.advance(301);
    app.post(
        "/api/v1/auth/otp/verify",
        None,
        json!({"phone": PHONE, "code": code}),
    )
    .await
    .problem(400, "otp_expired");
}

async fn otp_resend_has_a_cooldown(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await
        .expect(202);
    let old = app.last_sms_code(PHONE).await;
    app.advance(10);
    let res = app
        .post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await;
    assert_eq!(
        res.headers.get("retry-after").unwrap().to_str().unwrap(),
        "50"
    );
    res.problem(429, "otp_resend_too_soon");
    app.advance(50);
    app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await
        .expect(202);
    let new = app.last_sms_code(PHONE).await;
    if new != old {
        // Only the newest code is valid.
        app.post(
            "/api/v1/auth/otp/verify",
            None,
            json!({"phone": PHONE, "code": old}),
        )
        .await
        .problem(400, "otp_invalid");
    }
    app.post(
        "/api/v1/auth/otp/verify",
        None,
        json!({"phone": PHONE, "code": new}),
    )
    .await
    .expect(200);
}

async fn otp_requests_are_rate_limited_per_phone(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.otp_limit_per_identifier = 2;
        c.otp_resend_cooldown_secs = 0;
    })
    .await;
    app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await
        .expect(202);
    app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await
        .expect(202);
    app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await
        .problem(429, "rate_limited");
    app.post(
        "/api/v1/auth/otp/request",
        None,
        json!({"phone": "+14155550100"}),
    )
    .await
    .expect(202);
    app.post(
        "/api/v1/auth/otp/request",
        None,
        json!({"phone": "0800 123"}),
    )
    .await
    .problem(422, "validation_failed");
}

async fn otp_sends_per_number_are_capped_per_day(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.otp_max_sends_per_day = 3;
        c.otp_limit_per_identifier = 100;
    })
    .await;
    for _ in 0..3 {
        app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
            .await
            .expect(202);
        app.advance(61);
    }
    let res = app
        .post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await;
    assert!(res.headers.get("retry-after").is_some());
    res.problem(429, "otp_daily_limit");
    app.advance(24 * 3600);
    app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await
        .expect(202);
}
