//! Users' notification preferences: each category switched on or off per channel, quiet
//! hours in a time zone, and the signed unsubscribe links emails carry (they work without
//! signing in and switch that category's email off).
//!
//! Only choices are stored (`notification_preferences` rows); a missing row means the
//! category's default. Security messages can be neither switched off nor held back.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{Category, Channel};
use crate::app::AppState;
use crate::auth::AuthUser;
use crate::auth::token::Keys;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiQuery, double_option};
use crate::validate::Check;
use store::entity::{notification_preference as pref, notification_setting as setting, user};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(unsubscribe, unsubscribe_one_click))
}

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

fn parse_hhmm(s: &str) -> Option<NaiveTime> {
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

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ChannelSwitches {
    pub in_app: Option<bool>,
    pub email: Option<bool>,
    pub sms: Option<bool>,
    pub push: Option<bool>,
}

impl ChannelSwitches {
    fn get(&self, channel: Channel) -> Option<bool> {
        match channel {
            Channel::InApp => self.in_app,
            Channel::Email => self.email,
            Channel::Sms => self.sms,
            Channel::Push => self.push,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryPrefs {
    pub category: Category,
    /// Cannot be switched off (security messages).
    pub locked: bool,
    /// Every channel, on or off.
    pub channels: ChannelSwitches,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursView {
    /// Local start, `HH:MM`.
    pub start: String,
    /// Local end, `HH:MM`; before `start` when the window spans midnight.
    pub end: String,
    /// IANA zone; absent = the account's time zone.
    pub time_zone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreferencesView {
    pub categories: Vec<CategoryPrefs>,
    /// Email, SMS and push that are not urgent wait until these end; in-app is not held.
    pub quiet_hours: Option<QuietHoursView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryUpdate {
    pub category: String,
    pub channels: ChannelSwitches,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesUpdate {
    /// Channels to switch; the ones left out keep their state.
    #[serde(default)]
    pub categories: Vec<CategoryUpdate>,
    /// Absent: unchanged; `null`: no quiet hours.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<QuietHoursView>)]
    pub quiet_hours: Option<Option<QuietHoursView>>,
}

async fn view(app: &AppState, user_id: Uuid) -> ApiResult<PreferencesView> {
    let prefs = load(&app.db, user_id).await?;
    let settings = setting::Entity::find_by_id(user_id).one(&app.db).await?;
    let categories = Category::ALL
        .into_iter()
        .map(|c| CategoryPrefs {
            category: c,
            locked: c.locked(),
            channels: ChannelSwitches {
                in_app: Some(prefs.enabled(c, Channel::InApp)),
                email: Some(prefs.enabled(c, Channel::Email)),
                sms: Some(prefs.enabled(c, Channel::Sms)),
                push: Some(prefs.enabled(c, Channel::Push)),
            },
        })
        .collect();
    let quiet_hours = settings.and_then(|s| {
        Some(QuietHoursView {
            start: s.quiet_start?,
            end: s.quiet_end?,
            time_zone: s.time_zone,
        })
    });
    Ok(PreferencesView {
        categories,
        quiet_hours,
    })
}

/// My notification preferences: every category on every channel, and quiet hours.
#[utoipa::path(get, path = "/api/v1/notifications/preferences", tag = "notifications",
    responses((status = 200, body = PreferencesView), (status = 401, body = Problem)),
    security(("bearer" = [])))]
async fn get_preferences(
    State(app): State<AppState>,
    auth: AuthUser,
) -> ApiResult<ApiJson<PreferencesView>> {
    Ok(ApiJson(view(&app, auth.id).await?))
}

/// Change my preferences. Security messages cannot be switched off.
#[utoipa::path(put, path = "/api/v1/notifications/preferences", tag = "notifications",
    request_body = PreferencesUpdate,
    responses((status = 200, body = PreferencesView), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn put_preferences(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<PreferencesUpdate>,
) -> ApiResult<ApiJson<PreferencesView>> {
    let mut c = Check::new();
    let mut changes = Vec::new();
    for (i, u) in body.categories.iter().enumerate() {
        let field = format!("categories[{i}].category");
        let Some(category) = Category::parse(&u.category) else {
            c.fail(&field, "invalid_choice", "is not a notification category");
            continue;
        };
        for channel in Channel::ALL {
            let Some(on) = u.channels.get(channel) else {
                continue;
            };
            if category.locked() && !on {
                c.fail(
                    &format!("categories[{i}].channels.{}", channel.as_str()),
                    "category_locked",
                    "security messages cannot be switched off",
                );
                continue;
            }
            changes.push((category, channel, on));
        }
    }
    let quiet = match &body.quiet_hours {
        Some(Some(q)) => {
            let start = parse_hhmm(&q.start);
            let end = parse_hhmm(&q.end);
            c.ensure(
                start.is_some(),
                "quiet_hours.start",
                "invalid_time",
                "must be HH:MM",
            );
            c.ensure(
                end.is_some(),
                "quiet_hours.end",
                "invalid_time",
                "must be HH:MM",
            );
            c.ensure(
                start.is_none() || start != end,
                "quiet_hours.end",
                "empty_window",
                "must differ from start",
            );
            if let Some(tz) = &q.time_zone {
                c.time_zone("quiet_hours.time_zone", tz);
            }
            Some(Some((
                q.start.clone(),
                q.end.clone(),
                q.time_zone.as_ref().map(|z| z.trim().to_owned()),
            )))
        }
        Some(None) => Some(None),
        None => None,
    };
    c.finish()?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    for (category, channel, on) in changes {
        set(&txn, auth.id, category, channel, on, now).await?;
    }
    if let Some(quiet) = quiet {
        let (start, end, zone) = match quiet {
            Some((s, e, z)) => (Some(s), Some(e), z),
            None => (None, None, None),
        };
        setting::Entity::insert(setting::ActiveModel {
            user_id: Set(auth.id),
            quiet_start: Set(start),
            quiet_end: Set(end),
            time_zone: Set(zone),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(setting::Column::UserId)
                .update_columns([
                    setting::Column::QuietStart,
                    setting::Column::QuietEnd,
                    setting::Column::TimeZone,
                    setting::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(ApiJson(view(&app, auth.id).await?))
}

/// The token of an email's unsubscribe link: the user and category, signed with the
/// server's key. It does not expire: an old email's link keeps working.
pub fn unsubscribe_token(keys: &Keys, user_id: Uuid, category: Category) -> String {
    let payload = format!("{}.{}", user_id.simple(), category.as_str());
    let sig = keys.keyed_hash(&["unsubscribe", &payload]);
    format!("{payload}.{}", &sig[..32])
}

fn verify_token(keys: &Keys, token: &str) -> Option<(Uuid, Category)> {
    let mut parts = token.trim().splitn(3, '.');
    let (user, category, sig) = (parts.next()?, parts.next()?, parts.next()?);
    let user_id = Uuid::parse_str(user).ok()?;
    let category = Category::parse(category)?;
    let expected = unsubscribe_token(keys, user_id, category);
    let expected_sig = expected.rsplit('.').next()?;
    bool::from(expected_sig.as_bytes().ct_eq(sig.as_bytes())).then_some((user_id, category))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeQuery {
    /// The token from the email's link.
    pub token: String,
}

async fn apply_unsubscribe(app: &AppState, token: &str) -> ApiResult<Response> {
    let Some((user_id, category)) = verify_token(&app.keys, token) else {
        return Err(ApiError::bad_request(
            "invalid_unsubscribe_token",
            "This unsubscribe link is not valid",
        ));
    };
    if category.locked() {
        return Err(ApiError::bad_request(
            "invalid_unsubscribe_token",
            "This unsubscribe link is not valid",
        ));
    }
    if user::Entity::find_by_id(user_id)
        .one(&app.db)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("Account"));
    }
    let txn = store::begin_write(&app.db).await?;
    set(
        &txn,
        user_id,
        category,
        Channel::Email,
        false,
        app.clock.now(),
    )
    .await?;
    txn.commit().await?;
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Unsubscribed</title></head>\
         <body><h1>You are unsubscribed</h1><p>You will no longer get {} emails from {}. \
         You can change this at any time in the app's notification settings.</p></body></html>",
        category.as_str(),
        super::APP_NAME
    );
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response())
}

/// The link in an email's footer: switches that category's email off. No sign-in needed.
#[utoipa::path(get, path = "/api/v1/notifications/unsubscribe", tag = "notifications",
    params(UnsubscribeQuery),
    responses((status = 200, description = "A page saying it is done", content_type = "text/html", body = String),
              (status = 400, body = Problem)))]
async fn unsubscribe(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<UnsubscribeQuery>,
) -> ApiResult<Response> {
    apply_unsubscribe(&app, &q.token).await
}

/// One-click unsubscribe (RFC 8058), what mail clients call from `List-Unsubscribe-Post`.
#[utoipa::path(post, path = "/api/v1/notifications/unsubscribe", tag = "notifications",
    params(UnsubscribeQuery),
    responses((status = 200, description = "Done", content_type = "text/html", body = String),
              (status = 400, body = Problem)))]
async fn unsubscribe_one_click(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<UnsubscribeQuery>,
) -> ApiResult<Response> {
    apply_unsubscribe(&app, &q.token).await
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
