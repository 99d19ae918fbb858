//! Passwords after sign-up: changing one (the current password required, every other device
//! signed out), forgetting one (an emailed single-use link that resets it and signs every
//! device out) and re-authenticating (proving the password again before a sensitive change).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::tokens::{self, Purpose, Refused};
use crate::app::AppState;
use crate::auth::{AccountStatus, AuthUser, password, session};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ClientMeta};
use domain::validate::{Check, MAX_PASSWORD_CHARS, check_password};
use store::entity::{auth_session, user};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(change_password))
        .routes(routes!(reauthenticate))
        .routes(routes!(request_password_reset))
        .routes(routes!(reset_password))
}

use crate::auth::routes::limit_ip_and_identifier;
pub(crate) use crate::auth::routes::{ip_key, limit};

fn wrong_password() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "The password is not correct")
}

/// Checks the signed-in user's password, counted against the login limits so a stolen
/// access token cannot be used to guess it.
pub(crate) async fn confirm_password(
    app: &AppState,
    auth: &AuthUser,
    meta: &ClientMeta,
    given: &str,
) -> ApiResult<()> {
    limit_ip_and_identifier(
        app,
        "password-check",
        meta,
        app.config.login_limit_per_ip,
        &auth.id.to_string(),
        app.config.login_limit_per_identifier,
    )
    .await?;
    let Some(hash) = auth.user.password_hash.clone() else {
        return Err(ApiError::conflict(
            "password_not_set",
            "This account has no password yet; set one with POST /api/v1/me/password",
        ));
    };
    if given.is_empty() || given.chars().count() > MAX_PASSWORD_CHARS {
        return Err(wrong_password());
    }
    if password::verify(given.to_owned(), Some(hash)).await? {
        Ok(())
    } else {
        Err(wrong_password())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// Required when the account has a password. An account without one (made by phone
    /// sign-in) may set its first password within `reauth_window_secs` of signing in.
    pub current_password: Option<String>,
    /// At least 12 characters.
    pub new_password: String,
}

/// Change my password. Every other device is signed out; this one stays signed in.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", operation_id = "change_my_password",
    request_body = ChangePassword,
    responses((status = 204, description = "Changed; other sessions ended"),
              (status = 401, body = Problem, description = "`invalid_credentials`: the current password is wrong"),
              (status = 403, body = Problem, description = "`reauthentication_required`: an account without a password signed in too long ago"),
              (status = 422, body = Problem), (status = 429, body = Problem)),
    security(("bearer" = [])))]
async fn change_password(
    State(app): State<AppState>,
    auth: AuthUser,
    meta: ClientMeta,
    ApiJson(body): ApiJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    let mut c = Check::new();
    check_password(&mut c, "new_password", &body.new_password);
    c.finish()?;
    let now = app.clock.now();
    if auth.user.password_hash.is_some() {
        confirm_password(
            &app,
            &auth,
            &meta,
            body.current_password.as_deref().unwrap_or_default(),
        )
        .await?;
    } else {
        // Nothing to confirm: a fresh sign-in (by phone code) stands in for the password.
        let opened = auth_session::Entity::find_by_id(auth.session_id)
            .one(&app.db)
            .await?
            .map(|s| s.created_at);
        let window = Duration::seconds(app.config.reauth_window_secs);
        if opened.is_none_or(|at| now - at >= window) {
            return Err(ApiError::forbidden(
                "reauthentication_required",
                "Sign in again, then set your password within a few minutes",
            ));
        }
    }
    let hash = password::hash(body.new_password).await?;
    let txn = store::begin_write(&app.db).await?;
    let mut m = auth.user.clone().into_active_model();
    m.password_hash = Set(Some(hash));
    m.updated_at = Set(now);
    m.update(&txn).await?;
    session::revoke_all(
        &txn,
        auth.id,
        Some(auth.session_id),
        "password_changed",
        now,
    )
    .await?;
    session::mark_reauthenticated(&txn, auth.session_id, now).await?;
    // A reset link emailed before the change would undo it.
    tokens::retire(&txn, auth.id, Purpose::PasswordReset, now).await?;
    domain::notifications::notify(&txn, now, auth.id, "password.changed", json!({})).await?;
    txn.commit().await?;
    app.job_wakeup.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reauthenticate {
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reauthenticated {
    /// Until when this session may make sensitive changes (payout details) without
    /// confirming the password again.
    pub reauthenticated_until: DateTime<Utc>,
}

/// Confirm my password again. For `reauth_window_secs` (5 minutes) afterwards, this session
/// may make sensitive changes such as payout details. Signing in with the password counts too.
#[utoipa::path(post, path = "/api/v1/auth/reauthenticate", tag = "auth", operation_id = "reauthenticate_session",
    request_body = Reauthenticate,
    responses((status = 200, body = Reauthenticated),
              (status = 401, body = Problem, description = "`invalid_credentials`, or token problems"),
              (status = 409, body = Problem, description = "`password_not_set`"),
              (status = 422, body = Problem), (status = 429, body = Problem)),
    security(("bearer" = [])))]
