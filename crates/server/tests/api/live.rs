use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, approved_practitioner};
use crate::wallet::assert_invariants;

both_backends!(
    requests_are_checked_before_anything_starts,
    every_started_minute_is_charged_once,
    the_worker_bills_warns_and_ends_when_money_runs_out,
    a_top_up_during_the_session_extends_it,
    a_side_gone_beyond_the_grace_window_ends_the_session_uncharged,
    free_minutes_and_promo_codes_are_paid_by_the_platform,
    a_session_promo_is_a_budget_so_collusion_runs_dry,
    unanswered_requests_are_missed_and_counted,
    racing_requests_and_workers_never_double_charge,
    reviews_follow_the_rules_and_move_the_rating,
    tips_move_money_once,
    call_sessions_get_agora_tokens_while_active,
    practitioners_keep_notes_and_share_a_summary,
    the_waitlist_offers_freed_slots_in_order,
    a_batch_bills_the_sessions_that_can_pay_and_leaves_out_the_rest,
    a_batch_meeting_an_applied_key_moves_nothing_and_its_sessions_are_billed_singly,
    two_nodes_batching_the_same_sessions_charge_each_minute_once,
);

/// 20.00 a minute for chat (see helpers::application).
pub(crate) const RATE: i64 = 2_000;

pub(crate) struct Pair {
    pub(crate) admin: String,
    pub(crate) client: String,
    pub(crate) client_id: String,
    pub(crate) practitioner: String,
    pub(crate) practitioner_id: String,
}

pub(crate) async fn online_pair(app: &TestApp, funds: i64) -> Pair {
    let admin = app.admin_token().await;
    let (practitioner, practitioner_id) =
        approved_practitioner(app, &admin, "astro@example.com", "Astro One").await;
    app.call(
        Method::PUT,
        "/api/v1/practitioners/me/presence",
        Some(&practitioner),
        Some(json!({"status": "online"})),
    )
    .await
    .expect(200);
    let (client, _, client_id) = app.register("client@example.com").await;
    if funds > 0 {
        app.credit(&admin, &client_id, funds).await;
    }
    Pair {
        admin,
        client,
        client_id,
        practitioner,
        practitioner_id,
    }
}

pub(crate) async fn start(app: &TestApp, p: &Pair) -> String {
    let c = app
        .post(
            "/api/v1/consultations",
            Some(&p.client),
            json!({"practitioner_id": p.practitioner_id, "channel": "chat"}),
        )
        .await
        .expect(201);
    let id = c["id"].as_str().unwrap().to_owned();
    let c = app
        .post(
            &format!("/api/v1/consultations/{id}/accept"),
            Some(&p.practitioner),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(c["status"], "active");
    id
}

pub(crate) async fn beat(app: &TestApp, token: &str, id: &str) {
    app.post(
        &format!("/api/v1/consultations/{id}/heartbeat"),
        Some(token),
        json!({}),
    )
    .await
    .expect(200);
}

/// Advances the clock by each of `steps` (each within the grace window), every side of
/// every session checking in after each.
async fn all_beat_through(
    app: &TestApp,
    practitioner: &str,
    sessions: &[(String, String, String)],
    steps: &[i64],
) {
    for step in steps {
        app.advance(*step);
        for (client, _, id) in sessions {
            beat(app, client, id).await;
            beat(app, practitioner, id).await;
        }
    }
}

pub(crate) async fn both_beat(app: &TestApp, p: &Pair, id: &str) {
    beat(app, &p.client, id).await;
    beat(app, &p.practitioner, id).await;
}

pub(crate) async fn balance(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/wallet", Some(token)).await.expect(200)["available"]
        .as_i64()
        .unwrap()
}

pub(crate) async fn tick(app: &TestApp) -> domain::live::engine::TickReport {
    domain::live::engine::tick(&app.state).await.unwrap()
}

pub(crate) async fn consultation(app: &TestApp, token: &str, id: &str) -> Value {
    app.get(&format!("/api/v1/consultations/{id}"), Some(token))
        .await
        .expect(200)
}

async fn requests_are_checked_before_anything_starts(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (practitioner, practitioner_id) =
        approved_practitioner(&app, &admin, "astro@example.com", "Astro One").await;
    let (client, _, client_id) = app.register("client@example.com").await;
    let ask =
        |channel: &'static str| json!({"practitioner_id": practitioner_id, "channel": channel});
    app.post("/api/v1/consultations", Some(&client), ask("chat"))
        .await
        .problem(409, "practitioner_offline");
    let presence = app
        .call(
            Method::PUT,
            "/api/v1/practitioners/me/presence",
            Some(&practitioner),
            Some(json!({"status": "online"})),
        )
        .await
        .expect(200);
    assert_eq!(presence["availability"], "online");
    let listed = app
        .get(&format!("/api/v1/practitioners/{practitioner_id}"), None)
        .await
        .expect(200);
    assert_eq!(listed["availability_status"], "online");
    app.post("/api/v1/consultations", Some(&client), ask("video"))
        .await
        .problem(422, "validation_failed");
    app.post("/api/v1/consultations", Some(&practitioner), ask("chat"))
        .await
        .problem(422, "validation_failed");
    // 5 minutes at 20.00 are needed; 99.99 is not enough.
    app.credit(&admin, &client_id, 9_999).await;
    let err = app
        .post("/api/v1/consultations", Some(&client), ask("chat"))
        .await
        .problem(402, "insufficient_funds");
    assert!(err["detail"].as_str().unwrap().contains("10000"));
    app.credit(&admin, &client_id, 1).await;
    let c = app
        .post("/api/v1/consultations", Some(&client), ask("chat"))
        .await
        .expect(201);
    assert_eq!(c["status"], "requested");
    assert_eq!(c["rate"], RATE);
    assert!(c["reference"].as_str().unwrap().starts_with("CS"));
    app.post("/api/v1/consultations", Some(&client), ask("chat"))
        .await
        .problem(409, "consultation_open");
    // Only the practitioner asked can accept; a client cannot.
    let id = c["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&client),
        json!({}),
    )
    .await
    .problem(403, "forbidden");
    app.post(
        &format!("/api/v1/consultations/{id}/decline"),
        Some(&practitioner),
        json!({}),
    )
    .await
    .expect(200);
    // Declined: the client may ask again, and cancel.
    let c = app
        .post("/api/v1/consultations", Some(&client), ask("chat"))
        .await
        .expect(201);
    let id = c["id"].as_str().unwrap();
    let c = app
        .post(
            &format!("/api/v1/consultations/{id}/cancel"),
            Some(&client),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(c["status"], "cancelled");
    app.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&practitioner),
        json!({}),
    )
    .await
    .problem(409, "invalid_state");
    // Heartbeats stop: the practitioner drops offline and out of "online now".
    app.advance(61);
    let report = tick(&app).await;
    assert_eq!(report.practitioners_offline, 1);
    let listed = app
        .get(&format!("/api/v1/practitioners/{practitioner_id}"), None)
        .await
        .expect(200);
    assert_eq!(listed["availability_status"], "offline");
    app.post("/api/v1/consultations", Some(&client), ask("chat"))
        .await
        .problem(409, "practitioner_offline");
    assert_eq!(balance(&app, &client).await, 10_000, "nothing was charged");
}

