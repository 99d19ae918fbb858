//! The consultation state machine and its money: request → accept (session starts) →
//! minutes billed through the ledger → end; decline, cancel and missed requests; and the
//! worker tick that settles due minutes, ends sessions whose money ran out or whose side
//! went away, expires requests and clears stale presence.
//!
//! Time is the server's clock alone. A minute is charged once both sides have been seen
//! after it began (see docs/live.md), each exactly once: the consultation row is locked while
//! it is billed, and every ledger leg carries a key made of the consultation and minute.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, IntoColumnRef, LockBehavior, LockType, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::billing::{self, MinuteCharge, Terms};
use super::events::{LiveEvent, Outbox};
use crate::Services;
use crate::error::{Error, Kind, Result};
use crate::ledger::{
    self, AccountKind, AccountRef, Currency, LedgerError, TransferRequest, stored_bps,
    stored_currency,
};
use crate::practitioners::{Availability, Channel, Verification};
use store::WriteTxn;
use store::entity::{
    consultation, consultation_client_lock, consultation_minute, practitioner,
    practitioner_presence, wallet,
};

/// Where a live consultation stands (the column's allowed values).
pub use store::status::ConsultationStatus as Status;

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    ClientEnded,
    PractitionerEnded,
    InsufficientFunds,
    ClientDisconnected,
    PractitionerDisconnected,
    /// A booked appointment's time ran out.
    TimeUp,
    /// No node of the service was alive for longer than the grace window (a crash or a
    /// deploy); the outage was not billed.
    ServiceInterrupted,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::ClientEnded => "client_ended",
            EndReason::PractitionerEnded => "practitioner_ended",
            EndReason::InsufficientFunds => "insufficient_funds",
            EndReason::ClientDisconnected => "client_disconnected",
            EndReason::PractitionerDisconnected => "practitioner_disconnected",
            EndReason::TimeUp => "time_up",
            EndReason::ServiceInterrupted => "service_interrupted",
        }
    }
}

pub fn channel_str(c: Channel) -> &'static str {
    match c {
        Channel::Chat => "chat",
        Channel::Call => "call",
        Channel::Video => "video",
    }
}

pub fn rate_of(p: &practitioner::Model, c: Channel) -> Option<i64> {
    match c {
        Channel::Chat => p.rate_chat_minor,
        Channel::Call => p.rate_call_minor,
        Channel::Video => p.rate_video_minor,
    }
}

pub fn terms_of(c: &consultation::Model) -> Result<Terms> {
    Ok(Terms {
        rate: c.rate_minor,
        commission: stored_bps(c.commission_bps)?,
        free_minutes: u32::try_from(c.free_minutes).unwrap_or(0),
        discount_per_minute: c.discount_per_minute,
        discount_budget: c.discount_budget,
    })
}

pub fn currency_of(c: &consultation::Model) -> Result<Currency> {
    stored_currency(&c.currency)
}

/// Re-reads a consultation inside a write transaction, locked against other nodes'
/// workers on PostgreSQL (SQLite's write gate already serialises writers).
pub async fn locked(txn: &WriteTxn, id: Uuid) -> Result<Option<consultation::Model>> {
    let mut q = consultation::Entity::find_by_id(id);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        q = q.lock_exclusive();
    }
    Ok(q.one(txn).await?)
}

pub async fn available_balance<C: ConnectionTrait>(
    conn: &C,
    user: Uuid,
    currency: Currency,
) -> Result<i64> {
    Ok(wallet::Entity::find()
        .filter(wallet::Column::UserId.eq(user))
        .filter(wallet::Column::Currency.eq(currency.as_str()))
        .one(conn)
        .await?
        .map(|w| w.available)
        .unwrap_or(0))
}

/// Whether the practitioner is taking sessions now.
async fn presence_of<C: ConnectionTrait>(
    conn: &C,
    practitioner: Uuid,
    now: DateTime<Utc>,
    timeout_secs: i64,
) -> Result<Option<practitioner_presence::Model>> {
    Ok(practitioner_presence::Entity::find_by_id(practitioner)
        .one(conn)
        .await?
        .filter(|p| p.online && p.last_heartbeat_at >= now - Duration::seconds(timeout_secs)))
}

pub struct NewRequest<'a> {
    pub client: Uuid,
    pub practitioner_id: Uuid,
    pub channel: Channel,
    pub promo_code: Option<&'a str>,
}

