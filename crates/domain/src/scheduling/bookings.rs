//! The booking state machine and its money. A request holds the quoted price on the
//! client's wallet; the practitioner confirms or declines (silence declines when the
//! request times out); either side may cancel before the start under the cancellation
//! policy; a client may move it within the policy. Online appointments open a prepaid
//! consultation once both sides have joined; whoever has not joined by the no-show grace is
//! a no-show. Closing a booking captures what the practitioner keeps and releases the rest,
//! in the transaction that changes its status, with keys derived from the booking so that
//! nothing is moved twice.
//!
//! Bookings of one practitioner are serialised by a row lock on their schedule (see the
//! `Scheduling` migration), so two clients racing for a slot cannot both get it.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::policy::{self, CancellationPolicy, Party};
use super::slots;
use super::{BookingStatus, OPEN, ServiceChannel};
use crate::Services;
use crate::error::{Error, Result};
use crate::ledger::holds::{self, HoldRequest};
use crate::ledger::{
    self, AccountKind, AccountRef, Currency, TransferRequest, stored_bps, stored_currency,
};
use crate::live::events::Outbox;
use crate::notifications::format_money;
use store::WriteTxn;
use store::entity::{booking, consultation, practitioner, practitioner_schedule, service};
use store::status::{ConsultationStatus, HoldStatus};

pub fn not_found() -> Error {
    Error::not_found("Booking")
}

fn wrong_state(b: &booking::Model, wanted: &str) -> Error {
    Error::conflict(
        "invalid_state",
        format!("The booking is {}, not {wanted}", b.status),
    )
}

/// The booking, locked for the rest of the transaction on PostgreSQL (SQLite's write
/// transaction already excludes every other writer).
async fn locked(txn: &WriteTxn, id: Uuid) -> Result<Option<booking::Model>> {
    let mut q = booking::Entity::find_by_id(id);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    Ok(q.one(txn).await?)
}

/// Takes the practitioner's booking lock (see the module doc); false when they keep no hours.
async fn lock_schedule(txn: &WriteTxn, practitioner_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    use sea_orm::sea_query::ExprTrait;
    let res = practitioner_schedule::Entity::update_many()
        .col_expr(
            practitioner_schedule::Column::Version,
            Expr::col(practitioner_schedule::Column::Version).add(1),
        )
        .col_expr(practitioner_schedule::Column::UpdatedAt, Expr::value(now))
        .filter(practitioner_schedule::Column::PractitionerId.eq(practitioner_id))
        .exec(txn)
        .await?;
    Ok(res.rows_affected == 1)
}

fn policy_of(app: &Services) -> CancellationPolicy {
    CancellationPolicy {
        full_refund_hours: app.config.booking_full_refund_hours,
        late_refund_bps: app.config.booking_late_refund_bps,
    }
}

/// What came back to the client, for messages; absent when nothing did.
fn refund_of(b: &booking::Model) -> serde_json::Value {
    if b.refunded > 0 {
        json!(format_money(b.refunded, &b.currency))
    } else {
        serde_json::Value::Null
    }
}

/// Local time of `t` in `zone`, as people read it.
pub fn local_text(t: DateTime<Utc>, zone: &str) -> String {
    let tz: Tz = zone.parse().unwrap_or(Tz::UTC);
    t.with_timezone(&tz)
        .format("%a %d %b %Y %H:%M %Z")
        .to_string()
}

/// Tells `to` (the client or the practitioner) about the booking, inside the transaction.
async fn tell<C: ConnectionTrait>(
    conn: &C,
    b: &booking::Model,
    to: Uuid,
    event: &str,
    extra: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let service_name = service::Entity::find_by_id(b.service_id)
        .one(conn)
        .await?
        .map(|s| s.name)
        .unwrap_or_default();
    let practitioner = practitioner::Entity::find_by_id(b.practitioner_id)
        .one(conn)
        .await?;
    let client = store::entity::user::Entity::find_by_id(b.client_id)
        .one(conn)
        .await?;
    // The practitioner reads times in their own zone, the client in the zone they booked in.
    let zone = if to == b.client_id {
        b.time_zone.clone()
    } else {
        practitioner_schedule::Entity::find_by_id(b.practitioner_id)
            .one(conn)
            .await?
            .map(|s| s.time_zone)
            .unwrap_or_else(|| "UTC".to_owned())
    };
    let mut data = json!({
        "booking_id": b.id,
        "reference": b.reference,
        "service": service_name,
        "practitioner_name": practitioner.map(|p| p.display_name).unwrap_or_default(),
        "client_name": client.map(|u| format!("{} {}", u.first_name, u.last_name).trim().to_owned()).unwrap_or_default(),
        "starts_at": b.starts_at,
        "starts_at_local": local_text(b.starts_at, &zone),
        "time_zone": zone,
        "channel": b.channel,
        "amount": format_money(b.amount, &b.currency),
    });
    if let (Some(obj), Some(more)) = (data.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    crate::notifications::notify(conn, now, to, event, data).await
}

/// Tells the client and the practitioner the same thing.
async fn tell_both<C: ConnectionTrait>(
    conn: &C,
    b: &booking::Model,
    event: &str,
    extra: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    tell(conn, b, b.client_id, event, extra.clone(), now).await?;
    tell(conn, b, b.practitioner_user_id, event, extra, now).await
}

pub struct NewBooking<'a> {
    pub client: Uuid,
    pub service_id: Uuid,
    pub starts_at: DateTime<Utc>,
    /// The booker's zone, for messages.
    pub time_zone: Tz,
    pub promo_code: Option<&'a str>,
    pub notes: String,
    /// From the request's Idempotency-Key: the hold's key derives from it.
    pub key: &'a str,
}

