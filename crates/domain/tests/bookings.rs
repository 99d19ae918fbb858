//! The bookings state machine over in-memory SQLite on a manual clock: the hold a request
//! places, who may move a booking along, and where its money goes when it closes.

mod common;

use augur_domain as domain;
use chrono::Duration;
use common::{Ctx, Practitioner, ctx};
use domain::config::Config;
use domain::error::{Kind, Result};
use domain::ledger::AccountKind;
use domain::scheduling::bookings::{self, NewBooking};
use sea_orm::EntityTrait;
use store::entity::{booking, ledger_hold};
use uuid::Uuid;

const PRICE: i64 = 10_000;

struct Setup {
    c: Ctx,
    client: Uuid,
    p: Practitioner,
    service: Uuid,
}

/// A client funded for two bookings, and a practitioner open around the clock offering a
/// one-hour `channel` service at `PRICE` (20 % commission by default).
async fn setup(channel: &str, tweak: impl FnOnce(&mut Config)) -> Setup {
    let c = ctx(tweak).await;
    let client = c.user("client").await;
    c.fund(client, 2 * PRICE).await;
    let p = c.practitioner(1_000, None).await;
    c.open_all_week(&p).await;
    let service = c.service(&p, channel, PRICE).await;
    Setup {
        c,
        client,
        p,
        service,
    }
}

impl Setup {
    async fn book_as(&self, client: Uuid, hours_ahead: i64) -> Result<booking::Model> {
        let app = &self.c.app;
        let now = self.c.now();
        let key = Uuid::now_v7().to_string();
        store::in_write_txn(&app.db, async |txn| {
            bookings::book(
                app,
                txn,
                NewBooking {
                    client,
                    service_id: self.service,
                    starts_at: now + Duration::hours(hours_ahead),
                    time_zone: chrono_tz::UTC,
                    promo_code: None,
                    notes: String::new(),
                    key: &key,
                },
                now,
            )
            .await
        })
        .await
    }

    async fn book(&self, hours_ahead: i64) -> booking::Model {
        self.book_as(self.client, hours_ahead).await.unwrap()
    }

    async fn confirmed(&self, hours_ahead: i64) -> booking::Model {
        let b = self.book(hours_ahead).await;
        bookings::confirm(&self.c.app, self.p.user_id, b.id)
            .await
            .unwrap()
    }

    async fn cancel(&self, user: Uuid, id: Uuid) -> Result<booking::Model> {
        let app = &self.c.app;
        store::in_write_txn(&app.db, async |txn| {
            bookings::cancel(app, txn, user, id, None).await
        })
        .await
    }

    async fn decline(&self, user: Uuid, id: Uuid) -> Result<booking::Model> {
        let app = &self.c.app;
        store::in_write_txn(&app.db, async |txn| {
            bookings::decline(app, txn, user, id, Some("away".to_owned())).await
        })
        .await
    }

    async fn complete(&self, user: Uuid, id: Uuid) -> Result<booking::Model> {
        let app = &self.c.app;
        store::in_write_txn(&app.db, async |txn| {
            bookings::complete(app, txn, user, id).await
        })
        .await
    }

    async fn row(&self, id: Uuid) -> booking::Model {
        booking::Entity::find_by_id(id)
            .one(&self.c.app.db)
            .await
            .unwrap()
            .unwrap()
    }

    async fn hold_status(&self, b: &booking::Model) -> String {
        ledger_hold::Entity::find_by_id(b.hold_id.expect("a paid booking holds money"))
            .one(&self.c.app.db)
            .await
            .unwrap()
            .unwrap()
            .status
    }

    /// Nothing is held any more, and the practitioner and platform got `earned` and
    /// `commission`.
    async fn settled(&self, available: i64, earned: i64, commission: i64) {
        assert_eq!(self.c.wallet(self.client).await, (available, 0));
        assert_eq!(self.c.earnings(&self.p).await, earned);
        assert_eq!(
            self.c.platform(AccountKind::PlatformRevenue).await,
            commission
        );
        self.c.assert_balanced().await;
    }
}

