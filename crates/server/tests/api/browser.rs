//! Walks through the console in a real headless Chromium, as a person would: sign in,
//! click, type, read what the page says. Each test saves a screenshot when it fails.

use serde_json::json;
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{
    Backend, PASSWORD, TestApp, application, approved_practitioner, bookable_hours_and_service,
};
use crate::webdriver::{Browser, available};

both_backends!(
    an_admin_approves_refunds_pays_and_edits_a_template,
    the_console_fits_a_phone,
    a_practitioner_takes_a_request_and_chats_with_the_clients_socket,
    a_client_reloads_mid_session_and_keeps_it,
    a_client_tops_up_through_the_sandbox_checkout,
    the_docs_page_sends_a_top_up_with_its_idempotency_key,
    a_practitioner_confirms_a_booking,
);

async fn sign_in(browser: &Browser, base: &str, email: &str) {
    browser.goto(&format!("{base}/console")).await;
    browser.find("form[action='/console/sign-in']").await;
    browser.fill("#email", email).await;
    browser.fill("#password", PASSWORD).await;
    browser
        .click("form[action='/console/sign-in'] button[type=submit]")
        .await;
}

async fn an_admin_approves_refunds_pays_and_edits_a_template(b: Backend) {
    let Some((driver, chromium)) = available() else {
        return;
    };
    let app = TestApp::spawn(b).await;
    let (email, admin) = app.admin_account().await;
    // An application waiting.
    let (token, _, _) = app.register("applicant@example.com").await;
    app.post(
        "/api/v1/practitioners/apply",
        Some(&token),
        application("Meera Joshi"),
    )
    .await
    .expect(201);
    // A paid top-up.
    let (client, _, client_id) = app.register("payer@example.com").await;
    let topup = app
        .post_keyed(
            "/api/v1/wallet/topups",
            &client,
            "t-1",
            json!({"amount": 50_000}),
        )
        .await
        .expect(201);
    let checkout = topup["checkout_url"].as_str().unwrap().to_owned();
    app.client
        .post(format!("{checkout}/pay"))
        .send()
        .await
        .unwrap();
    domain::jobs::run_pending(&app.state).await.unwrap();
    // A payout requested.
    let (earner, pid) =
        approved_practitioner(&app, &admin, "earner@example.com", "Earning Reader").await;
    crate::payouts::earn(&app, &admin, pid.parse::<Uuid>().unwrap(), 100_000).await;
    app.verify_email("earner@example.com").await;
    app.call(
        reqwest::Method::PUT,
        "/api/v1/practitioners/me/payout-account",
        Some(&earner),
        Some(json!({"method": "bank", "account_holder": "Earning Reader", "bank_account_number": "123456789012", "ifsc": "HDFC0001234"})),
    )
    .await
    .expect(200);
    let payout = app
        .post_keyed(
            "/api/v1/practitioners/me/payouts",
            &earner,
            "p-1",
            json!({"amount": 60_000}),
        )
        .await
        .expect(201);

    let browser = Browser::start(&driver, &chromium, false).await;
    let base = app.base.clone();
    browser
        .run_test("admin_walk", |browser| async move {
            sign_in(&browser, &base, &email).await;
            browser.wait_for_text("h1", "Dashboard").await;
            assert_eq!(browser.text("#applications-waiting").await, "1");
            assert_eq!(browser.text("#payouts-waiting").await, "1");
            assert_eq!(browser.text("#books").await, "Balanced");
            browser.keep("dashboard").await;

            // Approve the application from the queue.
            browser
                .click("a[href='/console/admin/practitioners?status=pending']")
                .await;
            browser.wait_for_text("main table", "Meera Joshi").await;
            browser.keep("applications").await;
            browser
                .click("main table form[action$='/approve'] button")
                .await;
            browser.wait_for_text(".notice.ok", "Approved").await;
            assert!(!browser.text("main table").await.contains("Meera Joshi"));

            // Refund ₹120 of the top-up.
            browser.click("nav a[href='/console/admin/topups']").await;
            browser.wait_for_text("h1", "Top-ups").await;
            browser.fill("form.refund input[name=amount]", "120").await;
            browser
                .select("form.refund select[name=reason]", "technical_fault")
                .await;
            browser.click("form.refund button[type=submit]").await;
            browser.wait_for_text(".notice.ok", "Refunded.").await;
            browser.wait_for_text("main table", "₹120.00").await;
            browser.keep("topups").await;

            // Pay the payout.
            browser.click("nav a[href='/console/admin/payouts']").await;
            browser.wait_for_text("main table", "₹600.00").await;
            browser
                .fill(
                    "form[action$='/mark-paid'] input[name=note]",
                    "UTR123456789",
                )
                .await;
            browser.click("form[action$='/mark-paid'] button").await;
            browser.wait_for_text(".notice.ok", "Marked paid.").await;

            // Edit a template, watching the preview follow the typing.
            browser
                .goto(&format!("{base}/console/admin/templates/welcome/in_app/en"))
                .await;
            browser.wait_for_text("h1", "Template: welcome").await;
            browser
                .fill("#body", "Namaste {{ name }}, your first reading awaits.")
                .await;
            browser
                .wait_for_text("#preview-body", "your first reading awaits")
                .await;
            let preview = browser.text("#preview-body").await;
            assert!(
                !preview.contains("{{"),
                "the preview is rendered: {preview}"
            );
            browser.fill("#body", "Broken {{ name ").await;
            browser
                .wait_for_text("#preview-error", "The template does not render")
                .await;
            browser
                .fill("#body", "Namaste {{ name }}, welcome to Augur.")
                .await;
            browser.click("#template-form button[type=submit]").await;
            browser.wait_for_text(".notice.ok", "Saved.").await;
            browser.keep("template").await;
        })
        .await;

    // What the clicks did, read back through the API.
    let pending = app
        .get("/api/v1/admin/practitioners?status=pending", Some(&admin))
        .await
        .expect(200);
    assert!(pending["items"].as_array().unwrap().is_empty());
    let wallet = app
        .get(&format!("/api/v1/admin/wallets/{client_id}"), Some(&admin))
        .await
        .expect(200);
    assert_eq!(wallet["available"], 38_000);
    let paid = app
        .get("/api/v1/admin/payouts?status=paid", Some(&admin))
        .await
        .expect(200);
    assert_eq!(paid["items"][0]["id"], payout["id"]);
    assert_eq!(paid["items"][0]["paid_reference"], "UTR123456789");
    let template = app
        .get(
            "/api/v1/admin/notification-templates/welcome/in_app/en",
            Some(&admin),
        )
        .await
        .expect(200);
    assert_eq!(template["body"], "Namaste {{ name }}, welcome to Augur.");
    assert_eq!(template["customized"], true);
}

