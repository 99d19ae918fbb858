//! Notifications end to end: email over SMTP to a local server, SMS through a fake Twilio,
//! push through a fake FCM (checking the JWT signature), retries and dead letters,
//! preferences and quiet hours, templates edited by admins, and the in-app inbox with its
//! WebSocket frame.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use domain::notifications::notify;
use futures::StreamExt;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use secrecy::SecretString;
use serde_json::{Value, json};
use store::entity::{email_log, job, notification_queue as queue, push_device, sms_log};
use tokio_tungstenite::tungstenite::Message;

use crate::both_backends;
use crate::gateways::url_pairs;
use crate::helpers::{Backend, SmtpServer, TestApp};

both_backends!(
    email_is_delivered_over_smtp_with_a_working_unsubscribe_link,
    a_failing_sms_provider_is_retried_with_backoff_then_dead_lettered_and_retried_by_an_admin,
    twilio_rejecting_a_number_is_not_retried,
    push_goes_through_fcm_with_a_signed_service_account_token,
    preferences_switch_channels_off_and_quiet_hours_delay,
    security_messages_ignore_preferences_and_quiet_hours,
    admins_edit_preview_and_reset_templates,
    inbox_lists_counts_marks_read_and_pushes_a_socket_frame,
);

const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_TOKEN: &str = "twilio-auth-token-for-tests";
const TWILIO_FROM: &str = "+15005550006";
const PHONE: &str = "+919876543210";

fn booking_data() -> Value {
    json!({
        "reference": "BK7Q2M9X",
        "service": "Career reading",
        "practitioner_name": "Acharya Meera",
        "client_name": "Rohan",
        "starts_at_local": "Mon 23 Nov 2026 10:30 IST",
        "time_zone": "Asia/Kolkata",
        "amount": "₹500.00",
    })
}

