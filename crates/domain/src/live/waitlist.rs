//! The waitlist for a busy practitioner: clients join in order, see their position and may
//! leave; when a session slot frees, the first in line is offered it for
//! `live_offer_ttl_secs` (nobody else may take the slot meanwhile), and an unused offer
//! passes to the next. Taking the offer is simply requesting the consultation.
//!
//! Joining asks what a request would: a wallet that covers the minimum to start on the
//! terms the client would get. A client waits in one line at a time (a partial unique index,
//! `waitlist_one_per_client`), so nobody holds places, and offers, with many practitioners.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::engine::channel_str;
use super::events::{LiveEvent, Outbox};
use crate::Services;
use crate::error::{Error, Result};
use crate::practitioners::{Channel, Verification};
use store::entity::{practitioner, practitioner_presence, waitlist_entry};
use store::status::WaitlistStatus;

pub const WAITING: &str = WaitlistStatus::Waiting.as_str();
pub const OFFERED: &str = WaitlistStatus::Offered.as_str();

#[derive(Debug, Serialize, ToSchema)]
pub struct WaitlistView {
    pub id: Uuid,
    pub practitioner_id: Uuid,
    pub channel: String,
    /// `waiting`, `offered`, `left`, `expired` or `served`.
    pub status: String,
    /// 1 = next in line (only while waiting or offered).
    pub position: Option<u64>,
    /// While offered: request the consultation before this.
    pub offer_expires_at: Option<DateTime<Utc>>,
}

/// Entries still in line (waiting or holding an offer).
fn in_line() -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(waitlist_entry::Column::Status.eq(WAITING))
        .add(waitlist_entry::Column::Status.eq(OFFERED))
}

async fn view<C: ConnectionTrait>(conn: &C, e: waitlist_entry::Model) -> Result<WaitlistView> {
    let position = if e.status == WAITING || e.status == OFFERED {
        let ahead = waitlist_entry::Entity::find()
            .filter(waitlist_entry::Column::PractitionerId.eq(e.practitioner_id))
            .filter(in_line())
            .filter(waitlist_entry::Column::Id.lt(e.id))
            .count(conn)
            .await?;
        Some(ahead + 1)
    } else {
        None
    };
    Ok(WaitlistView {
        id: e.id,
        practitioner_id: e.practitioner_id,
        channel: e.channel,
        status: e.status,
        position,
        offer_expires_at: e.offer_expires_at,
    })
}

async fn my_entry<C: ConnectionTrait>(
    conn: &C,
    practitioner_id: Uuid,
    client: Uuid,
) -> Result<Option<waitlist_entry::Model>> {
    Ok(waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::PractitionerId.eq(practitioner_id))
        .filter(waitlist_entry::Column::ClientId.eq(client))
        .filter(in_line())
        .one(conn)
        .await?)
}

/// Whether the client is in any practitioner's line.
async fn in_any_line<C: ConnectionTrait>(conn: &C, client: Uuid) -> Result<bool> {
    Ok(waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::ClientId.eq(client))
        .filter(in_line())
        .count(conn)
        .await?
        > 0)
}

fn already_waiting() -> Error {
    Error::conflict("already_waiting", "You are already on this waitlist")
}

fn waitlist_elsewhere() -> Error {
    Error::conflict(
        "waitlist_elsewhere",
        "You are on another practitioner's waitlist; leave it to join this one",
    )
}