/// A service that can be booked now, and its practitioner.
pub async fn bookable_service<C: ConnectionTrait>(
    conn: &C,
    service_id: Uuid,
) -> Result<(service::Model, practitioner::Model)> {
    let s = service::Entity::find_by_id(service_id)
        .one(conn)
        .await?
        .filter(|s| s.active)
        .ok_or_else(|| Error::not_found("Service"))?;
    let p = practitioner::Entity::find_by_id(s.practitioner_id)
        .one(conn)
        .await?
        .filter(|p| p.verification_status == "approved")
        .ok_or_else(|| Error::not_found("Service"))?;
    Ok((s, p))
}

/// Whether `start` is a free slot of `s` right now (the caller holds the schedule lock).
async fn check_slot(
    txn: &WriteTxn,
    s: &service::Model,
    start: DateTime<Utc>,
    except: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<()> {
    let unavailable = || {
        Error::conflict(
            "slot_unavailable",
            "That time is not free any more; pick another slot",
        )
    };
    let Some(schedule) = super::schedule_of(txn, s.practitioner_id).await? else {
        return Err(unavailable());
    };
    let end = start + Duration::minutes(i64::from(s.duration_minutes));
    let busy = super::busy_near(txn, s.practitioner_id, start, end, except, now).await?;
    let counted = super::counted_near(txn, s.id, start, end, except).await?;
    if !slots::is_bookable(&schedule, &super::rules_of(s), &busy, &counted, now, start) {
        return Err(unavailable());
    }
    Ok(())
}

/// The client must not be in two appointments at once.
async fn check_client_free(
    txn: &WriteTxn,
    client: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    except: Option<Uuid>,
) -> Result<()> {
    let mut q = booking::Entity::find()
        .filter(booking::Column::ClientId.eq(client))
        .filter(booking::Column::Status.is_in(OPEN))
        .filter(booking::Column::StartsAt.lt(end))
        .filter(booking::Column::EndsAt.gt(start));
    if let Some(id) = except {
        q = q.filter(booking::Column::Id.ne(id));
    }
    if q.one(txn).await?.is_some() {
        return Err(Error::conflict(
            "client_busy",
            "You already have an appointment at that time",
        ));
    }
    Ok(())
}

/// Reminder offsets that make no sense for an appointment this close (a "tomorrow"
/// reminder for a booking made an hour ahead): recorded as sent from the start.
fn reminders_already_past(app: &Services, starts_at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let lead = (starts_at - now).num_minutes();
    app.config
        .booking_reminder_minutes
        .iter()
        .filter(|m| **m >= lead)
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Books a slot: quote, promo, hold, booking row and the practitioner's notification, in
/// one transaction.
pub async fn book(
    app: &Services,
    txn: &WriteTxn,
    nb: NewBooking<'_>,
    now: DateTime<Utc>,
) -> Result<booking::Model> {
    let (s, p) = bookable_service(txn, nb.service_id).await?;
    if p.user_id == nb.client {
        return Err(Error::forbidden(
            "own_service",
            "Practitioners cannot book their own services",
        ));
    }
    if ServiceChannel::parse(&s.channel).is_none() {
        return Err(Error::not_found("Service"));
    }
    if !lock_schedule(txn, p.id, now).await? {
        return Err(Error::conflict(
            "slot_unavailable",
            "This practitioner has no bookable hours",
        ));
    }
    check_slot(txn, &s, nb.starts_at, None, now).await?;
    let ends_at = nb.starts_at + Duration::minutes(i64::from(s.duration_minutes));
    check_client_free(txn, nb.client, nb.starts_at, ends_at, None).await?;

    let id = Uuid::now_v7();
    let reference = crate::payments::human_reference("BK");
    let quote = crate::promos::quote(
        txn,
        nb.client,
        nb.promo_code,
        s.price_minor,
        &s.currency,
        crate::promos::rules::Context::Appointment,
        now,
    )
    .await?;
    if let Some(r) = quote.refusal {
        return Err(crate::promos::refused(r));
    }
    let mut discount = 0;
    if let Some(promo_id) = quote.promo_id {
        match crate::promos::redeem(
            txn,
            &crate::promos::Redemption {
                promo_id,
                user: nb.client,
                context: crate::promos::rules::Context::Appointment,
                reference: &format!("booking:{id}"),
                price: s.price_minor,
                currency: &s.currency,
            },
            now,
        )
        .await?
        {
            Ok(d) => discount = d,
            Err(r) => return Err(crate::promos::refused(r)),
        }
    }
    let amount = s.price_minor - discount;
    let currency = Currency::parse(&s.currency).map_err(|_| Error::not_found("Service"))?;
    let auto_complete = Duration::hours(app.config.booking_auto_complete_hours.max(1));
    let hold_id = if amount > 0 {
        let hold = holds::place(
            txn,
            HoldRequest {
                user: nb.client,
                currency,
                amount,
                reference: &format!("booking:{reference}"),
                key: &format!("booking:{}:{}", nb.client, nb.key),
                // Bookings always settle before this; the margin only matters if the
                // server is gone for days.
                expires_at: ends_at + auto_complete + Duration::days(7),
            },
            now,
        )
        .await?;
        Some(hold.id)
    } else {
        None
    };
    let commission = crate::payouts::commission_for(app.config.commission_bps, p.commission_bps);
    let respond_by = (now + Duration::seconds(app.config.booking_confirm_timeout_secs.max(60)))
        .min(nb.starts_at);
    let row = booking::ActiveModel {
        id: Set(id),
        reference: Set(reference),
        service_id: Set(s.id),
        practitioner_id: Set(p.id),
        practitioner_user_id: Set(p.user_id),
        client_id: Set(nb.client),
        channel: Set(s.channel.clone()),
        status: Set(BookingStatus::Requested.as_str().to_owned()),
        starts_at: Set(nb.starts_at),
        ends_at: Set(ends_at),
        block_start: Set(nb.starts_at - Duration::minutes(i64::from(s.buffer_before_minutes))),
        block_end: Set(ends_at + Duration::minutes(i64::from(s.buffer_after_minutes))),
        time_zone: Set(nb.time_zone.name().to_owned()),
        price: Set(s.price_minor),
        discount: Set(discount),
        amount: Set(amount),
        currency: Set(s.currency.clone()),
        commission_bps: Set(i32::from(commission.get())),
        promo_code: Set(quote.applied.then(|| quote.code.clone()).flatten()),
        promo_id: Set(quote.promo_id),
        hold_id: Set(hold_id),
        client_notes: Set(nb.notes),
        respond_by: Set(respond_by),
        reschedule_count: Set(0),
        proposed_starts_at: Set(None),
        cancelled_by: Set(None),
        cancel_reason: Set(None),
        refunded: Set(0),
        captured: Set(0),
        client_joined_at: Set(None),
        practitioner_joined_at: Set(None),
        consultation_id: Set(None),
        reminders_sent: Set(reminders_already_past(app, nb.starts_at, now)),
        confirmed_at: Set(None),
        closed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    tell(
        txn,
        &row,
        row.practitioner_user_id,
        "booking.requested",
        json!({}),
        now,
    )
    .await?;
    Ok(row)
}

/// Moves the booking's money for an outcome where the practitioner keeps `kept_bps` of it,
/// and writes the final status. Every leg's key is derived from the booking, so a second
/// attempt moves nothing.
async fn close(
    txn: &WriteTxn,
    b: booking::Model,
    status: BookingStatus,
    kept_bps: u16,
    now: DateTime<Utc>,
) -> Result<booking::Model> {
    let currency = stored_currency(&b.currency)?;
    let commission = stored_bps(b.commission_bps)?;
    let s = policy::settle(b.price, b.amount, commission, kept_bps);
    let earnings = AccountRef::earnings(b.practitioner_id, currency);
    if let Some(hold_id) = b.hold_id {
        let parts = [
            (earnings.clone(), s.client_to_practitioner),
            (
                AccountRef::platform(AccountKind::PlatformRevenue, currency),
                s.client_to_platform,
            ),
        ];
        if s.client_to_practitioner + s.client_to_platform > 0 {
            holds::capture(
                txn,
                hold_id,
                &parts,
                "booking",
                &format!("booking:{}:capture", b.id),
                now,
            )
            .await?;
        }
        holds::release(txn, hold_id, HoldStatus::Released.as_str(), now).await?;
    }
    if s.promotions_to_practitioner > 0 {
        ledger::transfer(
            txn,
            TransferRequest {
                debit: AccountRef::platform(AccountKind::PromotionsExpense, currency),
                credit: earnings,
                amount: s.promotions_to_practitioner,
                kind: "booking".to_owned(),
                reference: format!("booking:{}", b.reference),
                idempotency_key: format!("booking:{}:promotion", b.id),
                hold_id: None,
                description: format!("Booking {} (platform-funded discount)", b.reference),
            },
            now,
        )
        .await?;
    }
    let mut m: booking::ActiveModel = b.into();
    m.status = Set(status.as_str().to_owned());
    m.captured = Set(s.client_to_practitioner + s.client_to_platform);
    m.refunded = Set(s.refund);
    m.closed_at = Set(Some(now));
    m.updated_at = Set(now);
    Ok(m.update(txn).await?)
}

fn party_of(b: &booking::Model, user: Uuid) -> Option<Party> {
    if user == b.client_id {
        Some(Party::Client)
    } else if user == b.practitioner_user_id {
        Some(Party::Practitioner)
    } else {
        None
    }
}

async fn load_for(txn: &WriteTxn, id: Uuid, user: Uuid) -> Result<(booking::Model, Party)> {
    let b = locked(txn, id).await?.ok_or_else(not_found)?;
    let party = party_of(&b, user).ok_or_else(not_found)?;
    Ok((b, party))
}

fn practitioner_only(party: Party) -> Result<()> {
    if party == Party::Practitioner {
        Ok(())
    } else {
        Err(Error::forbidden(
            "not_the_practitioner",
            "Only the practitioner of this booking can do that",
        ))
    }
}

pub async fn confirm(app: &Services, user: Uuid, id: Uuid) -> Result<booking::Model> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let (b, party) = load_for(&txn, id, user).await?;
    practitioner_only(party)?;
    if b.status != BookingStatus::Requested.as_str() {
        return Err(wrong_state(&b, BookingStatus::Requested.as_str()));
    }
    if b.respond_by <= now {
        return Err(Error::conflict(
            "request_expired",
            "The request was not answered in time",
        ));
    }
    let mut m: booking::ActiveModel = b.into();
    m.status = Set(BookingStatus::Confirmed.as_str().to_owned());
    m.confirmed_at = Set(Some(now));
    m.updated_at = Set(now);
    let b = m.update(&txn).await?;
    tell(&txn, &b, b.client_id, "booking.confirmed", json!({}), now).await?;
    txn.commit().await?;
    Ok(b)
}

pub async fn decline(
    app: &Services,
    txn: &WriteTxn,
    user: Uuid,
    id: Uuid,
    reason: Option<String>,
) -> Result<booking::Model> {
    let now = app.clock.now();
    let (b, party) = load_for(txn, id, user).await?;
    practitioner_only(party)?;
    if b.status != BookingStatus::Requested.as_str() {
        return Err(wrong_state(&b, BookingStatus::Requested.as_str()));
    }
    let mut b = close(txn, b, BookingStatus::Declined, 0, now).await?;
    if reason.is_some() {
        let mut m: booking::ActiveModel = b.into();
        m.cancel_reason = Set(reason.clone());
        b = m.update(txn).await?;
    }
    let refund = refund_of(&b);
    tell(
        txn,
        &b,
        b.client_id,
        "booking.declined",
        json!({"refund": refund, "reason": reason}),
        now,
    )
    .await?;
    Ok(b)
}

/// Cancels before the start under the policy; tells the other side, and the client what
/// came back.
pub async fn cancel(
    app: &Services,
    txn: &WriteTxn,
    user: Uuid,
    id: Uuid,
    reason: Option<String>,
) -> Result<booking::Model> {
    let now = app.clock.now();
    let (b, party) = load_for(txn, id, user).await?;
    if !OPEN.contains(&b.status.as_str()) {
        return Err(wrong_state(&b, "requested or confirmed"));
    }
    if now >= b.starts_at {
        return Err(Error::conflict(
            "already_started",
            "The appointment has started; report a no-show instead",
        ));
    }
    let confirmed = b.status == BookingStatus::Confirmed.as_str();
    let kept = policy::kept_on_cancel(policy_of(app), party, confirmed, b.starts_at, now);
    let b = close(txn, b, BookingStatus::Cancelled, kept, now).await?;
    let mut m: booking::ActiveModel = b.into();
    m.cancelled_by = Set(Some(
        match party {
            Party::Client => "client",
            Party::Practitioner => "practitioner",
            Party::System => "system",
        }
        .to_owned(),
    ));
    m.cancel_reason = Set(reason.clone());
    let b = m.update(txn).await?;
    let extra = json!({
        "refund": refund_of(&b),
        "reason": reason,
        "cancelled_by": b.cancelled_by,
    });
    tell_both(txn, &b, "booking.cancelled", extra, now).await?;
    Ok(b)
}

/// Moves a booking to another free slot of the same service, or, when the practitioner
/// asks, proposes the move to the client. Either side may move a booking until
/// `booking_reschedule_min_hours` before its start, `booking_max_reschedules` times; a
/// proposal's new start is at least that far away too. A client's move takes effect at once; a practitioner's
/// waits for the client to accept it (declining refunds the client in full), because a
/// practitioner who could move a booking alone could move it to minutes from now and then
/// collect a client no-show. The hold stays as it is.
pub async fn reschedule(
    app: &Services,
    user: Uuid,
    id: Uuid,
    new_start: DateTime<Utc>,
) -> Result<booking::Model> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let (b, party) = load_for(&txn, id, user).await?;
    if !OPEN.contains(&b.status.as_str()) {
        return Err(wrong_state(&b, "requested or confirmed"));
    }
    let notice = Duration::hours(app.config.booking_reschedule_min_hours);
    if b.starts_at - now < notice {
        return Err(Error::conflict(
            "reschedule_window_closed",
            format!(
                "Bookings can be moved until {} hours before they start",
                app.config.booking_reschedule_min_hours
            ),
        ));
    }
    // A proposal cannot be for minutes from now: a client who accepts without reading
    // closely would then be a no-show by design. A client moving their own booking may pick
    // any free slot.
    if party != Party::Client && new_start - now < notice {
        return Err(Error::field(
            "start",
            "reschedule_too_soon",
            format!(
                "A booking can be moved to a start at least {} hours away",
                app.config.booking_reschedule_min_hours
            ),
        ));
    }
    if b.reschedule_count >= app.config.booking_max_reschedules {
        return Err(Error::conflict(
            "reschedule_limit",
            "This booking cannot be moved again",
        ));
    }
    let s = service::Entity::find_by_id(b.service_id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("Service"))?;
    lock_schedule(&txn, b.practitioner_id, now).await?;
    check_slot(&txn, &s, new_start, Some(b.id), now).await?;
    let ends_at = new_start + Duration::minutes(i64::from(s.duration_minutes));
    check_client_free(&txn, b.client_id, new_start, ends_at, Some(b.id)).await?;
    if party != Party::Client {
        let proposed = local_text(new_start, &b.time_zone);
        let mut m: booking::ActiveModel = b.into();
        m.proposed_starts_at = Set(Some(new_start));
        m.updated_at = Set(now);
        let b = m.update(&txn).await?;
        tell(
            &txn,
            &b,
            b.client_id,
            "booking.reschedule_proposed",
            json!({"proposed_starts_at_local": proposed}),
            now,
        )
        .await?;
        txn.commit().await?;
        return Ok(b);
    }
    let b = move_to(app, &txn, b, &s, new_start, now).await?;
    tell(
        &txn,
        &b.0,
        b.0.practitioner_user_id,
        "booking.rescheduled",
        json!({"previous_starts_at_local": b.1}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(b.0)
}

/// Moves `b` to `new_start` (already checked free) and clears any proposal; returns the
/// booking and its previous start in the booker's zone.
async fn move_to(
    app: &Services,
    txn: &WriteTxn,
    b: booking::Model,
    s: &service::Model,
    new_start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(booking::Model, String)> {
    let previous = local_text(b.starts_at, &b.time_zone);
    let was_requested = b.status == BookingStatus::Requested.as_str();
    let count = b.reschedule_count + 1;
    let respond_by = b.respond_by.min(new_start);
    let ends_at = new_start + Duration::minutes(i64::from(s.duration_minutes));
    let mut m: booking::ActiveModel = b.into();
    m.starts_at = Set(new_start);
    m.ends_at = Set(ends_at);
    m.block_start = Set(new_start - Duration::minutes(i64::from(s.buffer_before_minutes)));
    m.block_end = Set(ends_at + Duration::minutes(i64::from(s.buffer_after_minutes)));
    m.reschedule_count = Set(count);
    m.reminders_sent = Set(reminders_already_past(app, new_start, now));
    m.proposed_starts_at = Set(None);
    if was_requested {
        m.respond_by = Set(respond_by);
    }
    m.updated_at = Set(now);
    Ok((m.update(txn).await?, previous))
}

/// The client's answer to the practitioner's proposed move: accepted, the booking moves
/// (if the slot is still free); declined, the booking is cancelled and the client gets
/// everything back, as when the practitioner cancels.
pub async fn answer_proposal(
    app: &Services,
    txn: &WriteTxn,
    user: Uuid,
    id: Uuid,
    accept: bool,
) -> Result<booking::Model> {
    let now = app.clock.now();
    let (b, party) = load_for(txn, id, user).await?;
    if party != Party::Client {
        return Err(Error::forbidden(
            "not_the_client",
            "Only the client of this booking can answer a proposed move",
        ));
    }
    if !OPEN.contains(&b.status.as_str()) {
        return Err(wrong_state(&b, "requested or confirmed"));
    }
    let Some(proposed) = b.proposed_starts_at else {
        return Err(Error::conflict(
            "no_proposal",
            "The practitioner has not proposed another time",
        ));
    };
    // The proposal lapses when the booking's own time comes: it then stands as booked, and
    // what happens at it (held, a no-show) is settled as for any booking. Declining later
    // would turn an appointment the client attended or missed into a full refund.
    if now >= b.starts_at {
        return Err(Error::conflict(
            "proposal_expired",
            "The booking's time has come; the proposal lapsed and the booking stands",
        ));
    }
    if !accept {
        let b = close(txn, b, BookingStatus::Cancelled, 0, now).await?;
        let mut m: booking::ActiveModel = b.into();
        m.cancelled_by = Set(Some("practitioner".to_owned()));
        m.cancel_reason = Set(Some("the client declined the proposed new time".to_owned()));
        m.proposed_starts_at = Set(None);
        let b = m.update(txn).await?;
        tell_both(
            txn,
            &b,
            "booking.cancelled",
            json!({"refund": refund_of(&b), "reason": b.cancel_reason, "cancelled_by": b.cancelled_by}),
            now,
        )
        .await?;
        return Ok(b);
    }
    if b.reschedule_count >= app.config.booking_max_reschedules {
        return Err(Error::conflict(
            "reschedule_limit",
            "This booking cannot be moved again",
        ));
    }
    if now >= proposed {
        return Err(Error::conflict(
            "proposal_expired",
            "The proposed time, or the booking's own, has passed",
        ));
    }
    let s = service::Entity::find_by_id(b.service_id)
        .one(txn)
        .await?
        .ok_or_else(|| Error::not_found("Service"))?;
    lock_schedule(txn, b.practitioner_id, now).await?;
    check_slot(txn, &s, proposed, Some(b.id), now).await?;
    let ends_at = proposed + Duration::minutes(i64::from(s.duration_minutes));
    check_client_free(txn, b.client_id, proposed, ends_at, Some(b.id)).await?;
    let (b, previous) = move_to(app, txn, b, &s, proposed, now).await?;
    tell(
        txn,
        &b,
        b.practitioner_user_id,
        "booking.rescheduled",
        json!({"previous_starts_at_local": previous}),
        now,
    )
    .await?;
    Ok(b)
}

/// One side arrives for an online appointment. When both are there the prepaid session
/// opens (its id is in the answer); until then the one waiting polls or hears it on the
/// socket.
pub async fn join(app: &Services, user: Uuid, id: Uuid) -> Result<booking::Model> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let (b, party) = load_for(&txn, id, user).await?;
    if b.status != BookingStatus::Confirmed.as_str() {
        return Err(wrong_state(&b, BookingStatus::Confirmed.as_str()));
    }
    if b.channel == ServiceChannel::InPerson.as_str() {
        return Err(Error::conflict(
            "in_person",
            "In-person appointments are not joined online",
        ));
    }
    let opens = b.starts_at - Duration::minutes(app.config.booking_join_early_minutes.max(0));
    if now < opens || now >= b.ends_at {
        return Err(Error::conflict(
            "not_joinable_now",
            format!("The appointment can be joined from {opens} until it ends"),
        ));
    }
    let mut out = Outbox::default();
    let mut m: booking::ActiveModel = b.clone().into();
    let (client_in, practitioner_in) = match party {
        Party::Client => {
            m.client_joined_at = Set(Some(b.client_joined_at.unwrap_or(now)));
            (true, b.practitioner_joined_at.is_some())
        }
        _ => {
            m.practitioner_joined_at = Set(Some(b.practitioner_joined_at.unwrap_or(now)));
            (b.client_joined_at.is_some(), true)
        }
    };
    if client_in && practitioner_in && b.consultation_id.is_none() {
        let c = crate::live::booked::open(
            &txn,
            crate::live::booked::Booked {
                client: b.client_id,
                practitioner_id: b.practitioner_id,
                practitioner_user_id: b.practitioner_user_id,
                channel: &b.channel,
                currency: &b.currency,
                commission_bps: b.commission_bps,
            },
            now,
            &mut out,
        )
        .await?;
        m.consultation_id = Set(Some(c.id));
    }
    m.updated_at = Set(now);
    let b = m.update(&txn).await?;
    txn.commit().await?;
    out.publish(app).await;
    Ok(b)
}

/// The practitioner closes an in-person appointment that took place.
pub async fn complete(
    app: &Services,
    txn: &WriteTxn,
    user: Uuid,
    id: Uuid,
) -> Result<booking::Model> {
    let now = app.clock.now();
    let (b, party) = load_for(txn, id, user).await?;
    practitioner_only(party)?;
    if b.status != BookingStatus::Confirmed.as_str() {
        return Err(wrong_state(&b, BookingStatus::Confirmed.as_str()));
    }
    if b.channel != ServiceChannel::InPerson.as_str() {
        return Err(Error::conflict(
            "online_booking",
            "Online appointments complete when their session ends",
        ));
    }
    // After the end, not the start: completing at the start would pay the practitioner for
    // an appointment the client could still be waiting for.
    if now < b.ends_at {
        return Err(Error::conflict(
            "not_ended",
            "An appointment can be marked held once it has ended",
        ));
    }
    let b = close(txn, b, BookingStatus::Completed, 10_000, now).await?;
    Ok(b)
}

/// Records that one side did not come, with its money: a client no-show pays the
/// practitioner in full; a practitioner no-show refunds the client in full and counts on
/// the practitioner's profile.
async fn no_show(
    txn: &WriteTxn,
    b: booking::Model,
    who: Party,
    now: DateTime<Utc>,
) -> Result<booking::Model> {
    let b = if who == Party::Practitioner {
        use sea_orm::sea_query::ExprTrait;
        practitioner::Entity::update_many()
            .col_expr(
                practitioner::Column::NoShowCount,
                Expr::col(practitioner::Column::NoShowCount).add(1),
            )
            .filter(practitioner::Column::Id.eq(b.practitioner_id))
            .exec(txn)
            .await?;
        crate::practitioners::refresh_card(txn, b.practitioner_id).await?;
        close(txn, b, BookingStatus::PractitionerNoShow, 0, now).await?
    } else {
        close(txn, b, BookingStatus::ClientNoShow, 10_000, now).await?
    };
    let extra = json!({"refund": refund_of(&b), "status": b.status});
    tell_both(txn, &b, "booking.cancelled", extra, now).await?;
    Ok(b)
}

/// A participant reports that the other side did not come. Online appointments record
/// who joined, so a report about someone who did join is refused; in person, only the
/// practitioner can report (a client's complaint goes to support, who resolve it).
pub async fn report_no_show(
    app: &Services,
    txn: &WriteTxn,
    user: Uuid,
    id: Uuid,
) -> Result<booking::Model> {
    let now = app.clock.now();
    let (b, party) = load_for(txn, id, user).await?;
    if b.status != BookingStatus::Confirmed.as_str() {
        return Err(wrong_state(&b, BookingStatus::Confirmed.as_str()));
    }
    let grace = Duration::minutes(app.config.booking_no_show_grace_minutes.max(0));
    if now < b.starts_at + grace {
        return Err(Error::conflict(
            "too_early",
            format!(
                "A no-show can be reported {} minutes after the start",
                app.config.booking_no_show_grace_minutes
            ),
        ));
    }
    let in_person = b.channel == ServiceChannel::InPerson.as_str();
    let absent = match party {
        Party::Practitioner => Party::Client,
        _ => Party::Practitioner,
    };
    if in_person && party == Party::Client {
        return Err(Error::forbidden(
            "ask_support",
            "For in-person appointments, contact support about a practitioner who did not come",
        ));
    }
    let (joined, reporter_joined) = match absent {
        Party::Client => (
            b.client_joined_at.is_some(),
            b.practitioner_joined_at.is_some(),
        ),
        _ => (
            b.practitioner_joined_at.is_some(),
            b.client_joined_at.is_some(),
        ),
    };
    // Online, only someone who turned up can say the other did not.
    if !in_person && !reporter_joined {
        return Err(Error::conflict(
            "you_did_not_join",
            "Join the appointment before reporting that the other side is missing",
        ));
    }
    if !in_person && (joined || b.consultation_id.is_some()) {
        return Err(Error::conflict(
            "they_joined",
            "The other side joined this appointment",
        ));
    }
    let b = no_show(txn, b, absent, now).await?;
    Ok(b)
}

/// How an admin settles a disputed appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Completed,
    ClientNoShow,
    PractitionerNoShow,
    /// Cancelled by the platform: everything back to the client.
    Refunded,
}

impl serde::Serialize for Resolution {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Resolution::Completed => "completed",
            Resolution::ClientNoShow => "client_no_show",
            Resolution::PractitionerNoShow => "practitioner_no_show",
            Resolution::Refunded => "refunded",
        })
    }
}

