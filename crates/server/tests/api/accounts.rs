//! Accounts after sign-up: changing and resetting passwords, proving and changing email
//! addresses, re-authenticating for payout details, and new-device sign-in notices.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, PASSWORD, Resp, TestApp, approved_practitioner};

both_backends!(
    account_operations_are_documented,
    change_password_needs_the_current_one_and_ends_other_sessions,
    password_reset_by_emailed_link_end_to_end,
    password_reset_links_expire_after_30_minutes_and_only_the_newest_works,
    password_reset_requests_are_rate_limited_by_ip_and_address,
    email_verification_link_with_resend_cooldown,
    email_change_takes_effect_when_the_new_address_confirms,
    unverified_email_cannot_request_a_payout,
    payout_details_need_a_recent_password_and_notify,
    new_device_sign_in_notifies_and_known_device_does_not,
);

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn login_as(app: &TestApp, email: &str, password: &str, user_agent: &str) -> Resp {
    let res = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("user-agent", user_agent)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    Resp::read(res).await
}

fn access(body: &Value) -> String {
    body["tokens"]["access_token"].as_str().unwrap().to_owned()
}

async fn events(app: &TestApp, token: &str) -> Vec<String> {
    app.get("/api/v1/notifications", Some(token))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["event"].as_str().unwrap().to_owned())
        .collect()
}

async fn account_operations_are_documented(b: Backend) {
    let app = TestApp::spawn(b).await;
    let spec = app.get("/api/openapi.json", None).await.expect(200);
    for (path, method, id, statuses) in [
        (
            "/api/v1/me/password",
            "post",
            "change_my_password",
            &["204", "401", "422", "429"][..],
        ),
        (
            "/api/v1/auth/reauthenticate",
            "post",
            "reauthenticate_session",
            &["200", "401", "409"],
        ),
        (
            "/api/v1/auth/password/forgot",
            "post",
            "request_password_reset",
            &["202", "422", "429"],
        ),
        (
            "/api/v1/auth/password/reset",
            "post",
            "reset_password_with_token",
            &["204", "400", "422"],
        ),
        (
            "/api/v1/auth/email/verify",
            "post",
            "confirm_email_address",
            &["200", "400", "409"],
        ),
        (
            "/api/v1/me/email/verification",
            "post",
            "resend_email_verification",
            &["202", "409", "429"],
        ),
        (
            "/api/v1/me/email",
            "post",
            "request_email_change",
            &["202", "401", "409", "429"],
        ),
        (
            "/reset-password",
            "get",
            "show_reset_password_page",
            &["200"],
        ),
        (
            "/reset-password",
            "post",
            "submit_reset_password_form",
            &["200"],
        ),
        ("/verify-email", "get", "show_verify_email_page", &["200"]),
        (
            "/verify-email",
            "post",
            "submit_verify_email_form",
            &["200"],
        ),
        (
            "/api/v1/practitioners/me/payout-account",
            "put",
            "put_payout_account",
            &["200", "403"],
        ),
        (
            "/api/v1/practitioners/me/payouts",
            "post",
            "request_payout",
            &["201", "403"],
        ),
    ] {
        let op = &spec["paths"][path][method];
        assert_eq!(op["operationId"], id, "{method} {path}");
        for status in statuses {
            assert!(
                op["responses"][*status].is_object(),
                "{method} {path} documents {status}"
            );
        }
    }
}