/// Joins a busy practitioner's waitlist. The wallet must cover the minimum a request would
/// need (402 `insufficient_funds`), and a client waits in one line at a time (409
/// `waitlist_elsewhere`).
pub async fn join(
    app: &Services,
    client: Uuid,
    id: Uuid,
    channel: Channel,
) -> Result<WaitlistView> {
    let p = practitioner::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|p| p.verification_status == Verification::Approved.as_str())
        .ok_or_else(|| Error::not_found("Practitioner"))?;
    if p.user_id == client {
        return Err(Error::field(
            "practitioner_id",
            "self_consultation",
            "practitioners cannot consult themselves",
        ));
    }
    let rate = super::engine::rate_of(&p, channel).ok_or_else(|| {
        Error::field(
            "channel",
            "channel_unavailable",
            "this practitioner does not offer this channel",
        )
    })?;
    let now = app.clock.now();
    let presence = practitioner_presence::Entity::find_by_id(p.id)
        .one(&app.db)
        .await?
        .filter(|x| {
            x.online
                && x.last_heartbeat_at >= now - Duration::seconds(app.config.presence_timeout_secs)
        })
        .ok_or_else(|| Error::conflict("practitioner_offline", "The practitioner is not online"))?;
    // The same check a request makes (promo codes are given with the request itself).
    let (terms, currency, _) = super::engine::terms_for(app, &p, rate, client, None, now).await?;
    super::engine::ensure_can_start(app, client, terms, currency).await?;
    let txn = store::begin_write(&app.db).await?;
    let queue = waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::PractitionerId.eq(p.id))
        .filter(in_line())
        .count(&txn)
        .await?;
    if presence.active_sessions < p.max_concurrent_sessions && queue == 0 {
        return Err(Error::conflict(
            "not_busy",
            "The practitioner has a free slot: request the consultation directly",
        ));
    }
    if my_entry(&txn, p.id, client).await?.is_some() {
        return Err(already_waiting());
    }
    if in_any_line(&txn, client).await? {
        return Err(waitlist_elsewhere());
    }
    let e = waitlist_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        practitioner_id: Set(p.id),
        client_id: Set(client),
        channel: Set(channel_str(channel).to_owned()),
        status: Set(WAITING.to_owned()),
        offer_expires_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await;
    let e = match e {
        Ok(e) => e,
        // A join that raced this one (PostgreSQL lets both pass the checks above) holds the
        // client's one place: say which.
        Err(err) if crate::error::unique_violation(&err).is_some() => {
            drop(txn);
            return Err(if my_entry(&app.db, p.id, client).await?.is_some() {
                already_waiting()
            } else {
                waitlist_elsewhere()
            });
        }
        Err(err) => return Err(err.into()),
    };
    let v = view(&txn, e).await?;
    txn.commit().await?;
    Ok(v)
}

/// The client's place on a practitioner's waitlist.
pub async fn my_place(app: &Services, client: Uuid, id: Uuid) -> Result<WaitlistView> {
    let e = my_entry(&app.db, id, client)
        .await?
        .ok_or_else(|| Error::not_found("Waitlist entry"))?;
    view(&app.db, e).await
}

/// Leaves the waitlist (an offer the client holds passes to the next in line).
pub async fn leave(app: &Services, client: Uuid, id: Uuid) -> Result<()> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let e = my_entry(&txn, id, client)
        .await?
        .ok_or_else(|| Error::not_found("Waitlist entry"))?;
    let mut m: waitlist_entry::ActiveModel = e.into();
    m.status = Set(WaitlistStatus::Left.as_str().to_owned());
    m.updated_at = Set(now);
    m.update(&txn).await?;
    let offered = offer_next(app, &txn, id, now).await?;
    txn.commit().await?;
    announce(app, offered).await;
    Ok(())
}

/// Whether `client` holds a live offer for this practitioner's slot.
pub async fn holds_offer<C: ConnectionTrait>(
    conn: &C,
    practitioner_id: Uuid,
    client: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::PractitionerId.eq(practitioner_id))
        .filter(waitlist_entry::Column::Status.eq(OFFERED))
        .filter(waitlist_entry::Column::OfferExpiresAt.gt(now))
        .filter(waitlist_entry::Column::ClientId.eq(client))
        .count(conn)
        .await?
        > 0)
}

/// Clients in line for this practitioner: a newcomer may not jump the queue.
pub async fn queue_len<C: ConnectionTrait>(conn: &C, practitioner_id: Uuid) -> Result<u64> {
    Ok(waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::PractitionerId.eq(practitioner_id))
        .filter(in_line())
        .count(conn)
        .await?)
}

