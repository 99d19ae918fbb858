//! Appointments: service types and practitioners' services, working hours in the
//! practitioner's own zone (weekly hours, breaks, date overrides, blocked dates), the slots
//! those give ([`slots`], pure), bookings paid by a hold on the client's wallet and settled
//! by the cancellation and no-show rules ([`policy`], pure; [`bookings`]), and the sweep
//! that expires unanswered requests, sends reminders and closes appointments. HTTP lives in
//! [`routes`] (services, hours, slots) and [`booking_routes`]. See docs/appointments.md.

pub mod bookings;
pub mod policy;
pub mod slots;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use slots::{Busy, Range, Rules, Schedule};
use store::entity::{
    availability_override, blocked_date, booking, consultation, practitioner_availability,
    practitioner_schedule, service,
};
use store::status::ConsultationStatus;

/// How an appointment takes place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceChannel {
    Chat,
    Call,
    Video,
    InPerson,
}

impl ServiceChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceChannel::Chat => "chat",
            ServiceChannel::Call => "call",
            ServiceChannel::Video => "video",
            ServiceChannel::InPerson => "in_person",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "chat" => ServiceChannel::Chat,
            "call" => ServiceChannel::Call,
            "video" => ServiceChannel::Video,
            "in_person" => ServiceChannel::InPerson,
            _ => return None,
        })
    }
}

pub use store::status::BookingStatus;

/// Statuses that still take the practitioner's time.
pub const OPEN: [&str; 2] = [
    BookingStatus::Requested.as_str(),
    BookingStatus::Confirmed.as_str(),
];

/// The service types a new platform starts with (admins add, rename and retire them).
const DEFAULT_SERVICE_TYPES: &[(&str, &str, &str)] = &[
    (
        "vedic-astrology",
        "Vedic astrology",
        "Birth chart reading and guidance",
    ),
    (
        "kundli-matching",
        "Kundli matching",
        "Compatibility for marriage",
    ),
    ("tarot", "Tarot reading", "A spread read together"),
    ("numerology", "Numerology", "Names, numbers and dates"),
    ("vastu", "Vastu", "Home and workplace consultation"),
    ("reiki", "Reiki healing", "Energy healing session"),
    ("pranic-healing", "Pranic healing", "Chakra and aura work"),
    (
        "meditation",
        "Guided meditation",
        "Sound, breath and meditation",
    ),
    ("puja", "Puja and rituals", "Performed or guided rituals"),
];