async fn every_started_minute_is_charged_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p = online_pair(&app, 100_000).await;
    // (seconds in session, minutes owed)
    for (secs, minutes) in [(0, 0), (1, 1), (59, 1), (60, 1), (61, 2), (300, 5)] {
        let before = balance(&app, &p.client).await;
        let id = start(&app, &p).await;
        // Both sides stay (heartbeats every 20 s), then the client ends.
        let mut t = 0;
        while t + 20 < secs {
            app.advance(20);
            t += 20;
            both_beat(&app, &p, &id).await;
            tick(&app).await;
        }
        app.advance(secs - t);
        let c = app
            .post(
                &format!("/api/v1/consultations/{id}/end"),
                Some(&p.client),
                json!({}),
            )
            .await
            .expect(200);
        assert_eq!(c["status"], "ended");
        assert_eq!(c["end_reason"], "client_ended");
        assert_eq!(c["minutes_billed"], minutes, "{secs} s");
        assert_eq!(c["amount_charged"], minutes * RATE, "{secs} s");
        assert_eq!(
            before - balance(&app, &p.client).await,
            minutes * RATE,
            "{secs} s"
        );
        // Ending again, or a late tick, charges nothing more.
        app.post(
            &format!("/api/v1/consultations/{id}/end"),
            Some(&p.client),
            json!({}),
        )
        .await
        .problem(409, "invalid_state");
        app.advance(40);
        tick(&app).await;
        app.call(
            Method::POST,
            "/api/v1/practitioners/me/presence/heartbeat",
            Some(&p.practitioner),
            None,
        )
        .await
        .expect(200);
        let summary = app
            .get(
                &format!("/api/v1/consultations/{id}/summary"),
                Some(&p.practitioner),
            )
            .await
            .expect(200);
        assert_eq!(summary["minutes"].as_array().unwrap().len() as i64, minutes);
        assert_eq!(summary["duration_secs"], secs);
        // 20 % commission: the practitioner earns 16.00 a minute.
        assert_eq!(summary["practitioner_earned"], minutes * 1_600);
        let client_view = app
            .get(
                &format!("/api/v1/consultations/{id}/summary"),
                Some(&p.client),
            )
            .await
            .expect(200);
        assert_eq!(client_view["practitioner_earned"], Value::Null);
    }
    // Without heartbeats the practitioner is not "online" any more, even before the
    // worker notices.
    app.advance(61);
    app.post(
        "/api/v1/consultations",
        Some(&p.client),
        json!({"practitioner_id": p.practitioner_id, "channel": "chat"}),
    )
    .await
    .problem(409, "practitioner_offline");
    let earnings = app
        .get("/api/v1/practitioners/me/earnings", Some(&p.practitioner))
        .await
        .expect(200);
    assert_eq!(
        earnings["available"],
        (1 + 1 + 1 + 2 + 5) * 1_600,
        "{earnings}"
    );
    let profile = app
        .get(
            &format!("/api/v1/practitioners/{}", p.practitioner_id),
            None,
        )
        .await
        .expect(200);
    assert_eq!(profile["availability_status"], "online", "slot released");
    assert_invariants(&app).await;
}

async fn the_worker_bills_warns_and_ends_when_money_runs_out(b: Backend) {
    let app = TestApp::spawn(b).await;
    // Exactly the 5 minutes needed to start.
    let p = online_pair(&app, 5 * RATE).await;
    let mut events = app
        .state
        .bus
        .subscribe(&format!("user:{}", p.client_id))
        .await
        .unwrap();
    let id = start(&app, &p).await;
    let mut last = Value::Null;
    // 20-second steps with both sides present, for 6 minutes.
    for _ in 0..18 {
        app.advance(20);
        if consultation(&app, &p.client, &id).await["status"] != "active" {
            break;
        }
        both_beat(&app, &p, &id).await;
        tick(&app).await;
        last = consultation(&app, &p.client, &id).await;
    }
    assert_eq!(last["status"], "ended", "{last}");
    assert_eq!(last["end_reason"], "insufficient_funds");
    assert_eq!(last["minutes_billed"], 5);
    // It ends where the unpaid sixth minute would have begun.
    let started =
        chrono::DateTime::parse_from_rfc3339(last["started_at"].as_str().unwrap()).unwrap();
    let ended = chrono::DateTime::parse_from_rfc3339(last["ended_at"].as_str().unwrap()).unwrap();
    assert_eq!((ended - started).num_seconds(), 300);
    assert_eq!(balance(&app, &p.client).await, 0);
    let mut kinds = Vec::new();
    let mut warnings = Vec::new();
    while let Ok(Some(msg)) =
        tokio::time::timeout(std::time::Duration::from_millis(200), events.recv()).await
    {
        let v: Value = serde_json::from_slice(&msg).unwrap();
        if v["type"] == "billing_warning" {
            warnings.push(v["minutes_left"].as_i64().unwrap());
        }
        kinds.push(v["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(warnings, [2, 1], "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "minute_charged").count(), 5);
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("consultation_started")
    );
    assert_eq!(kinds.last().map(String::as_str), Some("consultation_ended"));
    assert_invariants(&app).await;
}