#[track_caller]
fn refused<T: std::fmt::Debug>(r: Result<T>, kind: Kind, code: &str) {
    let e = r.unwrap_err();
    assert_eq!((e.kind, e.code), (kind, code), "{e}");
}

#[tokio::test]
async fn a_request_holds_the_price_and_only_its_practitioner_confirms_it_once() {
    let s = setup("video", |_| {}).await;
    let b = s.book(48).await;
    assert_eq!((b.status.as_str(), b.amount), ("requested", PRICE));
    assert_eq!(s.c.wallet(s.client).await, (PRICE, PRICE));
    assert_eq!(s.hold_status(&b).await, "active");
    s.c.assert_balanced().await;

    let app = &s.c.app;
    refused(
        bookings::confirm(app, s.client, b.id).await,
        Kind::Forbidden,
        "not_the_practitioner",
    );
    let stranger = s.c.user("practitioner").await;
    refused(
        bookings::confirm(app, stranger, b.id).await,
        Kind::NotFound,
        "not_found",
    );
    assert_eq!(s.row(b.id).await.status, "requested");

    let ok = bookings::confirm(app, s.p.user_id, b.id).await.unwrap();
    assert_eq!(ok.status, "confirmed");
    assert_eq!(ok.confirmed_at, Some(s.c.now()));
    refused(
        bookings::confirm(app, s.p.user_id, b.id).await,
        Kind::Conflict,
        "invalid_state",
    );
    // Confirming moves no money: the hold stands until the appointment closes.
    assert_eq!(s.c.wallet(s.client).await, (PRICE, PRICE));
    assert_eq!(s.c.earnings(&s.p).await, 0);
    // An online appointment is not marked held by hand.
    s.c.advance_secs(50 * 3600);
    refused(
        s.complete(s.p.user_id, b.id).await,
        Kind::Conflict,
        "online_booking",
    );
}

#[tokio::test]
async fn declining_releases_the_whole_hold() {
    let s = setup("video", |_| {}).await;
    let b = s.book(48).await;
    refused(
        s.decline(s.client, b.id).await,
        Kind::Forbidden,
        "not_the_practitioner",
    );
    let d = s.decline(s.p.user_id, b.id).await.unwrap();
    assert_eq!(d.status, "declined");
    assert_eq!((d.refunded, d.captured), (PRICE, 0));
    assert_eq!(d.cancel_reason.as_deref(), Some("away"));
    assert_ne!(s.hold_status(&b).await, "active");
    s.settled(2 * PRICE, 0, 0).await;

    refused(
        s.decline(s.p.user_id, b.id).await,
        Kind::Conflict,
        "invalid_state",
    );
    refused(
        bookings::confirm(&s.c.app, s.p.user_id, b.id).await,
        Kind::Conflict,
        "invalid_state",
    );
    s.settled(2 * PRICE, 0, 0).await;
}

#[tokio::test]
async fn a_client_cancelling_before_the_full_refund_window_gets_everything_back() {
    let s = setup("video", |_| {}).await;
    let b = s.confirmed(48).await;
    // 24 h before the start is still inside the full refund (`booking_full_refund_hours`).
    s.c.advance_secs(24 * 3600);
    let x = s.cancel(s.client, b.id).await.unwrap();
    assert_eq!(x.status, "cancelled");
    assert_eq!(x.cancelled_by.as_deref(), Some("client"));
    assert_eq!((x.refunded, x.captured), (PRICE, 0));
    s.settled(2 * PRICE, 0, 0).await;
}

#[tokio::test]
async fn a_late_client_cancellation_keeps_what_the_late_refund_does_not_return() {
    // A quarter back, not the default half: the share follows the configuration.
    let s = setup("video", |cfg| cfg.booking_late_refund_bps = 2_500).await;
    let b = s.confirmed(48).await;
    s.c.advance_secs(36 * 3600);
    let x = s.cancel(s.client, b.id).await.unwrap();
    assert_eq!((x.refunded, x.captured), (2_500, 7_500));
    assert_ne!(s.hold_status(&b).await, "active");
    // Of the 7,500 kept, the practitioner earns 80 % and the platform 20 %.
    s.settled(PRICE + 2_500, 6_000, 1_500).await;

    refused(
        s.cancel(s.client, b.id).await,
        Kind::Conflict,
        "invalid_state",
    );
    s.settled(PRICE + 2_500, 6_000, 1_500).await;
}

