//! Users' notification preferences: each category switched on or off per channel, quiet
//! hours in a time zone, and the signed unsubscribe links emails carry (they work without
//! signing in and switch that category's email off).
//!
//! Only choices are stored (`notification_preferences` rows); a missing row means the
//! category's default. Security messages can be neither switched off nor held back.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiQuery, double_option};
use domain::notifications::preferences::{load, parse_hhmm, set, verify_token};
use domain::notifications::{Category, Channel};
use domain::validate::Check;
use store::entity::{notification_setting as setting, user};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(unsubscribe, unsubscribe_one_click))
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
