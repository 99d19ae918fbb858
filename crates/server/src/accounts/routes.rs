//! `/api/v1/me…`: read and edit my profile and birth details, list and end my sessions.

use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{GENDERS, UserView};
use crate::app::AppState;
use crate::auth::{AccountStatus, AuthUser, password, session};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiJson, ApiPath, ClientMeta};
use crate::practitioners::{Availability, Verification, refresh_card};
use domain::audit::{self, Change};
use domain::validate::Check;
use store::entity::{auth_session, birth_detail, favorite, practitioner, user};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me, delete_me))
        .routes(routes!(get_birth_details, put_birth_details))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .merge(super::security::router())
        .merge(super::email::router())
        .merge(super::pages::router())
}

/// My profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    responses((status = 200, body = UserView), (status = 401, body = crate::error::Problem)),
    security(("bearer" = [])))]
async fn get_me(auth: AuthUser) -> ApiJson<UserView> {
    ApiJson(auth.user.into())
}

/// Fields to change; absent fields stay as they are, `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<String>)]
    pub gender: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub date_of_birth: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<String>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<String>)]
    pub state: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    pub language: Option<String>,
    pub time_zone: Option<String>,
}

/// Edit my profile.
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", request_body = UpdateMe,
    responses((status = 200, body = UserView), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
async fn update_me(
    axum::extract::State(app): axum::extract::State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<UpdateMe>,
) -> ApiResult<ApiJson<UserView>> {
    let mut c = Check::new();
    let today = app.clock.now().date_naive();
    let mut m = auth.user.clone().into_active_model();
    if let Some(v) = &body.first_name {
        m.first_name = Set(c.text("first_name", v, 1, 100));
    }
    if let Some(v) = &body.last_name {
        m.last_name = Set(c.text("last_name", v, 0, 100));
    }
    if let Some(v) = &body.gender {
        if let Some(g) = v {
            c.ensure(
                GENDERS.contains(&g.as_str()),
                "gender",
                "invalid_choice",
                format!("must be one of {}", GENDERS.join(", ")),
            );
        }
        m.gender = Set(v.clone());
    }
    if let Some(v) = body.date_of_birth {
        if let Some(d) = v {
            c.ensure(
                d <= today && d >= NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default(),
                "date_of_birth",
                "out_of_range",
                "must be a past date after 1900",
            );
        }
        m.date_of_birth = Set(v);
    }
    for (field, value, slot) in [
        ("city", &body.city, &mut m.city),
        ("state", &body.state, &mut m.state),
        ("country", &body.country, &mut m.country),
    ] {
        if let Some(v) = value {
            *slot = Set(v.as_deref().and_then(|s| c.opt_text(field, Some(s), 100)));
        }
    }
    if let Some(v) = &body.avatar_url {
        m.avatar_url = Set(v.as_deref().map(|u| c.url("avatar_url", u)));
    }
    if let Some(v) = &body.language {
        m.language = Set(c.text("language", v, 2, 16).to_lowercase());
    }
    if let Some(v) = &body.time_zone {
        c.time_zone("time_zone", v);
        m.time_zone = Set(v.trim().to_owned());
    }
    c.finish()?;
    m.updated_at = Set(app.clock.now());
    let updated = m.update(&app.db).await?;
    Ok(ApiJson(updated.into()))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BirthDetails {
    /// Local civil date of birth.
    pub birth_date: NaiveDate,
    /// Local clock time; omit (with `time_known: false`) when unknown.
    pub birth_time: Option<NaiveTime>,
    pub time_known: bool,
    pub place_name: String,
    /// Degrees north, −90…90.
    pub latitude: f64,
    /// Degrees east, −180…180.
    pub longitude: f64,
    /// IANA zone of the birth place, e.g. `Asia/Kolkata`.
    pub time_zone: String,
}

impl From<birth_detail::Model> for BirthDetails {
    fn from(b: birth_detail::Model) -> Self {
        Self {
            birth_date: b.birth_date,
            birth_time: b.birth_time,
            time_known: b.time_known,
            place_name: b.place_name,
            latitude: b.latitude,
            longitude: b.longitude,
            time_zone: b.time_zone,
        }
    }
}

/// My birth details.
#[utoipa::path(get, path = "/api/v1/me/birth-details", tag = "me",
    responses((status = 200, body = BirthDetails), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
async fn get_birth_details(
    axum::extract::State(app): axum::extract::State<AppState>,
    auth: AuthUser,
) -> ApiResult<ApiJson<BirthDetails>> {
    let row = birth_detail::Entity::find_by_id(auth.id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Birth details"))?;
    Ok(ApiJson(row.into()))
}

/// Set my birth details (replaces them).
#[utoipa::path(put, path = "/api/v1/me/birth-details", tag = "me", request_body = BirthDetails,
    responses((status = 200, body = BirthDetails), (status = 422, body = crate::error::Problem)),
    security(("bearer" = [])))]
async fn put_birth_details(
    axum::extract::State(app): axum::extract::State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<BirthDetails>,
) -> ApiResult<ApiJson<BirthDetails>> {
    let mut c = Check::new();
    let now = app.clock.now();
    c.ensure(
        body.birth_date <= now.date_naive()
            && body.birth_date >= NaiveDate::from_ymd_opt(1800, 1, 1).unwrap_or_default(),
        "birth_date",
        "out_of_range",
        "must be between 1800-01-01 and today",
    );
    c.ensure(
        body.latitude.is_finite() && (-90.0..=90.0).contains(&body.latitude),
        "latitude",
        "out_of_range",
        "must be between -90 and 90",
    );
    c.ensure(
        body.longitude.is_finite() && (-180.0..=180.0).contains(&body.longitude),
        "longitude",
        "out_of_range",
        "must be between -180 and 180",
    );
    c.ensure(
        !body.time_known || body.birth_time.is_some(),
        "birth_time",
        "required",
        "is required when time_known is true",
    );
    c.ensure(
        body.birth_time
            .is_none_or(|t| chrono::Timelike::nanosecond(&t) < 1_000_000_000),
        "birth_time",
        "out_of_range",
        "must be a clock time without a leap second",
    );
    let place = c.text("place_name", &body.place_name, 1, 200);
    c.time_zone("time_zone", &body.time_zone);
    c.finish()?;
    let model = birth_detail::ActiveModel {
        user_id: Set(auth.id),
        birth_date: Set(body.birth_date),
        birth_time: Set(if body.time_known {
            body.birth_time
        } else {
            None
        }),
        time_known: Set(body.time_known),
        place_name: Set(place),
        latitude: Set(body.latitude),
        longitude: Set(body.longitude),
        time_zone: Set(body.time_zone.trim().to_owned()),
        updated_at: Set(now),
    };
    let txn = store::begin_write(&app.db).await?;
    let previous = birth_detail::Entity::find_by_id(auth.id).one(&txn).await?;
    let saved = match previous {
        Some(old) => {
            // The old details' cached charts would never be asked for again; they are
            // personal data, so they go now rather than linger.
            crate::astrology::forget_cached_charts(&txn, &app.keys, &old).await?;
            model.update(&txn).await?
        }
        None => model.insert(&txn).await?,
    };
    txn.commit().await?;
    Ok(ApiJson(saved.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub device: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// True for the session this request was made with.
    pub current: bool,
}

impl SessionView {
    /// A session row as shown; `current` marks the caller's own session.
    pub fn of(s: auth_session::Model, current: Option<Uuid>) -> Self {
        Self {
            current: Some(s.id) == current,
            id: s.id,
            device: s.device,
            ip: s.ip,
            user_agent: s.user_agent,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
        }
    }
}

/// My signed-in devices.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "me",
    responses((status = 200, body = Vec<SessionView>)),
    security(("bearer" = [])))]
async fn list_sessions(
    axum::extract::State(app): axum::extract::State<AppState>,
    auth: AuthUser,
) -> ApiResult<ApiJson<Vec<SessionView>>> {
    let now = app.clock.now();
    let rows = auth_session::Entity::find()
        .filter(auth_session::Column::UserId.eq(auth.id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .filter(auth_session::Column::ExpiresAt.gt(now))
        .order_by_desc(auth_session::Column::LastSeenAt)
        .all(&app.db)
        .await?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|s| SessionView::of(s, Some(auth.session_id)))
            .collect(),
    ))
}

/// Sign out one of my devices.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)),
    security(("bearer" = [])))]
