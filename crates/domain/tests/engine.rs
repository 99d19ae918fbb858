//! The live-consultation engine over in-memory SQLite, driven by a manual clock: what is
//! billed, when a session ends and why, and what a request is refused for.

mod common;

use augur_domain as domain;
use chrono::Duration;
use common::{Ctx, Practitioner, ctx};
use domain::error::Kind;
use domain::ledger::AccountKind;
use domain::live::engine::{self, NewRequest};
use domain::practitioners::Channel;
use sea_orm::EntityTrait;
use store::entity::{consultation, consultation_client_lock};
use uuid::Uuid;

const RATE: i64 = 1_000;

/// A funded client, and a practitioner online at `RATE` a minute.
async fn pair(c: &Ctx, funds: i64) -> (Uuid, Practitioner) {
    let client = c.user("client").await;
    c.fund(client, funds).await;
    let p = c.practitioner(RATE, None).await;
    c.online(&p, 0).await;
    (client, p)
}

async fn ask(
    c: &Ctx,
    client: Uuid,
    p: &Practitioner,
) -> domain::error::Result<consultation::Model> {
    engine::request(
        &c.app,
        NewRequest {
            client,
            practitioner_id: p.id,
            channel: Channel::Chat,
            promo_code: None,
        },
    )
    .await
}

/// A session accepted now.
async fn start(c: &Ctx, client: Uuid, p: &Practitioner) -> consultation::Model {
    let req = ask(c, client, p).await.unwrap();
    engine::accept(&c.app, p.user_id, req.id).await.unwrap()
}

async fn beat_both(c: &Ctx, client: Uuid, p: &Practitioner, id: Uuid) {
    engine::heartbeat(&c.app, client, id).await.unwrap();
    engine::heartbeat(&c.app, p.user_id, id).await.unwrap();
}