async fn a_top_up_during_the_session_extends_it(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p = online_pair(&app, 5 * RATE).await;
    let id = start(&app, &p).await;
    for step in 0..30 {
        if step == 12 {
            // Four minutes in, the client adds money without interrupting anything.
            app.credit(&p.admin, &p.client_id, 3 * RATE).await;
        }
        app.advance(20);
        both_beat(&app, &p, &id).await;
        tick(&app).await;
        if consultation(&app, &p.client, &id).await["status"] != "active" {
            break;
        }
    }
    let c = consultation(&app, &p.client, &id).await;
    assert_eq!(c["end_reason"], "insufficient_funds");
    assert_eq!(c["minutes_billed"], 8);
    assert_invariants(&app).await;
}

async fn a_side_gone_beyond_the_grace_window_ends_the_session_uncharged(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p = online_pair(&app, 100_000).await;
    let id = start(&app, &p).await;
    app.advance(30);
    both_beat(&app, &p, &id).await;
    app.advance(40); // t = 70: the client's last sign of life
    both_beat(&app, &p, &id).await;
    tick(&app).await;
    // The practitioner stays; the client is gone. Within the grace window nothing ends.
    for _ in 0..3 {
        app.advance(20); // t = 90, 110, 130
        beat(&app, &p.practitioner, &id).await;
        tick(&app).await;
        assert_eq!(consultation(&app, &p.client, &id).await["status"], "active");
    }
    app.advance(20); // t = 150: the client has been away 80 s
    beat(&app, &p.practitioner, &id).await;
    let report = tick(&app).await;
    assert_eq!(report.sessions_ended, 1);
    let c = consultation(&app, &p.client, &id).await;
    assert_eq!(c["end_reason"], "client_disconnected");
    // Billed up to t = 70 (two started minutes), nothing after.
    assert_eq!(c["minutes_billed"], 2);
    assert_eq!(balance(&app, &p.client).await, 100_000 - 2 * RATE);
    let started = chrono::DateTime::parse_from_rfc3339(c["started_at"].as_str().unwrap()).unwrap();
    let ended = chrono::DateTime::parse_from_rfc3339(c["ended_at"].as_str().unwrap()).unwrap();
    assert_eq!((ended - started).num_seconds(), 70);

    // A short drop inside the grace window is not a disconnection: billing carries on.
    let id = start(&app, &p).await;
    app.advance(10);
    both_beat(&app, &p, &id).await;
    app.advance(50); // away 50 s, then back
    both_beat(&app, &p, &id).await;
    app.advance(15);
    both_beat(&app, &p, &id).await;
    tick(&app).await;
    let c = consultation(&app, &p.client, &id).await;
    assert_eq!(c["status"], "active");
    assert_eq!(c["minutes_billed"], 2);
    assert_invariants(&app).await;
}

