use reqwest::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, PASSWORD, TestApp};

both_backends!(
    register_login_refresh_and_logout,
    refresh_token_reuse_revokes_the_whole_session,
    wrong_password_and_unknown_email_answer_alike,
    registration_validates_every_field,
    duplicate_email_is_a_conflict,
    login_is_rate_limited_per_identifier_and_ip,
    sessions_can_be_listed_and_revoked,
    suspended_account_can_do_nothing,
    expired_access_token_is_refused,
    racing_refreshes_with_one_token_succeed_once,
    hostile_identifiers_get_4xx_not_500,
    forwarded_for_uses_the_address_the_proxy_saw,
);

async fn register_login_refresh_and_logout(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (access, refresh, id) = app.register("Asha@Example.com").await;
    let me = app.get("/api/v1/me", Some(&access)).await.expect(200);
    assert_eq!(me["id"], id.as_str());
    assert_eq!(
        me["email"], "asha@example.com",
        "email is stored lower-cased"
    );
    assert_eq!(me["role"], "client");

    let login = app.login("asha@example.com", PASSWORD).await.expect(200);
    assert_eq!(login["user"]["id"], id.as_str());
    assert_eq!(login["tokens"]["token_type"], "Bearer");
    assert_eq!(login["tokens"]["expires_in"], 900);

    let pair = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh}),
        )
        .await
        .expect(200);
    let new_access = pair["access_token"].as_str().unwrap();
    let new_refresh = pair["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, refresh, "refresh tokens rotate");
    app.get("/api/v1/me", Some(new_access)).await.expect(200);

    app.call(Method::POST, "/api/v1/auth/logout", Some(new_access), None)
        .await
        .expect(204);
    app.get("/api/v1/me", Some(new_access))
        .await
        .problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": new_refresh}),
    )
    .await
    .problem(401, "session_revoked");
    // The other session (from the login) is untouched.
    app.get(
        "/api/v1/me",
        Some(login["tokens"]["access_token"].as_str().unwrap()),
    )
    .await
    .expect(200);
}

async fn refresh_token_reuse_revokes_the_whole_session(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (_, first, _) = app.register("reuse@example.com").await;
    let second = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": first}),
        )
        .await
        .expect(200);
    let second_access = second["access_token"].as_str().unwrap().to_owned();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();

    // An attacker replays the first (already spent) token.
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": first}),
    )
    .await
    .problem(401, "refresh_token_reused");
    // The legitimate holder's newer tokens die with the family.
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": second_refresh}),
    )
    .await
    .problem(401, "session_revoked");
    app.get("/api/v1/me", Some(&second_access))
        .await
        .problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": "not-a-token"}),
    )
    .await
    .problem(401, "invalid_refresh_token");
}

async fn wrong_password_and_unknown_email_answer_alike(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.register("known@example.com").await;
    let wrong = app
        .login("known@example.com", "wrong password here")
        .await
        .problem(401, "invalid_credentials");
    let unknown = app
        .login("nobody@example.com", "wrong password here")
        .await
        .problem(401, "invalid_credentials");
    assert_eq!(wrong["detail"], unknown["detail"]);
    assert_eq!(wrong["title"], unknown["title"]);
}

async fn registration_validates_every_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "not-an-email", "password": "short", "first_name": "", "time_zone": "Mars/Olympus"}),
        )
        .await
        .problem(422, "validation_failed");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["email", "password", "first_name", "time_zone"] {
        assert!(fields.contains(&f), "{f} should be reported: {body}");
    }
    let pw = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "password")
        .unwrap();
    assert_eq!(pw["code"], "password_too_short");
    // Wrong types and unknown fields are refused too.
    app.post("/api/v1/auth/register", None, json!({"email": 5}))
        .await
        .problem(422, "invalid_body");
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"email": "a@example.com", "password": PASSWORD, "first_name": "A", "role": "admin"}),
    )
    .await
    .problem(422, "invalid_body");
}

async fn duplicate_email_is_a_conflict(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.register("dup@example.com").await;
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"email": "DUP@example.com", "password": PASSWORD, "first_name": "Again"}),
    )
    .await
    .problem(409, "email_taken");
}

async fn login_is_rate_limited_per_identifier_and_ip(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.login_limit_per_identifier = 3;
        c.login_limit_per_ip = 5;
    })
    .await;
    app.register("limited@example.com").await;
    for _ in 0..3 {
        app.login("limited@example.com", "wrong password here")
            .await
            .problem(401, "invalid_credentials");
    }
    let res = app.login("limited@example.com", PASSWORD).await;
    let retry: u64 = res
        .headers
        .get("retry-after")
        .expect("Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    res.problem(429, "rate_limited");
    // Another identifier from the same IP still has IP budget left (register used one hit).
    app.login("other@example.com", "wrong password here")
        .await
        .problem(401, "invalid_credentials");
    app.login("third@example.com", "wrong password here")
        .await
        .problem(429, "rate_limited");
    // A new window restores access.
    app.advance(61);
    app.login("limited@example.com", PASSWORD).await.expect(200);
}