async fn row(c: &Ctx, id: Uuid) -> consultation::Model {
    consultation::Entity::find_by_id(id)
        .one(&c.app.db)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn every_started_minute_both_sides_were_present_is_billed_once() {
    let c = ctx(|_| {}).await;
    let (client, p) = pair(&c, 10_000).await;
    let s = start(&c, client, &p).await;
    assert_eq!(s.status, "active");
    assert_eq!(c.presence(&p).await.active_sessions, 1);

    // 2 min 10 s together: the third minute has started, so it is owed.
    for _ in 0..2 {
        c.advance_secs(60);
        beat_both(&c, client, &p, s.id).await;
    }
    c.advance_secs(10);
    beat_both(&c, client, &p, s.id).await;

    let report = engine::tick(&c.app).await.unwrap();
    assert_eq!(report.minutes_charged, 3);
    assert_eq!(report.sessions_ended, 0);
    let now = row(&c, s.id).await;
    assert_eq!(now.minutes_billed, 3);
    assert_eq!(now.amount_charged, 3 * RATE);
    assert_eq!(c.available(client).await, 10_000 - 3 * RATE);
    // Default commission is 20 %.
    assert_eq!(c.earnings(&p).await, 3 * 800);
    assert_eq!(c.platform(AccountKind::PlatformRevenue).await, 3 * 200);
    c.assert_balanced().await;

    // A second pass at the same instant owes nothing new.
    assert_eq!(engine::tick(&c.app).await.unwrap().minutes_charged, 0);

    let ended = engine::end(&c.app, client, s.id).await.unwrap();
    assert_eq!(ended.status, "ended");
    assert_eq!(ended.end_reason.as_deref(), Some("client_ended"));
    assert_eq!(ended.minutes_billed, 3);
    assert_eq!(ended.ended_at, Some(c.now()));
    assert_eq!(c.available(client).await, 10_000 - 3 * RATE);
    assert_eq!(c.presence(&p).await.active_sessions, 0);
    let pr = c.practitioner_row(&p).await;
    assert_eq!((pr.total_consultations, pr.total_minutes), (1, 3));
    c.assert_balanced().await;
}

#[tokio::test]
async fn first_session_free_minutes_are_paid_by_promotions_at_the_practitioners_commission() {
    let c = ctx(|cfg| cfg.live_free_minutes_first_session = 2).await;
    let client = c.user("client").await;
    // Two free minutes lower the minimum to the three paid ones of `live_min_minutes`.
    c.fund(client, 3 * RATE).await;
    let p = c.practitioner(RATE, Some(3_000)).await;
    c.online(&p, 0).await;
    let s = start(&c, client, &p).await;
    assert_eq!((s.free_minutes, s.commission_bps), (2, 3_000));

    for _ in 0..3 {
        c.advance_secs(50);
        beat_both(&c, client, &p, s.id).await;
    }
    let ended = engine::end(&c.app, p.user_id, s.id).await.unwrap();
    assert_eq!(ended.end_reason.as_deref(), Some("practitioner_ended"));
    assert_eq!(ended.minutes_billed, 3);
    assert_eq!(ended.free_minutes_used, 2);
    assert_eq!(ended.amount_charged, RATE);
    assert_eq!(c.available(client).await, 2 * RATE);
    // The practitioner earns 70 % of the full rate on every minute, free ones included.
    assert_eq!(c.earnings(&p).await, 3 * 700);
    assert_eq!(c.platform(AccountKind::PlatformRevenue).await, 300);
    c.assert_balanced().await;

    // Only the first session is free.
    c.fund(client, 10_000).await;
    let again = ask(&c, client, &p).await.unwrap();
    assert_eq!(again.free_minutes, 0);
}

#[tokio::test]
async fn a_quiet_client_past_the_grace_ends_the_session_where_both_were_last_there() {
    let c = ctx(|_| {}).await;
    let (client, p) = pair(&c, 10_000).await;
    let s = start(&c, client, &p).await;
    let started = s.started_at.unwrap();

    c.advance_secs(30);
    beat_both(&c, client, &p, s.id).await;
    c.advance_secs(40);
    beat_both(&c, client, &p, s.id).await;
    let last_together = c.now();
    // The client goes quiet at 70 s; the practitioner stays.
    for _ in 0..3 {
        c.advance_secs(20);
        engine::heartbeat(&c.app, p.user_id, s.id).await.unwrap();
    }
    // 130 s: still inside the 60 s grace, so the session runs on, billed to 70 s.
    let report = engine::tick(&c.app).await.unwrap();
    assert_eq!((report.minutes_charged, report.sessions_ended), (2, 0));

    c.advance_secs(1);
    // Away longer than the grace: a late heartbeat does not bring the client back.
    engine::heartbeat(&c.app, client, s.id).await.unwrap();
    engine::heartbeat(&c.app, p.user_id, s.id).await.unwrap();
    let report = engine::tick(&c.app).await.unwrap();
    assert_eq!((report.minutes_charged, report.sessions_ended), (0, 1));

    let ended = row(&c, s.id).await;
    assert_eq!(ended.status, "ended");
    assert_eq!(ended.end_reason.as_deref(), Some("client_disconnected"));
    assert_eq!(ended.ended_at, Some(last_together));
    assert_eq!(last_together - started, Duration::seconds(70));
    assert_eq!(ended.minutes_billed, 2);
    assert_eq!(c.available(client).await, 10_000 - 2 * RATE);
    assert_eq!(c.earnings(&p).await, 2 * 800);
    assert_eq!(c.presence(&p).await.active_sessions, 0);
    c.assert_balanced().await;
}

#[tokio::test]
async fn a_quiet_practitioner_past_the_grace_ends_the_session_unbilled_after_they_left() {
    let c = ctx(|cfg| cfg.live_grace_secs = 30).await;
    let (client, p) = pair(&c, 10_000).await;
    let s = start(&c, client, &p).await;

    // Together for exactly one minute: a whole minute, not two.
    for _ in 0..3 {
        c.advance_secs(20);
        beat_both(&c, client, &p, s.id).await;
    }
    for _ in 0..4 {
        c.advance_secs(10);
        engine::heartbeat(&c.app, client, s.id).await.unwrap();
    }
    // 40 s after the practitioner's last heartbeat, past a 30 s grace.
    let report = engine::tick(&c.app).await.unwrap();
    assert_eq!(report.sessions_ended, 1);
    assert_eq!(report.minutes_charged, 1);

    let ended = row(&c, s.id).await;
    assert_eq!(
        ended.end_reason.as_deref(),
        Some("practitioner_disconnected")
    );
    assert_eq!(ended.minutes_billed, 1);
    assert_eq!(
        ended.ended_at,
        Some(s.started_at.unwrap() + Duration::seconds(60))
    );
    assert_eq!(c.available(client).await, 10_000 - RATE);
    c.assert_balanced().await;
}

#[tokio::test]
async fn a_wallet_that_runs_out_ends_the_session_at_its_first_unpaid_minute() {
    let c = ctx(|_| {}).await;
    // Five minutes and a half.
    let (client, p) = pair(&c, 5 * RATE + 500).await;
    let s = start(&c, client, &p).await;
    let started = s.started_at.unwrap();

    let mut ticks = 0;
    let ended = loop {
        c.advance_secs(30);
        beat_both(&c, client, &p, s.id).await;
        engine::tick(&c.app).await.unwrap();
        ticks += 1;
        let now = row(&c, s.id).await;
        assert!(c.available(client).await >= 0);
        if now.status != "active" {
            break now;
        }
        assert!(ticks < 20, "the session never ended");
    };
    // Minute 6 became owed at 5 min 30 s (the first tick after 5 min): that tick ended it.
    assert_eq!(ticks, 11);
    assert_eq!(ended.end_reason.as_deref(), Some("insufficient_funds"));
    assert_eq!(ended.minutes_billed, 5);
    assert_eq!(ended.amount_charged, 5 * RATE);
    assert_eq!(ended.ended_at, Some(started + Duration::minutes(5)));
    assert_eq!(c.available(client).await, 500);
    assert_eq!(c.earnings(&p).await, 5 * 800);
    c.assert_balanced().await;
}

#[tokio::test]
async fn ending_again_or_ticking_later_bills_nothing_more_and_strangers_cannot_end() {
    let c = ctx(|_| {}).await;
    let (client, p) = pair(&c, 10_000).await;
    let s = start(&c, client, &p).await;
    c.advance_secs(45);
    beat_both(&c, client, &p, s.id).await;

    let stranger = c.user("client").await;
    let err = engine::end(&c.app, stranger, s.id).await.unwrap_err();
    assert_eq!(err.kind, Kind::NotFound);
    assert_eq!(row(&c, s.id).await.status, "active");

    let ended = engine::end(&c.app, client, s.id).await.unwrap();
    assert_eq!(ended.minutes_billed, 1);
    let after_end = c.available(client).await;
    assert_eq!(after_end, 10_000 - RATE);

    let err = engine::end(&c.app, client, s.id).await.unwrap_err();
    assert_eq!((err.kind, err.code), (Kind::Conflict, "invalid_state"));
    let err = engine::end(&c.app, p.user_id, s.id).await.unwrap_err();
    assert_eq!((err.kind, err.code), (Kind::Conflict, "invalid_state"));
    assert!(engine::heartbeat(&c.app, client, s.id).await.is_err());

    c.advance_secs(300);
    let report = engine::tick(&c.app).await.unwrap();
    assert_eq!((report.minutes_charged, report.sessions_ended), (0, 0));
    let still = row(&c, s.id).await;
    assert_eq!((still.minutes_billed, still.ended_at), (1, ended.ended_at));
    assert_eq!(c.available(client).await, after_end);
    assert_eq!(c.presence(&p).await.active_sessions, 0);
    c.assert_balanced().await;
}

#[tokio::test]
async fn a_wallet_short_of_the_minimum_is_refused_and_leaves_no_request_behind() {
    let c = ctx(|_| {}).await;
    // One unit short of `live_min_minutes` (5) paid minutes.
    let (client, p) = pair(&c, 5 * RATE - 1).await;
    let err = ask(&c, client, &p).await.unwrap_err();
    assert_eq!(
        (err.kind, err.code),
        (Kind::PaymentRequired, "insufficient_funds")
    );
    assert!(
        consultation_client_lock::Entity::find_by_id(client)
            .one(&c.app.db)
            .await
            .unwrap()
            .is_none()
    );

    c.fund(client, 1).await;
    assert_eq!(ask(&c, client, &p).await.unwrap().status, "requested");
}

#[tokio::test]
async fn a_practitioner_not_online_or_with_a_stale_heartbeat_is_offline() {
    let c = ctx(|_| {}).await;
    let client = c.user("client").await;
    c.fund(client, 10_000).await;

    let never = c.practitioner(RATE, None).await;
    let err = ask(&c, client, &never).await.unwrap_err();
    assert_eq!(
        (err.kind, err.code),
        (Kind::Conflict, "practitioner_offline")
    );

    // Online, but silent for longer than `presence_timeout_secs` (60).
    let stale = c.practitioner(RATE, None).await;
    c.online(&stale, 61).await;
    let err = ask(&c, client, &stale).await.unwrap_err();
    assert_eq!(
        (err.kind, err.code),
        (Kind::Conflict, "practitioner_offline")
    );

    let fresh = c.practitioner(RATE, None).await;
    c.online(&fresh, 59).await;
    assert!(ask(&c, client, &fresh).await.is_ok());
}

#[tokio::test]
async fn a_practitioner_cannot_consult_themselves() {
    let c = ctx(|_| {}).await;
    let p = c.practitioner(RATE, None).await;
    c.online(&p, 0).await;
    c.fund(p.user_id, 10_000).await;
    let err = ask(&c, p.user_id, &p).await.unwrap_err();
    assert_eq!(err.kind, Kind::Invalid);
    assert_eq!(err.fields.len(), 1);
    assert_eq!(err.fields[0].field, "practitioner_id");
    assert_eq!(err.fields[0].code, "self_consultation");
    assert_eq!(c.available(p.user_id).await, 10_000);
}

#[tokio::test]
async fn a_client_has_one_open_request_and_an_unanswered_one_is_missed() {
    let c = ctx(|_| {}).await;
    let (client, p) = pair(&c, 10_000).await;
    let other = c.practitioner(RATE, None).await;
    c.online(&other, 0).await;

    let req = ask(&c, client, &p).await.unwrap();
    let err = ask(&c, client, &other).await.unwrap_err();
    assert_eq!((err.kind, err.code), (Kind::Conflict, "consultation_open"));

    c.advance_secs(c.app.config.live_request_timeout_secs + 1);
    let err = engine::accept(&c.app, p.user_id, req.id).await.unwrap_err();
    assert_eq!(err.code, "request_expired");
    let report = engine::tick(&c.app).await.unwrap();
    assert_eq!(report.requests_missed, 1);
    assert_eq!(row(&c, req.id).await.status, "missed");
    assert_eq!(c.practitioner_row(&p).await.missed_requests, 1);
    assert_eq!(c.available(client).await, 10_000);

    // The lock went with the request. The same tick took both practitioners offline
    // (their heartbeats were as old as the request), so one comes back first.
    assert!(!c.presence(&other).await.online);
    c.online_again(&other).await;
    assert!(ask(&c, client, &other).await.is_ok());
}

#[tokio::test]
async fn only_the_asked_practitioner_takes_or_declines_a_request_and_nothing_is_charged() {
    let c = ctx(|_| {}).await;
    let (client, p) = pair(&c, 10_000).await;
    let other = c.practitioner(RATE, None).await;

    let req = ask(&c, client, &p).await.unwrap();
    let err = engine::accept(&c.app, other.user_id, req.id)
        .await
        .unwrap_err();
    assert_eq!(err.kind, Kind::NotFound);
    let err = engine::accept(&c.app, client, req.id).await.unwrap_err();
    assert_eq!(err.kind, Kind::NotFound);
    // The client cannot decline on the practitioner's behalf.
    let err = engine::refuse(&c.app, client, req.id, true)
        .await
        .unwrap_err();
    assert_eq!(err.kind, Kind::NotFound);

    let declined = engine::refuse(&c.app, p.user_id, req.id, true)
        .await
        .unwrap();
    assert_eq!(declined.status, "declined");
    let err = engine::accept(&c.app, p.user_id, req.id).await.unwrap_err();
    assert_eq!((err.kind, err.code), (Kind::Conflict, "invalid_state"));

    // The declined request freed the client to ask again, and to withdraw that one.
    let again = ask(&c, client, &p).await.unwrap();
    let withdrawn = engine::refuse(&c.app, client, again.id, false)
        .await
        .unwrap();
    assert_eq!(withdrawn.status, "cancelled");
    assert_eq!(c.available(client).await, 10_000);
    assert_eq!(c.presence(&p).await.active_sessions, 0);
    c.assert_balanced().await;
}
