//! Rate limits and the login backoff: growing lockouts per identifier, IPv6 clients counted
//! by their /64, and counters shared by two nodes through Redis.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, PASSWORD, Resp, TestApp};

both_backends!(
    failed_logins_lock_the_account_out_longer_each_time,
    login_backoff_treats_unknown_accounts_alike,
    a_password_reset_ends_the_lockout,
    ipv6_clients_share_one_budget_per_64_prefix,
    two_nodes_count_attempts_together_through_redis,
    two_nodes_share_the_login_backoff_through_redis,
);

fn retry_after(res: &Resp) -> u64 {
    res.headers
        .get("retry-after")
        .expect("Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Asserts a `login_backoff` refusal and returns its `Retry-After`.
#[track_caller]
fn locked(res: Resp) -> u64 {
    let wait = retry_after(&res);
    res.problem(429, "login_backoff");
    wait
}

async fn failed_logins_lock_the_account_out_longer_each_time(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.login_backoff_after = 3;
        c.login_backoff_secs = 30;
        c.login_backoff_max_secs = 100;
        // The window limits stay out of the way: this is about the backoff alone.
        c.login_limit_per_identifier = 1_000;
        c.login_limit_per_ip = 1_000;
    })
    .await;
    let email = "target@example.com";
    app.register(email).await;
    let wrong = || app.login(email, "not the password at all");
    for _ in 0..3 {
        wrong().await.problem(401, "invalid_credentials");
    }
    // Locked: even the right password is refused until the delay has passed.
    assert_eq!(locked(app.login(email, PASSWORD).await), 30);
    app.advance(29);
    assert_eq!(locked(app.login(email, PASSWORD).await), 1);
    app.advance(1);
    // The next failure doubles the lockout, and the one after hits the cap.
    wrong().await.problem(401, "invalid_credentials");
    assert_eq!(locked(wrong().await), 60);
    app.advance(60);
    wrong().await.problem(401, "invalid_credentials");
    assert_eq!(locked(app.login(email, PASSWORD).await), 100, "capped");
    app.advance(100);
    // Once it has passed, the right password works and the count starts again.
    app.login(email, PASSWORD).await.expect(200);
    for _ in 0..2 {
        wrong().await.problem(401, "invalid_credentials");
    }
    app.login(email, PASSWORD).await.expect(200);
    wrong().await.problem(401, "invalid_credentials");
    wrong().await.problem(401, "invalid_credentials");
    // Two failures since the success: not locked yet.
    app.login(email, PASSWORD).await.expect(200);
}

async fn login_backoff_treats_unknown_accounts_alike(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.login_backoff_after = 2;
        c.login_backoff_secs = 45;
        c.login_limit_per_identifier = 1_000;
        c.login_limit_per_ip = 1_000;
    })
    .await;
    app.register("known@example.com").await;
    let mut answers: Vec<Value> = Vec::new();
    for email in ["known@example.com", "nobody@example.com"] {
        for _ in 0..2 {
            app.login(email, "not the password at all")
                .await
                .problem(401, "invalid_credentials");
        }
        let res = app.login(email, "not the password at all").await;
        assert_eq!(retry_after(&res), 45);
        let mut body = res.problem(429, "login_backoff");
        body.as_object_mut().unwrap().remove("request_id");
        answers.push(body);
    }
    assert_eq!(
        answers[0], answers[1],
        "the lockout says nothing about the account"
    );
    // Another identifier is not affected.
    app.register("other@example.com").await;
    app.login("other@example.com", PASSWORD).await.expect(200);
}

/// A registration from `ip` (through the trusted proxy) that fails validation after being
/// counted against the per-IP budget.
async fn register_from(app: &TestApp, ip: &str) -> Resp {
    let res = app
        .client
        .post(format!("{}/api/v1/auth/register", app.base))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": "not an email", "password": "short", "first_name": "X"}))
        .send()
        .await
        .unwrap();
    Resp::read(res).await
}