async fn free_minutes_and_promo_codes_are_paid_by_the_platform(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.live_free_minutes_first_session = 2).await;
    let p = online_pair(&app, 100_000).await;
    let id = start(&app, &p).await;
    app.advance(50);
    both_beat(&app, &p, &id).await;
    app.advance(50);
    both_beat(&app, &p, &id).await;
    app.advance(50); // 150 s: three minutes, the first two free
    let c = app
        .post(
            &format!("/api/v1/consultations/{id}/end"),
            Some(&p.practitioner),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(c["end_reason"], "practitioner_ended");
    assert_eq!(c["minutes_billed"], 3);
    assert_eq!(c["amount_charged"], RATE);
    let summary = app
        .get(
            &format!("/api/v1/consultations/{id}/summary"),
            Some(&p.practitioner),
        )
        .await
        .expect(200);
    assert_eq!(summary["free_minutes_used"], 2);
    assert_eq!(
        summary["practitioner_earned"],
        3 * 1_600,
        "free minutes still earn"
    );

    // A second session has no free minutes; a 25 % promo code applies until its 7.50 cap.
    app.post(
        "/api/v1/admin/promo-codes",
        Some(&p.admin),
        json!({"code": "CHAT25", "discount": {"percentage": {"bps": 2500}}, "contexts": ["session"]}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        "/api/v1/admin/promo-codes",
        Some(&p.admin),
        json!({"code": "CHAT25", "discount": {"percentage": {"bps": 2500}}, "max_discount": 750,
               "usage_limit": 100, "contexts": ["session"]}),
    )
    .await
    .expect(201);
    let c = app
        .post(
            "/api/v1/consultations",
            Some(&p.client),
            json!({"practitioner_id": p.practitioner_id, "channel": "chat", "promo_code": "chat25"}),
        )
        .await
        .expect(201);
    assert_eq!(c["free_minutes"], 0);
    assert_eq!(c["discount_per_minute"], 500);
    assert_eq!(c["discount_budget"], 750);
    let id = c["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&p.practitioner),
        json!({}),
    )
    .await
    .expect(200);
    app.advance(50);
    beat(&app, &p.practitioner, id).await;
    app.advance(40);
    beat(&app, &p.practitioner, id).await;
    let c = app
        .post(
            &format!("/api/v1/consultations/{id}/end"),
            Some(&p.client),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(c["minutes_billed"], 2);
    assert_eq!(c["amount_charged"], 1_500 + 1_750);
    let summary = app
        .get(
            &format!("/api/v1/consultations/{id}/summary"),
            Some(&p.practitioner),
        )
        .await
        .expect(200);
    assert_eq!(summary["discount_total"], 750);
    assert_eq!(summary["practitioner_earned"], 2 * 1_600);
    app.post(
        "/api/v1/consultations",
        Some(&p.client),
        json!({"practitioner_id": p.practitioner_id, "channel": "chat", "promo_code": "NOPE"}),
    )
    .await
    .problem(422, "validation_failed");
    assert_invariants(&app).await;
}

/// A practitioner and a throwaway client holding a code worth the whole rate: the code pays
/// three minutes once, then the client's own money must cover each minute, and the session
/// ends when it cannot. (Before budgets, the code took the rate off every minute, so the
/// session cost the client nothing and promotions paid the practitioner for as long as the
/// sockets stayed open.)
async fn a_session_promo_is_a_budget_so_collusion_runs_dry(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p = online_pair(&app, 0).await;
    let uncapped = app
        .post(
            "/api/v1/admin/promo-codes",
            Some(&p.admin),
            json!({"code": "ALLOFIT", "discount": {"percentage": {"bps": 10_000}}}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(uncapped["errors"][0]["code"], "cap_required");
    app.post(
        "/api/v1/admin/promo-codes",
        Some(&p.admin),
        json!({"code": "THREEFREE", "discount": {"fixed": {"amount": 3 * RATE}},
               "contexts": ["session"], "per_user_limit": 1}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        "/api/v1/admin/promo-codes",
        Some(&p.admin),
        json!({"code": "THREEFREE", "discount": {"fixed": {"amount": 3 * RATE}},
               "contexts": ["session"], "per_user_limit": 1, "usage_limit": 50}),
    )
    .await
    .expect(201);
    let ask =
        json!({"practitioner_id": p.practitioner_id, "channel": "chat", "promo_code": "threefree"});
    // Five minutes to start, three paid by the code: the wallet must hold two.
    let refused = app
        .post("/api/v1/consultations", Some(&p.client), ask.clone())
        .await
        .problem(402, "insufficient_funds");
    assert!(refused["detail"].as_str().unwrap().contains("4000"));
    app.credit(&p.admin, &p.client_id, 2 * RATE).await;
    let c = app
        .post("/api/v1/consultations", Some(&p.client), ask)
        .await
        .expect(201);
    assert_eq!(c["discount_per_minute"], RATE);
    assert_eq!(c["discount_budget"], 3 * RATE);
    let id = c["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&p.practitioner),
        json!({}),
    )
    .await
    .expect(200);
    let mut ended = None;
    for _ in 0..20 {
        app.advance(30);
        both_beat(&app, &p, &id).await;
        tick(&app).await;
        let c = consultation(&app, &p.client, &id).await;
        if c["status"] == "ended" {
            ended = Some(c);
            break;
        }
    }
    let c = ended.expect("the session must end once the budget and the wallet are spent");
    assert_eq!(c["end_reason"], "insufficient_funds");
    assert_eq!(c["minutes_billed"], 5);
    assert_eq!(c["amount_charged"], 2 * RATE);
    let summary = app
        .get(
            &format!("/api/v1/consultations/{id}/summary"),
            Some(&p.practitioner),
        )
        .await
        .expect(200);
    assert_eq!(summary["discount_total"], 3 * RATE);
    assert_eq!(summary["practitioner_earned"], 5 * 1_600);
    assert_eq!(balance(&app, &p.client).await, 0);
    assert_invariants(&app).await;
}

async fn unanswered_requests_are_missed_and_counted(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p = online_pair(&app, 100_000).await;
    let c = app
        .post(
            "/api/v1/consultations",
            Some(&p.client),
            json!({"practitioner_id": p.practitioner_id, "channel": "chat"}),
        )
        .await
        .expect(201);
    let id = c["id"].as_str().unwrap();
    app.advance(30);
    app.call(
        Method::POST,
        "/api/v1/practitioners/me/presence/heartbeat",
        Some(&p.practitioner),
        None,
    )
    .await
    .expect(200);
    assert_eq!(tick(&app).await.requests_missed, 0);
    app.advance(31);
    assert_eq!(tick(&app).await.requests_missed, 1);
    assert_eq!(consultation(&app, &p.client, id).await["status"], "missed");
    app.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&p.practitioner),
        json!({}),
    )
    .await
    .problem(409, "invalid_state");
    // The client is free to ask again.
    app.post(
        "/api/v1/consultations",
        Some(&p.client),
        json!({"practitioner_id": p.practitioner_id, "channel": "chat"}),
    )
    .await
    .expect(201);
    let mine = app
        .get("/api/v1/consultations", Some(&p.practitioner))
        .await
        .expect(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    assert_eq!(balance(&app, &p.client).await, 100_000);
}

async fn racing_requests_and_workers_never_double_charge(b: Backend) {
    let app = TestApp::spawn(b).await;
    let admin = app.admin_token().await;
    let (client, _, client_id) = app.register("racer@example.com").await;
    app.credit(&admin, &client_id, 1_000_000).await;
    let mut practitioners = Vec::new();
    for i in 0..4 {
        let (token, id) = approved_practitioner(
            &app,
            &admin,
            &format!("p{i}@example.com"),
            &format!("Reader {i}"),
        )
        .await;
        app.call(
            Method::PUT,
            "/api/v1/practitioners/me/presence",
            Some(&token),
            Some(json!({"status": "online"})),
        )
        .await
        .expect(200);
        practitioners.push((token, id));
    }
    // One client asks four practitioners at the same instant: exactly one request stands.
    let asks = practitioners.iter().map(|(_, id)| {
        app.post(
            "/api/v1/consultations",
            Some(&client),
            json!({"practitioner_id": id, "channel": "chat"}),
        )
    });
    let answers = futures::future::join_all(asks).await;
    let created: Vec<&crate::helpers::Resp> = answers.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1);
    assert!(answers.iter().all(|r| r.status == 201 || r.status == 409));

    // Many clients in sessions at once, billed by two workers racing each other.
    let mut sessions = Vec::new();
    let id = created[0].body["id"].as_str().unwrap().to_owned();
    let owner = practitioners
        .iter()
        .find(|(_, pid)| *pid == created[0].body["practitioner_id"])
        .unwrap();
    app.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&owner.0),
        json!({}),
    )
    .await
    .expect(200);
    sessions.push((client.clone(), owner.0.clone(), id));
    for (i, (token, pid)) in practitioners.iter().enumerate() {
        if *pid == owner.1 {
            continue;
        }
        let (c, _, cid) = app.register(&format!("c{i}@example.com")).await;
        app.credit(&admin, &cid, 1_000_000).await;
        let r = app
            .post(
                "/api/v1/consultations",
                Some(&c),
                json!({"practitioner_id": pid, "channel": "chat"}),
            )
            .await
            .expect(201);
        let id = r["id"].as_str().unwrap().to_owned();
        app.post(
            &format!("/api/v1/consultations/{id}/accept"),
            Some(token),
            json!({}),
        )
        .await
        .expect(200);
        sessions.push((c, token.clone(), id));
    }
    for _ in 0..9 {
        app.advance(20);
        for (c, pr, id) in &sessions {
            beat(&app, c, id).await;
            beat(&app, pr, id).await;
        }
        let (a, b) = tokio::join!(
            domain::live::engine::tick(&app.state),
            domain::live::engine::tick(&app.state)
        );
        a.unwrap();
        b.unwrap();
    }
    // 180 s with both present: three minutes each, once.
    for (c, _, id) in &sessions {
        let v = consultation(&app, c, id).await;
        assert_eq!(v["minutes_billed"], 3, "{v}");
        assert_eq!(v["amount_charged"], 3 * RATE);
    }
    assert_invariants(&app).await;
}

/// A session of `secs` seconds, ended by the client.
async fn finished(app: &TestApp, p: &Pair, secs: i64) -> String {
    let id = start(app, p).await;
    app.advance(secs);
    beat(app, &p.practitioner, &id).await;
    app.post(
        &format!("/api/v1/consultations/{id}/end"),
        Some(&p.client),
        json!({}),
    )
    .await
    .expect(200);
    id
}

async fn reviews_follow_the_rules_and_move_the_rating(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p = online_pair(&app, 100_000).await;
    let review = |id: &str, token: &str, body: Value| {
        let path = format!("/api/v1/consultations/{id}/review");
        let token = token.to_owned();
        let app = &app;
        async move { app.post(&path, Some(&token), body).await }
    };
    let id = start(&app, &p).await;
    review(&id, &p.client, json!({"rating": 5, "text": "Great"}))
        .await
        .problem(409, "consultation_not_completed");
    app.advance(50);
    beat(&app, &p.practitioner, &id).await;
    app.advance(40);
    beat(&app, &p.practitioner, &id).await;
    app.post(
        &format!("/api/v1/consultations/{id}/end"),
        Some(&p.client),
        json!({}),
    )
    .await
    .expect(200);
    review(&id, &p.practitioner, json!({"rating": 5}))
        .await
        .problem(403, "not_the_client");
    review(&id, &p.client, json!({"rating": 6}))
        .await
        .problem(422, "validation_failed");
    let r = review(
        &id,
        &p.client,
        json!({"rating": 5, "text": "Clear and kind."}),
    )
    .await
    .expect(201);
    assert_eq!(r["verified"], true);
    review(&id, &p.client, json!({"rating": 1}))
        .await
        .problem(409, "already_reviewed");
    let second = finished(&app, &p, 30).await;
    review(&second, &p.client, json!({"rating": 4, "public": false}))
        .await
        .expect(201);
    let profile = app
        .get(
            &format!("/api/v1/practitioners/{}", p.practitioner_id),
            None,
        )
        .await
        .expect(200);
    assert_eq!(profile["rating"]["count"], 2);
    assert_eq!(profile["rating"]["average"], 4.5);
    // The listing shows it too.
    let listing = app
        .get("/api/v1/practitioners?limit=50", None)
        .await
        .expect(200);
    let card = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == p.practitioner_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(card["rating"]["average"], 4.5);
    // Public list: only public, visible reviews; the practitioner replies.
    let public = app
        .get(
            &format!("/api/v1/practitioners/{}/reviews", p.practitioner_id),
            None,
        )
        .await
        .expect(200);
    assert_eq!(public["items"].as_array().unwrap().len(), 1);
    let rid = r["id"].as_str().unwrap();
    let replied = app
        .post(
            &format!("/api/v1/reviews/{rid}/reply"),
            Some(&p.practitioner),
            json!({"text": "Thank you!"}),
        )
        .await
        .expect(200);
    assert_eq!(replied["reply"], "Thank you!");
    app.post(
        &format!("/api/v1/reviews/{rid}/reply"),
        Some(&p.client),
        json!({"text": "x"}),
    )
    .await
    .problem(403, "forbidden");
    // An admin hides the 5-star review: it leaves the list and the average.
    let hidden = app
        .post(
            &format!("/api/v1/admin/reviews/{rid}/visibility"),
            Some(&p.admin),
            json!({"hidden": true, "reason": "off-topic"}),
        )
        .await
        .expect(200);
    assert_eq!(hidden["hidden"], true);
    let profile = app
        .get(
            &format!("/api/v1/practitioners/{}", p.practitioner_id),
            None,
        )
        .await
        .expect(200);
    assert_eq!(profile["rating"]["count"], 1);
    assert_eq!(profile["rating"]["average"], 4.0);
    let public = app
        .get(
            &format!("/api/v1/practitioners/{}/reviews", p.practitioner_id),
            None,
        )
        .await
        .expect(200);
    assert!(public["items"].as_array().unwrap().is_empty());
    let log = app
        .get(
            "/api/v1/admin/audit-logs?target_type=review",
            Some(&p.admin),
        )
        .await
        .expect(200);
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
}

async fn tips_move_money_once(b: Backend) {
    let app = TestApp::spawn_with(b, |c| c.tip_fee_bps = 1_000).await;
    let p = online_pair(&app, 100_000).await;
    let live_id = start(&app, &p).await;
    app.post_keyed(
        &format!("/api/v1/consultations/{live_id}/tip"),
        &p.client,
        "tip-early",
        json!({"amount": 5_000}),
    )
    .await
    .problem(409, "consultation_not_completed");
    app.advance(30);
    beat(&app, &p.practitioner, &live_id).await;
    app.post(
        &format!("/api/v1/consultations/{live_id}/end"),
        Some(&p.client),
        json!({}),
    )
    .await
    .expect(200);
    let before = balance(&app, &p.client).await;
    let earned_before = app
        .get("/api/v1/practitioners/me/earnings", Some(&p.practitioner))
        .await
        .expect(200)["available"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/consultations/{live_id}/tip");
    let first = app
        .post_keyed(&path, &p.client, "tip-1", json!({"amount": 5_000}))
        .await
        .expect(201);
    assert_eq!(first["platform_fee"], 500);
    let again = app
        .post_keyed(&path, &p.client, "tip-1", json!({"amount": 5_000}))
        .await
        .expect(201);
    assert_eq!(again, first, "a replay answers the first response");
    assert_eq!(before - balance(&app, &p.client).await, 5_000);
    let earned = app
        .get("/api/v1/practitioners/me/earnings", Some(&p.practitioner))
        .await
        .expect(200)["available"]
        .as_i64()
        .unwrap();
    assert_eq!(earned - earned_before, 4_500);
    app.post_keyed(&path, &p.practitioner, "tip-2", json!({"amount": 100}))
        .await
        .problem(403, "not_the_client");
    app.post_keyed(&path, &p.client, "tip-3", json!({"amount": 10_000_000}))
        .await
        .problem(402, "insufficient_funds");
    assert_invariants(&app).await;
}

async fn call_sessions_get_agora_tokens_while_active(b: Backend) {
    const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
    const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
    let app = TestApp::spawn_with(b, |c| {
        c.agora_app_id = Some(APP_ID.into());
        c.agora_app_certificate = Some(CERT.to_owned().into());
    })
    .await;
    let p = online_pair(&app, 100_000).await;
    let chat = start(&app, &p).await;
    app.post(
        &format!("/api/v1/consultations/{chat}/rtc-token"),
        Some(&p.client),
        json!({}),
    )
    .await
    .problem(409, "not_a_call");
    app.post(
        &format!("/api/v1/consultations/{chat}/end"),
        Some(&p.client),
        json!({}),
    )
    .await
    .expect(200);
    let c = app
        .post(
            "/api/v1/consultations",
            Some(&p.client),
            json!({"practitioner_id": p.practitioner_id, "channel": "call"}),
        )
        .await
        .expect(201);
    assert_eq!(c["rate"], 2_500);
    let id = c["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/consultations/{id}/rtc-token"),
        Some(&p.client),
        json!({}),
    )
    .await
    .problem(409, "consultation_not_active");
    app.post(
        &format!("/api/v1/consultations/{id}/accept"),
        Some(&p.practitioner),
        json!({}),
    )
    .await
    .expect(200);
    for (token, uid) in [(&p.client, 1), (&p.practitioner, 2)] {
        let t = app
            .post(
                &format!("/api/v1/consultations/{id}/rtc-token"),
                Some(token),
                json!({}),
            )
            .await
            .expect(200);
        assert_eq!(t["sandbox"], false);
        assert_eq!(t["uid"], uid);
        let parsed = providers::agora::parse_token(t["token"].as_str().unwrap(), CERT).unwrap();
        assert_eq!(parsed.app_id, APP_ID);
        let rtc = parsed.rtc().unwrap();
        assert_eq!(rtc.channel, t["channel"].as_str().unwrap());
        assert_eq!(rtc.uid, uid.to_string());
        assert_eq!(parsed.expire_secs, 600);
        assert!(
            providers::agora::parse_token(t["token"].as_str().unwrap(), "0".repeat(32).as_str())
                .is_err()
        );
    }
    let (stranger, _, _) = app.register("nosy@example.com").await;
    app.post(
        &format!("/api/v1/consultations/{id}/rtc-token"),
        Some(&stranger),
        json!({}),
    )
    .await
    .problem(404, "not_found");
    app.post(
        &format!("/api/v1/consultations/{id}/end"),
        Some(&p.client),
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/consultations/{id}/rtc-token"),
        Some(&p.client),
        json!({}),
    )
    .await
    .problem(409, "consultation_not_active");
    use sea_orm::{EntityTrait, PaginatorTrait};
    let logged = store::entity::agora_usage_log::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(logged, 2);
}

async fn practitioners_keep_notes_and_share_a_summary(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p = online_pair(&app, 100_000).await;
    let id = finished(&app, &p, 45).await;
    let path = format!("/api/v1/consultations/{id}/notes");
    app.call(
        Method::PUT,
        &path,
        Some(&p.client),
        Some(json!({"summary": "x"})),
    )
    .await
    .problem(403, "forbidden");
    app.call(
        Method::PUT,
        &path,
        Some(&p.practitioner),
        Some(json!({"private_notes": "Saturn transit worries", "summary": "Career steady after March."})),
    )
    .await
    .expect(200);
    let theirs = app.get(&path, Some(&p.client)).await.expect(200);
    assert_eq!(theirs["summary"], "Career steady after March.");
    assert_eq!(theirs["private_notes"], Value::Null);
    let mine = app.get(&path, Some(&p.practitioner)).await.expect(200);
    assert_eq!(mine["private_notes"], "Saturn transit worries");
    let (other, _) =
        approved_practitioner(&app, &p.admin, "other@example.com", "Other Reader").await;
    app.call(
        Method::PUT,
        &path,
        Some(&other),
        Some(json!({"summary": "mine now"})),
    )
    .await
    .problem(404, "not_found");
}

async fn the_waitlist_offers_freed_slots_in_order(b: Backend) {
    let app = TestApp::spawn(b).await;
    let p = online_pair(&app, 100_000).await;
    let mut clients = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        let (t, _, id) = app.register(&format!("{name}@example.com")).await;
        app.credit(&p.admin, &id, 100_000).await;
        clients.push((t, id));
    }
    let ask = |token: String| {
        let app = &app;
        let pid = p.practitioner_id.clone();
        async move {
            app.post(
                "/api/v1/consultations",
                Some(&token),
                json!({"practitioner_id": pid, "channel": "chat"}),
            )
            .await
        }
    };
    let waitlist = format!("/api/v1/practitioners/{}/waitlist", p.practitioner_id);
    app.post(&waitlist, Some(&clients[2].0), json!({"channel": "chat"}))
        .await
        .problem(409, "not_busy");
    // Two sessions fill the practitioner's two slots.
    let mut sessions = Vec::new();
    for (token, _) in &clients[..2] {
        let c = ask(token.clone()).await.expect(201);
        let id = c["id"].as_str().unwrap().to_owned();
        app.post(
            &format!("/api/v1/consultations/{id}/accept"),
            Some(&p.practitioner),
            json!({}),
        )
        .await
        .expect(200);
        sessions.push((token.clone(), id));
    }
    let profile = app
        .get(
            &format!("/api/v1/practitioners/{}", p.practitioner_id),
            None,
        )
        .await
        .expect(200);
    assert_eq!(profile["availability_status"], "busy");
    ask(clients[2].0.clone())
        .await
        .problem(409, "practitioner_busy");
    let c_place = app
        .post(&waitlist, Some(&clients[2].0), json!({"channel": "chat"}))
        .await
        .expect(201);
    assert_eq!(c_place["position"], 1);
    let d_place = app
        .post(&waitlist, Some(&clients[3].0), json!({"channel": "chat"}))
        .await
        .expect(201);
    assert_eq!(d_place["position"], 2);
    app.post(&waitlist, Some(&clients[2].0), json!({"channel": "chat"}))
        .await
        .problem(409, "already_waiting");
    app.post(&waitlist, Some(&clients[4].0), json!({"channel": "chat"}))
        .await
        .expect(201);
    app.call(
        Method::DELETE,
        &format!("{waitlist}/me"),
        Some(&clients[4].0),
        None,
    )
    .await
    .expect(204);
    app.get(&format!("{waitlist}/me"), Some(&clients[4].0))
        .await
        .problem(404, "not_found");
    let mut c_events = app
        .state
        .bus
        .subscribe(&format!("user:{}", clients[2].1))
        .await
        .unwrap();

    // A slot frees: the first in line is offered it, and only they may take it.
    app.post(
        &format!("/api/v1/consultations/{}/end", sessions[0].1),
        Some(&sessions[0].0),
        json!({}),
    )
    .await
    .expect(200);
    let offer: Value = serde_json::from_slice(
        &tokio::time::timeout(std::time::Duration::from_secs(2), c_events.recv())
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(offer["type"], "waitlist_offer");
    let mine = app
        .get(&format!("{waitlist}/me"), Some(&clients[2].0))
        .await
        .expect(200);
    assert_eq!(mine["status"], "offered");
    ask(clients[3].0.clone())
        .await
        .problem(409, "practitioner_busy");
    ask(clients[4].0.clone())
        .await
        .problem(409, "practitioner_busy");
    ask(clients[2].0.clone()).await.expect(201);
    app.get(&format!("{waitlist}/me"), Some(&clients[2].0))
        .await
        .problem(404, "not_found");
    let d = app
        .get(&format!("{waitlist}/me"), Some(&clients[3].0))
        .await
        .expect(200);
    assert_eq!(d["position"], 1);

    // The next freed slot goes to D, whose offer lapses unused.
    app.post(
        &format!("/api/v1/consultations/{}/end", sessions[1].1),
        Some(&sessions[1].0),
        json!({}),
    )
    .await
    .expect(200);
    let d = app
        .get(&format!("{waitlist}/me"), Some(&clients[3].0))
        .await
        .expect(200);
    assert_eq!(d["status"], "offered");
    app.advance(61);
    app.call(
        Method::POST,
        "/api/v1/practitioners/me/presence/heartbeat",
        Some(&p.practitioner),
        None,
    )
    .await
    .expect(200);
    tick(&app).await;
    app.get(&format!("{waitlist}/me"), Some(&clients[3].0))
        .await
        .problem(404, "not_found");
    // With nobody in line, anyone may request again.
    ask(clients[4].0.clone()).await.expect(201);
}

/// `n` clients in active sessions with one practitioner (allowed ten at once), each client
/// funded with `funds(i)`. Returns the practitioner's token and (client token, client user
/// id, consultation id) per session.
async fn many_sessions(
    app: &TestApp,
    n: usize,
    funds: impl Fn(usize) -> i64,
) -> (String, String, Vec<(String, String, String)>) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    use store::entity::practitioner;
    let admin = app.admin_token().await;
    let (practitioner, practitioner_id) =
        approved_practitioner(app, &admin, "many@example.com", "Many Sessions").await;
    practitioner::Entity::update_many()
        .col_expr(practitioner::Column::MaxConcurrentSessions, Expr::value(10))
        .filter(practitioner::Column::Id.eq(practitioner_id.parse::<uuid::Uuid>().unwrap()))
        .exec(&app.state.db)
        .await
        .unwrap();
    app.call(
        Method::PUT,
        "/api/v1/practitioners/me/presence",
        Some(&practitioner),
        Some(json!({"status": "online"})),
    )
    .await
    .expect(200);
    let mut sessions = Vec::new();
    for i in 0..n {
        let (client, _, client_id) = app.register(&format!("many{i}@example.com")).await;
        app.credit(&admin, &client_id, funds(i)).await;
        let c = app
            .post(
                "/api/v1/consultations",
                Some(&client),
                json!({"practitioner_id": practitioner_id, "channel": "chat"}),
            )
            .await
            .expect(201);
        let id = c["id"].as_str().unwrap().to_owned();
        app.post(
            &format!("/api/v1/consultations/{id}/accept"),
            Some(&practitioner),
            json!({}),
        )
        .await
        .expect(200);
        sessions.push((client, client_id, id));
    }
    (admin, practitioner, sessions)
}