async fn the_console_fits_a_phone(b: Backend) {
    let Some((driver, chromium)) = available() else {
        return;
    };
    let app = TestApp::spawn(b).await;
    let (email, _) = app.admin_account().await;
    for i in 0..3 {
        app.register(&format!("someone-with-a-long-address-{i}@example.com"))
            .await;
    }
    let browser = Browser::start(&driver, &chromium, true).await;
    let base = app.base.clone();
    browser
        .run_test("phone", |browser| async move {
            browser.goto(&format!("{base}/console/sign-in")).await;
            let overflow = "return document.documentElement.scrollWidth - document.documentElement.clientWidth";
            assert_eq!(browser.run(overflow).await, json!(0), "the sign-in page fits");
            sign_in(&browser, &base, &email).await;
            browser.wait_for_text("h1", "Dashboard").await;
            for path in ["/console/admin", "/console/admin/users", "/console/admin/topups", "/console/admin/audit"] {
                browser.goto(&format!("{base}{path}")).await;
                browser.find("h1").await;
                assert_eq!(browser.run(overflow).await, json!(0), "{path} scrolls sideways on a phone");
            }
            // Keyboard: the first Tab reaches the skip link, which leads to the content.
            browser.goto(&format!("{base}/console/admin/users")).await;
            let labelled = browser
                .run("return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].every(el => el.labels && el.labels.length > 0)")
                .await;
            assert_eq!(labelled, json!(true), "every field has a label");
        })
        .await;
}