async fn change_password_needs_the_current_one_and_ends_other_sessions(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (here, here_refresh, _) = app.register("pat@example.com").await;
    let there = app.login("pat@example.com", PASSWORD).await.expect(200);
    let (there_access, there_refresh) = (
        access(&there),
        there["tokens"]["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    );

    let change =
        |current: Value, new: &str| json!({"current_password": current, "new_password": new});
    app.post(
        "/api/v1/me/password",
        Some(&here),
        change(json!("not my password"), NEW_PASSWORD),
    )
    .await
    .problem(401, "invalid_credentials");
    app.post(
        "/api/v1/me/password",
        Some(&here),
        change(Value::Null, NEW_PASSWORD),
    )
    .await
    .problem(401, "invalid_credentials");
    app.post(
        "/api/v1/me/password",
        Some(&here),
        change(json!(PASSWORD), "short"),
    )
    .await
    .problem(422, "validation_failed");
    app.get("/api/v1/me", Some(&there_access)).await.expect(200);

    app.post(
        "/api/v1/me/password",
        Some(&here),
        change(json!(PASSWORD), NEW_PASSWORD),
    )
    .await
    .expect(204);
    // The other device is out, access and refresh alike; this one stays in.
    app.get("/api/v1/me", Some(&there_access))
        .await
        .problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": there_refresh}),
    )
    .await
    .problem(401, "session_revoked");
    app.get("/api/v1/me", Some(&here)).await.expect(200);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": here_refresh}),
    )
    .await
    .expect(200);
    let sessions = app
        .get("/api/v1/me/sessions", Some(&here))
        .await
        .expect(200);
    assert_eq!(sessions.as_array().unwrap().len(), 1);

    app.login("pat@example.com", PASSWORD)
        .await
        .problem(401, "invalid_credentials");
    app.login("pat@example.com", NEW_PASSWORD).await.expect(200);
    let mails = app.emails_to("pat@example.com").await;
    assert!(
        mails
            .iter()
            .any(|m| m.subject == "Your Augur password was changed"),
        "{mails:?}"
    );
}