/// Ledger transfers of live minutes, and minute rows, in the whole database.
async fn minute_rows(app: &TestApp) -> (u64, u64) {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    use store::entity::{consultation_minute, ledger_transfer};
    let legs = ledger_transfer::Entity::find()
        .filter(ledger_transfer::Column::IdempotencyKey.starts_with("live:"))
        .count(&app.state.db)
        .await
        .unwrap();
    let minutes = consultation_minute::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    (legs, minutes)
}

/// One pass bills six sessions owing seven minutes each. Four can pay and are charged in a
/// batch; one wallet covers only five minutes and one is frozen: those two are left out of
/// the batch, and the one-session path charges what they can pay and ends them, without
/// failing the others.
async fn a_batch_bills_the_sessions_that_can_pay_and_leaves_out_the_rest(b: Backend) {
    let app = TestApp::spawn(b).await;
    const POOR: usize = 4;
    const FROZEN: usize = 5;
    let (admin, practitioner, sessions) =
        many_sessions(&app, 6, |i| if i == POOR { 5 * RATE } else { 100_000 }).await;
    app.post(
        &format!("/api/v1/admin/wallets/{}/freeze", sessions[FROZEN].1),
        Some(&admin),
        json!({"reason": "test"}),
    )
    .await
    .expect(200);
    // Seven started minutes, both sides checking in within the grace window.
    all_beat_through(
        &app,
        &practitioner,
        &sessions,
        &[50, 50, 50, 50, 50, 50, 50, 40],
    )
    .await;
    let report = tick(&app).await;
    assert_eq!(report.minutes_batched, 4 * 7, "{report:?}");
    assert_eq!(report.minutes_charged, 4 * 7 + 5, "{report:?}");
    assert_eq!(report.sessions_ended, 2, "{report:?}");
    for (i, (client, _, id)) in sessions.iter().enumerate() {
        let v = consultation(&app, client, id).await;
        match i {
            POOR => {
                assert_eq!(v["status"], "ended", "{v}");
                assert_eq!(v["end_reason"], "insufficient_funds");
                assert_eq!(v["minutes_billed"], 5);
                assert_eq!(balance(&app, client).await, 0);
            }
            FROZEN => {
                assert_eq!(v["status"], "ended", "{v}");
                assert_eq!(v["minutes_billed"], 0);
            }
            _ => {
                assert_eq!(v["status"], "active", "{v}");
                assert_eq!(v["minutes_billed"], 7);
                assert_eq!(v["amount_charged"], 7 * RATE);
                assert_eq!(balance(&app, client).await, 100_000 - 7 * RATE);
            }
        }
    }
    // Two legs per paid minute (practitioner and platform), one row per minute.
    assert_eq!(minute_rows(&app).await, (2 * 33, 33));
    // Nothing is charged again on the next pass.
    let again = tick(&app).await;
    assert_eq!(again.minutes_charged, 0, "{again:?}");
    assert_invariants(&app).await;
}