/// Funds `user` with a goodwill credit of `amount`.
async fn fund(app: &TestApp, admin: &str, user: &str, amount: i64) {
    app.post_keyed(
        &format!("/api/v1/admin/wallets/{user}/credits"),
        admin,
        &format!("fund-{user}"),
        json!({"amount": amount, "reason": "goodwill"}),
    )
    .await
    .expect(201);
}

async fn wait_connected(browser: &Browser) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while browser
        .run("return document.getElementById('live').dataset.connected || ''")
        .await
        != json!("true")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the live panel did not connect"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn a_practitioner_takes_a_request_and_chats_with_the_clients_socket(b: Backend) {
    let Some((driver, chromium)) = available() else {
        return;
    };
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (_, pid) = approved_practitioner(&app, &admin, "reader@example.com", "Asha Reader").await;
    let (client, _, client_id) = app.register("seeker@example.com").await;
    fund(&app, &admin, &client_id, 50_000).await;

    let browser = Browser::start(&driver, &chromium, false).await;
    let base = app.base.clone();
    let app = std::sync::Arc::new(app);
    let test_app = app.clone();
    browser
        .run_test("practitioner_live", |browser| async move {
            let app = test_app;
            sign_in(&browser, &base, "reader@example.com").await;
            browser.wait_for_text("h1", "Live").await;
            browser.click("#go-online").await;
            browser.wait_for_text(".notice.ok", "You are online").await;
            wait_connected(&browser).await;

            let asked = app
                .post("/api/v1/consultations", Some(&client), json!({"practitioner_id": pid, "channel": "chat"}))
                .await
                .expect(201);
            let id = asked["id"].as_str().unwrap().to_owned();
            // Who is asking, in words.
            browser.wait_for_text("#requests", "Test U. asks for a chat at ₹20.00/min").await;
            browser.click("#requests button.accept").await;
            browser.wait_for_text("#live-status", "In session.").await;
            // The availability line follows the session, without a reload.
            browser.wait_for_text("#presence-sessions", "1 of 2").await;

            let mut socket = crate::realtime::connect(&app, &client, true).await;
            crate::realtime::send(
                &mut socket,
                json!({"type": "message", "id": "m1", "consultation_id": id, "text": "Namaste, is my career looking up?"}),
            )
            .await;
            browser.wait_for_text("#chat-log", "Namaste, is my career looking up?").await;
            // Typing shows as one transient indicator, never as log lines.
            crate::realtime::send(&mut socket, json!({"type": "typing", "id": "t1", "consultation_id": id})).await;
            browser.wait_for_text("#typing", "Typing").await;
            assert!(!browser.text("#chat-log").await.contains("Typing"));

            browser.fill("#chat-text", "Yes: Jupiter favours you this year.").await;
            browser.click("#chat-form button[type=submit]").await;
            let got = crate::realtime::expect(&mut socket, |f| {
                f["type"] == "message" && f["message"]["body"] == "Yes: Jupiter favours you this year."
            })
            .await;
            assert_ne!(got["message"]["sender_id"], json!(client_id));
            browser.keep("practitioner-live").await;

            browser.click("#end-session").await;
            browser.wait_for_text("#live-status", "Ended: ended by the practitioner").await;
            let ended = app
                .get(&format!("/api/v1/consultations/{id}"), Some(&client))
                .await
                .expect(200);
            assert_eq!(ended["status"], "ended");
        })
        .await;
}