async fn password_reset_by_emailed_link_end_to_end(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (old_access, _, _) = app.register("rosa@example.com").await;
    let known = app
        .post(
            "/api/v1/auth/password/forgot",
            None,
            json!({"email": "Rosa@Example.com"}),
        )
        .await
        .expect(202);
    let unknown = app
        .post(
            "/api/v1/auth/password/forgot",
            None,
            json!({"email": "nobody@example.com"}),
        )
        .await
        .expect(202);
    assert_eq!(known, unknown, "an unknown address gets the same answer");
    assert!(app.emails_to("nobody@example.com").await.is_empty());
    app.post(
        "/api/v1/auth/password/forgot",
        None,
        json!({"email": "not an address"}),
    )
    .await
    .problem(422, "validation_failed");

    // The email's link opens a page with a form; no script, a strict policy.
    let token = app.link_token("rosa@example.com", "reset-password").await;
    let page = app
        .client
        .get(format!("{}/reset-password?token={token}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("name=\"token\" value=\"{token}\"")),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");
    // Whatever the address holds is escaped.
    let hostile = app
        .client
        .get(format!(
            "{}/reset-password?token=%22%3E%3Cscript%3Ex%3C/script%3E",
            app.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!hostile.contains("<script>x"), "{hostile}");

    let form = |password: &str, confirm: &str| {
        vec![
            ("token", token.clone()),
            ("password", password.to_owned()),
            ("password_confirm", confirm.to_owned()),
        ]
    };
    let submit = |fields: Vec<(&'static str, String)>| {
        let req = app
            .client
            .post(format!("{}/reset-password", app.base))
            .form(&fields);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let differ = submit(form(NEW_PASSWORD, "something else entirely")).await;
    assert!(differ.contains("The two passwords differ"), "{differ}");
    let short = submit(form("short", "short")).await;
    assert!(short.contains("at least 12 characters"), "{short}");
    let done = submit(form(NEW_PASSWORD, NEW_PASSWORD)).await;
    assert!(done.contains("Your password is changed"), "{done}");

    // Every session ended; the new password works, the old one does not.
    app.get("/api/v1/me", Some(&old_access))
        .await
        .problem(401, "invalid_token");
    app.login("rosa@example.com", PASSWORD)
        .await
        .problem(401, "invalid_credentials");
    let me = app
        .login("rosa@example.com", NEW_PASSWORD)
        .await
        .expect(200);
    assert_eq!(
        me["user"]["email_verified"], true,
        "following a link sent to the address proves it"
    );
    // Single use, through the API as through the page.
    app.post(
        "/api/v1/auth/password/reset",
        None,
        json!({"token": token, "password": "yet another passphrase"}),
    )
    .await
    .problem(400, "reset_token_invalid");
    let again = submit(form(NEW_PASSWORD, NEW_PASSWORD)).await;
    assert!(again.contains("This link does not work"), "{again}");
}

async fn password_reset_links_expire_after_30_minutes_and_only_the_newest_works(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.register("ines@example.com").await;
    let forgot = || {
        app.post(
            "/api/v1/auth/password/forgot",
            None,
            json!({"email": "ines@example.com"}),
        )
    };
    let reset = |token: String, password: &'static str| {
        app.post(
            "/api/v1/auth/password/reset",
            None,
            json!({"token": token, "password": password}),
        )
    };
    forgot().await.expect(202);
    let first = app.link_token("ines@example.com", "reset-password").await;
    forgot().await.expect(202);
    let second = app.link_token("ines@example.com", "reset-password").await;
    assert_ne!(first, second);
    reset(first, NEW_PASSWORD)
        .await
        .problem(400, "reset_token_invalid");
    app.advance(30 * 60 + 1);
    reset(second, NEW_PASSWORD)
        .await
        .problem(400, "reset_token_expired");

    forgot().await.expect(202);
    let third = app.link_token("ines@example.com", "reset-password").await;
    app.advance(29 * 60);
    reset(third, NEW_PASSWORD).await.expect(204);
    app.login("ines@example.com", NEW_PASSWORD)
        .await
        .expect(200);
}

async fn password_reset_requests_are_rate_limited_by_ip_and_address(b: Backend) {
    let app = TestApp::spawn_with(b, |c| {
        c.password_reset_limit_per_identifier = 2;
        c.password_reset_limit_per_ip = 4;
    })
    .await;
    app.register("lim@example.com").await;
    let forgot = |email: &'static str| {
        app.post(
            "/api/v1/auth/password/forgot",
            None,
            json!({"email": email}),
        )
    };
    forgot("lim@example.com").await.expect(202);
    forgot("lim@example.com").await.expect(202);
    let limited = forgot("lim@example.com").await;
    assert!(limited.headers.get("retry-after").is_some());
    limited.problem(429, "rate_limited");
    // Another address still passes, until the IP's own limit.
    forgot("other@example.com").await.expect(202);
    forgot("third@example.com")
        .await
        .problem(429, "rate_limited");
    let resets = app
        .emails_to("lim@example.com")
        .await
        .into_iter()
        .filter(|m| m.subject == "Reset your Augur password")
        .count();
    assert_eq!(resets, 2);
}

async fn email_verification_link_with_resend_cooldown(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (token, _, _) = app.register("vera@example.com").await;
    let me = app.get("/api/v1/me", Some(&token)).await.expect(200);
    assert_eq!(me["email_verified"], false);
    let first = app.link_token("vera@example.com", "verify-email").await;

    let resend = || app.post("/api/v1/me/email/verification", Some(&token), json!({}));
    let early = resend().await;
    assert!(early.headers.get("retry-after").is_some());
    early.problem(429, "verification_resend_too_soon");
    app.advance(61);
    let sent = resend().await.expect(202);
    assert_eq!(sent["email"], "vera@example.com");
    let second = app.link_token("vera@example.com", "verify-email").await;
    assert_ne!(first, second);

    // Opening the link only shows a button: mail scanners fetching it change nothing.
    let page = app
        .client
        .get(format!("{}/verify-email?token={second}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Confirm my email address")
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.expect(200)["email_verified"],
        false
    );

    let confirm = |t: String| app.post("/api/v1/auth/email/verify", None, json!({"token": t}));
    confirm(first)
        .await
        .problem(400, "verification_token_invalid");
    let done = app
        .client
        .post(format!("{}/verify-email", app.base))
        .form(&[("token", second.clone())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("is now the verified address"), "{done}");
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.expect(200)["email_verified"],
        true
    );
    confirm(second)
        .await
        .problem(400, "verification_token_invalid");
    app.advance(61);
    resend().await.problem(409, "email_already_verified");

    // A link is good for 24 hours.
    app.register("late@example.com").await;
    let late = app.link_token("late@example.com", "verify-email").await;
    app.advance(24 * 3600 + 1);
    confirm(late)
        .await
        .problem(400, "verification_token_expired");
}

