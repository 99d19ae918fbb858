//! Appointments: services, hours in the practitioner's zone, slots across zones and
//! daylight-saving changes, bookings held on the wallet, the race for one slot, every
//! cancellation and no-show branch with its money, reminders and the booked session.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, approved_practitioner};
use crate::wallet::assert_invariants;

both_backends!(
    a_client_in_another_zone_books_joins_and_the_practitioner_is_paid,
    slots_follow_daylight_saving_for_practitioner_and_booker,
    two_clients_racing_for_one_slot_exactly_one_wins,
    every_cancellation_branch_moves_exactly_the_right_money,
    reminders_go_out_once_each,
    rescheduling_follows_the_policy,
    a_practitioner_only_proposes_a_new_time_and_the_client_decides,
    an_in_person_appointment_is_marked_held_only_after_it_ends,
    bad_input_gets_clear_errors,
    the_demo_healer_is_booked_from_london_and_cancelled_late,
);

const PRICE: i64 = 100_000;

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// A server whose clock starts at `t0`; access tokens outlive the days these tests skip.
async fn spawn(backend: Backend, t0: chrono::DateTime<chrono::Utc>) -> TestApp {
    TestApp::spawn_at(backend, t0, |c| c.access_token_ttl_secs = 30 * 86_400).await
}

struct Setup {
    admin: String,
    practitioner: String,
    practitioner_id: String,
    service: String,
}

/// An approved practitioner with weekly hours in `zone` and one video service.
async fn practitioner_with_hours(app: &TestApp, zone: &str, hours: Value, service: Value) -> Setup {
    let admin = app.admin_token().await;
    let (practitioner, practitioner_id) =
        approved_practitioner(app, &admin, "healer@example.com", "Healer One").await;
    let mut doc = hours;
    doc["time_zone"] = json!(zone);
    app.call(
        Method::PUT,
        "/api/v1/practitioners/me/availability",
        Some(&practitioner),
        Some(doc),
    )
    .await
    .expect(200);
    let s = app
        .post(
            "/api/v1/practitioners/me/services",
            Some(&practitioner),
            service,
        )
        .await
        .expect(201);
    Setup {
        admin,
        practitioner,
        practitioner_id,
        service: s["id"].as_str().unwrap().to_owned(),
    }
}

fn video_hour() -> Value {
    json!({"name": "Kundli reading", "description": "One hour on video", "channel": "video",
           "duration_minutes": 60, "price": PRICE})
}

fn every_day(start: &str, end: &str) -> Value {
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    json!({"weekly": days.iter().map(|d| json!({"weekday": d, "start": start, "end": end})).collect::<Vec<_>>()})
}

async fn client(app: &TestApp, admin: &str, email: &str, funds: i64) -> (String, String) {
    let (token, _, id) = app.register(email).await;
    if funds > 0 {
        app.credit(admin, &id, funds).await;
    }
    (token, id)
}

async fn book(app: &TestApp, token: &str, service: &str, start: &str) -> crate::helpers::Resp {
    app.post_keyed(
        "/api/v1/bookings",
        token,
        &format!("book-{}", uuid::Uuid::now_v7()),
        json!({"service_id": service, "start": start}),
    )
    .await
}

async fn step(app: &TestApp, token: &str, id: &str, what: &str) -> crate::helpers::Resp {
    app.post_keyed(
        &format!("/api/v1/bookings/{id}/{what}"),
        token,
        &format!("{what}-{}", uuid::Uuid::now_v7()),
        json!({}),
    )
    .await
}

async fn wallet(app: &TestApp, token: &str) -> (i64, i64) {
    let w = app.get("/api/v1/wallet", Some(token)).await.expect(200);
    (
        w["available"].as_i64().unwrap(),
        w["held"].as_i64().unwrap(),
    )
}

async fn earnings(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/practitioners/me/earnings", Some(token))
        .await
        .expect(200)["available"]
        .as_i64()
        .unwrap()
}

async fn sweep(app: &TestApp) -> domain::scheduling::bookings::SweepReport {
    domain::scheduling::bookings::sweep(&app.state)
        .await
        .unwrap()
}