/// Adds the default service types when there are none (first start).
pub async fn seed_service_types<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use sea_orm::{ActiveModelTrait, PaginatorTrait, Set};
    if store::entity::service_type::Entity::find()
        .count(conn)
        .await?
        > 0
    {
        return Ok(());
    }
    for (i, (slug, name, description)) in DEFAULT_SERVICE_TYPES.iter().enumerate() {
        store::entity::service_type::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set((*slug).to_owned()),
            name: Set((*name).to_owned()),
            description: Set((*description).to_owned()),
            active: Set(true),
            sort_order: Set(i as i32),
            created_at: Set(now),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

/// How long an ongoing live session is assumed to keep a practitioner busy, for slots
/// offered now: its end is not known in advance.
pub const LIVE_SESSION_HORIZON_MINUTES: i64 = 30;

pub fn rules_of(s: &service::Model) -> Rules {
    Rules {
        duration_minutes: i64::from(s.duration_minutes),
        interval_minutes: i64::from(s.slot_interval_minutes),
        buffer_before_minutes: i64::from(s.buffer_before_minutes),
        buffer_after_minutes: i64::from(s.buffer_after_minutes),
        min_notice_minutes: i64::from(s.min_notice_minutes),
        window_days: i64::from(s.booking_window_days),
        max_per_day: s.max_per_day.and_then(|m| u32::try_from(m).ok()),
        max_per_week: s.max_per_week.and_then(|m| u32::try_from(m).ok()),
    }
}

fn range_of(start: i32, end: i32) -> Option<Range> {
    Range::new(u16::try_from(start).ok()?, u16::try_from(end).ok()?)
}

/// A practitioner's hours as stored; `None` when they never set any.
pub async fn schedule_of<C: ConnectionTrait>(
    conn: &C,
    practitioner_id: Uuid,
) -> Result<Option<Schedule>, DbErr> {
    let Some(row) = practitioner_schedule::Entity::find_by_id(practitioner_id)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let zone: Tz = row.time_zone.parse().unwrap_or(Tz::UTC);
    let mut weekly: [Vec<Range>; 7] = Default::default();
    let mut breaks: [Vec<Range>; 7] = Default::default();
    for a in practitioner_availability::Entity::find()
        .filter(practitioner_availability::Column::PractitionerId.eq(practitioner_id))
        .all(conn)
        .await?
    {
        let (Some(r), Ok(day)) = (
            range_of(a.start_minute, a.end_minute),
            usize::try_from(a.weekday),
        ) else {
            continue;
        };
        if day > 6 {
            continue;
        }
        if a.kind == "break" {
            breaks[day].push(r);
        } else {
            weekly[day].push(r);
        }
    }
    let mut overrides: BTreeMap<chrono::NaiveDate, Vec<Range>> = BTreeMap::new();
    for o in availability_override::Entity::find()
        .filter(availability_override::Column::PractitionerId.eq(practitioner_id))
        .all(conn)
        .await?
    {
        let day = overrides.entry(o.date).or_default();
        // A date listed with an empty range (0–0) is a day with no hours.
        if let Some(r) = range_of(o.start_minute, o.end_minute) {
            day.push(r);
        }
    }
    let blocked = blocked_date::Entity::find()
        .filter(blocked_date::Column::PractitionerId.eq(practitioner_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|b| (b.start_date, b.end_date))
        .collect();
    for day in weekly.iter_mut().chain(breaks.iter_mut()) {
        day.sort_by_key(|r| r.start);
    }
    Ok(Some(Schedule {
        zone,
        weekly,
        breaks,
        overrides,
        blocked,
    }))
}

/// What keeps the practitioner busy around `[from, to)`: open bookings (with their
/// buffers) and live sessions going on now. `except` leaves one booking out (the one being
/// moved).
pub async fn busy_near<C: ConnectionTrait>(
    conn: &C,
    practitioner_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Vec<Busy>, DbErr> {
    let mut q = booking::Entity::find()
        .filter(booking::Column::PractitionerId.eq(practitioner_id))
        .filter(booking::Column::Status.is_in(OPEN))
        .filter(booking::Column::BlockStart.lt(to + Duration::days(1)))
        .filter(booking::Column::BlockEnd.gt(from - Duration::days(1)));
    if let Some(id) = except {
        q = q.filter(booking::Column::Id.ne(id));
    }
    let mut busy: Vec<Busy> = q
        .all(conn)
        .await?
        .into_iter()
        .map(|b| Busy {
            time: (b.starts_at, b.ends_at),
            block: (b.block_start, b.block_end),
        })
        .collect();
    for c in consultation::Entity::find()
        .filter(consultation::Column::PractitionerId.eq(practitioner_id))
        .filter(consultation::Column::Status.is_in([
            ConsultationStatus::Requested.as_str(),
            ConsultationStatus::Active.as_str(),
        ]))
        .all(conn)
        .await?
    {
        let start = c.started_at.unwrap_or(c.requested_at);
        busy.push(Busy::plain(
            start,
            now + Duration::minutes(LIVE_SESSION_HORIZON_MINUTES),
        ));
    }
    Ok(busy)
}

/// Starts of the service's bookings near `[from, to)` that count against its daily and
/// weekly limits (everything not declined, expired or cancelled).
pub async fn counted_near<C: ConnectionTrait>(
    conn: &C,
    service_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<Uuid>,
) -> Result<Vec<DateTime<Utc>>, DbErr> {
    let mut q = booking::Entity::find()
        .filter(booking::Column::ServiceId.eq(service_id))
        .filter(booking::Column::Status.is_not_in([
            BookingStatus::Declined.as_str(),
            BookingStatus::Expired.as_str(),
            BookingStatus::Cancelled.as_str(),
        ]))
        .filter(booking::Column::StartsAt.gte(from - Duration::days(8)))
        .filter(booking::Column::StartsAt.lt(to + Duration::days(8)));
    if let Some(id) = except {
        q = q.filter(booking::Column::Id.ne(id));
    }
    Ok(q.all(conn)
        .await?
        .into_iter()
        .map(|b| b.starts_at)
        .collect())
}