async fn email_change_takes_effect_when_the_new_address_confirms(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (token, _, user_id) = app.register("old@example.com").await;
    app.verify_email("old@example.com").await;
    app.register("taken@example.com").await;
    let change = |email: &str, password: &str| {
        app.post(
            "/api/v1/me/email",
            Some(&token),
            json!({"email": email, "password": password}),
        )
    };
    change("new@example.com", "not my password")
        .await
        .problem(401, "invalid_credentials");
    change("taken@example.com", PASSWORD)
        .await
        .problem(409, "email_taken");
    change("OLD@example.com", PASSWORD)
        .await
        .problem(409, "email_unchanged");
    change("nope", PASSWORD)
        .await
        .problem(422, "validation_failed");
    // The sign-up's verification email started the cooldown.
    change("new@example.com", PASSWORD)
        .await
        .problem(429, "verification_resend_too_soon");
    app.advance(61);
    let pending = change("new@example.com", PASSWORD).await.expect(202);
    assert_eq!(pending["pending_email"], "new@example.com");

    // Nothing changes until the new address confirms.
    let me = app.get("/api/v1/me", Some(&token)).await.expect(200);
    assert_eq!(
        (me["email"].as_str(), me["email_verified"].as_bool()),
        (Some("old@example.com"), Some(true))
    );
    app.login("new@example.com", PASSWORD)
        .await
        .problem(401, "invalid_credentials");
    let link = app.link_token("new@example.com", "verify-email").await;
    let confirmed = app
        .post("/api/v1/auth/email/verify", None, json!({"token": link}))
        .await
        .expect(200);
    assert_eq!(
        (
            confirmed["email"].as_str(),
            confirmed["email_verified"].as_bool()
        ),
        (Some("new@example.com"), Some(true))
    );
    app.login("new@example.com", PASSWORD).await.expect(200);
    app.login("old@example.com", PASSWORD)
        .await
        .problem(401, "invalid_credentials");

    // The old address is told; the account's inbox too.
    let notice = app
        .emails_to("old@example.com")
        .await
        .into_iter()
        .find(|m| m.subject == "Your Augur email address was changed")
        .expect("a notice to the old address");
    assert!(notice.text.contains("new@example.com"), "{}", notice.text);
    assert!(
        events(&app, &token)
            .await
            .contains(&"email.changed".to_owned())
    );

    // Deleting the account takes its links (and the addresses they hold) with it.
    app.call(
        Method::DELETE,
        "/api/v1/me",
        Some(&token),
        Some(json!({"password": PASSWORD})),
    )
    .await
    .expect(204);
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let left = store::entity::account_token::Entity::find()
        .filter(
            store::entity::account_token::Column::UserId.eq(user_id.parse::<uuid::Uuid>().unwrap()),
        )
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

async fn unverified_email_cannot_request_a_payout(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (token, _) = approved_practitioner(&app, &admin, "unv@example.com", "Unverified").await;
    let ask = |key: &'static str| {
        app.post_keyed(
            "/api/v1/practitioners/me/payouts",
            &token,
            key,
            json!({"amount": 60_000}),
        )
    };
    ask("p-1").await.problem(403, "email_unverified");
    app.verify_email("unv@example.com").await;
    // Past the email check, the next rule speaks.
    ask("p-2").await.problem(409, "payout_account_missing");
}