async fn deliveries(app: &TestApp, user: &str) -> Vec<queue::Model> {
    queue::Entity::find()
        .filter(queue::Column::UserId.eq(user.parse::<uuid::Uuid>().unwrap()))
        .order_by_asc(queue::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
}

/// Records `event` for `user` in its own transaction, as a feature would inside its own.
async fn emit(app: &TestApp, user: &str, event: &str, data: Value) {
    let txn = store::begin_write(&app.state.db).await.unwrap();
    notify(
        &txn,
        app.state.clock.now(),
        user.parse().unwrap(),
        event,
        data,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
}

async fn run_jobs(app: &TestApp) -> usize {
    domain::jobs::run_pending(&app.state).await.unwrap()
}

async fn email_is_delivered_over_smtp_with_a_working_unsubscribe_link(b: Backend) {
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let app = TestApp::spawn_with(b, |c| {
        c.email_provider = domain::config::EmailProviderKind::Smtp;
        c.smtp_host = Some("127.0.0.1".into());
        c.smtp_port = port;
        c.smtp_tls = domain::config::SmtpTls::None;
        c.email_from = "Augur <no-reply@augur.test>".into();
    })
    .await;
    let (token, _, user) = app.register("asha@example.com").await;
    run_jobs(&app).await;
    let mails = smtp.mails();
    assert_eq!(
        mails.len(),
        2,
        "a welcome email and the address's verification link"
    );
    let mail = mails
        .iter()
        .find(|m| m.header("Subject").as_deref() == Some("Welcome to Augur, Test"))
        .expect("the welcome email");
    assert_eq!(mail.to, vec!["<asha@example.com>".to_owned()]);
    assert!(mail.from.contains("no-reply@augur.test"), "{}", mail.from);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Welcome to Augur, Test")
    );
    let body = mail.decoded_body();
    assert!(body.contains("Hi Test,"), "{body}");
    assert!(
        body.contains("<p>Hi Test,</p>"),
        "the HTML part too: {body}"
    );
    let link = mail
        .header("List-Unsubscribe")
        .expect("a List-Unsubscribe header");
    let url = link.trim_matches(['<', '>']).to_owned();
    assert!(url.starts_with(&format!(
        "{}/api/v1/notifications/unsubscribe?token=",
        app.base
    )));
    assert!(body.contains(&url), "the link is in the body: {body}");
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let logged = email_log::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(logged.len(), 2);
    assert!(
        logged
            .iter()
            .all(|l| l.status == "sent" && l.provider == "smtp")
    );
    // Security email (the verification link) carries no unsubscribe link.
    let verify = mails
        .iter()
        .find(|m| m.header("Subject").as_deref() == Some("Confirm your email for Augur"))
        .expect("the verification email");
    assert_eq!(verify.header("List-Unsubscribe"), None);
    assert!(
        logged[0]
            .provider_message_id
            .as_deref()
            .unwrap()
            .ends_with("@augur.test>")
    );

    // The link works without signing in and switches that category's email off.
    let page = app.client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("unsubscribed"));
    let prefs = app
        .get("/api/v1/notifications/preferences", Some(&token))
        .await
        .expect(200);
    let account = prefs["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "account")
        .unwrap();
    assert_eq!(account["channels"]["email"], false);
    assert_eq!(account["channels"]["in_app"], true);
    emit(&app, &user, "welcome", json!({})).await;
    run_jobs(&app).await;
    assert_eq!(smtp.mails().len(), 2, "no email after unsubscribing");

    // A tampered token is refused.
    let forged = url.replace(".account.", ".wallet.");
    let res = app.client.get(&forged).send().await.unwrap();
    assert_eq!(res.status(), 400);

    // A mailbox the server says does not exist is not tried again.
    let (_, _, bounced) = app.register("bounce@example.com").await;
    run_jobs(&app).await;
    let email = deliveries(&app, &bounced)
        .await
        .into_iter()
        .find(|d| d.channel == "email")
        .unwrap();
    assert_eq!(email.status, "dead", "{email:?}");
    assert_eq!(email.attempts, 1);
    assert!(
        email.last_error.as_deref().unwrap().contains("550"),
        "{email:?}"
    );
    assert_eq!(smtp.mails().len(), 2);
}

/// The form fields of each request a fake received.
type FormLog = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A fake Twilio Messages API: checks the documented request shape; answers 201 with a
/// `sid`, or whatever status `fail_with` holds (0 = succeed).
struct FakeTwilio {
    base: String,
    requests: FormLog,
    fail_with: Arc<AtomicU16>,
}

async fn fake_twilio() -> FakeTwilio {
    let requests: FormLog = Arc::default();
    let fail_with = Arc::new(AtomicU16::new(0));
    let (seen, fail) = (requests.clone(), fail_with.clone());
    let path = format!("/2010-04-01/Accounts/{TWILIO_SID}/Messages.json");
    let app = Router::new().route(
        &path,
        post(move |headers: HeaderMap, body: Bytes| {
            let (seen, fail) = (seen.clone(), fail.clone());
            async move {
                use base64::Engine;
                let auth = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"))
                );
                let form = url_pairs(&body);
                let get = |k: &str| form.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
                let shaped = headers.get("authorization").is_some_and(|v| v == auth.as_str())
                    && headers
                        .get("content-type")
                        .is_some_and(|v| v == "application/x-www-form-urlencoded")
                    && get("To").is_some_and(|t| t.starts_with('+'))
                    && get("From").as_deref() == Some(TWILIO_FROM)
                    && get("Body").is_some_and(|b| !b.is_empty());
                seen.lock().unwrap().push(form.clone());
                if !shaped {
                    return (
                        StatusCode::BAD_REQUEST,
                        json!({"code": 20001, "message": "malformed", "status": 400}).to_string(),
                    );
                }
                match fail.load(Ordering::SeqCst) {
                    0 => (
                        StatusCode::CREATED,
                        json!({"sid": format!("SM{:032}", seen.lock().unwrap().len()), "status": "queued",
                               "to": get("To"), "from": get("From"), "body": get("Body")})
                        .to_string(),
                    ),
                    400 => (
                        StatusCode::BAD_REQUEST,
                        json!({"code": 21211, "message": "The 'To' number is not a valid phone number.",
                               "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
                        .to_string(),
                    ),
                    code => (
                        StatusCode::from_u16(code).unwrap(),
                        json!({"code": 20500, "message": "Internal Server Error", "status": code}).to_string(),
                    ),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeTwilio {
        base,
        requests,
        fail_with,
    }
}

async fn twilio_app(b: Backend, twilio: &FakeTwilio) -> TestApp {
    let base = twilio.base.clone();
    TestApp::spawn_with(b, move |c| {
        c.sms_provider = domain::config::SmsProviderKind::Twilio;
        c.twilio_base_url = base;
        c.twilio_account_sid = Some(TWILIO_SID.into());
        c.twilio_auth_token = Some(SecretString::from(TWILIO_TOKEN));
        c.twilio_from = Some(TWILIO_FROM.into());
    })
    .await
}

/// Signs in by phone through the fake Twilio; returns (token, user id).
async fn phone_user(app: &TestApp, twilio: &FakeTwilio) -> (String, String) {
    app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await
        .expect(202);
    run_jobs(app).await;
    let sent = twilio.requests.lock().unwrap().last().cloned().unwrap();
    let body = sent.iter().find(|(k, _)| k == "Body").unwrap().1.clone();
    assert!(body.contains("is your Augur sign-in code"), "{body}");
    let code = body.split_whitespace().next().unwrap().to_owned();
    let res = app
        .post(
            "/api/v1/auth/otp/verify",
            None,
            json!({"phone": PHONE, "code": code, "first_name": "Ravi"}),
        )
        .await
        .expect(200);
    (
        res["tokens"]["access_token"].as_str().unwrap().to_owned(),
        res["user"]["id"].as_str().unwrap().to_owned(),
    )
}

async fn a_failing_sms_provider_is_retried_with_backoff_then_dead_lettered_and_retried_by_an_admin(
    b: Backend,
) {
    let twilio = fake_twilio().await;
    let app = twilio_app(b, &twilio).await;
    let (_, user) = phone_user(&app, &twilio).await;
    // The sign-in code's log keeps the message, not the code.
    let otp_log = sms_log::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(otp_log.len(), 1);
    assert_eq!(otp_log[0].body, "[redacted]");
    assert!(
        otp_log[0]
            .provider_message_id
            .as_deref()
            .unwrap()
            .starts_with("SM")
    );
    run_jobs(&app).await;

    twilio.fail_with.store(500, Ordering::SeqCst);
    let before = twilio.requests.lock().unwrap().len();
    emit(&app, &user, "booking.confirmed", booking_data()).await;
    let sms = || async {
        deliveries(&app, &user)
            .await
            .into_iter()
            .find(|d| d.event == "booking.confirmed" && d.channel == "sms")
            .unwrap()
    };
    let max = augur::notifications::MAX_ATTEMPTS;
    for attempt in 1..=max {
        run_jobs(&app).await;
        let row = sms().await;
        assert_eq!(row.attempts, attempt);
        assert!(
            row.last_error.as_deref().unwrap().contains("500"),
            "{row:?}"
        );
        if attempt < max {
            assert_eq!(row.status, "retrying");
            let wait = domain::jobs::backoff(attempt).num_seconds();
            assert_eq!((row.run_at - app.state.clock.now()).num_seconds(), wait);
            // Not due a second early.
            app.advance(wait - 1);
            assert_eq!(run_jobs(&app).await, 0);
            app.advance(1);
        } else {
            assert_eq!(row.status, "dead");
        }
    }
    assert_eq!(
        twilio.requests.lock().unwrap().len() - before,
        max as usize,
        "one request per attempt"
    );
    let failed = sms_log::Entity::find()
        .filter(sms_log::Column::Status.eq("failed"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(failed.len(), max as usize);

    // Admins see the dead letter, in the deliveries and in the jobs.
    let admin = app.admin_token().await;
    let dead = app
        .get(
            "/api/v1/admin/notification-deliveries?status=dead",
            Some(&admin),
        )
        .await
        .expect(200);
    let item = &dead["items"][0];
    assert_eq!(item["event"], "booking.confirmed");
    assert_eq!(item["channel"], "sms");
    assert_eq!(item["attempts"], max);
    let jobs = app
        .get("/api/v1/admin/jobs?status=dead", Some(&admin))
        .await
        .expect(200);
    assert_eq!(jobs[0]["kind"], "deliver_notification");
    assert_eq!(jobs[0]["id"], item["job_id"]);
    app.advance(7200);
    assert_eq!(run_jobs(&app).await, 0, "dead stays dead");
    // Access tokens do not live two hours.
    let admin = app.admin_token().await;

    // The provider is fixed; the admin sends it again.
    twilio.fail_with.store(0, Ordering::SeqCst);
    let id = item["id"].as_str().unwrap();
    let retried = app
        .post(
            &format!("/api/v1/admin/notification-deliveries/{id}/retry"),
            Some(&admin),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(retried["status"], "pending");
    run_jobs(&app).await;
    assert_eq!(sms().await.status, "sent");
    let last = twilio.requests.lock().unwrap().last().cloned().unwrap();
    let body = &last.iter().find(|(k, _)| k == "Body").unwrap().1;
    assert_eq!(
        body,
        "Augur: Career reading with Acharya Meera confirmed for Mon 23 Nov 2026 10:30 IST (BK7Q2M9X)."
    );
    app.post(
        &format!("/api/v1/admin/notification-deliveries/{id}/retry"),
        Some(&admin),
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
}

async fn twilio_rejecting_a_number_is_not_retried(b: Backend) {
    let twilio = fake_twilio().await;
    let app = twilio_app(b, &twilio).await;
    twilio.fail_with.store(400, Ordering::SeqCst);
    app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await
        .expect(202);
    run_jobs(&app).await;
    let rows = queue::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "dead", "a 4xx is final: {rows:?}");
    assert_eq!(rows[0].attempts, 1);
    assert!(rows[0].last_error.as_deref().unwrap().contains("21211"));
    assert_eq!(rows[0].data, "{}", "the code is scrubbed once given up");
    let jobs = job::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(jobs[0].status, "dead");
}

/// A fake FCM: the OAuth2 token endpoint verifies the service-account JWT with the public
/// key; the send endpoint checks the bearer token and the HTTP v1 message shape.
struct FakeFcm {
    base: String,
    token_requests: Arc<AtomicUsize>,
    sends: Arc<Mutex<Vec<Value>>>,
}

const FCM_PROJECT: &str = "augur-test";
const FCM_CLIENT: &str = "augur-push@augur-test.iam.gserviceaccount.com";
const GONE_TOKEN: &str = "token-of-an-uninstalled-app-000000";

async fn fake_fcm() -> FakeFcm {
    let token_requests = Arc::new(AtomicUsize::new(0));
    let sends: Arc<Mutex<Vec<Value>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let token_uri = format!("{base}/token");
    let (count, seen) = (token_requests.clone(), sends.clone());
    let app = Router::new()
        .route(
            "/token",
            post(move |body: Bytes| {
                let (count, token_uri) = (count.clone(), token_uri.clone());
                async move {
                    count.fetch_add(1, Ordering::SeqCst);
                    let form = url_pairs(&body);
                    let get = |k: &str| form.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
                    if get("grant_type").as_deref()
                        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
                    {
                        return (StatusCode::BAD_REQUEST, json!({"error": "unsupported_grant_type"}).to_string());
                    }
                    let public = include_bytes!("fixtures/fcm-test-key.pub.pem");
                    let key = jsonwebtoken::DecodingKey::from_rsa_pem(public).unwrap();
                    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
                    validation.set_audience(&[token_uri.as_str()]);
                    validation.set_issuer(&[FCM_CLIENT]);
                    let claims = jsonwebtoken::decode::<Value>(&get("assertion").unwrap_or_default(), &key, &validation);
                    match claims {
                        Ok(data)
                            if data.claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
                                && data.claims["iat"].is_i64() =>
                        {
                            (
                                StatusCode::OK,
                                json!({"access_token": "ya29.fake-access-token", "expires_in": 3599, "token_type": "Bearer"}).to_string(),
                            )
                        }
                        other => (
                            StatusCode::BAD_REQUEST,
                            json!({"error": "invalid_grant", "detail": format!("{other:?}")}).to_string(),
                        ),
                    }
                }
            }),
        )
        .route(
            &format!("/v1/projects/{FCM_PROJECT}/messages:send"),
            post(move |headers: HeaderMap, body: Bytes| {
                let seen = seen.clone();
                async move {
                    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let m = &req["message"];
                    let shaped = headers
                        .get("authorization")
                        .is_some_and(|v| v == "Bearer ya29.fake-access-token")
                        && headers
                            .get("content-type")
                            .is_some_and(|v| v == "application/json")
                        && m["token"].is_string()
                        && m["notification"]["title"].is_string()
                        && m["notification"]["body"].is_string()
                        && m["data"].as_object().is_some_and(|d| d.values().all(Value::is_string));
                    if !shaped {
                        return (StatusCode::BAD_REQUEST, json!({"error": {"code": 400, "status": "INVALID_ARGUMENT"}}).to_string());
                    }
                    seen.lock().unwrap().push(req.clone());
                    if m["token"] == GONE_TOKEN {
                        return (
                            StatusCode::NOT_FOUND,
                            json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
                                   "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v2.FcmError", "errorCode": "UNREGISTERED"}]}})
                            .to_string(),
                        );
                    }
                    (
                        StatusCode::OK,
                        json!({"name": format!("projects/{FCM_PROJECT}/messages/0:{}", seen.lock().unwrap().len())}).to_string(),
                    )
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeFcm {
        base,
        token_requests,
        sends,
    }
}

async fn push_goes_through_fcm_with_a_signed_service_account_token(b: Backend) {
    let fcm = fake_fcm().await;
    // The key file as the Firebase console hands it out.
    let dir = std::env::temp_dir().join(format!("augur-fcm-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("service-account.json");
    std::fs::write(
        &key_file,
        json!({
            "type": "service_account",
            "project_id": FCM_PROJECT,
            "private_key_id": "0123456789abcdef",
            "private_key": include_str!("fixtures/fcm-test-key.pem"),
            "client_email": FCM_CLIENT,
            "token_uri": format!("{}/token", fcm.base),
        })
        .to_string(),
    )
    .unwrap();
    let base = fcm.base.clone();
    let app = TestApp::spawn_with(b, move |c| {
        c.push_provider = domain::config::PushProviderKind::Fcm;
        c.fcm_base_url = base;
        c.fcm_credentials_file = Some(key_file.display().to_string());
    })
    .await;
    let (token, _, user) = app.register("pia@example.com").await;
    let phone = app
        .post(
            "/api/v1/notifications/devices",
            Some(&token),
            json!({"token": "fcm-registration-token-of-a-phone-1", "platform": "android"}),
        )
        .await
        .expect(201);
    app.post(
        "/api/v1/notifications/devices",
        Some(&token),
        json!({"token": GONE_TOKEN, "platform": "ios"}),
    )
    .await
    .expect(201);
    // Registering again refreshes, it does not duplicate.
    app.post(
        "/api/v1/notifications/devices",
        Some(&token),
        json!({"token": "fcm-registration-token-of-a-phone-1", "platform": "android"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/notifications/devices",
        Some(&token),
        json!({"token": "short", "platform": "fax"}),
    )
    .await
    .problem(422, "validation_failed");
    run_jobs(&app).await;

    emit(&app, &user, "booking.confirmed", booking_data()).await;
    run_jobs(&app).await;
    let sends = fcm.sends.lock().unwrap().clone();
    assert_eq!(sends.len(), 2, "both devices were tried");
    let to_phone = sends
        .iter()
        .find(|s| s["message"]["token"] == "fcm-registration-token-of-a-phone-1")
        .unwrap();
    assert_eq!(
        to_phone["message"]["notification"]["title"],
        "Booking confirmed"
    );
    assert_eq!(
        to_phone["message"]["notification"]["body"],
        "Career reading with Acharya Meera, Mon 23 Nov 2026 10:30 IST"
    );
    assert_eq!(to_phone["message"]["data"]["reference"], "BK7Q2M9X");
    assert_eq!(to_phone["message"]["data"]["event"], "booking.confirmed");
    // The uninstalled app's token is forgotten; the delivery still counts as sent.
    let devices = push_device::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].id.to_string(), phone["id"].as_str().unwrap());
    let push = deliveries(&app, &user)
        .await
        .into_iter()
        .find(|d| d.channel == "push")
        .unwrap();
    assert_eq!(push.status, "sent");

    // A second message reuses the cached access token.
    emit(&app, &user, "booking.reminder", {
        let mut d = booking_data();
        d["minutes_before"] = json!(15);
        d
    })
    .await;
    run_jobs(&app).await;
    let sends = fcm.sends.lock().unwrap().clone();
    assert_eq!(sends.len(), 3);
    assert_eq!(
        sends[2]["message"]["notification"]["title"],
        "Starting in 15 minutes"
    );
    assert_eq!(fcm.token_requests.load(Ordering::SeqCst), 1);

    let listed = app
        .get("/api/v1/notifications/devices", Some(&token))
        .await
        .expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let id = listed[0]["id"].as_str().unwrap();
    app.call(
        Method::DELETE,
        &format!("/api/v1/notifications/devices/{id}"),
        Some(&token),
        None,
    )
    .await
    .expect(204);
    emit(&app, &user, "booking.confirmed", booking_data()).await;
    let skipped = deliveries(&app, &user)
        .await
        .into_iter()
        .filter(|d| d.channel == "push" && d.status == "skipped")
        .count();
    assert_eq!(skipped, 1, "no device: skipped, no job");
    let _ = std::fs::remove_dir_all(dir);
}

async fn preferences_switch_channels_off_and_quiet_hours_delay(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (token, _, user) = app.register("kiran@example.com").await;
    run_jobs(&app).await;
    let sent_before = app.state.sandbox_email.as_ref().unwrap().sent().len();
    assert_eq!(
        sent_before, 2,
        "the welcome email and the verification link"
    );

    app.call(
        Method::PUT,
        "/api/v1/notifications/preferences",
        Some(&token),
        Some(json!({"categories": [{"category": "bookings", "channels": {"email": false}}]})),
    )
    .await
    .expect(200);
    let jobs_before = job::Entity::find().all(&app.state.db).await.unwrap().len();
    emit(&app, &user, "booking.confirmed", booking_data()).await;
    let rows: Vec<_> = deliveries(&app, &user)
        .await
        .into_iter()
        .filter(|d| d.event == "booking.confirmed")
        .collect();
    assert!(rows.iter().all(|d| d.channel != "email"), "{rows:?}");
    let jobs_after = job::Entity::find().all(&app.state.db).await.unwrap().len();
    assert_eq!(jobs_after - jobs_before, 1, "only the in-app job");
    run_jobs(&app).await;
    assert_eq!(app.state.sandbox_email.as_ref().unwrap().sent().len(), 2);

    // Quiet hours around the current time in Kolkata: email waits until they end.
    let now = app.state.clock.now();
    let local = now.with_timezone(&chrono_tz::Asia::Kolkata);
    let start = (local - chrono::Duration::hours(1))
        .format("%H:%M")
        .to_string();
    let end_local = local + chrono::Duration::hours(2);
    let end = end_local.format("%H:%M").to_string();
    let prefs = app
        .call(
            Method::PUT,
            "/api/v1/notifications/preferences",
            Some(&token),
            Some(json!({
                "categories": [{"category": "wallet", "channels": {"push": false}}],
                "quiet_hours": {"start": start, "end": end, "time_zone": "Asia/Kolkata"},
            })),
        )
        .await
        .expect(200);
    assert_eq!(prefs["quiet_hours"]["end"], end);
    emit(
        &app,
        &user,
        "topup.credited",
        json!({"amount": "₹500.00", "reference": "TU1"}),
    )
    .await;
    let rows: Vec<_> = deliveries(&app, &user)
        .await
        .into_iter()
        .filter(|d| d.event == "topup.credited")
        .collect();
    let email = rows.iter().find(|d| d.channel == "email").unwrap();
    let in_app = rows.iter().find(|d| d.channel == "in_app").unwrap();
    assert_eq!(in_app.run_at, now, "the inbox is not held");
    let expected = end_local
        .date_naive()
        .and_time(chrono::NaiveTime::parse_from_str(&end, "%H:%M").unwrap())
        .and_local_timezone(chrono_tz::Asia::Kolkata)
        .unwrap()
        .with_timezone(&chrono::Utc);
    assert_eq!(email.run_at, expected);
    assert!(
        rows.iter().all(|d| d.channel != "push"),
        "push is off for wallet"
    );
    run_jobs(&app).await;
    assert_eq!(
        app.state.sandbox_email.as_ref().unwrap().sent().len(),
        2,
        "held during quiet hours"
    );
    app.advance((expected - now).num_seconds() + 1);
    run_jobs(&app).await;
    let sent = app.state.sandbox_email.as_ref().unwrap().sent();
    assert_eq!(sent.len(), 3, "sent when quiet hours end");
    assert_eq!(sent[2].subject, "₹500.00 added to your Augur wallet");

    // Clearing quiet hours; unknown categories and locked ones are refused.
    let token = app
        .login("kiran@example.com", crate::helpers::PASSWORD)
        .await
        .expect(200)["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cleared = app
        .call(
            Method::PUT,
            "/api/v1/notifications/preferences",
            Some(&token),
            Some(json!({"quiet_hours": null})),
        )
        .await
        .expect(200);
    assert!(cleared["quiet_hours"].is_null());
    let err = app
        .call(
            Method::PUT,
            "/api/v1/notifications/preferences",
            Some(&token),
            Some(
                json!({"categories": [{"category": "gossip", "channels": {"email": false}},
                                        {"category": "security", "channels": {"sms": false}}],
                        "quiet_hours": {"start": "25:00", "end": "07:00"}}),
            ),
        )
        .await
        .problem(422, "validation_failed");
    let codes: Vec<_> = err["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect();
    assert!(codes.contains(&"invalid_choice".to_owned()), "{codes:?}");
    assert!(codes.contains(&"category_locked".to_owned()), "{codes:?}");
    assert!(codes.contains(&"invalid_time".to_owned()), "{codes:?}");
}

async fn security_messages_ignore_preferences_and_quiet_hours(b: Backend) {
    let twilio = fake_twilio().await;
    let app = twilio_app(b, &twilio).await;
    let (token, user) = phone_user(&app, &twilio).await;
    let now = app.state.clock.now();
    // Quiet all day long in UTC (23 h 59 min).
    let start = now.format("%H:%M").to_string();
    let end = (now - chrono::Duration::minutes(1))
        .format("%H:%M")
        .to_string();
    let mut categories = Vec::new();
    for c in ["account", "wallet", "bookings", "payouts", "marketing"] {
        categories.push(json!({"category": c, "channels": {"sms": false}}));
    }
    app.call(
        Method::PUT,
        "/api/v1/notifications/preferences",
        Some(&token),
        Some(json!({"categories": categories, "quiet_hours": {"start": start, "end": end, "time_zone": "UTC"}})),
    )
    .await
    .expect(200);
    let prefs = app
        .get("/api/v1/notifications/preferences", Some(&token))
        .await
        .expect(200);
    let security = prefs["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "security")
        .unwrap();
    assert_eq!(security["locked"], true);
    assert_eq!(security["channels"]["sms"], true);

    app.advance(61);
    let sent_before = twilio.requests.lock().unwrap().len();
    app.post("/api/v1/auth/otp/request", None, json!({"phone": PHONE}))
        .await
        .expect(202);
    let otp = deliveries(&app, &user)
        .await
        .into_iter()
        .rev()
        .find(|d| d.event == "otp")
        .unwrap();
    assert_eq!(otp.run_at, app.state.clock.now(), "not held by quiet hours");
    run_jobs(&app).await;
    assert_eq!(twilio.requests.lock().unwrap().len(), sent_before + 1);

    // A booking message in the same quiet hours is held (and its SMS is off).
    emit(&app, &user, "booking.cancelled", booking_data()).await;
    let rows: Vec<_> = deliveries(&app, &user)
        .await
        .into_iter()
        .filter(|d| d.event == "booking.cancelled")
        .collect();
    assert!(rows.iter().all(|d| d.channel != "sms"), "{rows:?}");
    run_jobs(&app).await;
    assert_eq!(twilio.requests.lock().unwrap().len(), sent_before + 1);
}

async fn admins_edit_preview_and_reset_templates(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let path = "/api/v1/admin/notification-templates/welcome/in_app/en";
    let original = app.get(path, Some(&admin)).await.expect(200);
    assert_eq!(original["customized"], false);
    assert_eq!(original["subject"], "Welcome to {{ app_name }}");

    // A typo is refused with the part and line.
    let bad = app
        .call(
            Method::PUT,
            path,
            Some(&admin),
            Some(json!({"subject": "Hello", "body": "Hi {{ name }},\nyour {{ acount }} is ready"})),
        )
        .await
        .problem(422, "invalid_template");
    let detail = bad["detail"].as_str().unwrap();
    assert!(detail.contains("body line 2"), "{detail}");
    assert!(detail.contains("undefined"), "{detail}");
    app.call(
        Method::PUT,
        path,
        Some(&admin),
        Some(json!({"subject": "Hello {% if %}", "body": "x"})),
    )
    .await
    .problem(422, "invalid_template");
    // An optional key used without `is defined` fails against the minimal sample.
    app.call(
        Method::PUT,
        "/api/v1/admin/notification-templates/booking.cancelled/sms/en",
        Some(&admin),
        Some(json!({"body": "Refund {{ refund }}"})),
    )
    .await
    .problem(422, "invalid_template");
    app.call(
        Method::PUT,
        "/api/v1/admin/notification-templates/no.such/in_app/en",
        Some(&admin),
        Some(json!({"subject": "x", "body": "x"})),
    )
    .await
    .problem(404, "not_found");

    // Preview a draft with given data, and the stored one with the sample.
    let preview = app
        .post(
            &format!("{path}/preview"),
            Some(&admin),
            json!({"template": {"subject": "Namaste {{ name }}", "body": "Welcome aboard, {{ name }}!"}, "name": "Meera"}),
        )
        .await
        .expect(200);
    assert_eq!(preview["subject"], "Namaste Meera");
    assert_eq!(preview["body"], "Welcome aboard, Meera!");
    let html = app
        .post(
            "/api/v1/admin/notification-templates/booking.declined/email/en/preview",
            Some(&admin),
            json!({"template": {"subject": "Declined", "body": "{{ reason }}", "html": "<p>{{ reason }}</p>"},
                   "data": {"reason": "<script>x</script>", "reference": "BK1", "service": "s", "practitioner_name": "p",
                            "client_name": "c", "starts_at_local": "t", "time_zone": "UTC"}}),
        )
        .await
        .expect(200);
    assert_eq!(html["body"], "<script>x</script>");
    assert_eq!(html["html"], "<p>&lt;script&gt;x&lt;&#x2f;script&gt;</p>");
    let sample = app
        .post(
            "/api/v1/admin/notification-templates/booking.reminder/sms/en/preview",
            Some(&admin),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(
        sample["body"],
        "Augur: Career reading (30 min) (BK7Q2M9X) starts in 15 minutes, at Mon 23 Nov 2026 10:30 IST."
    );

    // The edit takes effect for the next event.
    let saved = app
        .call(
            Method::PUT,
            path,
            Some(&admin),
            Some(json!({"subject": "Namaste {{ name }}", "body": "Welcome aboard, {{ name }}!"})),
        )
        .await
        .expect(200);
    assert_eq!(saved["customized"], true);
    let (token, _, _) = app.register("neha@example.com").await;
    let inbox = app
        .get("/api/v1/notifications", Some(&token))
        .await
        .expect(200);
    assert_eq!(inbox["items"][0]["title"], "Namaste Test");
    assert_eq!(inbox["items"][0]["body"], "Welcome aboard, Test!");

    // Restarting keeps the edit (start-up synchronisation leaves edited ones alone).
    domain::notifications::templates::sync_defaults(&app.state.db, app.state.clock.now())
        .await
        .unwrap();
    assert_eq!(
        app.get(path, Some(&admin)).await.expect(200)["customized"],
        true
    );

    // Reset restores the default.
    let reset = app
        .call(Method::DELETE, path, Some(&admin), None)
        .await
        .expect(200);
    assert_eq!(reset["customized"], false);
    assert_eq!(reset["subject"], original["subject"]);
    assert_eq!(reset["body"], original["body"]);
    let (token, _, _) = app.register("omar@example.com").await;
    let inbox = app
        .get("/api/v1/notifications", Some(&token))
        .await
        .expect(200);
    assert_eq!(inbox["items"][0]["title"], "Welcome to Augur");

    // A Hindi version is added, used for Hindi speakers, and removed by reset.
    app.call(
        Method::PUT,
        "/api/v1/admin/notification-templates/welcome/in_app/hi",
        Some(&admin),
        Some(json!({"subject": "{{ app_name }} में स्वागत है", "body": "नमस्ते {{ name }}"})),
    )
    .await
    .expect(200);
    let hindi = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "anu@example.com", "password": crate::helpers::PASSWORD, "first_name": "Anu", "language": "hi"}),
        )
        .await
        .expect(201);
    let t = hindi["tokens"]["access_token"].as_str().unwrap();
    let inbox = app.get("/api/v1/notifications", Some(t)).await.expect(200);
    assert_eq!(inbox["items"][0]["title"], "Augur में स्वागत है");
    app.call(
        Method::DELETE,
        "/api/v1/admin/notification-templates/welcome/in_app/hi",
        Some(&admin),
        None,
    )
    .await
    .expect(204);

    let audit = app
        .get(
            "/api/v1/admin/audit-logs?target_type=notification_template",
            Some(&admin),
        )
        .await
        .expect(200);
    let actions: Vec<_> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "notification_template.reset",
            "notification_template.update",
            "notification_template.reset",
            "notification_template.update"
        ]
    );
    let events = app
        .get("/api/v1/admin/notification-events", Some(&admin))
        .await
        .expect(200);
    assert!(events.as_array().unwrap().len() >= 12);
    app.get(path, Some(&token)).await.problem(403, "forbidden");
}

async fn inbox_lists_counts_marks_read_and_pushes_a_socket_frame(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (token, _, user) = app.register("lina@example.com").await;
    let (other, _, _) = app.register("max@example.com").await;
    let inbox = app
        .get("/api/v1/notifications", Some(&token))
        .await
        .expect(200);
    assert_eq!(inbox["items"].as_array().unwrap().len(), 1);
    assert_eq!(inbox["items"][0]["event"], "welcome");
    assert_eq!(inbox["items"][0]["title"], "Welcome to Augur");
    run_jobs(&app).await;

    let ws_base = app.base.replacen("http", "ws", 1);
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{ws_base}/api/v1/ws?access_token={token}"))
            .await
            .unwrap();
    emit(&app, &user, "booking.declined", {
        let mut d = booking_data();
        d["refund"] = json!("₹500.00");
        d
    })
    .await;
    run_jobs(&app).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    let frame = loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a frame in time")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == "notification" {
                break v;
            }
        }
    };
    assert_eq!(frame["notification"]["event"], "booking.declined");
    assert_eq!(frame["notification"]["title"], "Booking declined");
    assert_eq!(
        frame["notification"]["body"],
        "Acharya Meera could not take Career reading on Mon 23 Nov 2026 10:30 IST. ₹500.00 is back in your wallet."
    );
    assert_eq!(frame["unread"], 2);

    for i in 0..3 {
        emit(
            &app,
            &user,
            "payout.status",
            json!({"reference": format!("PO{i}"), "amount": "₹1.00", "status": "paid"}),
        )
        .await;
    }
    let count = app
        .get("/api/v1/notifications/unread-count", Some(&token))
        .await
        .expect(200);
    assert_eq!(count["unread"], 5);
    let page = app
        .get("/api/v1/notifications?limit=2", Some(&token))
        .await
        .expect(200);
    assert_eq!(
        page["items"][0]["body"],
        "Your payout PO2 of ₹1.00 is paid."
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/notifications?limit=10&cursor={cursor}"),
            Some(&token),
        )
        .await
        .expect(200);
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
    assert!(rest["next_cursor"].is_null());

    let id = page["items"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/notifications/{id}/read"),
        Some(&other),
        json!({}),
    )
    .await
    .problem(404, "not_found");
    app.post(
        &format!("/api/v1/notifications/{id}/read"),
        Some(&token),
        json!({}),
    )
    .await
    .expect(204);
    app.post(
        &format!("/api/v1/notifications/{id}/read"),
        Some(&token),
        json!({}),
    )
    .await
    .expect(204);
    let unread = app
        .get("/api/v1/notifications?unread=true", Some(&token))
        .await
        .expect(200);
    assert_eq!(unread["items"].as_array().unwrap().len(), 4);
    assert!(
        unread["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["id"] != id)
    );
    let all = app
        .post("/api/v1/notifications/read-all", Some(&token), json!({}))
        .await
        .expect(200);
    assert_eq!(all["marked"], 4);
    let count = app
        .get("/api/v1/notifications/unread-count", Some(&token))
        .await
        .expect(200);
    assert_eq!(count["unread"], 0);
    // The other user's inbox is untouched.
    let theirs = app
        .get("/api/v1/notifications/unread-count", Some(&other))
        .await
        .expect(200);
    assert_eq!(theirs["unread"], 1);
}