#[tokio::test]
async fn late_cancellations_by_the_practitioner_or_of_unconfirmed_requests_refund_in_full() {
    let s = setup("video", |_| {}).await;
    let confirmed = s.confirmed(48).await;
    let requested = s.book(50).await;
    assert_eq!(s.c.wallet(s.client).await, (0, 2 * PRICE));

    s.c.advance_secs(36 * 3600);
    let stranger = s.c.user("client").await;
    refused(
        s.cancel(stranger, confirmed.id).await,
        Kind::NotFound,
        "not_found",
    );
    let by_practitioner = s.cancel(s.p.user_id, confirmed.id).await.unwrap();
    assert_eq!(
        by_practitioner.cancelled_by.as_deref(),
        Some("practitioner")
    );
    assert_eq!(by_practitioner.refunded, PRICE);
    let withdrawn = s.cancel(s.client, requested.id).await.unwrap();
    assert_eq!(withdrawn.refunded, PRICE);
    s.settled(2 * PRICE, 0, 0).await;
}

#[tokio::test]
async fn a_started_appointment_cannot_be_cancelled() {
    let s = setup("video", |_| {}).await;
    let b = s.confirmed(2).await;
    s.c.advance_secs(2 * 3600);
    refused(
        s.cancel(s.client, b.id).await,
        Kind::Conflict,
        "already_started",
    );
    assert_eq!(s.c.wallet(s.client).await, (PRICE, PRICE));
}

#[tokio::test]
async fn completing_an_in_person_appointment_pays_the_practitioner_less_commission() {
    let s = setup("in_person", |_| {}).await;
    let b = s.confirmed(2).await;
    // Not at the start: only once it has ended.
    s.c.advance_secs(2 * 3600);
    refused(
        s.complete(s.p.user_id, b.id).await,
        Kind::Conflict,
        "not_ended",
    );
    s.c.advance_secs(3600);
    refused(
        s.complete(s.client, b.id).await,
        Kind::Forbidden,
        "not_the_practitioner",
    );
    assert_eq!(s.c.wallet(s.client).await, (PRICE, PRICE));

    let done = s.complete(s.p.user_id, b.id).await.unwrap();
    assert_eq!(done.status, "completed");
    assert_eq!((done.captured, done.refunded), (PRICE, 0));
    assert_ne!(s.hold_status(&b).await, "active");
    s.settled(PRICE, 8_000, 2_000).await;

    refused(
        s.complete(s.p.user_id, b.id).await,
        Kind::Conflict,
        "invalid_state",
    );
    refused(
        s.cancel(s.client, b.id).await,
        Kind::Conflict,
        "invalid_state",
    );
    s.settled(PRICE, 8_000, 2_000).await;
}

#[tokio::test]
async fn the_sweep_expires_an_unanswered_request_and_releases_its_hold() {
    let s = setup("video", |_| {}).await;
    let b = s.book(48).await;
    assert_eq!(b.respond_by, s.c.now() + Duration::hours(24));

    s.c.advance_secs(24 * 3600 - 1);
    assert_eq!(bookings::sweep(&s.c.app).await.unwrap().expired, 0);
    assert_eq!(s.c.wallet(s.client).await, (PRICE, PRICE));

    s.c.advance_secs(1);
    assert_eq!(bookings::sweep(&s.c.app).await.unwrap().expired, 1);
    let x = s.row(b.id).await;
    assert_eq!(x.status, "expired");
    assert_eq!(x.cancelled_by.as_deref(), Some("system"));
    assert_eq!(x.refunded, PRICE);
    s.settled(2 * PRICE, 0, 0).await;

    refused(
        bookings::confirm(&s.c.app, s.p.user_id, b.id).await,
        Kind::Conflict,
        "invalid_state",
    );
    assert_eq!(bookings::sweep(&s.c.app).await.unwrap().expired, 0);
    s.settled(2 * PRICE, 0, 0).await;
}