pub async fn resolve(
    app: &Services,
    txn: &WriteTxn,
    id: Uuid,
    how: Resolution,
) -> Result<booking::Model> {
    let now = app.clock.now();
    let b = locked(txn, id).await?.ok_or_else(not_found)?;
    if !OPEN.contains(&b.status.as_str()) {
        return Err(wrong_state(&b, "requested or confirmed"));
    }
    Ok(match how {
        Resolution::Completed => close(txn, b, BookingStatus::Completed, 10_000, now).await?,
        Resolution::ClientNoShow => no_show(txn, b, Party::Client, now).await?,
        Resolution::PractitionerNoShow => no_show(txn, b, Party::Practitioner, now).await?,
        Resolution::Refunded => {
            let b = close(txn, b, BookingStatus::Cancelled, 0, now).await?;
            let mut m: booking::ActiveModel = b.into();
            m.cancelled_by = Set(Some("system".to_owned()));
            let b = m.update(txn).await?;
            let extra = json!({"refund": refund_of(&b), "cancelled_by": "system"});
            tell(txn, &b, b.client_id, "booking.cancelled", extra, now).await?;
            b
        }
    })
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: usize,
    pub reminded: usize,
    pub no_shows: usize,
    pub completed: usize,
}

/// Rows read per page by the sweep.
const SWEEP_PAGE: u64 = 500;