/// A batch does not look its keys up first: it charges only minutes past the locked rows'
/// `minutes_billed`, which every path moves in the transaction of their legs. Should a key
/// have been applied anyway (here: the first minute's practitioner leg of one session,
/// written straight through the ledger), the unique index refuses the batch as a whole,
/// nothing of it stays, and the one-session path bills every session, applying that key
/// once.
async fn a_batch_meeting_an_applied_key_moves_nothing_and_its_sessions_are_billed_singly(
    b: Backend,
) {
    use domain::ledger::{AccountRef, Currency, TransferRequest};
    use sea_orm::EntityTrait;
    use store::entity::consultation as consultations;
    let app = TestApp::spawn(b).await;
    let (_, practitioner, sessions) = many_sessions(&app, 3, |_| 100_000).await;
    let c = consultations::Entity::find_by_id(sessions[0].2.parse::<uuid::Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let txn = store::begin_write(&app.state.db).await.unwrap();
    domain::ledger::transfer(
        &txn,
        TransferRequest {
            debit: AccountRef::wallet(c.client_id, Currency::INR),
            credit: AccountRef::earnings(c.practitioner_id, Currency::INR),
            amount: RATE * 8 / 10,
            kind: "consultation".into(),
            reference: format!("consultation:{}", c.id),
            idempotency_key: format!("live:{}:0:cp", c.id),
            hold_id: None,
            description: "minute 1, applied out of turn".into(),
        },
        app.state.clock.now(),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();

    // Three started minutes, both sides checking in within the grace window.
    all_beat_through(&app, &practitioner, &sessions, &[50, 50, 30]).await;
    let report = tick(&app).await;
    assert_eq!(report.minutes_batched, 0, "{report:?}");
    assert_eq!(report.minutes_charged, 3 * 3, "{report:?}");
    for (client, _, id) in &sessions {
        let v = consultation(&app, client, id).await;
        assert_eq!(v["status"], "active", "{v}");
        assert_eq!(v["minutes_billed"], 3);
        assert_eq!(v["amount_charged"], 3 * RATE);
        // Session 0's first practitioner leg moved once, before the pass.
        assert_eq!(balance(&app, client).await, 100_000 - 3 * RATE);
    }
    assert_eq!(minute_rows(&app).await, (2 * 9, 9));
    assert_eq!(tick(&app).await.minutes_charged, 0);
    assert_invariants(&app).await;
}

/// Two nodes' workers run their passes at the same moment over the same due sessions, three
/// times: every minute is charged once, whichever node's batch took it.
async fn two_nodes_batching_the_same_sessions_charge_each_minute_once(b: Backend) {
    let Some((a, n2)) = TestApp::spawn_pair(b).await else {
        return;
    };
    let (_, practitioner, sessions) = many_sessions(&a, 8, |_| 100_000).await;
    for _ in 0..3 {
        a.advance(50);
        for (client, _, id) in &sessions {
            beat(&a, client, id).await;
            beat(&a, &practitioner, id).await;
        }
        let (x, y) = tokio::join!(
            domain::live::engine::tick(&a.state),
            domain::live::engine::tick(&n2.state)
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(x.sessions_ended + y.sessions_ended, 0);
    }
    // 150 s with both present: three minutes each, once.
    for (client, _, id) in &sessions {
        let v = consultation(&a, client, id).await;
        assert_eq!(v["minutes_billed"], 3, "{v}");
        assert_eq!(v["amount_charged"], 3 * RATE);
        assert_eq!(balance(&a, client).await, 100_000 - 3 * RATE);
    }
    assert_eq!(minute_rows(&a).await, (2 * 3 * 8, 3 * 8));
    assert_invariants(&a).await;
}