async fn revoke_session(
    axum::extract::State(app): axum::extract::State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let row = auth_session::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Session"))?;
    auth.ensure_owner(row.user_id, "Session")?;
    session::revoke(&app.db, id, "signed_out", app.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Used by auth routes to answer with the fresh user row.
pub async fn load_user(app: &AppState, id: Uuid) -> ApiResult<user::Model> {
    user::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteMe {
    /// Required when the account has a password.
    pub password: Option<String>,
}

/// Delete my account: personal data is erased, every session ends, a practitioner profile
/// leaves discovery. The row stays (status `deleted`) so past records keep their reference.
#[utoipa::path(delete, path = "/api/v1/me", tag = "me", request_body(content = Option<DeleteMe>),
    responses((status = 204), (status = 401, body = crate::error::Problem)),
    security(("bearer" = [])))]
async fn delete_me(
    axum::extract::State(app): axum::extract::State<AppState>,
    auth: AuthUser,
    meta: ClientMeta,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    // The body is optional (phone-only accounts have no password to confirm).
    let body: DeleteMe = if body.is_empty() {
        DeleteMe::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))?
    };
    if let Some(hash) = auth.user.password_hash.clone() {
        let given = body.password.unwrap_or_default();
        if given.is_empty() || !password::verify(given, Some(hash)).await? {
            return Err(ApiError::unauthorized(
                "invalid_credentials",
                "Confirm with your current password",
            ));
        }
    }
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let mut m = auth.user.clone().into_active_model();
    m.status = Set(AccountStatus::Deleted.as_str().to_owned());
    m.email = Set(None);
    m.phone = Set(None);
    m.password_hash = Set(None);
    m.first_name = Set("Deleted".to_owned());
    m.last_name = Set(String::new());
    m.gender = Set(None);
    m.date_of_birth = Set(None);
    m.city = Set(None);
    m.state = Set(None);
    m.country = Set(None);
    m.avatar_url = Set(None);
    m.updated_at = Set(now);
    m.update(&txn).await?;
    if let Some(details) = birth_detail::Entity::find_by_id(auth.id).one(&txn).await? {
        crate::astrology::forget_cached_charts(&txn, &app.keys, &details).await?;
    }
    birth_detail::Entity::delete_by_id(auth.id)
        .exec(&txn)
        .await?;
    // Emailed links hold addresses, the pending new one included.
    store::entity::account_token::Entity::delete_many()
        .filter(store::entity::account_token::Column::UserId.eq(auth.id))
        .exec(&txn)
        .await?;
    // Tarot questions are the user's own words.
    store::entity::reading_session::Entity::delete_many()
        .filter(store::entity::reading_session::Column::UserId.eq(auth.id))
        .exec(&txn)
        .await?;
    // Delete first and decrement for exactly the rows deleted, so a favorite added or
    // removed concurrently cannot leave a count off by one.
    let favs = favorite::Entity::delete_many()
        .filter(favorite::Column::UserId.eq(auth.id))
        .exec_with_returning(&txn)
        .await?;
    for f in &favs {
        practitioner::Entity::update_many()
            .col_expr(
                practitioner::Column::FollowerCount,
                Expr::col(practitioner::Column::FollowerCount).sub(1),
            )
            .filter(practitioner::Column::Id.eq(f.practitioner_id))
            .exec(&txn)
            .await?;
        refresh_card(&txn, f.practitioner_id).await?;
    }

    practitioner::Entity::update_many()
        .col_expr(
            practitioner::Column::VerificationStatus,
            Expr::value(Verification::Suspended.as_str()),
        )
        .col_expr(
            practitioner::Column::AvailabilityStatus,
            Expr::value(Availability::Offline.as_str()),
        )
        .col_expr(
            practitioner::Column::StatusReason,
            Expr::value("account_deleted"),
        )
        // The person's own words and face leave with them.
        .col_expr(
            practitioner::Column::DisplayName,
            Expr::value("Deleted practitioner"),
        )
        .col_expr(practitioner::Column::Bio, Expr::value(""))
        .col_expr(
            practitioner::Column::AvatarUrl,
            Expr::value(Option::<String>::None),
        )
        .col_expr(practitioner::Column::Education, Expr::value(""))
        .col_expr(practitioner::Column::SearchText, Expr::value(""))
        .filter(practitioner::Column::UserId.eq(auth.id))
        .exec(&txn)
        .await?;
    if let Some(p) = practitioner::Entity::find()
        .filter(practitioner::Column::UserId.eq(auth.id))
        .one(&txn)
        .await?
    {
        refresh_card(&txn, p.id).await?;
    }
    auth_session::Entity::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::value(now))
        .col_expr(
            auth_session::Column::RevokedReason,
            Expr::value("account_deleted"),
        )
        .filter(auth_session::Column::UserId.eq(auth.id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &auth.actor(&meta),
        Change {
            action: "user.delete",
            target_type: "user",
            target_id: auth.id.to_string(),
            before: Some(serde_json::json!({"status": auth.user.status})),
            after: Some(serde_json::json!({"status": AccountStatus::Deleted.as_str()})),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
