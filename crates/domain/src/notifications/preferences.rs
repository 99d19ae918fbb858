//! Users' notification preferences as delivery reads them: per category and channel
//! switches, quiet hours in the user's zone, and signed one-click unsubscribe tokens. The
//! preference routes are the server's.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{Category, Channel};
use crate::auth::token::Keys;
use store::entity::{notification_preference as pref, notification_setting as setting};

/// Quiet hours: a daily local window (it may span midnight) in one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub zone: Tz,
}

impl QuietHours {
    /// Whether local time `t` is inside the window. `start == end` is an empty window.
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// When a non-urgent message created at `now` may go out: `now`, or the end of the
    /// quiet hours it falls in. An end that a daylight-saving jump skips moves to the first
    /// local time that exists after it.
    pub fn defer(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = now.with_timezone(&self.zone);
        if !self.contains(local.time()) {
            return now;
        }
        let mut date = local.date_naive();
        // In a window spanning midnight, before midnight the end is tomorrow.
        if local.time() >= self.end {
            date = date.succ_opt().unwrap_or(date);
        }
        let mut wall = date.and_time(self.end);
        for _ in 0..16 {
            if let Some(t) = self.zone.from_local_datetime(&wall).earliest() {
                return t.with_timezone(&Utc).max(now);
            }
            wall += Duration::minutes(15);
        }
        now
    }
}

/// A user's stored choices.
#[derive(Debug, Default, Clone)]
pub struct Prefs {
    choices: HashMap<(String, String), bool>,
    quiet: Option<(NaiveTime, NaiveTime, Option<String>)>,
}

impl Prefs {
    pub fn enabled(&self, category: Category, channel: Channel) -> bool {
        if category.locked() {
            return true;
        }
        self.choices
            .get(&(category.as_str().to_owned(), channel.as_str().to_owned()))
            .copied()
            .unwrap_or_else(|| category.default_enabled(channel))
    }

    /// The quiet hours, in their own zone or else the user's; none when unset or the zone
    /// is unknown.
    pub fn quiet_hours(&self, user_zone: &str) -> Option<QuietHours> {
        let (start, end, zone) = self.quiet.as_ref()?;
        let zone: Tz = zone.as_deref().unwrap_or(user_zone).parse().ok()?;
        Some(QuietHours {
            start: *start,
            end: *end,
            zone,
        })
    }
}

pub fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

pub async fn load<C: ConnectionTrait>(conn: &C, user_id: Uuid) -> Result<Prefs, sea_orm::DbErr> {
    let rows = pref::Entity::find()
        .filter(pref::Column::UserId.eq(user_id))
        .all(conn)
        .await?;
    let settings = setting::Entity::find_by_id(user_id).one(conn).await?;
    let quiet = settings.and_then(|s| {
        Some((
            parse_hhmm(s.quiet_start.as_deref()?)?,
            parse_hhmm(s.quiet_end.as_deref()?)?,
            s.time_zone,
        ))
    });
    Ok(Prefs {
        choices: rows
            .into_iter()
            .map(|r| ((r.category, r.channel), r.enabled))
            .collect(),
        quiet,
    })
}

/// Stores one choice (insert or overwrite).
pub async fn set<C: ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
    category: Category,
    channel: Channel,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    pref::Entity::insert(pref::ActiveModel {
        user_id: Set(user_id),
        category: Set(category.as_str().to_owned()),
        channel: Set(channel.as_str().to_owned()),
        enabled: Set(enabled),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            pref::Column::UserId,
            pref::Column::Category,
            pref::Column::Channel,
        ])
        .update_columns([pref::Column::Enabled, pref::Column::UpdatedAt])
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The token of an email's unsubscribe link: the user and category, signed with the
/// server's key. It does not expire: an old email's link keeps working.
pub fn unsubscribe_token(keys: &Keys, user_id: Uuid, category: Category) -> String {
    let payload = format!("{}.{}", user_id.simple(), category.as_str());
    let sig = keys.keyed_hash(&["unsubscribe", &payload]);
    format!("{payload}.{}", &sig[..32])
}

pub fn verify_token(keys: &Keys, token: &str) -> Option<(Uuid, Category)> {
    let mut parts = token.trim().splitn(3, '.');
    let (user, category, sig) = (parts.next()?, parts.next()?, parts.next()?);
    let user_id = Uuid::parse_str(user).ok()?;
    let category = Category::parse(category)?;
    let expected = unsubscribe_token(keys, user_id, category);
    let expected_sig = expected.rsplit('.').next()?;
    bool::from(expected_sig.as_bytes().ct_eq(sig.as_bytes())).then_some((user_id, category))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn windows_across_midnight_and_within_a_day() {
        let night = QuietHours {
            start: t(22, 0),
            end: t(7, 0),
            zone: chrono_tz::Asia::Kolkata,
        };
        assert!(night.contains(t(23, 0)));
        assert!(night.contains(t(3, 0)));
        assert!(!night.contains(t(7, 0)));
        assert!(!night.contains(t(12, 0)));
        let lunch = QuietHours {
            start: t(13, 0),
            end: t(14, 0),
            ..night
        };
        assert!(lunch.contains(t(13, 30)));
        assert!(!lunch.contains(t(14, 0)));
    }

    #[test]
    fn a_message_in_quiet_hours_waits_for_their_end_in_the_users_zone() {
        let q = QuietHours {
            start: t(22, 0),
            end: t(7, 0),
            zone: chrono_tz::Asia::Kolkata,
        };
        // 23:30 IST on 1 Nov is 18:00 UTC; 07:00 IST on 2 Nov is 01:30 UTC.
        assert_eq!(
            q.defer(utc("2026-11-01T18:00:00Z")),
            utc("2026-11-02T01:30:00Z")
        );
        // 02:00 IST on 2 Nov (20:30 UTC on 1 Nov): the end is the same morning.
        assert_eq!(
            q.defer(utc("2026-11-01T20:30:00Z")),
            utc("2026-11-02T01:30:00Z")
        );
        // 12:00 IST: not quiet.
        assert_eq!(
            q.defer(utc("2026-11-02T06:30:00Z")),
            utc("2026-11-02T06:30:00Z")
        );
    }

    #[test]
    fn an_end_skipped_by_daylight_saving_moves_to_the_next_real_time() {
        // New York springs forward on 8 Mar 2026: 02:00–03:00 does not exist.
        let q = QuietHours {
            start: t(23, 0),
            end: t(2, 30),
            zone: chrono_tz::America::New_York,
        };
        // 23:30 EST on 7 Mar = 04:30 UTC on 8 Mar; 03:00 EDT on 8 Mar = 07:00 UTC.
        assert_eq!(
            q.defer(utc("2026-03-08T04:30:00Z")),
            utc("2026-03-08T07:00:00Z")
        );
    }

    #[test]
    fn unsubscribe_tokens_are_signed() {
        let keys = Keys::new(b"0123456789abcdef0123456789abcdef");
        let user = Uuid::now_v7();
        let token = unsubscribe_token(&keys, user, Category::Wallet);
        assert_eq!(verify_token(&keys, &token), Some((user, Category::Wallet)));
        let forged = token.replace("wallet", "bookings");
        assert_eq!(verify_token(&keys, &forged), None);
        let other = Keys::new(b"another-key-another-key-another-k");
        assert_eq!(verify_token(&other, &token), None);
        assert_eq!(verify_token(&keys, "garbage"), None);
    }
}