/// The terms a consultation at `rate` with `p` would start on for `client` now (first-session
/// free minutes, the promo code's discount and budget, the commission), with its currency
/// and the promo code as applied. Requests and waitlist joins both judge the wallet by them.
pub async fn terms_for(
    app: &Services,
    p: &practitioner::Model,
    rate: i64,
    client: Uuid,
    promo_code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Terms, Currency, Option<String>)> {
    let currency = stored_currency(&p.currency)?;
    let first_session = consultation::Entity::find()
        .filter(consultation::Column::ClientId.eq(client))
        .filter(consultation::Column::Status.eq(Status::Ended.as_str()))
        .filter(consultation::Column::MinutesBilled.gt(0))
        .one(&app.db)
        .await?
        .is_none();
    let free_minutes = if first_session {
        app.config.live_free_minutes_first_session
    } else {
        0
    };
    let (promo_code, discount, budget) = match promo_code {
        Some(code) => {
            let q = crate::promos::quote(
                &app.db,
                client,
                Some(code),
                rate,
                currency.as_str(),
                crate::promos::rules::Context::Session,
                now,
            )
            .await?;
            // A live request answers a refused code as an invalid field (`validation_failed`),
            // unlike top-ups and bookings (`promo_refused`); clients already rely on both.
            if !q.applied {
                return Err(Error::field(
                    "promo_code",
                    "promo_refused",
                    q.refusal
                        .map(|r| format!("{r:?}"))
                        .unwrap_or_else(|| "the code does not apply".into()),
                ));
            }
            let budget = match q.promo_id {
                Some(id) => crate::promos::session_budget_of(&app.db, id, q.discount).await?,
                None => 0,
            };
            (q.code, q.discount, budget)
        }
        None => (None, 0, 0),
    };
    let commission = crate::payouts::commission_for(app.config.commission_bps, p.commission_bps);
    let terms = Terms {
        rate,
        commission,
        free_minutes,
        discount_per_minute: discount,
        discount_budget: budget,
    };
    Ok((terms, currency, promo_code))
}

/// Refuses (402 `insufficient_funds`) a client whose wallet does not cover
/// `live_min_minutes` paid minutes on `terms`.
pub async fn ensure_can_start(
    app: &Services,
    client: Uuid,
    terms: Terms,
    currency: Currency,
) -> Result<()> {
    let needed = billing::minimum_to_start(terms, app.config.live_min_minutes);
    let available = available_balance(&app.db, client, currency).await?;
    if available < needed {
        return Err(Error::new(
            Kind::PaymentRequired,
            "insufficient_funds",
            format!(
                "Starting needs {needed} (minor units) for {} minutes; the wallet has {available}",
                app.config.live_min_minutes
            ),
        ));
    }
    Ok(())
}