fn slot_starts(v: &Value, date: &str) -> Vec<String> {
    v["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == date)
        .map(|d| {
            d["slots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["start"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn a_client_in_another_zone_books_joins_and_the_practitioner_is_paid(backend: Backend) {
    // Friday 20 November 2026.
    let app = spawn(backend, at("2026-11-20T00:00:00Z")).await;
    let weekdays: Vec<Value> = ["monday", "tuesday", "wednesday", "thursday", "friday"]
        .iter()
        .map(|d| json!({"weekday": d, "start": "09:00", "end": "17:00"}))
        .collect();
    let lunch: Vec<Value> = ["monday", "tuesday", "wednesday", "thursday", "friday"]
        .iter()
        .map(|d| json!({"weekday": d, "start": "13:00", "end": "14:00"}))
        .collect();
    let s = practitioner_with_hours(
        &app,
        "Asia/Kolkata",
        json!({"weekly": weekdays, "breaks": lunch}),
        video_hour(),
    )
    .await;
    let hours = app
        .get(
            "/api/v1/practitioners/me/availability",
            Some(&s.practitioner),
        )
        .await
        .expect(200);
    assert_eq!(hours["time_zone"], "Asia/Kolkata");
    assert_eq!(hours["weekly"].as_array().unwrap().len(), 5);
    assert_eq!(hours["breaks"][0]["start"], "13:00");

    // A client in London sees Monday's Kolkata hours in London time, lunch left out.
    let (client, _) = client(&app, &s.admin, "client@example.com", 300_000).await;
    let slots = app
        .get(
            &format!(
                "/api/v1/services/{}/slots?from=2026-11-23&days=1&time_zone=Europe/London",
                s.service
            ),
            None,
        )
        .await
        .expect(200);
    assert_eq!(slots["practitioner_time_zone"], "Asia/Kolkata");
    assert_eq!(
        slot_starts(&slots, "2026-11-23"),
        [
            "2026-11-23T03:30:00Z",
            "2026-11-23T04:30:00Z",
            "2026-11-23T05:30:00Z",
            "2026-11-23T06:30:00Z",
            "2026-11-23T08:30:00Z",
            "2026-11-23T09:30:00Z",
            "2026-11-23T10:30:00Z"
        ]
    );
    // The listing and the public profile show the service.
    let listed = app
        .get(
            &format!("/api/v1/practitioners/{}/services", s.practitioner_id),
            None,
        )
        .await
        .expect(200);
    assert_eq!(listed[0]["id"], s.service.as_str());

    // Booking holds the price; a replay of the same key books nothing more.
    let body = json!({"service_id": s.service, "start": "2026-11-23T04:30:00Z",
                      "time_zone": "Europe/London", "notes": "Career question"});
    let first = app
        .post_keyed("/api/v1/bookings", &client, "book-1", body.clone())
        .await
        .expect(201);
    let again = app
        .post_keyed("/api/v1/bookings", &client, "book-1", body)
        .await
        .expect(201);
    assert_eq!(first["id"], again["id"]);
    assert!(first["reference"].as_str().unwrap().starts_with("BK"));
    assert_eq!(first["status"], "requested");
    assert_eq!(first["amount"], PRICE);
    assert_eq!(first["starts_at_local"], "2026-11-23T04:30:00Z");
    assert_eq!(wallet(&app, &client).await, (200_000, PRICE));
    let id = first["id"].as_str().unwrap().to_owned();

    // The booked hour is no longer offered.
    let slots = app
        .get(
            &format!(
                "/api/v1/services/{}/slots?from=2026-11-23&days=1&time_zone=Europe/London",
                s.service
            ),
            None,
        )
        .await
        .expect(200);
    assert!(!slot_starts(&slots, "2026-11-23").contains(&"2026-11-23T04:30:00Z".to_owned()));

    let mine = app
        .get("/api/v1/bookings?role=practitioner", Some(&s.practitioner))
        .await
        .expect(200);
    assert_eq!(mine["items"][0]["id"], id.as_str());
    app.post(
        &format!("/api/v1/bookings/{id}/confirm"),
        Some(&s.practitioner),
        json!({}),
    )
    .await
    .expect(200);
    // Confirming is the practitioner's, and only once.
    app.post(
        &format!("/api/v1/bookings/{id}/confirm"),
        Some(&client),
        json!({}),
    )
    .await
    .problem(403, "not_the_practitioner");

    // Joining opens only near the time; when both are in, a prepaid session opens.
    app.post(
        &format!("/api/v1/bookings/{id}/join"),
        Some(&client),
        json!({}),
    )
    .await
    .problem(409, "not_joinable_now");
    let start = at("2026-11-23T04:30:00Z");
    app.advance((start - at("2026-11-20T00:00:00Z")).num_seconds() - 5 * 60);
    let joined = app
        .post(
            &format!("/api/v1/bookings/{id}/join"),
            Some(&client),
            json!({}),
        )
        .await
        .expect(200);
    assert!(joined["consultation_id"].is_null());
    let joined = app
        .post(
            &format!("/api/v1/bookings/{id}/join"),
            Some(&s.practitioner),
            json!({}),
        )
        .await
        .expect(200);
    let session = joined["consultation_id"].as_str().unwrap().to_owned();
    let c = app
        .get(&format!("/api/v1/consultations/{session}"), Some(&client))
        .await
        .expect(200);
    assert_eq!(c["status"], "active");
    assert_eq!(c["channel"], "video");
    // Nothing is charged per minute: the booking paid for it.
    app.advance(30 * 60);
    domain::live::engine::tick(&app.state).await.unwrap();
    assert_eq!(wallet(&app, &client).await, (200_000, PRICE));

    // When the booked hour is over the session ends and the booking completes.
    app.advance(36 * 60);
    let report = sweep(&app).await;
    assert_eq!(report.completed, 1);
    let done = app
        .get(&format!("/api/v1/bookings/{id}"), Some(&client))
        .await
        .expect(200);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["captured"], PRICE);
    let c = app
        .get(&format!("/api/v1/consultations/{session}"), Some(&client))
        .await
        .expect(200);
    assert_eq!(c["status"], "ended");
    assert_eq!(wallet(&app, &client).await, (200_000, 0));
    // 20 % default commission.
    assert_eq!(earnings(&app, &s.practitioner).await, 80_000);
    assert_eq!(sweep(&app).await.completed, 0);
    assert_invariants(&app).await;
}

async fn slots_follow_daylight_saving_for_practitioner_and_booker(backend: Backend) {
    // New York moves to daylight time on Sunday 8 March 2026; London only on 29 March.
    let app = spawn(backend, at("2026-03-02T00:00:00Z")).await;
    let s = practitioner_with_hours(
        &app,
        "America/New_York",
        every_day("09:00", "10:00"),
        video_hour(),
    )
    .await;
    let get = |zone: &'static str| {
        let app = &app;
        let service = s.service.clone();
        async move {
            app.get(
                &format!(
                    "/api/v1/services/{service}/slots?from=2026-03-06&days=4&time_zone={zone}"
                ),
                None,
            )
            .await
            .expect(200)
        }
    };
    let ny = get("America/New_York").await;
    for date in ["2026-03-06", "2026-03-07", "2026-03-08", "2026-03-09"] {
        let starts = slot_starts(&ny, date);
        assert_eq!(starts.len(), 1, "{date}: {starts:?}");
        assert!(starts[0].contains("T09:00:00"), "{date}: {starts:?}");
    }
    assert_eq!(
        slot_starts(&ny, "2026-03-06"),
        ["2026-03-06T09:00:00-05:00"]
    );
    assert_eq!(
        slot_starts(&ny, "2026-03-09"),
        ["2026-03-09T09:00:00-04:00"]
    );
    // From London the same hour moves from 14:00 to 13:00.
    let london = get("Europe/London").await;
    assert_eq!(slot_starts(&london, "2026-03-07"), ["2026-03-07T14:00:00Z"]);
    assert_eq!(slot_starts(&london, "2026-03-08"), ["2026-03-08T13:00:00Z"]);
    // From Kolkata it is the evening, and the date is the booker's.
    let kolkata = get("Asia/Kolkata").await;
    assert_eq!(
        slot_starts(&kolkata, "2026-03-07"),
        ["2026-03-07T19:30:00+05:30"]
    );
    assert_eq!(
        slot_starts(&kolkata, "2026-03-09"),
        ["2026-03-09T18:30:00+05:30"]
    );

    // A day with overridden hours and a blocked date.
    let mut doc = every_day("09:00", "10:00");
    doc["time_zone"] = json!("America/New_York");
    doc["overrides"] =
        json!([{"date": "2026-03-07", "hours": [{"start": "15:00", "end": "17:00"}]}]);
    doc["blocked"] =
        json!([{"start_date": "2026-03-08", "end_date": "2026-03-08", "reason": "Holiday"}]);
    app.call(
        Method::PUT,
        "/api/v1/practitioners/me/availability",
        Some(&s.practitioner),
        Some(doc),
    )
    .await
    .expect(200);
    let ny = get("America/New_York").await;
    assert_eq!(
        slot_starts(&ny, "2026-03-07"),
        ["2026-03-07T15:00:00-05:00", "2026-03-07T16:00:00-05:00"]
    );
    assert!(slot_starts(&ny, "2026-03-08").is_empty());

    // The booking made on the far side of the change lands on the real instant.
    let (client, _) = client(&app, &s.admin, "client@example.com", PRICE).await;
    let b = book(&app, &client, &s.service, "2026-03-09T18:30:00+05:30")
        .await
        .expect(201);
    assert_eq!(b["starts_at"], "2026-03-09T13:00:00Z");
}

async fn two_clients_racing_for_one_slot_exactly_one_wins(backend: Backend) {
    let app = spawn(backend, at("2026-11-20T00:00:00Z")).await;
    let s = practitioner_with_hours(&app, "UTC", every_day("08:00", "20:00"), video_hour()).await;
    // A second, shorter service of the same practitioner overlaps the same hour.
    let short = app
        .post(
            "/api/v1/practitioners/me/services",
            Some(&s.practitioner),
            json!({"name": "Quick question", "channel": "chat", "duration_minutes": 30,
                   "price": 30_000, "slot_interval_minutes": 30}),
        )
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut clients = Vec::new();
    for i in 0..8 {
        clients.push(client(&app, &s.admin, &format!("c{i}@example.com"), PRICE).await);
    }
    let attempts = clients.iter().enumerate().map(|(i, (token, _))| {
        let (service, start) = if i % 2 == 0 {
            (s.service.clone(), "2026-11-22T10:00:00Z")
        } else {
            (short.clone(), "2026-11-22T10:30:00Z")
        };
        let app = &app;
        async move { book(app, token, &service, start).await }
    });
    let mut won = 0;
    for r in futures::future::join_all(attempts).await {
        match r.status.as_u16() {
            201 => won += 1,
            409 => assert_eq!(r.body["code"], "slot_unavailable"),
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(won, 1, "exactly one booking may take the hour");
    let mut held = 0;
    for (token, _) in &clients {
        held += wallet(&app, token).await.1;
    }
    assert!(
        held == PRICE || held == 30_000,
        "only the winner's money is held: {held}"
    );
    assert_invariants(&app).await;
}

async fn every_cancellation_branch_moves_exactly_the_right_money(backend: Backend) {
    let t0 = at("2026-11-20T00:00:00Z");
    let app = spawn(backend, t0).await;
    let s = practitioner_with_hours(&app, "UTC", every_day("08:00", "20:00"), video_hour()).await;
    let funds = 10 * PRICE;
    let (c, _) = client(&app, &s.admin, "client@example.com", funds).await;
    let p = &s.practitioner;
    let booked = |start: &'static str| {
        let app = &app;
        let c = c.clone();
        let service = s.service.clone();
        async move {
            book(app, &c, &service, start).await.expect(201)["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let cancel = |token: String, id: String| {
        let app = &app;
        async move {
            app.post_keyed(
                &format!("/api/v1/bookings/{id}/cancel"),
                &token,
                &format!("cancel-{id}"),
                json!({"reason": "Plans changed"}),
            )
            .await
        }
    };

    // a. The client cancels more than 24 h ahead: everything back.
    let a = booked("2026-11-25T10:00:00Z").await;
    step(&app, p, &a, "confirm").await.expect(200);
    let r = cancel(c.clone(), a.clone()).await.expect(200);
    assert_eq!(
        (
            r["status"].as_str(),
            r["refunded"].as_i64(),
            r["captured"].as_i64()
        ),
        (Some("cancelled"), Some(PRICE), Some(0))
    );
    assert_eq!(r["cancelled_by"], "client");
    // Replaying the cancel returns the same answer and moves nothing.
    let again = cancel(c.clone(), a.clone()).await.expect(200);
    assert_eq!(again["refunded"], PRICE);
    assert_eq!(wallet(&app, &c).await, (funds, 0));

    // b–d booked for tomorrow morning; e–g too.
    let b = booked("2026-11-21T08:00:00Z").await;
    let cc = booked("2026-11-21T09:00:00Z").await;
    let d = booked("2026-11-21T10:00:00Z").await;
    for id in [&b, &cc] {
        step(&app, p, id, "confirm").await.expect(200);
    }
    app.advance(10 * 3600); // 22 h before b.

    // b. Late client cancel: half back; the practitioner keeps 80 % of the other half.
    let r = cancel(c.clone(), b.clone()).await.expect(200);
    assert_eq!(
        (r["refunded"].as_i64(), r["captured"].as_i64()),
        (Some(50_000), Some(50_000))
    );
    assert_eq!(earnings(&app, p).await, 40_000);
    // c. The practitioner cancels late: everything back.
    let r = cancel(p.clone(), cc.clone()).await.expect(200);
    assert_eq!(
        (r["refunded"].as_i64(), r["cancelled_by"].as_str()),
        (Some(PRICE), Some("practitioner"))
    );
    // d. Declined: everything back.
    let r = app
        .post_keyed(
            &format!("/api/v1/bookings/{d}/decline"),
            p,
            "decline-d",
            json!({"reason": "Away"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (r["status"].as_str(), r["refunded"].as_i64()),
        (Some("declined"), Some(PRICE))
    );
    // A closed booking cannot be cancelled.
    cancel(c.clone(), d.clone())
        .await
        .problem(409, "invalid_state");

    // e. Never answered: expires when its 24 h run out (before its start).
    let e = booked("2026-11-22T10:00:00Z").await;
    // f and g are confirmed for tomorrow noon and 14:00.
    let f = booked("2026-11-21T12:00:00Z").await;
    let g = booked("2026-11-21T14:00:00Z").await;
    for id in [&f, &g] {
        step(&app, p, id, "confirm").await.expect(200);
    }
    assert_eq!(
        wallet(&app, &c).await,
        (funds - 50_000 - 3 * PRICE, 3 * PRICE)
    );

    // Tomorrow 12:00: e's time to answer has passed; the practitioner joins f.
    app.advance(26 * 3600);
    assert_eq!(sweep(&app).await.expired, 1);
    let r = app
        .get(&format!("/api/v1/bookings/{e}"), Some(&c))
        .await
        .expect(200);
    assert_eq!(
        (r["status"].as_str(), r["refunded"].as_i64()),
        (Some("expired"), Some(PRICE))
    );
    step(&app, p, &f, "join").await.expect(200);
    // Too early to call a no-show.
    step(&app, p, &f, "no-show").await.problem(409, "too_early");

    // f. The client never came: the practitioner is paid in full.
    app.advance(16 * 60);
    let report = sweep(&app).await;
    assert_eq!(report.no_shows, 1);
    let r = app
        .get(&format!("/api/v1/bookings/{f}"), Some(&c))
        .await
        .expect(200);
    assert_eq!(
        (r["status"].as_str(), r["captured"].as_i64()),
        (Some("client_no_show"), Some(PRICE))
    );
    assert_eq!(earnings(&app, p).await, 40_000 + 80_000);

    // g. The practitioner never came: the client reports it, gets everything back, and
    // the profile counts it.
    app.advance(2 * 3600);
    // Someone who did not join cannot report the other missing.
    step(&app, p, &g, "no-show")
        .await
        .problem(409, "you_did_not_join");
    step(&app, &c, &g, "join").await.expect(200);
    step(&app, p, &g, "no-show")
        .await
        .problem(409, "you_did_not_join");
    let r = step(&app, &c, &g, "no-show").await.expect(200);
    assert_eq!(
        (r["status"].as_str(), r["refunded"].as_i64()),
        (Some("practitioner_no_show"), Some(PRICE))
    );
    let profile = app
        .get(
            &format!("/api/v1/practitioners/{}", s.practitioner_id),
            None,
        )
        .await
        .expect(200);
    assert_eq!(profile["no_show_count"], 1);

    // In all: b's half and f's full price left the wallet; nothing is held.
    assert_eq!(wallet(&app, &c).await, (funds - 50_000 - PRICE, 0));
    assert_invariants(&app).await;
}

async fn reminders_go_out_once_each(backend: Backend) {
    let t0 = at("2026-11-20T00:00:00Z");
    let app = spawn(backend, t0).await;
    let s = practitioner_with_hours(&app, "UTC", every_day("08:00", "20:00"), video_hour()).await;
    let (c, _) = client(&app, &s.admin, "client@example.com", PRICE).await;
    let id = book(&app, &c, &s.service, "2026-11-22T10:00:00Z")
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    step(&app, &s.practitioner, &id, "confirm")
        .await
        .expect(200);
    assert_eq!(sweep(&app).await.reminded, 0);
    // 24 h before: the first reminder, once.
    app.advance((at("2026-11-21T10:00:00Z") - t0).num_seconds());
    assert_eq!(sweep(&app).await.reminded, 1);
    assert_eq!(sweep(&app).await.reminded, 0);
    // 15 minutes before: the second.
    app.advance(24 * 3600 - 15 * 60);
    assert_eq!(sweep(&app).await.reminded, 1);
    assert_eq!(sweep(&app).await.reminded, 0);
    // Each side got both, in the app.
    for token in [&c, &s.practitioner] {
        let inbox = app
            .get("/api/v1/notifications", Some(token))
            .await
            .expect(200);
        let reminders: Vec<i64> = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["event"] == "booking.reminder")
            .map(|n| n["data"]["minutes_before"].as_i64().unwrap())
            .collect();
        assert_eq!(reminders, [15, 1440]);
    }
}

async fn rescheduling_follows_the_policy(backend: Backend) {
    let t0 = at("2026-11-20T00:00:00Z");
    let app = spawn(backend, t0).await;
    let s = practitioner_with_hours(&app, "UTC", every_day("08:00", "20:00"), video_hour()).await;
    let (c, _) = client(&app, &s.admin, "client@example.com", 2 * PRICE).await;
    let (other, _) = client(&app, &s.admin, "other@example.com", 2 * PRICE).await;
    let id = book(&app, &c, &s.service, "2026-11-25T10:00:00Z")
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    book(&app, &other, &s.service, "2026-11-25T12:00:00Z")
        .await
        .expect(201);
    let move_to = |token: String, start: &'static str| {
        let app = &app;
        let id = id.clone();
        async move {
            app.post(
                &format!("/api/v1/bookings/{id}/reschedule"),
                Some(&token),
                json!({"start": start}),
            )
            .await
        }
    };
    // Onto someone else's booking: refused. Onto a free slot: moved, hold unchanged.
    move_to(c.clone(), "2026-11-25T12:00:00Z")
        .await
        .problem(409, "slot_unavailable");
    let r = move_to(c.clone(), "2026-11-25T15:00:00Z").await.expect(200);
    assert_eq!(r["starts_at"], "2026-11-25T15:00:00Z");
    assert_eq!(r["reschedule_count"], 1);
    assert_eq!(wallet(&app, &c).await, (PRICE, PRICE));
    // The old hour is free again.
    book(&app, &other, &s.service, "2026-11-25T10:00:00Z")
        .await
        .expect(201);
    move_to(c.clone(), "2026-11-25T16:00:00Z").await.expect(200);
    move_to(c.clone(), "2026-11-25T17:00:00Z")
        .await
        .problem(409, "reschedule_limit");
    // Inside 24 h nobody can move it: not the client, nor the practitioner (who could
    // otherwise move it to minutes from now and collect a no-show).
    app.advance((at("2026-11-25T00:00:00Z") - t0).num_seconds());
    move_to(c.clone(), "2026-11-25T18:00:00Z")
        .await
        .problem(409, "reschedule_window_closed");
    move_to(s.practitioner.clone(), "2026-11-25T18:00:00Z")
        .await
        .problem(409, "reschedule_window_closed");
    // Strangers see nothing.
    move_to(other.clone(), "2026-11-25T19:00:00Z")
        .await
        .problem(404, "not_found");
    assert_invariants(&app).await;
}

async fn a_practitioner_only_proposes_a_new_time_and_the_client_decides(backend: Backend) {
    let t0 = at("2026-11-20T00:00:00Z");
    let app = spawn(backend, t0).await;
    let s = practitioner_with_hours(&app, "UTC", every_day("00:00", "23:59"), video_hour()).await;
    let (c, _) = client(&app, &s.admin, "client@example.com", 3 * PRICE).await;
    let id = book(&app, &c, &s.service, "2026-11-25T10:00:00Z")
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    step(&app, &s.practitioner, &id, "confirm")
        .await
        .expect(200);
    let propose = |start: &'static str| {
        let (app, id, token) = (&app, id.clone(), s.practitioner.clone());
        async move {
            app.post(
                &format!("/api/v1/bookings/{id}/reschedule"),
                Some(&token),
                json!({"start": start}),
            )
            .await
        }
    };
    // Minutes from now: refused outright.
    let e = propose("2026-11-20T01:00:00Z")
        .await
        .problem(422, "validation_failed");
    assert_eq!(e["errors"][0]["code"], "reschedule_too_soon");
    // A day later: only a proposal; the booking stays where it was.
    let b = propose("2026-11-26T10:00:00Z").await.expect(200);
    assert_eq!(b["starts_at"], "2026-11-25T10:00:00Z");
    assert_eq!(b["proposed_starts_at"], "2026-11-26T10:00:00Z");
    assert_eq!(b["reschedule_count"], 0);
    let inbox = app.get("/api/v1/notifications", Some(&c)).await.expect(200);
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["event"] == "booking.reschedule_proposed"),
        "the client is asked: {inbox}"
    );
    step(&app, &s.practitioner, &id, "reschedule/accept")
        .await
        .problem(403, "not_the_client");
    let b = step(&app, &c, &id, "reschedule/accept").await.expect(200);
    assert_eq!(b["starts_at"], "2026-11-26T10:00:00Z");
    assert_eq!(b["proposed_starts_at"], Value::Null);
    assert_eq!(b["reschedule_count"], 1);
    step(&app, &c, &id, "reschedule/accept")
        .await
        .problem(409, "no_proposal");
    // A proposal left unanswered lapses when the booking's time comes: declining it after
    // the appointment (attended or missed) would turn it into a full refund.
    let later = book(&app, &c, &s.service, "2026-11-21T10:00:00Z")
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    step(&app, &s.practitioner, &later, "confirm")
        .await
        .expect(200);
    app.post(
        &format!("/api/v1/bookings/{later}/reschedule"),
        Some(&s.practitioner),
        json!({"start": "2026-11-23T10:00:00Z"}),
    )
    .await
    .expect(200);
    app.advance((at("2026-11-21T10:30:00Z") - app.state.clock.now()).num_seconds());
    step(&app, &c, &later, "reschedule/decline")
        .await
        .problem(409, "proposal_expired");
    step(&app, &c, &later, "reschedule/accept")
        .await
        .problem(409, "proposal_expired");
    let kept = app
        .get(&format!("/api/v1/bookings/{later}"), Some(&c))
        .await
        .expect(200);
    assert_eq!(kept["status"], "confirmed");
    assert_eq!(kept["starts_at"], "2026-11-21T10:00:00Z");

    // Declining the next proposal cancels the booking and refunds everything.
    propose("2026-11-27T10:00:00Z").await.expect(200);
    let b = step(&app, &c, &id, "reschedule/decline").await.expect(200);
    assert_eq!(b["status"], "cancelled");
    assert_eq!(b["refunded"], PRICE);
    assert_eq!(
        wallet(&app, &c).await,
        (2 * PRICE, PRICE),
        "the other booking is still held"
    );
    assert_invariants(&app).await;
}

async fn an_in_person_appointment_is_marked_held_only_after_it_ends(backend: Backend) {
    let t0 = at("2026-11-20T00:00:00Z");
    let app = spawn(backend, t0).await;
    let s = practitioner_with_hours(
        &app,
        "UTC",
        every_day("08:00", "20:00"),
        json!({"name": "Reiki", "description": "In the studio", "channel": "in_person",
               "duration_minutes": 60, "price": PRICE}),
    )
    .await;
    let (c, _) = client(&app, &s.admin, "client@example.com", PRICE).await;
    let id = book(&app, &c, &s.service, "2026-11-21T10:00:00Z")
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    step(&app, &s.practitioner, &id, "confirm")
        .await
        .expect(200);
    // Five minutes in, the client may still be on the way: not yet.
    app.advance((at("2026-11-21T10:05:00Z") - t0).num_seconds());
    step(&app, &s.practitioner, &id, "complete")
        .await
        .problem(409, "not_ended");
    assert_eq!(earnings(&app, &s.practitioner).await, 0);
    app.advance(3600);
    let b = step(&app, &s.practitioner, &id, "complete")
        .await
        .expect(200);
    assert_eq!(b["status"], "completed");
    assert!(earnings(&app, &s.practitioner).await > 0);
    assert_invariants(&app).await;
}

async fn bad_input_gets_clear_errors(backend: Backend) {
    let t0 = at("2026-11-20T00:00:00Z");
    let app = spawn(backend, t0).await;
    let s = practitioner_with_hours(&app, "UTC", every_day("08:00", "20:00"), video_hour()).await;
    let put = |doc: Value| {
        let app = &app;
        let token = s.practitioner.clone();
        async move {
            app.call(
                Method::PUT,
                "/api/v1/practitioners/me/availability",
                Some(&token),
                Some(doc),
            )
            .await
        }
    };
    let e = put(json!({"time_zone": "Mars/Olympus"}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(e["errors"][0]["code"], "invalid_time_zone");
    let e = put(json!({"time_zone": "UTC", "weekly": [{"weekday": "monday", "start": "10:00", "end": "09:00"}]}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(e["errors"][0]["code"], "invalid_range");
    let e = put(json!({"time_zone": "UTC", "weekly": [{"weekday": "monday", "start": "9am", "end": "10:00"}]}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(e["errors"][0]["code"], "invalid_time");
    let e = put(json!({"time_zone": "UTC", "weekly": [
        {"weekday": "monday", "start": "09:00", "end": "12:00"},
        {"weekday": "monday", "start": "11:00", "end": "13:00"}]}))
    .await
    .problem(422, "validation_failed");
    assert_eq!(e["errors"][0]["code"], "overlapping_hours");
    let e = app
        .post(
            "/api/v1/practitioners/me/services",
            Some(&s.practitioner),
            json!({"name": "", "channel": "video", "duration_minutes": 2, "price": -5}),
        )
        .await
        .problem(422, "validation_failed");
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"name")
            && fields.contains(&"duration_minutes")
            && fields.contains(&"price"),
        "{fields:?}"
    );
    // Clients cannot publish services.
    let (c, _) = client(&app, &s.admin, "client@example.com", 0).await;
    app.post("/api/v1/practitioners/me/services", Some(&c), video_hour())
        .await
        .problem(403, "forbidden");
    // Slots: a range that is too long, an unknown zone.
    app.get(
        &format!("/api/v1/services/{}/slots?days=90", s.service),
        None,
    )
    .await
    .problem(422, "validation_failed");
    app.get(
        &format!("/api/v1/services/{}/slots?time_zone=Nowhere", s.service),
        None,
    )
    .await
    .problem(422, "validation_failed");
    // Booking: no key, a time that is not a slot, the past, no money, one's own service.
    app.post(
        "/api/v1/bookings",
        Some(&c),
        json!({"service_id": s.service, "start": "2026-11-22T10:00:00Z"}),
    )
    .await
    .problem(400, "idempotency_key_required");
    book(&app, &c, &s.service, "2026-11-22T10:17:00Z")
        .await
        .problem(409, "slot_unavailable");
    book(&app, &c, &s.service, "2026-11-22T21:00:00Z")
        .await
        .problem(409, "slot_unavailable");
    book(&app, &c, &s.service, "2026-11-19T10:00:00Z")
        .await
        .problem(409, "slot_unavailable");
    book(&app, &c, &s.service, "2026-11-22T10:00:00Z")
        .await
        .problem(402, "insufficient_funds");
    book(&app, &s.practitioner, &s.service, "2026-11-22T10:00:00Z")
        .await
        .problem(403, "own_service");
    let e = app
        .post_keyed(
            "/api/v1/bookings",
            &c,
            "k1",
            json!({"service_id": s.service, "start": "2026-11-22T10:00:00Z", "promo_code": "NOPE"}),
        )
        .await
        .problem(422, "promo_refused");
    assert_eq!(e["errors"][0]["field"], "promo_code");
    book(
        &app,
        &c,
        &uuid::Uuid::now_v7().to_string(),
        "2026-11-22T10:00:00Z",
    )
    .await
    .problem(404, "not_found");
    // Nothing moved.
    assert_eq!(wallet(&app, &c).await, (0, 0));
    assert_invariants(&app).await;
}

async fn the_demo_healer_is_booked_from_london_and_cancelled_late(backend: Backend) {
    // Monday 23 November 2026, 06:00 UTC.
    let t0 = at("2026-11-23T06:00:00Z");
    let app = TestApp::spawn_at(backend, t0, |c| c.demo = true).await;
    let types = app.get("/api/v1/service-types", None).await.expect(200);
    assert!(
        types
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["slug"] == "reiki")
    );
    let login = app
        .login("emma@demo.augur.dev", augur::demo::DEMO_PASSWORD)
        .await
        .expect(200);
    let emma = login["tokens"]["access_token"].as_str().unwrap().to_owned();
    let found = app
        .get("/api/v1/practitioners?q=kavita", None)
        .await
        .expect(200);
    let healer = found["items"][0]["id"].as_str().unwrap().to_owned();
    let services = app
        .get(&format!("/api/v1/practitioners/{healer}/services"), None)
        .await
        .expect(200);
    let reiki = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Reiki healing")
        .unwrap();
    let price = reiki["price"].as_i64().unwrap();
    // Today in London, Kolkata's 10:00–18:00 (lunch at 13:00) is 04:30–12:30; with an
    // hour's notice the first free start is 08:30 (14:00 in Kolkata).
    let slots = app
        .get(
            &format!(
                "/api/v1/services/{}/slots?days=1&time_zone=Europe/London",
                reiki["id"].as_str().unwrap()
            ),
            None,
        )
        .await
        .expect(200);
    let today = slot_starts(&slots, "2026-11-23");
    assert_eq!(
        today.first().map(String::as_str),
        Some("2026-11-23T08:30:00Z")
    );
    let (before, _) = wallet(&app, &emma).await;
    let id = book(&app, &emma, reiki["id"].as_str().unwrap(), &today[0])
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = app
        .get(&format!("/api/v1/bookings/{id}"), Some(&emma))
        .await
        .expect(200);
    assert_eq!(b["time_zone"], "Europe/London");
    // The healer confirms; Emma cancels two and a half hours ahead: the late policy returns half.
    let healer_login = app
        .login("practitioner8@demo.augur.dev", augur::demo::DEMO_PASSWORD)
        .await
        .expect(200);
    let healer_token = healer_login["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    step(&app, &healer_token, &id, "confirm").await.expect(200);
    // The healer heard of the request, Emma of the confirmation: in the app and by email,
    // with the time in her own zone.
    let reference = b["reference"].as_str().unwrap().to_owned();
    let inbox = app
        .get("/api/v1/notifications", Some(&healer_token))
        .await
        .expect(200);
    assert_eq!(inbox["items"][0]["event"], "booking.requested");
    let inbox = app
        .get("/api/v1/notifications", Some(&emma))
        .await
        .expect(200);
    let confirmed = &inbox["items"][0];
    assert_eq!(confirmed["event"], "booking.confirmed");
    assert_eq!(confirmed["data"]["reference"], reference.as_str());
    assert_eq!(
        confirmed["data"]["starts_at_local"],
        "Mon 23 Nov 2026 08:30 GMT"
    );
    domain::jobs::run_pending(&app.state).await.unwrap();
    let outbox = app.state.sandbox_email.as_ref().unwrap().sent();
    let email = outbox
        .iter()
        .find(|m| m.to == "emma@demo.augur.dev" && m.text.contains(&reference))
        .expect("a confirmation email to Emma");
    assert!(email.text.contains("08:30"), "{}", email.text);
    // Admins see the demo's sandbox messages over the API.
    let admin = app
        .login(augur::demo::DEMO_ADMIN_EMAIL, augur::demo::DEMO_PASSWORD)
        .await
        .expect(200)["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let caught = app
        .get(
            "/api/v1/admin/sandbox/outbox?to=emma@demo.augur.dev",
            Some(&admin),
        )
        .await
        .expect(200);
    assert!(
        caught
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["channel"] == "email" && m["body"].as_str().unwrap().contains(&reference))
    );
    app.get("/api/v1/admin/sandbox/outbox", Some(&emma))
        .await
        .problem(403, "forbidden");
    let r = app
        .post_keyed(
            &format!("/api/v1/bookings/{id}/cancel"),
            &emma,
            "cancel-late",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(r["refunded"], price / 2);
    assert_eq!(wallet(&app, &emma).await, (before - price / 2, 0));
    // The cancellation reaches both, and tells Emma what came back.
    let inbox = app
        .get("/api/v1/notifications", Some(&emma))
        .await
        .expect(200);
    assert_eq!(inbox["items"][0]["event"], "booking.cancelled");
    assert_eq!(inbox["items"][0]["data"]["refund"], "₹200.00");
    let inbox = app
        .get("/api/v1/notifications", Some(&healer_token))
        .await
        .expect(200);
    assert_eq!(inbox["items"][0]["event"], "booking.cancelled");
    assert_invariants(&app).await;
}