#[tokio::test]
async fn the_sweep_completes_an_in_person_appointment_a_day_after_it_ends() {
    let s = setup("in_person", |_| {}).await;
    let b = s.confirmed(2).await;
    // Ends at 3 h; `booking_auto_complete_hours` (24) after that it completes.
    s.c.advance_secs((3 + 24) * 3600 - 1);
    assert_eq!(bookings::sweep(&s.c.app).await.unwrap().completed, 0);
    assert_eq!(s.c.wallet(s.client).await, (PRICE, PRICE));

    s.c.advance_secs(1);
    assert_eq!(bookings::sweep(&s.c.app).await.unwrap().completed, 1);
    assert_eq!(s.row(b.id).await.status, "completed");
    s.settled(PRICE, 8_000, 2_000).await;
    assert_eq!(bookings::sweep(&s.c.app).await.unwrap().completed, 0);
    s.settled(PRICE, 8_000, 2_000).await;
}

#[tokio::test]
async fn the_sweep_refunds_a_practitioner_who_never_joined() {
    let s = setup("video", |_| {}).await;
    let b = s.confirmed(2).await;
    // The client turned up; the practitioner did not.
    s.c.advance_secs(2 * 3600);
    bookings::join(&s.c.app, s.client, b.id).await.unwrap();
    s.c.advance_secs(15 * 60 - 1);
    assert_eq!(bookings::sweep(&s.c.app).await.unwrap().no_shows, 0);

    s.c.advance_secs(1);
    assert_eq!(bookings::sweep(&s.c.app).await.unwrap().no_shows, 1);
    let x = s.row(b.id).await;
    assert_eq!(x.status, "practitioner_no_show");
    assert_eq!(x.refunded, PRICE);
    assert_eq!(s.c.practitioner_row(&s.p).await.no_show_count, 1);
    s.settled(2 * PRICE, 0, 0).await;
}

#[tokio::test]
async fn the_sweep_pays_the_practitioner_in_full_when_the_client_never_joined() {
    let s = setup("video", |_| {}).await;
    let b = s.confirmed(2).await;
    // Joining opens ten minutes early (`booking_join_early_minutes`).
    s.c.advance_secs(2 * 3600 - 10 * 60);
    bookings::join(&s.c.app, s.p.user_id, b.id).await.unwrap();
    s.c.advance_secs(25 * 60);
    assert_eq!(bookings::sweep(&s.c.app).await.unwrap().no_shows, 1);
    let x = s.row(b.id).await;
    assert_eq!(x.status, "client_no_show");
    assert_eq!((x.captured, x.refunded), (PRICE, 0));
    assert_eq!(s.c.practitioner_row(&s.p).await.no_show_count, 0);
    s.settled(PRICE, 8_000, 2_000).await;
}

#[tokio::test]
async fn a_booking_is_refused_for_its_own_practitioner_a_short_wallet_or_a_taken_slot() {
    let s = setup("video", |_| {}).await;

    s.c.fund(s.p.user_id, 2 * PRICE).await;
    refused(
        s.book_as(s.p.user_id, 48).await,
        Kind::Forbidden,
        "own_service",
    );

    let poor = s.c.user("client").await;
    s.c.fund(poor, PRICE - 1).await;
    refused(
        s.book_as(poor, 48).await,
        Kind::PaymentRequired,
        "insufficient_funds",
    );
    // The refused booking left no row and no hold behind.
    assert_eq!(s.c.wallet(poor).await, (PRICE - 1, 0));

    s.book(48).await;
    let rival = s.c.user("client").await;
    s.c.fund(rival, PRICE).await;
    refused(
        s.book_as(rival, 48).await,
        Kind::Conflict,
        "slot_unavailable",
    );
    // The next hour is free.
    assert!(s.book_as(rival, 49).await.is_ok());
    assert_eq!(s.c.wallet(rival).await, (0, PRICE));
    assert_eq!(
        booking::Entity::find()
            .all(&s.c.app.db)
            .await
            .unwrap()
            .len(),
        2
    );
    s.c.assert_balanced().await;
}
