//! Consultations that a booked appointment opens. The appointment was paid for up front
//! (a hold on the client's wallet, captured by the booking), so the session runs at a rate
//! of zero: it reuses everything a live session has (chat, receipts, RTC tokens, presence,
//! disconnect handling, transcript) and moves no money per minute. It ends when either side
//! ends it, when a side stays away past the grace window, or when the booked time is over.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::engine::{EndReason, Status, incremented, locked, refresh_availability, settle};
use super::events::{LiveEvent, Outbox};
use crate::Services;
use crate::error::Result;
use store::WriteTxn;
use store::entity::{consultation, practitioner_presence};

/// What a booking needs of its session.
pub struct Booked<'a> {
    pub client: Uuid,
    pub practitioner_id: Uuid,
    pub practitioner_user_id: Uuid,
    /// chat | call | video
    pub channel: &'a str,
    pub currency: &'a str,
    pub commission_bps: i32,
}

/// Starts the session now, with both sides present (they have both joined), inside the
/// booking's transaction. Events go into `out`, to be published after the commit.
pub async fn open(
    txn: &WriteTxn,
    b: Booked<'_>,
    now: DateTime<Utc>,
    out: &mut Outbox,
) -> Result<consultation::Model> {
    let row = consultation::ActiveModel {
        id: Set(Uuid::now_v7()),
        reference: Set(crate::payments::human_reference("CS")),
        client_id: Set(b.client),
        practitioner_id: Set(b.practitioner_id),
        practitioner_user_id: Set(b.practitioner_user_id),
        channel: Set(b.channel.to_owned()),
        status: Set(Status::Active.as_str().to_owned()),
        currency: Set(b.currency.to_owned()),
        // Prepaid by the booking.
        rate_minor: Set(0),
        commission_bps: Set(b.commission_bps),
        free_minutes: Set(0),
        promo_code: Set(None),
        promo_id: Set(None),
        discount_per_minute: Set(0),
        discount_budget: Set(0),
        requested_at: Set(now),
        respond_by: Set(now),
        started_at: Set(Some(now)),
        ended_at: Set(None),
        end_reason: Set(None),
        minutes_billed: Set(0),
        free_minutes_used: Set(0),
        amount_charged: Set(0),
        discount_total: Set(0),
        client_seen_at: Set(Some(now)),
        practitioner_seen_at: Set(Some(now)),
        warned_at_minutes_left: Set(None),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    // The session occupies one of the practitioner's slots like any other (the booking
    // already reserved the time, so the slot limit is not checked here).
    practitioner_presence::Entity::update_many()
        .col_expr(
            practitioner_presence::Column::ActiveSessions,
            incremented(practitioner_presence::Column::ActiveSessions, 1),
        )
        .col_expr(practitioner_presence::Column::UpdatedAt, Expr::value(now))
        .filter(practitioner_presence::Column::PractitionerId.eq(b.practitioner_id))
        .exec(txn)
        .await?;
    refresh_availability(txn, b.practitioner_id).await?;
    out.both(&row, LiveEvent::started(&row));
    Ok(row)
}

/// Ends the session because the booked time is over; a session already ended is left as
/// it is. Returns the session as it stands.
pub async fn time_up(
    app: &Services,
    txn: &WriteTxn,
    id: Uuid,
    now: DateTime<Utc>,
    out: &mut Outbox,
) -> Result<Option<consultation::Model>> {
    let Some(c) = locked(txn, id).await? else {
        return Ok(None);
    };
    if c.status != Status::Active.as_str() {
        return Ok(Some(c));
    }
    Ok(Some(
        settle(app, txn, c, now, EndReason::TimeUp, now, out).await?,
    ))
}