async fn ipv6_clients_share_one_budget_per_64_prefix(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.trust_forwarded_for = true;
        c.login_limit_per_ip = 2;
    })
    .await;
    // Two addresses of one /64 spend one budget.
    register_from(&app, "2001:db8:1:2::1")
        .await
        .problem(422, "validation_failed");
    register_from(&app, "2001:db8:1:2:ffff:ffff:ffff:9")
        .await
        .problem(422, "validation_failed");
    let res = register_from(&app, "2001:db8:1:2::abcd").await;
    assert!(retry_after(&res) >= 1);
    res.problem(429, "rate_limited");
    // The neighbouring /64 has its own.
    register_from(&app, "2001:db8:1:3::1")
        .await
        .problem(422, "validation_failed");
    // IPv4 addresses count one by one.
    for ip in ["203.0.113.7", "203.0.113.7", "203.0.113.8"] {
        register_from(&app, ip)
            .await
            .problem(422, "validation_failed");
    }
    register_from(&app, "203.0.113.7")
        .await
        .problem(429, "rate_limited");
}

async fn two_nodes_count_attempts_together_through_redis(b: Backend) {
    let Some((a, n2)) = TestApp::spawn_pair_with(b, |c| {
        c.trust_forwarded_for = true;
        c.login_limit_per_ip = 4;
        c.login_limit_per_identifier = 1_000;
        c.login_backoff_after = 2;
        c.login_backoff_secs = 30;
    })
    .await
    else {
        return;
    };
    // Four attempts from one address, alternating nodes: each node alone has seen two.
    for node in [&a, &n2, &a, &n2] {
        register_from(node, "198.51.100.4")
            .await
            .problem(422, "validation_failed");
    }
    register_from(&a, "198.51.100.4")
        .await
        .problem(429, "rate_limited");
    register_from(&n2, "198.51.100.4")
        .await
        .problem(429, "rate_limited");
}

async fn two_nodes_share_the_login_backoff_through_redis(b: Backend) {
    let Some((a, n2)) = TestApp::spawn_pair_with(b, |c| {
        c.login_backoff_after = 2;
        c.login_backoff_secs = 30;
    })
    .await
    else {
        return;
    };
    // One failure on each node locks the account on both.
    let email = "shared@example.com";
    a.register(email).await;
    a.login(email, "not the password at all")
        .await
        .problem(401, "invalid_credentials");
    n2.login(email, "not the password at all")
        .await
        .problem(401, "invalid_credentials");
    assert_eq!(locked(a.login(email, PASSWORD).await), 30);
    assert_eq!(locked(n2.login(email, PASSWORD).await), 30);
    // The nodes share one clock; after the delay a success on one clears it for both.
    a.advance(30);
    n2.login(email, PASSWORD).await.expect(200);
    a.login(email, "not the password at all")
        .await
        .problem(401, "invalid_credentials");
    a.login(email, PASSWORD).await.expect(200);
}

async fn a_password_reset_ends_the_lockout(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.login_backoff_after = 2;
        c.login_backoff_secs = 600;
        c.login_limit_per_identifier = 1_000;
        c.login_limit_per_ip = 1_000;
    })
    .await;
    let email = "forgetful@example.com";
    app.register(email).await;
    for _ in 0..2 {
        app.login(email, "not the password at all")
            .await
            .problem(401, "invalid_credentials");
    }
    assert_eq!(locked(app.login(email, PASSWORD).await), 600);
    app.post(
        "/api/v1/auth/password/forgot",
        None,
        json!({"email": email}),
    )
    .await
    .expect(202);
    let token = app.link_token(email, "reset-password").await;
    let new_password = "a brand new passphrase";
    app.post(
        "/api/v1/auth/password/reset",
        None,
        json!({"token": token, "password": new_password}),
    )
    .await
    .expect(204);
    // No waiting for the lockout: the owner proved the address and set a new password.
    app.login(email, new_password).await.expect(200);
}