async fn reauthenticate(
    State(app): State<AppState>,
    auth: AuthUser,
    meta: ClientMeta,
    ApiJson(body): ApiJson<Reauthenticate>,
) -> ApiResult<ApiJson<Reauthenticated>> {
    confirm_password(&app, &auth, &meta, &body.password).await?;
    let now = app.clock.now();
    session::mark_reauthenticated(&app.db, auth.session_id, now).await?;
    Ok(ApiJson(Reauthenticated {
        reauthenticated_until: now + Duration::seconds(app.config.reauth_window_secs),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotPassword {
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResetRequested {
    /// The same sentence whether or not an account uses the address.
    pub message: &'static str,
}

const RESET_REQUESTED: &str =
    "If an account uses this address, an email with a link to reset its password is on its way";

/// Email me a link to reset my password. The answer is the same whether or not an account
/// uses the address; the link works once, for `password_reset_ttl_secs` (30 minutes).
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", operation_id = "request_password_reset",
    request_body = ForgotPassword,
    responses((status = 202, body = ResetRequested),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn request_password_reset(
    State(app): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<ForgotPassword>,
) -> ApiResult<(StatusCode, ApiJson<ResetRequested>)> {
    let mut c = Check::new();
    let email = c.email("email", &body.email);
    c.finish()?;
    let email = email.ok_or_else(|| ApiError::field("email", "invalid_email", "is required"))?;
    // Counted for unknown addresses too, so the limit reveals nothing either.
    limit_ip_and_identifier(
        &app,
        "reset",
        &meta,
        app.config.password_reset_limit_per_ip,
        email.as_str(),
        app.config.password_reset_limit_per_identifier,
    )
    .await?;
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .filter(user::Column::Status.eq(AccountStatus::Active.as_str()))
        .one(&app.db)
        .await?;
    if let Some(u) = found {
        let now = app.clock.now();
        let ttl = app.config.password_reset_ttl_secs;
        let txn = store::begin_write(&app.db).await?;
        let token =
            tokens::issue(&txn, u.id, Purpose::PasswordReset, email.as_str(), ttl, now).await?;
        domain::notifications::notify(
            &txn,
            now,
            u.id,
            "password.reset",
            json!({
                "url": super::pages::link(&app, "reset-password", &token),
                "minutes": ttl / 60,
            }),
        )
        .await?;
        txn.commit().await?;
        app.job_wakeup.notify_one();
    }
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(ResetRequested {
            message: RESET_REQUESTED,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// The `token` of the emailed link.
    pub token: String,
    /// At least 12 characters.
    pub password: String,
}

/// Set a new password with an emailed reset link. Every session of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", operation_id = "reset_password_with_token",
    request_body = ResetPassword,
    responses((status = 204, description = "Changed; every session ended"),
              (status = 400, body = Problem, description = "`reset_token_invalid` (unknown, used or replaced), `reset_token_expired`"),
              (status = 403, body = Problem, description = "`account_suspended`"),
              (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn reset_password(
    State(app): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<ResetPassword>,
) -> ApiResult<StatusCode> {
    reset_with_token(&app, &meta, &body.token, body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn reset_refused(refused: Refused) -> ApiError {
    match refused {
        Refused::Invalid => ApiError::bad_request(
            "reset_token_invalid",
            "This reset link is not valid: it was used, replaced by a newer one, or mistyped",
        ),
        Refused::Expired => ApiError::bad_request(
            "reset_token_expired",
            "This reset link has expired; ask for a new one",
        ),
    }
}

/// The reset itself, shared by the API and the page the email links to.
pub(crate) async fn reset_with_token(
    app: &AppState,
    meta: &ClientMeta,
    token: &str,
    new_password: String,
) -> ApiResult<()> {
    let mut c = Check::new();
    check_password(&mut c, "password", &new_password);
    c.finish()?;
    limit(
        app,
        format!("reset-use:ip:{}", ip_key(meta)),
        app.config.login_limit_per_ip,
    )
    .await?;
    let token = token.trim();
    // A dead link is refused before the (deliberately costly) hashing, which then happens
    // before the link is spent, so a failure there leaves the link usable.
    tokens::check(&app.db, token, &[Purpose::PasswordReset], app.clock.now())
        .await?
        .map_err(reset_refused)?;
    let hash = password::hash(new_password).await?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let row = tokens::consume(&txn, token, &[Purpose::PasswordReset], now)
        .await?
        .map_err(reset_refused)?;
    let u = user::Entity::find_by_id(row.user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Account"))?;
    if u.status != AccountStatus::Active.as_str() {
        return Err(ApiError::forbidden(
            "account_suspended",
            "This account is not active",
        ));
    }
    // Following a link sent to the address proves it, unless the address changed since.
    let proves_email = u.email.as_deref() == Some(row.email.as_str());
    let user_id = u.id;
    let email = u.email.clone();
    let mut m = u.into_active_model();
    m.password_hash = Set(Some(hash));
    if proves_email {
        m.email_verified = Set(true);
    }
    m.updated_at = Set(now);
    m.update(&txn).await?;
    session::revoke_all(&txn, user_id, None, "password_reset", now).await?;
    domain::notifications::notify(&txn, now, user_id, "password.changed", json!({})).await?;
    txn.commit().await?;
    app.job_wakeup.notify_one();
    // Whoever failed to sign in before, the owner now knows the password: no lockout.
    if let Some(email) = email {
        crate::auth::routes::clear_login_backoff(app, &email).await;
    }
    Ok(())
}