async fn payout_details_need_a_recent_password_and_notify(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (token, _) = approved_practitioner(&app, &admin, "payee@example.com", "Payee").await;
    let app = &app;
    let put = |token: String, body: Value| async move {
        app.call(
            Method::PUT,
            "/api/v1/practitioners/me/payout-account",
            Some(&token),
            Some(body),
        )
        .await
    };
    let bank = json!({"method": "bank", "account_holder": "Payee", "bank_account_number": "123456789012", "ifsc": "HDFC0001234"});
    // Signing up proved the password; five minutes later it no longer counts.
    app.advance(5 * 60 + 1);
    put(token.clone(), bank.clone())
        .await
        .problem(403, "reauthentication_required");
    app.post(
        "/api/v1/auth/reauthenticate",
        Some(&token),
        json!({"password": "not my password"}),
    )
    .await
    .problem(401, "invalid_credentials");
    let stamp = app
        .post(
            "/api/v1/auth/reauthenticate",
            Some(&token),
            json!({"password": PASSWORD}),
        )
        .await
        .expect(200);
    assert!(stamp["reauthenticated_until"].is_string());
    let saved = put(token.clone(), bank.clone()).await.expect(200);
    assert_eq!(saved["bank_account_masked"], "••••9012");

    let mail = app
        .emails_to("payee@example.com")
        .await
        .into_iter()
        .find(|m| m.subject == "Your Augur payout details were changed")
        .expect("an email about the change");
    assert!(
        mail.text.contains("••••9012 (HDFC0001234)"),
        "{}",
        mail.text
    );
    assert!(!mail.text.contains("123456789012"), "never the full number");
    assert!(
        events(app, &token)
            .await
            .contains(&"payout_account.changed".to_owned())
    );

    app.advance(5 * 60);
    put(
        token.clone(),
        json!({"method": "upi", "account_holder": "Payee", "upi_id": "payee@okbank"}),
    )
    .await
    .problem(403, "reauthentication_required");
    // A fresh sign-in with the password counts as well.
    let fresh = access(&app.login("payee@example.com", PASSWORD).await.expect(200));
    put(
        fresh,
        json!({"method": "upi", "account_holder": "Payee", "upi_id": "payee@okbank"}),
    )
    .await
    .expect(200);
}

async fn new_device_sign_in_notifies_and_known_device_does_not(b: Backend) {
    let app = TestApp::spawn(b).await;
    let registered = app
        .client
        .post(format!("{}/api/v1/auth/register", app.base))
        .header("user-agent", "Browser A")
        .json(&json!({"email": "dev@example.com", "password": PASSWORD, "first_name": "Dev"}))
        .send()
        .await
        .unwrap();
    let token = access(&Resp::read(registered).await.expect(201));
    async fn notices(app: &TestApp) -> Vec<domain::notifications::email::EmailMessage> {
        app.emails_to("dev@example.com")
            .await
            .into_iter()
            .filter(|m| m.subject == "New sign-in to your Augur account")
            .collect()
    }
    assert!(
        notices(&app).await.is_empty(),
        "signing up is no new device"
    );

    login_as(&app, "dev@example.com", PASSWORD, "Browser A")
        .await
        .expect(200);
    assert!(notices(&app).await.is_empty(), "a known device");

    login_as(&app, "dev@example.com", PASSWORD, "Browser B")
        .await
        .expect(200);
    let sent = notices(&app).await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text.contains("Browser B"), "{}", sent[0].text);
    assert!(
        events(&app, &token)
            .await
            .contains(&"signin.new_device".to_owned())
    );

    login_as(&app, "dev@example.com", PASSWORD, "Browser B")
        .await
        .expect(200);
    assert_eq!(notices(&app).await.len(), 1, "seen now");

    // An account made without a session (an admin) has nothing to compare its first
    // sign-in with.
    augur::demo::create_admin(&app.state, "boss@example.com", PASSWORD, "Boss")
        .await
        .unwrap();
    login_as(&app, "boss@example.com", PASSWORD, "Browser C")
        .await
        .expect(200);
    let boss = app.emails_to("boss@example.com").await;
    assert!(boss.is_empty(), "{boss:?}");
}