async fn a_client_reloads_mid_session_and_keeps_it(b: Backend) {
    let Some((driver, chromium)) = available() else {
        return;
    };
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (practitioner, pid) =
        approved_practitioner(&app, &admin, "reader@example.com", "Asha Reader").await;
    app.call(
        reqwest::Method::PUT,
        "/api/v1/practitioners/me/presence",
        Some(&practitioner),
        Some(json!({"status": "online"})),
    )
    .await
    .expect(200);
    let (_, _, client_id) = app.register("seeker@example.com").await;
    fund(&app, &admin, &client_id, 50_000).await;

    let browser = Browser::start(&driver, &chromium, false).await;
    let base = app.base.clone();
    let app = std::sync::Arc::new(app);
    let test_app = app.clone();
    browser
        .run_test("client_reload", |browser| async move {
            let app = test_app;
            sign_in(&browser, &base, "seeker@example.com").await;
            browser.wait_for_text("#wallet-available", "₹500.00").await;
            browser
                .click(&format!("form[action='/console/client/chat/{pid}'] button"))
                .await;
            browser.wait_for_text(".notice.ok", "Request sent").await;
            browser
                .wait_for_text("#live-status", "Waiting for the practitioner")
                .await;
            // The client may change their mind while waiting.
            assert_eq!(
                browser
                    .run("return document.getElementById('cancel-request').hidden")
                    .await,
                json!(false)
            );
            wait_connected(&browser).await;

            let list = app
                .get("/api/v1/consultations", Some(&practitioner))
                .await
                .expect(200);
            let id = list["items"][0]["id"].as_str().unwrap().to_owned();
            app.post(
                &format!("/api/v1/consultations/{id}/accept"),
                Some(&practitioner),
                json!({}),
            )
            .await
            .expect(200);
            browser.wait_for_text("#live-status", "In session.").await;
            assert_eq!(
                browser
                    .run("return document.getElementById('cancel-request').offsetParent === null")
                    .await,
                json!(true),
                "no cancelling a session that started"
            );
            browser.fill("#chat-text", "Before the reload").await;
            browser.click("#chat-form button[type=submit]").await;
            browser
                .wait_for_text("#chat-log", "Before the reload")
                .await;

            // Reload: the page finds the session again, with its history.
            browser.goto(&format!("{base}/console/client")).await;
            browser.wait_for_text("#live-status", "In session.").await;
            wait_connected(&browser).await;
            browser
                .wait_for_text("#chat-log", "Before the reload")
                .await;
            browser.fill("#chat-text", "After the reload").await;
            browser.click("#chat-form button[type=submit]").await;
            browser.wait_for_text("#chat-log", "After the reload").await;
            browser.keep("client-live").await;
            let messages = app
                .get(
                    &format!("/api/v1/consultations/{id}/messages"),
                    Some(&practitioner),
                )
                .await
                .expect(200);
            let bodies: Vec<String> = messages
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|m| m["body"].as_str().map(str::to_owned))
                .collect();
            assert!(bodies.iter().any(|b| b == "After the reload"), "{bodies:?}");

            browser.click("#end-session").await;
            browser
                .wait_for_text("#live-status", "Ended: ended by the client")
                .await;
            // The review goes to the session on screen, even after the reload.
            browser.select("#review-rating", "4").await;
            browser.fill("#review-text", "Clear and kind.").await;
            browser.click("#review-form button[type=submit]").await;
            browser
                .wait_for_text("#live-status", "your review is posted")
                .await;
            let ended = app
                .get(&format!("/api/v1/consultations/{id}"), Some(&practitioner))
                .await
                .expect(200);
            assert_eq!(
                (ended["status"].as_str(), ended["end_reason"].as_str()),
                (Some("ended"), Some("client_ended"))
            );
        })
        .await;
}

async fn a_client_tops_up_through_the_sandbox_checkout(b: Backend) {
    let Some((driver, chromium)) = available() else {
        return;
    };
    let app = TestApp::spawn(b).await;
    app.register("payer@example.com").await;
    let browser = Browser::start(&driver, &chromium, false).await;
    let base = app.base.clone();
    let app = std::sync::Arc::new(app);
    let test_app = app.clone();
    browser
        .run_test("client_topup", |browser| async move {
            let app = test_app;
            sign_in(&browser, &base, "payer@example.com").await;
            browser.wait_for_text("#wallet-available", "₹0.00").await;
            browser.fill("#topup input[name=amount]", "250").await;
            browser.click("#topup button[type=submit]").await;
            browser
                .wait_for_text("body", "Augur sandbox checkout")
                .await;
            browser.click("button.pay").await;
            browser.wait_for_text("body", "Payment sent").await;
            // The gateway's signed webhook, as the job worker would run it.
            domain::jobs::run_pending(&app.state).await.unwrap();
            browser.click("a[href='/console/client']").await;
            browser.wait_for_text("#wallet-available", "₹250.00").await;
        })
        .await;
}