/// The client took their offer (their request went in): the entry is served.
pub async fn mark_served<C: ConnectionTrait>(
    conn: &C,
    practitioner_id: Uuid,
    client: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    waitlist_entry::Entity::update_many()
        .col_expr(waitlist_entry::Column::Status, Expr::value("served"))
        .col_expr(waitlist_entry::Column::UpdatedAt, Expr::value(now))
        .filter(waitlist_entry::Column::PractitionerId.eq(practitioner_id))
        .filter(waitlist_entry::Column::ClientId.eq(client))
        .filter(in_line())
        .exec(conn)
        .await?;
    Ok(())
}

/// Offers the slot to the first waiting client when the practitioner has a free slot and no
/// live offer is out. Returns the entry offered, to announce after commit.
pub async fn offer_next<C: ConnectionTrait>(
    app: &Services,
    conn: &C,
    practitioner_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<waitlist_entry::Model>> {
    let live_offer = waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::PractitionerId.eq(practitioner_id))
        .filter(waitlist_entry::Column::Status.eq(OFFERED))
        .filter(waitlist_entry::Column::OfferExpiresAt.gt(now))
        .count(conn)
        .await?;
    if live_offer > 0 {
        return Ok(None);
    }
    let Some(p) = practitioner::Entity::find_by_id(practitioner_id)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let free = practitioner_presence::Entity::find_by_id(practitioner_id)
        .one(conn)
        .await?
        .is_some_and(|x| x.online && x.active_sessions < p.max_concurrent_sessions);
    if !free {
        return Ok(None);
    }
    let Some(next) = waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::PractitionerId.eq(practitioner_id))
        .filter(waitlist_entry::Column::Status.eq(WAITING))
        .order_by_asc(waitlist_entry::Column::Id)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let mut m: waitlist_entry::ActiveModel = next.into();
    m.status = Set(OFFERED.to_owned());
    m.offer_expires_at = Set(Some(
        now + Duration::seconds(app.config.live_offer_ttl_secs),
    ));
    m.updated_at = Set(now);
    Ok(Some(m.update(conn).await?))
}

/// Tells the client their slot is free.
pub async fn announce(app: &Services, offered: Option<waitlist_entry::Model>) {
    let Some(e) = offered else { return };
    let mut out = Outbox::default();
    out.push(e.client_id, LiveEvent::offer(&e));
    out.publish(app).await;
}

/// Expired offers pass to the next in line; free slots with a queue get an offer.
pub async fn sweep(app: &Services, now: DateTime<Utc>) -> Result<u32> {
    let expired = waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::Status.eq(OFFERED))
        .filter(waitlist_entry::Column::OfferExpiresAt.lte(now))
        .all(&app.db)
        .await?;
    let mut practitioners: Vec<Uuid> = expired.iter().map(|e| e.practitioner_id).collect();
    if !expired.is_empty() {
        let txn = store::begin_write(&app.db).await?;
        waitlist_entry::Entity::update_many()
            .col_expr(
                waitlist_entry::Column::Status,
                Expr::value(WaitlistStatus::Expired.as_str()),
            )
            .col_expr(waitlist_entry::Column::UpdatedAt, Expr::value(now))
            .filter(waitlist_entry::Column::Status.eq(OFFERED))
            .filter(waitlist_entry::Column::OfferExpiresAt.lte(now))
            .exec(&txn)
            .await?;
        txn.commit().await?;
    }
    let waiting = waitlist_entry::Entity::find()
        .filter(waitlist_entry::Column::Status.eq(WAITING))
        .all(&app.db)
        .await?;
    practitioners.extend(waiting.iter().map(|e| e.practitioner_id));
    practitioners.sort_unstable();
    practitioners.dedup();
    let mut offers = 0;
    for p in practitioners {
        let txn = store::begin_write(&app.db).await?;
        let offered = offer_next(app, &txn, p, now).await?;
        txn.commit().await?;
        if offered.is_some() {
            offers += 1;
        }
        announce(app, offered).await;
    }
    Ok(offers)
}