/// Every booking matching `filter`, read in pages by id, so no backlog can hide the rows
/// behind it from a sweep.
async fn scan(app: &Services, filter: Condition) -> Result<Vec<booking::Model>, sea_orm::DbErr> {
    let mut out = Vec::new();
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = booking::Entity::find().filter(filter.clone());
        if let Some(id) = after {
            q = q.filter(booking::Column::Id.gt(id));
        }
        let page = q
            .order_by_asc(booking::Column::Id)
            .limit(SWEEP_PAGE)
            .all(&app.db)
            .await?;
        let full = page.len() as u64 == SWEEP_PAGE;
        after = page.last().map(|b| b.id);
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

/// Reminder offsets (minutes before the start) that are due now and not sent yet.
fn reminders_due(b: &booking::Model, offsets: &[i64], now: DateTime<Utc>) -> Vec<i64> {
    if b.starts_at <= now {
        return Vec::new();
    }
    let left = (b.starts_at - now).num_minutes();
    let sent: Vec<i64> = b
        .reminders_sent
        .split(',')
        .filter_map(|m| m.trim().parse().ok())
        .collect();
    offsets
        .iter()
        .copied()
        .filter(|m| *m >= left && !sent.contains(m))
        .collect()
}

/// Moves bookings along with time: unanswered requests expire (hold released), reminders
/// go out, sessions end when their time is over, and appointments close as completed or
/// no-show. The scans read plain rows and decide in memory which bookings have something
/// to do; only those get a transaction, which re-reads the locked row, so several nodes can
/// sweep at once and the money keys are the booking's. A booking that fails is logged and
/// retried by the next sweep; the others go on.
pub async fn sweep(app: &Services) -> Result<SweepReport> {
    let now = app.clock.now();
    let cfg = &app.config;
    let mut report = SweepReport::default();
    let mut failure: Option<Error> = None;
    let mut failed = |id: Uuid, e: Error| {
        tracing::warn!(error = ?e, booking = %id, "booking sweep step failed");
        failure.get_or_insert(e);
    };

    let expired = scan(
        app,
        Condition::all()
            .add(booking::Column::Status.eq(BookingStatus::Requested.as_str()))
            .add(booking::Column::RespondBy.lte(now)),
    )
    .await?;
    for b in expired {
        match expire(app, b.id, now).await {
            Ok(true) => report.expired += 1,
            Ok(false) => {}
            Err(e) => failed(b.id, e),
        }
    }

    let offsets = &cfg.booking_reminder_minutes;
    let horizon = offsets.iter().copied().max().unwrap_or(0);
    let upcoming = scan(
        app,
        Condition::all()
            .add(booking::Column::Status.eq(BookingStatus::Confirmed.as_str()))
            .add(booking::Column::StartsAt.gt(now))
            .add(booking::Column::StartsAt.lte(now + Duration::minutes(horizon))),
    )
    .await?;
    for b in upcoming
        .iter()
        .filter(|b| !reminders_due(b, offsets, now).is_empty())
    {
        match remind(app, b.id, now).await {
            Ok(true) => report.reminded += 1,
            Ok(false) => {}
            Err(e) => failed(b.id, e),
        }
    }

    let started = scan(
        app,
        Condition::all()
            .add(booking::Column::Status.eq(BookingStatus::Confirmed.as_str()))
            .add(booking::Column::StartsAt.lte(now)),
    )
    .await?;
    // Which of their sessions are still running: one query a chunk, not one a booking.
    let sessions: Vec<Uuid> = started.iter().filter_map(|b| b.consultation_id).collect();
    let mut running = std::collections::HashSet::new();
    for chunk in sessions.chunks(500) {
        let ids: Vec<Uuid> = consultation::Entity::find()
            .select_only()
            .column(consultation::Column::Id)
            .filter(consultation::Column::Id.is_in(chunk.iter().copied()))
            .filter(consultation::Column::Status.eq(ConsultationStatus::Active.as_str()))
            .into_tuple()
            .all(&app.db)
            .await?;
        running.extend(ids);
    }
    let grace = Duration::minutes(cfg.booking_no_show_grace_minutes.max(0));
    let auto_complete = Duration::hours(cfg.booking_auto_complete_hours.max(0));
    let due = |b: &booking::Model| {
        if b.channel == ServiceChannel::InPerson.as_str() {
            now >= b.ends_at + auto_complete
        } else {
            match b.consultation_id {
                Some(c) => !running.contains(&c) || now >= b.ends_at,
                None => now >= b.starts_at + grace,
            }
        }
    };
    for b in started.iter().filter(|b| due(b)) {
        match close_if_due(app, b.id, now).await {
            Ok(Some(BookingStatus::Completed)) => report.completed += 1,
            Ok(Some(_)) => report.no_shows += 1,
            Ok(None) => {}
            Err(e) => failed(b.id, e),
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// Declines a request nobody answered in time and releases its hold.
async fn expire(app: &Services, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    let txn = store::begin_write(&app.db).await?;
    let Some(b) = locked(&txn, id).await? else {
        return Ok(false);
    };
    if b.status != BookingStatus::Requested.as_str() || b.respond_by > now {
        return Ok(false);
    }
    let b = close(&txn, b, BookingStatus::Expired, 0, now).await?;
    let mut m: booking::ActiveModel = b.into();
    m.cancelled_by = Set(Some("system".to_owned()));
    let b = m.update(&txn).await?;
    tell(
        &txn,
        &b,
        b.client_id,
        "booking.declined",
        json!({"refund": refund_of(&b), "reason": "The practitioner did not answer in time"}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Sends the nearest reminder now due, once; the ones it makes pointless are marked sent.
async fn remind(app: &Services, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    let txn = store::begin_write(&app.db).await?;
    let Some(b) = locked(&txn, id).await? else {
        return Ok(false);
    };
    if b.status != BookingStatus::Confirmed.as_str() {
        return Ok(false);
    }
    let due = reminders_due(&b, &app.config.booking_reminder_minutes, now);
    if due.is_empty() {
        return Ok(false);
    }
    let mut all: Vec<i64> = b
        .reminders_sent
        .split(',')
        .filter_map(|m| m.trim().parse::<i64>().ok())
        .chain(due)
        .collect();
    all.sort_unstable();
    all.dedup();
    let mut m: booking::ActiveModel = b.clone().into();
    m.reminders_sent = Set(all
        .iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join(","));
    m.updated_at = Set(now);
    let b = m.update(&txn).await?;
    // Minutes as they are, rounded up: "in 15 minutes", not "in 14".
    let minutes_before = ((b.starts_at - now).num_seconds() + 59) / 60;
    tell_both(
        &txn,
        &b,
        "booking.reminder",
        json!({"minutes_before": minutes_before}),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// Closes a confirmed appointment whose time has come, if its outcome is known.
async fn close_if_due(
    app: &Services,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<BookingStatus>> {
    let txn = store::begin_write(&app.db).await?;
    let Some(b) = locked(&txn, id).await? else {
        return Ok(None);
    };
    if b.status != BookingStatus::Confirmed.as_str() || b.starts_at > now {
        return Ok(None);
    }
    let mut out = Outbox::default();
    let outcome = if b.channel == ServiceChannel::InPerson.as_str() {
        let due = b.ends_at + Duration::hours(app.config.booking_auto_complete_hours.max(0));
        if now < due {
            return Ok(None);
        }
        close(&txn, b, BookingStatus::Completed, 10_000, now).await?;
        BookingStatus::Completed
    } else if let Some(cid) = b.consultation_id {
        let session = if now >= b.ends_at {
            crate::live::booked::time_up(app, &txn, cid, now, &mut out).await?
        } else {
            consultation::Entity::find_by_id(cid).one(&txn).await?
        };
        if session.is_some_and(|c| c.status == ConsultationStatus::Active.as_str()) {
            return Ok(None);
        }
        close(&txn, b, BookingStatus::Completed, 10_000, now).await?;
        BookingStatus::Completed
    } else {
        let grace = Duration::minutes(app.config.booking_no_show_grace_minutes.max(0));
        if now < b.starts_at + grace {
            return Ok(None);
        }
        // Nobody opened the session: the practitioner not being there settles it first,
        // so a client is never charged for an appointment nobody gave.
        let absent = if b.practitioner_joined_at.is_none() {
            Party::Practitioner
        } else {
            Party::Client
        };
        let b = no_show(&txn, b, absent, now).await?;
        if b.status == BookingStatus::PractitionerNoShow.as_str() {
            BookingStatus::PractitionerNoShow
        } else {
            BookingStatus::ClientNoShow
        }
    };
    txn.commit().await?;
    out.publish(app).await;
    Ok(Some(outcome))
}

/// The consultation a booking opened, for views.
pub async fn session_of<C: ConnectionTrait>(
    conn: &C,
    b: &booking::Model,
) -> Result<Option<consultation::Model>, sea_orm::DbErr> {
    match b.consultation_id {
        Some(id) => consultation::Entity::find_by_id(id).one(conn).await,
        None => Ok(None),
    }
}