/// A client asks for a session. Checks everything a request can be refused for, then
/// records it and takes the client's one-open-consultation lock.
pub async fn request(app: &Services, r: NewRequest<'_>) -> Result<consultation::Model> {
    let now = app.clock.now();
    let p = practitioner::Entity::find_by_id(r.practitioner_id)
        .one(&app.db)
        .await?
        .filter(|p| p.verification_status == Verification::Approved.as_str())
        .ok_or_else(|| Error::not_found("Practitioner"))?;
    if p.user_id == r.client {
        return Err(Error::field(
            "practitioner_id",
            "self_consultation",
            "practitioners cannot consult themselves",
        ));
    }
    let rate = rate_of(&p, r.channel).ok_or_else(|| {
        Error::field(
            "channel",
            "channel_unavailable",
            "this practitioner does not offer this channel",
        )
    })?;
    let presence = presence_of(&app.db, p.id, now, app.config.presence_timeout_secs)
        .await?
        .ok_or_else(|| Error::conflict("practitioner_offline", "The practitioner is not online"))?;
    let holds_offer = super::waitlist::holds_offer(&app.db, p.id, r.client, now).await?;
    if presence.active_sessions >= p.max_concurrent_sessions
        || (!holds_offer && super::waitlist::queue_len(&app.db, p.id).await? > 0)
    {
        return Err(Error::conflict(
            "practitioner_busy",
            "The practitioner is in another session or has a waitlist; join it to be offered \
             the next slot",
        ));
    }
    let (terms, currency, promo_code) =
        terms_for(app, &p, rate, r.client, r.promo_code, now).await?;
    let (free_minutes, commission, discount, budget) = (
        terms.free_minutes,
        terms.commission,
        terms.discount_per_minute,
        terms.discount_budget,
    );
    ensure_can_start(app, r.client, terms, currency).await?;
    let id = Uuid::now_v7();
    let txn = store::begin_write(&app.db).await?;
    consultation_client_lock::ActiveModel {
        client_id: Set(r.client),
        consultation_id: Set(id),
    }
    .insert(&txn)
    .await
    .map_err(crate::error::conflict_on_unique(
        "consultation_open",
        "You already have a consultation requested or in progress",
    ))?;
    let row = consultation::ActiveModel {
        id: Set(id),
        reference: Set(crate::payments::human_reference("CS")),
        client_id: Set(r.client),
        practitioner_id: Set(p.id),
        practitioner_user_id: Set(p.user_id),
        channel: Set(channel_str(r.channel).to_owned()),
        status: Set(Status::Requested.as_str().to_owned()),
        currency: Set(currency.as_str().to_owned()),
        rate_minor: Set(rate),
        commission_bps: Set(i32::from(commission.get())),
        free_minutes: Set(free_minutes as i32),
        promo_code: Set(promo_code),
        promo_id: Set(None),
        discount_per_minute: Set(discount),
        discount_budget: Set(budget),
        requested_at: Set(now),
        respond_by: Set(now + Duration::seconds(app.config.live_request_timeout_secs)),
        started_at: Set(None),
        ended_at: Set(None),
        end_reason: Set(None),
        minutes_billed: Set(0),
        free_minutes_used: Set(0),
        amount_charged: Set(0),
        discount_total: Set(0),
        client_seen_at: Set(Some(now)),
        practitioner_seen_at: Set(None),
        warned_at_minutes_left: Set(None),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    if holds_offer {
        super::waitlist::mark_served(&txn, p.id, r.client, now).await?;
    }
    txn.commit().await?;
    // The practitioner is told who is asking, by first name and last initial only.
    let client_name = store::entity::user::Entity::find_by_id(r.client)
        .one(&app.db)
        .await?
        .map(|u| match u.last_name.chars().next() {
            Some(initial) => format!("{} {initial}.", u.first_name),
            None => u.first_name,
        })
        .unwrap_or_default();
    let mut out = Outbox::default();
    out.push(
        row.practitioner_user_id,
        LiveEvent::requested(&row, client_name),
    );
    out.publish(app).await;
    Ok(row)
}

/// `column + n`, for counters changed in place by one statement.
pub fn incremented(column: impl IntoColumnRef, n: impl Into<i64>) -> Expr {
    use sea_orm::sea_query::ExprTrait;
    Expr::col(column).add(n.into())
}

fn not_yours() -> Error {
    Error::not_found("Consultation")
}

fn wrong_state(c: &consultation::Model, wanted: &str) -> Error {
    Error::conflict(
        "invalid_state",
        format!("The consultation is {}, not {wanted}", c.status),
    )
}

/// Frees the client's lock (a no-op when it belongs to another consultation).
async fn release_lock(txn: &WriteTxn, c: &consultation::Model) -> Result<()> {
    consultation_client_lock::Entity::delete_many()
        .filter(consultation_client_lock::Column::ClientId.eq(c.client_id))
        .filter(consultation_client_lock::Column::ConsultationId.eq(c.id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Sets the practitioner's listed availability from their presence and session count.
pub async fn refresh_availability(txn: &WriteTxn, practitioner_id: Uuid) -> Result<()> {
    let Some(p) = practitioner::Entity::find_by_id(practitioner_id)
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let presence = practitioner_presence::Entity::find_by_id(practitioner_id)
        .one(txn)
        .await?;
    let availability = match presence {
        Some(pr) if pr.online && pr.active_sessions >= p.max_concurrent_sessions => {
            Availability::Busy
        }
        Some(pr) if pr.online => Availability::Online,
        _ => Availability::Offline,
    };
    if p.availability_status != availability.as_str() {
        practitioner::Entity::update_many()
            .col_expr(
                practitioner::Column::AvailabilityStatus,
                Expr::value(availability.as_str()),
            )
            .filter(practitioner::Column::Id.eq(practitioner_id))
            .exec(txn)
            .await?;
        crate::practitioners::refresh_card(txn, practitioner_id).await?;
    }
    Ok(())
}

/// The practitioner takes the request: the session starts now at the request's terms.
pub async fn accept(
    app: &Services,
    practitioner_user: Uuid,
    id: Uuid,
) -> Result<consultation::Model> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let c = locked(&txn, id)
        .await?
        .filter(|c| c.practitioner_user_id == practitioner_user)
        .ok_or_else(not_yours)?;
    if c.status != Status::Requested.as_str() {
        return Err(wrong_state(&c, Status::Requested.as_str()));
    }
    if c.respond_by < now {
        return Err(Error::conflict(
            "request_expired",
            "The request was not answered in time",
        ));
    }
    let p = practitioner::Entity::find_by_id(c.practitioner_id)
        .one(&txn)
        .await?
        .ok_or_else(not_yours)?;
    // Take a session slot with one conditional update, so two accepts racing for the last
    // slot cannot both win.
    let slot = practitioner_presence::Entity::update_many()
        .col_expr(
            practitioner_presence::Column::ActiveSessions,
            incremented(practitioner_presence::Column::ActiveSessions, 1),
        )
        .col_expr(
            practitioner_presence::Column::LastHeartbeatAt,
            Expr::value(now),
        )
        .col_expr(practitioner_presence::Column::UpdatedAt, Expr::value(now))
        .filter(practitioner_presence::Column::PractitionerId.eq(c.practitioner_id))
        .filter(practitioner_presence::Column::ActiveSessions.lt(p.max_concurrent_sessions))
        .exec(&txn)
        .await?;
    if slot.rows_affected != 1 {
        return Err(Error::conflict(
            "practitioner_busy",
            "All your session slots are in use",
        ));
    }
    // The promo code is redeemed when the session starts; if it stopped applying since the
    // request (its limit was reached), the session runs at the full rate.
    let mut discount = 0;
    let mut budget = 0;
    let mut promo_id = None;
    if let Some(code) = &c.promo_code
        && let Some(promo) = crate::promos::find(&txn, code).await?
        && let Ok(d) = crate::promos::redeem(
            &txn,
            &crate::promos::Redemption {
                promo_id: promo.id,
                user: c.client_id,
                context: crate::promos::rules::Context::Session,
                reference: &format!("consultation:{}", c.id),
                price: c.rate_minor,
                currency: &c.currency,
            },
            now,
        )
        .await?
    {
        discount = d;
        budget = crate::promos::rules::session_budget(&crate::promos::rules_of(&promo), d);
        promo_id = Some(promo.id);
    }
    let mut m: consultation::ActiveModel = c.into();
    m.status = Set(Status::Active.as_str().to_owned());
    m.started_at = Set(Some(now));
    m.practitioner_seen_at = Set(Some(now));
    m.discount_per_minute = Set(discount);
    m.discount_budget = Set(budget);
    m.promo_id = Set(promo_id);
    m.updated_at = Set(now);
    let c = m.update(&txn).await?;
    refresh_availability(&txn, c.practitioner_id).await?;
    txn.commit().await?;
    let mut out = Outbox::default();
    out.both(&c, LiveEvent::started(&c));
    out.publish(app).await;
    Ok(c)
}

/// The practitioner turns the request down, or the client withdraws it.
pub async fn refuse(
    app: &Services,
    user: Uuid,
    id: Uuid,
    as_practitioner: bool,
) -> Result<consultation::Model> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let c = locked(&txn, id)
        .await?
        .filter(|c| {
            if as_practitioner {
                c.practitioner_user_id == user
            } else {
                c.client_id == user
            }
        })
        .ok_or_else(not_yours)?;
    if c.status != Status::Requested.as_str() {
        return Err(wrong_state(&c, Status::Requested.as_str()));
    }
    let status = if as_practitioner {
        Status::Declined
    } else {
        Status::Cancelled
    };
    release_lock(&txn, &c).await?;
    let mut m: consultation::ActiveModel = c.into();
    m.status = Set(status.as_str().to_owned());
    m.ended_at = Set(Some(now));
    m.updated_at = Set(now);
    let c = m.update(&txn).await?;
    txn.commit().await?;
    let mut out = Outbox::default();
    out.both(&c, LiveEvent::closed(&c));
    out.publish(app).await;
    Ok(c)
}

/// Either side says it is still there.
pub async fn heartbeat(app: &Services, user: Uuid, id: Uuid) -> Result<consultation::Model> {
    let now = app.clock.now();
    let c = consultation::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|c| c.client_id == user || c.practitioner_user_id == user)
        .ok_or_else(not_yours)?;
    if c.status != Status::Active.as_str() && c.status != Status::Requested.as_str() {
        return Err(wrong_state(&c, Status::Active.as_str()));
    }
    let is_client = c.client_id == user;
    let column = if is_client {
        consultation::Column::ClientSeenAt
    } else {
        consultation::Column::PractitionerSeenAt
    };
    // Only while the side is within the grace window (see `live::liveness`): a side away
    // longer has left, and the worker ends the session where it was last seen.
    let grace = Duration::seconds(app.config.live_grace_secs);
    let txn = store::begin_write(&app.db).await?;
    consultation::Entity::update_many()
        .col_expr(column, Expr::value(now))
        .filter(consultation::Column::Id.eq(id))
        .filter(
            sea_orm::Condition::any()
                .add(column.is_null())
                .add(column.gte(now - grace)),
        )
        .exec(&txn)
        .await?;
    if !is_client {
        // A practitioner in a session is present: keep them online for the listing.
        practitioner_presence::Entity::update_many()
            .col_expr(
                practitioner_presence::Column::LastHeartbeatAt,
                Expr::value(now),
            )
            .filter(practitioner_presence::Column::PractitionerId.eq(c.practitioner_id))
            .filter(practitioner_presence::Column::Online.eq(true))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    consultation::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(not_yours)
}

/// Either side ends the session now.
pub async fn end(app: &Services, user: Uuid, id: Uuid) -> Result<consultation::Model> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let c = locked(&txn, id)
        .await?
        .filter(|c| c.client_id == user || c.practitioner_user_id == user)
        .ok_or_else(not_yours)?;
    if c.status != Status::Active.as_str() {
        return Err(wrong_state(&c, Status::Active.as_str()));
    }
    let by_client = c.client_id == user;
    let presence = billing::Presence::new(
        c.started_at.unwrap_or(now),
        c.client_seen_at,
        c.practitioner_seen_at,
    );
    let ender = if by_client {
        billing::Side::Client
    } else {
        billing::Side::Practitioner
    };
    let grace = Duration::seconds(app.config.live_grace_secs);
    let end_at = presence.ended_by(ender, now, grace);
    let reason = if by_client {
        EndReason::ClientEnded
    } else {
        EndReason::PractitionerEnded
    };
    let mut out = Outbox::default();
    let c = settle(app, &txn, c, end_at, reason, now, &mut out).await?;
    txn.commit().await?;
    out.publish(app).await;
    Ok(c)
}

/// Charges every minute owed up to `billable_until` that is not charged yet. Stops at the
/// first minute the wallet cannot pay and returns its start, where the session must end.
async fn bill_until(
    txn: &WriteTxn,
    c: &mut consultation::Model,
    billable_until: DateTime<Utc>,
    outages: &[billing::Outage],
    now: DateTime<Utc>,
    out: &mut Outbox,
) -> Result<Option<DateTime<Utc>>> {
    let Some(started) = c.started_at else {
        return Ok(None);
    };
    let owed = billing::minutes_started_until(started, billable_until, outages);
    while (c.minutes_billed as u32) < owed {
        let index = c.minutes_billed as u32;
        let planned = minute_transfers(c, index)?;
        // A savepoint per minute: a refused debit must not undo the minutes before it.
        let sp = txn.savepoint().await?;
        match charge_minute(&sp, c, index, planned, now).await {
            Ok(charge) => {
                sp.commit().await?;
                c.minutes_billed += 1;
                c.amount_charged += charge.client_pays;
                c.discount_total += charge.discount;
                c.free_minutes_used += i32::from(charge.free);
                out.both(c, LiveEvent::minute_charged(c, &charge));
            }
            Err(LedgerError::InsufficientFunds(_)) | Err(LedgerError::WalletFrozen) => {
                sp.rollback().await?;
                return Ok(Some(billing::instant_after_live(
                    started,
                    billing::minute_offset_ms(index),
                    outages,
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// What minute `index` costs and its ledger legs (client → practitioner, client →
/// platform, promotions → practitioner; zero legs left out), each with the key
/// `live:{consultation}:{index}:{leg}`. The worker's batches and the one-session path build
/// the same requests, so a minute is keyed the same whichever path charges it.
pub fn minute_transfers(
    c: &consultation::Model,
    index: u32,
) -> Result<(MinuteCharge, Vec<TransferRequest>)> {
    let charge = billing::price_minute(index, terms_of(c)?);
    let legs = charge.legs();
    let currency = currency_of(c)?;
    let client = AccountRef::wallet(c.client_id, currency);
    let earnings = AccountRef::earnings(c.practitioner_id, currency);
    let minute = index + 1;
    let what = format!(
        "{} consultation {}, minute {minute}",
        c.channel, c.reference
    );
    let legs = [
        (
            "cp",
            client.clone(),
            earnings.clone(),
            legs.client_to_practitioner,
            what.clone(),
        ),
        (
            "pl",
            client,
            AccountRef::platform(AccountKind::PlatformRevenue, currency),
            legs.client_to_platform,
            what.clone(),
        ),
        (
            "pr",
            AccountRef::platform(AccountKind::PromotionsExpense, currency),
            earnings,
            legs.promotions_to_practitioner,
            format!("{what} (platform-funded)"),
        ),
    ];
    let requests = legs
        .into_iter()
        .filter(|(_, _, _, amount, _)| *amount > 0)
        .map(
            |(suffix, debit, credit, amount, description)| TransferRequest {
                debit,
                credit,
                amount,
                kind: "consultation".to_owned(),
                reference: format!("consultation:{}", c.id),
                idempotency_key: format!("live:{}:{index}:{suffix}", c.id),
                hold_id: None,
                description,
            },
        )
        .collect();
    Ok((charge, requests))
}

/// Charges minute `index`: up to three ledger legs and the minute's record, each keyed by
/// the consultation and minute so that no retry, replay or second node charges it twice.
async fn charge_minute<C: ConnectionTrait>(
    conn: &C,
    c: &consultation::Model,
    index: u32,
    (charge, legs): (MinuteCharge, Vec<TransferRequest>),
    now: DateTime<Utc>,
) -> Result<MinuteCharge, LedgerError> {
    for req in legs {
        ledger::transfer(conn, req, now).await?;
    }
    consultation_minute::Entity::insert(consultation_minute::ActiveModel {
        consultation_id: Set(c.id),
        minute_index: Set(index as i32),
        free: Set(charge.free),
        client_paid: Set(charge.client_pays),
        discount: Set(charge.discount),
        practitioner_earned: Set(charge.practitioner_earns),
        platform_earned: Set(charge.platform_earns),
        promotion_paid: Set(charge.promotion_pays),
        charged_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            consultation_minute::Column::ConsultationId,
            consultation_minute::Column::MinuteIndex,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(charge)
}

/// Bills what is owed up to `end_at`, then closes the session: the row, the client's lock,
/// the practitioner's slot and counters.
pub async fn settle(
    app: &Services,
    txn: &WriteTxn,
    mut c: consultation::Model,
    end_at: DateTime<Utc>,
    reason: EndReason,
    now: DateTime<Utc>,
    out: &mut Outbox,
) -> Result<consultation::Model> {
    let outages = app.outages.current();
    let (end_at, reason) = match bill_until(txn, &mut c, end_at, &outages, now, out).await? {
        Some(unpaid_minute_start) => (unpaid_minute_start, EndReason::InsufficientFunds),
        None => (end_at, reason),
    };
    close(app, txn, c, end_at, reason, now, out).await
}

async fn close(
    app: &Services,
    txn: &WriteTxn,
    c: consultation::Model,
    end_at: DateTime<Utc>,
    reason: EndReason,
    now: DateTime<Utc>,
    out: &mut Outbox,
) -> Result<consultation::Model> {
    release_lock(txn, &c).await?;
    practitioner_presence::Entity::update_many()
        .col_expr(
            practitioner_presence::Column::ActiveSessions,
            incremented(practitioner_presence::Column::ActiveSessions, -1),
        )
        .filter(practitioner_presence::Column::PractitionerId.eq(c.practitioner_id))
        .filter(practitioner_presence::Column::ActiveSessions.gt(0))
        .exec(txn)
        .await?;
    practitioner::Entity::update_many()
        .col_expr(
            practitioner::Column::TotalConsultations,
            incremented(practitioner::Column::TotalConsultations, 1),
        )
        .col_expr(
            practitioner::Column::TotalMinutes,
            incremented(
                practitioner::Column::TotalMinutes,
                i64::from(c.minutes_billed),
            ),
        )
        .filter(practitioner::Column::Id.eq(c.practitioner_id))
        .exec(txn)
        .await?;
    let practitioner_id = c.practitioner_id;
    let mut m: consultation::ActiveModel = c.clone().into();
    m.status = Set(Status::Ended.as_str().to_owned());
    m.ended_at = Set(Some(end_at));
    m.end_reason = Set(Some(reason.as_str().to_owned()));
    m.minutes_billed = Set(c.minutes_billed);
    m.amount_charged = Set(c.amount_charged);
    m.discount_total = Set(c.discount_total);
    m.free_minutes_used = Set(c.free_minutes_used);
    m.updated_at = Set(now);
    let c = m.update(txn).await?;
    crate::practitioners::refresh_card(txn, practitioner_id).await?;
    refresh_availability(txn, practitioner_id).await?;
    out.both(&c, LiveEvent::ended(&c));
    // The freed slot goes to the first client waiting for it.
    if let Some(offered) = super::waitlist::offer_next(app, txn, practitioner_id, now).await? {
        out.push(offered.client_id, LiveEvent::offer(&offered));
    }
    Ok(c)
}

/// Writes the billing progress of an active session.
async fn save_progress(txn: &WriteTxn, c: &consultation::Model, now: DateTime<Utc>) -> Result<()> {
    let mut m: consultation::ActiveModel = c.clone().into();
    m.minutes_billed = Set(c.minutes_billed);
    m.amount_charged = Set(c.amount_charged);
    m.discount_total = Set(c.discount_total);
    m.free_minutes_used = Set(c.free_minutes_used);
    m.warned_at_minutes_left = Set(c.warned_at_minutes_left);
    m.updated_at = Set(now);
    m.update(txn).await?;
    Ok(())
}

/// Due sessions billed in one transaction at most. A batch holds SQLite's write gate, and on
/// PostgreSQL the locks of its accounts, for its whole transaction: 256 sessions take tens
/// of milliseconds, which other writers can wait. 512 charged 10,000 sessions slower on
/// both databases (bench_live, docs/benchmarks.md).
pub const BILL_BATCH: usize = 256;

/// What one pass of the worker did (for tests and metrics).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    pub minutes_charged: u32,
    /// Of `minutes_charged`, those charged many sessions per transaction (`bill_batch`).
    pub minutes_batched: u32,
    pub sessions_ended: u32,
    pub requests_missed: u32,
    pub practitioners_offline: u32,
}

/// One pass of the consultation worker. Safe to run on every node at once: every session is
/// billed under its row lock and every charge is keyed. Each due session is its own
/// transaction and its events are published when it commits.
pub async fn tick(app: &Services) -> Result<TickReport> {
    let now = app.clock.now();
    let mut report = TickReport::default();
    let mut out = Outbox::default();

    // Requests nobody answered in time.
    let expired = consultation::Entity::find()
        .filter(consultation::Column::Status.eq(Status::Requested.as_str()))
        .filter(consultation::Column::RespondBy.lt(now))
        .all(&app.db)
        .await?;
    for stale in expired {
        let txn = store::begin_write(&app.db).await?;
        let Some(c) = locked(&txn, stale.id).await? else {
            continue;
        };
        if c.status != Status::Requested.as_str() {
            continue;
        }
        release_lock(&txn, &c).await?;
        practitioner::Entity::update_many()
            .col_expr(
                practitioner::Column::MissedRequests,
                incremented(practitioner::Column::MissedRequests, 1),
            )
            .filter(practitioner::Column::Id.eq(c.practitioner_id))
            .exec(&txn)
            .await?;
        let mut m: consultation::ActiveModel = c.into();
        m.status = Set(Status::Missed.as_str().to_owned());
        m.ended_at = Set(Some(now));
        m.updated_at = Set(now);
        let c = m.update(&txn).await?;
        crate::practitioners::refresh_card(&txn, c.practitioner_id).await?;
        txn.commit().await?;
        out.both(&c, LiveEvent::closed(&c));
        report.requests_missed += 1;
    }

    // Practitioners whose heartbeats stopped.
    let cutoff = now - Duration::seconds(app.config.presence_timeout_secs);
    let gone = practitioner_presence::Entity::find()
        .filter(practitioner_presence::Column::Online.eq(true))
        .filter(practitioner_presence::Column::LastHeartbeatAt.lt(cutoff))
        .all(&app.db)
        .await?;
    for p in gone {
        let txn = store::begin_write(&app.db).await?;
        let res = practitioner_presence::Entity::update_many()
            .col_expr(practitioner_presence::Column::Online, Expr::value(false))
            .col_expr(practitioner_presence::Column::UpdatedAt, Expr::value(now))
            .filter(practitioner_presence::Column::PractitionerId.eq(p.practitioner_id))
            .filter(practitioner_presence::Column::LastHeartbeatAt.lt(cutoff))
            .exec(&txn)
            .await?;
        refresh_availability(&txn, p.practitioner_id).await?;
        txn.commit().await?;
        report.practitioners_offline += res.rows_affected as u32;
    }

    super::waitlist::sweep(app, now).await?;

    // What the sections above decided is committed: announce it before the billing below.
    out.publish(app).await;

    // Active sessions: bill what both sides were present for; end the ones whose side left.
    // The scan reads only the columns that decide whether a session is due: it covers every
    // active session on every pass, and whole rows made a pass over 10,000 sessions with
    // nothing due take ~120 ms on SQLite (the worker runs every 250 ms).
    let grace = Duration::seconds(app.config.live_grace_secs);
    let active: Vec<ScanRow> = consultation::Entity::find()
        .select_only()
        .columns([
            consultation::Column::Id,
            consultation::Column::StartedAt,
            consultation::Column::ClientSeenAt,
            consultation::Column::PractitionerSeenAt,
            consultation::Column::MinutesBilled,
        ])
        .filter(consultation::Column::Status.eq(Status::Active.as_str()))
        .into_tuple()
        .all(&app.db)
        .await?;
    let outages = app.outages.current();
    let due: Vec<Uuid> = active
        .into_iter()
        .filter_map(|(id, started, client_seen, practitioner_seen, billed)| {
            let presence = billing::Presence::new(started?, client_seen, practitioner_seen);
            let owed = billing::owed_minutes(&presence, &outages);
            (presence.gone(now, grace).is_some() || owed > billed as u32).then_some(id)
        })
        .collect();
    // Due sessions are billed many per transaction (`bill_batch`): the ledger legs of all
    // their minutes go through the ledger's group commit, with one update per account (so
    // the platform-revenue row once per batch, not once per charge). What a batch leaves
    // out (a side gone, a wallet that cannot pay every owed minute, a failed batch) is
    // billed one session per transaction as before, so one session's trouble never holds up
    // the others. Batches run one after another: on PostgreSQL, concurrent transactions
    // would queue on the platform-revenue row anyway (bench_live measured 8 sessions at once
    // slower than one at a time).
    let mut failure = None;
    for ids in due.chunks(BILL_BATCH) {
        let single = match super::bill_batch::bill_batch(app, ids, now, grace).await {
            Ok((part, left_out)) => {
                report.minutes_charged += part.minutes_charged;
                report.minutes_batched += part.minutes_charged;
                left_out
            }
            Err(e) => {
                tracing::warn!(error = ?e, sessions = ids.len(),
                    "billing a batch failed; billing its sessions one at a time");
                ids.to_vec()
            }
        };
        for id in single {
            match bill_due(app, id, now, grace).await {
                Ok(part) => {
                    report.minutes_charged += part.minutes_charged;
                    report.sessions_ended += part.sessions_ended;
                }
                // One session failing (a lost connection, a deadlock victim) does not hold
                // up the others; the pass still reports it, and the next pass retries it.
                Err(e) => {
                    tracing::warn!(error = ?e, consultation = %id, "billing a session failed");
                    failure.get_or_insert(e);
                }
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// What the worker's scan reads of an active session: id, start, when each side was last
/// seen, minutes billed.
type ScanRow = (
    Uuid,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    i32,
);

/// Bills one session the scan found due, or ends it, in its own transaction. Its events go
/// out as soon as it commits: a pass over 10,000 due sessions takes seconds, and holding
/// every event to the end of the pass delayed each announcement by all of it.
pub async fn bill_due(
    app: &Services,
    id: Uuid,
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<TickReport> {
    let mut report = TickReport::default();
    let mut out = Outbox::default();
    let txn = store::begin_write(&app.db).await?;
    // On PostgreSQL a row locked by another transaction (another node's worker billing it,
    // an `end` or `accept` in flight) is skipped rather than waited for: that transaction
    // is doing the work, and the next pass sees its result. Waiting would make every
    // node's worker bill the same sessions one after another instead of sharing them.
    let mut q = consultation::Entity::find_by_id(id);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let Some(mut c) = q.one(&txn).await? else {
        return Ok(report);
    };
    if c.status != Status::Active.as_str() {
        return Ok(report);
    }
    let Some(started) = c.started_at else {
        return Ok(report);
    };
    // Recompute from the locked row: a heartbeat may have landed since the scan.
    let presence = billing::Presence::new(started, c.client_seen_at, c.practitioner_seen_at);
    let present_until = presence.both_until();
    let before = c.minutes_billed;
    let outages = app.outages.current();
    if let Some(first_gone) = presence.gone(now, grace) {
        // An outage in the gap kept both away; otherwise the side that went quiet first.
        let reason = if billing::outage_between(present_until, now, &outages) {
            EndReason::ServiceInterrupted
        } else {
            match first_gone {
                billing::Side::Client => EndReason::ClientDisconnected,
                billing::Side::Practitioner => EndReason::PractitionerDisconnected,
            }
        };
        let ended = settle(app, &txn, c, present_until, reason, now, &mut out).await?;
        report.minutes_charged += (ended.minutes_billed - before) as u32;
        report.sessions_ended += 1;
    } else if let Some(unpaid) =
        bill_until(&txn, &mut c, present_until, &outages, now, &mut out).await?
    {
        report.minutes_charged += (c.minutes_billed - before) as u32;
        close(
            app,
            &txn,
            c,
            unpaid,
            EndReason::InsufficientFunds,
            now,
            &mut out,
        )
        .await?;
        report.sessions_ended += 1;
    } else {
        report.minutes_charged += (c.minutes_billed - before) as u32;
        warn_if_low(&txn, &mut c, now, &mut out).await?;
        save_progress(&txn, &c, now).await?;
    }
    txn.commit().await?;
    out.publish(app).await;
    Ok(report)
}

/// "2 minutes left", then "1 minute left": each sent once per session.
async fn warn_if_low(
    txn: &WriteTxn,
    c: &mut consultation::Model,
    now: DateTime<Utc>,
    out: &mut Outbox,
) -> Result<()> {
    let next = billing::price_minute(c.minutes_billed as u32, terms_of(c)?);
    if next.client_pays == 0 {
        return Ok(());
    }
    let available = available_balance(txn, c.client_id, currency_of(c)?).await?;
    warn_with(txn, c, available, now, out).await?;
    Ok(())
}

/// The warning due, if any, now that the client's wallet holds `available` (see
/// `warn_if_low`); records it on `c`. The first warning of a session also notifies the
/// client (inbox and push), inside the caller's transaction.
pub async fn warn_with<C: ConnectionTrait>(
    conn: &C,
    c: &mut consultation::Model,
    available: i64,
    now: DateTime<Utc>,
    out: &mut Outbox,
) -> Result<()> {
    let terms = terms_of(c)?;
    let next = billing::price_minute(c.minutes_billed as u32, terms);
    if next.client_pays == 0 {
        return Ok(());
    }
    let left = billing::minutes_affordable(terms, c.minutes_billed as u32, available);
    for threshold in [1i64, 2] {
        if left <= threshold
            && c.warned_at_minutes_left
                .is_none_or(|w| i64::from(w) > threshold)
        {
            let first_warning = c.warned_at_minutes_left.is_none();
            c.warned_at_minutes_left = Some(threshold as i32);
            out.both(c, LiveEvent::low_balance(c, left));
            // The socket frame is for the open session screen; the notification (inbox and
            // a push, for a client who switched apps) is sent once per session.
            if first_warning {
                crate::notifications::notify(
                    conn,
                    now,
                    c.client_id,
                    "wallet.low_balance",
                    serde_json::json!({
                        "minutes_left": left,
                        "balance": crate::notifications::format_money(available, &c.currency),
                        "consultation_reference": c.reference,
                    }),
                )
                .await?;
            }
            break;
        }
    }
    Ok(())
}

/// Runs [`tick`] every `live_tick_ms` until `stop` flips.
pub fn spawn_worker(app: &Services, mut stop: tokio::sync::watch::Receiver<bool>) {
    let app = app.clone();
    tokio::spawn(async move {
        let period = std::time::Duration::from_millis(app.config.live_tick_ms.max(10));
        loop {
            if let Err(e) = tick(&app).await {
                tracing::warn!(error = ?e, "consultation tick failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = stop.changed() => break,
            }
        }
    });
}