async fn sessions_can_be_listed_and_revoked(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (phone_access, _, _) = app.register("devices@example.com").await;
    let laptop = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "devices@example.com", "password": PASSWORD, "device": "laptop"}),
        )
        .await
        .expect(200);
    let laptop_access = laptop["tokens"]["access_token"].as_str().unwrap();
    let laptop_session = laptop["tokens"]["session_id"].as_str().unwrap();
    let list = app
        .get("/api/v1/me/sessions", Some(&phone_access))
        .await
        .expect(200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let laptop_row = list.iter().find(|s| s["id"] == laptop_session).unwrap();
    assert_eq!(laptop_row["device"], "laptop");
    assert_eq!(laptop_row["current"], false);
    assert_eq!(laptop_row["ip"], "127.0.0.1");

    // Someone else cannot end my session, and learns nothing about it.
    let (stranger, _, _) = app.register("stranger@example.com").await;
    app.call(
        Method::DELETE,
        &format!("/api/v1/me/sessions/{laptop_session}"),
        Some(&stranger),
        None,
    )
    .await
    .problem(404, "not_found");
    app.get("/api/v1/me", Some(laptop_access)).await.expect(200);

    app.call(
        Method::DELETE,
        &format!("/api/v1/me/sessions/{laptop_session}"),
        Some(&phone_access),
        None,
    )
    .await
    .expect(204);
    app.get("/api/v1/me", Some(laptop_access))
        .await
        .problem(401, "invalid_token");
    assert_eq!(
        app.get("/api/v1/me/sessions", Some(&phone_access))
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn suspended_account_can_do_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (access, refresh, id) = app.register("bad@example.com").await;
    app.post(
        &format!("/api/v1/admin/users/{id}/suspend"),
        Some(&admin),
        json!({"reason": "fraud"}),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", Some(&access))
        .await
        .problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .problem(401, "session_revoked");
    app.login("bad@example.com", PASSWORD)
        .await
        .problem(403, "account_suspended");
    app.post(
        &format!("/api/v1/admin/users/{id}/reactivate"),
        Some(&admin),
        json!({}),
    )
    .await
    .expect(200);
    app.login("bad@example.com", PASSWORD).await.expect(200);
}

async fn expired_access_token_is_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (access, refresh, _) = app.register("late@example.com").await;
    app.advance(15 * 60 + 1);
    app.get("/api/v1/me", Some(&access))
        .await
        .problem(401, "token_expired");
    let pair = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh}),
        )
        .await
        .expect(200);
    app.get("/api/v1/me", pair["access_token"].as_str())
        .await
        .expect(200);
    app.get("/api/v1/me", Some("garbage.token.here"))
        .await
        .problem(401, "invalid_token");
    app.get("/api/v1/me", None)
        .await
        .problem(401, "missing_token");
}

async fn racing_refreshes_with_one_token_succeed_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (_, refresh, _) = app.register("race@example.com").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = app.client.clone();
        let url = format!("{}/api/v1/auth/refresh", app.base);
        let token = refresh.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"refresh_token": token}))
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
        statuses.iter().filter(|s| **s == 200).count() <= 1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401),
        "{statuses:?}"
    );
}

async fn hostile_identifiers_get_4xx_not_500(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.login("a\u{0}b@example.com", "whatever password")
        .await
        .problem(401, "invalid_credentials");
    app.login(&"x".repeat(5000), "whatever password")
        .await
        .problem(401, "invalid_credentials");
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"email": "a\u{0}b@example.com", "password": PASSWORD, "first_name": "Nul"}),
    )
    .await
    .problem(422, "validation_failed");
    let (t, _, _) = app.register("ok@example.com").await;
    app.call(
        Method::PATCH,
        "/api/v1/me",
        Some(&t),
        Some(json!({"avatar_url": "https://x.io/a\u{0}.png", "city": "Pu\u{0}ne"})),
    )
    .await
    .problem(422, "validation_failed");
    // The phone number is only ever set by proving it with a code.
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"email": "p@example.com", "password": PASSWORD, "first_name": "P", "phone": "+919812345678"}),
    )
    .await
    .problem(422, "invalid_body");
}

async fn forwarded_for_uses_the_address_the_proxy_saw(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.trust_forwarded_for = true).await;
    app.register("proxied@example.com").await;
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.7")
        .json(&json!({"email": "proxied@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    let token = body["tokens"]["access_token"].as_str().unwrap();
    let sessions = app
        .get("/api/v1/me/sessions", Some(token))
        .await
        .expect(200);
    let ips: Vec<&str> = sessions
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["ip"].as_str())
        .collect();
    assert!(ips.contains(&"203.0.113.7"), "{ips:?}");
    assert!(
        !ips.contains(&"6.6.6.6"),
        "the client-written part is ignored: {ips:?}"
    );
}