async fn the_docs_page_sends_a_top_up_with_its_idempotency_key(b: Backend) {
    let Some((driver, chromium)) = available() else {
        return;
    };
    let app = TestApp::spawn(b).await;
    let (token, _, _) = app.register("builder@example.com").await;
    let browser = Browser::start(&driver, &chromium, true).await;
    let base = app.base.clone();
    let app = std::sync::Arc::new(app);
    let test_app = app.clone();
    browser
        .run_test("docs_topup", |browser| async move {
            let app = test_app;
            browser.goto(&format!("{base}/docs")).await;
            let op = "details[data-op='POST /api/v1/wallet/topups']";
            browser.find(op).await;
            let overflow = "return document.documentElement.scrollWidth - document.documentElement.clientWidth";
            assert_eq!(browser.run(overflow).await, json!(0), "/docs fits a phone");
            // A newcomer meets signing in first, not the admin's operations.
            let first = browser.run("return document.querySelector('details.op').dataset.op").await;
            assert!(first.as_str().unwrap().contains("/api/v1/auth/"), "{first}");
            browser.fill("#token", &token).await;
            browser.click(&format!("{op} > summary")).await;
            let key = browser
                .run(&format!("return document.querySelector(\"{op} input[name='Idempotency-Key']\").value"))
                .await;
            assert!(!key.as_str().unwrap().is_empty(), "the key starts filled in");
            browser.click(&format!("{op} button")).await;
            let answer = browser.wait_for_text(&format!("{op} pre"), "201").await;
            assert!(answer.contains("\"amount\": 25000"), "{answer}");
            // Send again: the same key answers the first result, and no second order exists.
            browser.click(&format!("{op} button")).await;
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            browser.wait_for_text(&format!("{op} pre"), "201").await;
            let orders = app.get("/api/v1/wallet/topups", Some(&token)).await.expect(200);
            assert_eq!(orders["items"].as_array().unwrap().len(), 1);
        })
        .await;
}

async fn a_practitioner_confirms_a_booking(b: Backend) {
    let Some((driver, chromium)) = available() else {
        return;
    };
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (practitioner, _) =
        approved_practitioner(&app, &admin, "healer@example.com", "Healer One").await;
    let service = bookable_hours_and_service(&app, &practitioner).await;
    let (client, _, client_id) = app.register("seeker@example.com").await;
    fund(&app, &admin, &client_id, 200_000).await;
    let start = (app.state.clock.now() + chrono::Duration::days(2))
        .date_naive()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc();
    let booking = app
        .post_keyed(
            "/api/v1/bookings",
            &client,
            "book-1",
            json!({"service_id": service["id"], "start": start.to_rfc3339()}),
        )
        .await
        .expect(201);
    let reference = booking["reference"].as_str().unwrap().to_owned();

    let browser = Browser::start(&driver, &chromium, false).await;
    let base = app.base.clone();
    browser
        .run_test("practitioner_booking", |browser| async move {
            sign_in(&browser, &base, "healer@example.com").await;
            browser
                .click("nav a[href='/console/practitioner/bookings']")
                .await;
            browser
                .wait_for_text(&format!("#booking-{reference}"), "₹1,500.00")
                .await;
            browser
                .click(&format!("#booking-{reference} button.confirm"))
                .await;
            browser.wait_for_text(".notice.ok", "Confirmed").await;
            browser
                .click("a[href='/console/practitioner/bookings?status=confirmed']")
                .await;
            browser
                .wait_for_text(&format!("#booking-{reference}"), "Confirmed")
                .await;
        })
        .await;
    let after = app
        .get(
            &format!("/api/v1/bookings/{}", booking["id"].as_str().unwrap()),
            Some(&client),
        )
        .await
        .expect(200);
    assert_eq!(after["status"], "confirmed");
}
