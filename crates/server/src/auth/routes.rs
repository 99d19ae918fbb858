//! `/api/v1/auth/…`: register, log in, refresh, log out, phone OTP.

use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::session::{self, Proof, TokenPair};
use super::{AccountStatus, AuthUser, Role, otp, password};
use crate::accounts::{NewUser, UserView};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ClientMeta};
use domain::validate::{Check, check_password};
use store::entity::user;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(otp_request))
        .routes(routes!(otp_verify))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    pub user: UserView,
    pub tokens: TokenPair,
    /// True when this call created the account.
    pub created: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    pub language: Option<String>,
    pub time_zone: Option<String>,
    /// A name for this device, shown in the session list.
    pub device: Option<String>,
}

/// Counts one attempt under `key` against `limit` per window: 429 `rate_limited` past it.
pub(crate) async fn limit(app: &AppState, key: String, limit: u32) -> ApiResult<()> {
    app.limiter
        .hit(
            &key,
            limit,
            app.config.rate_limit_window_secs,
            app.clock.now(),
        )
        .await
        .map_err(ApiError::rate_limited)
}

/// Counts one attempt of `action` from the caller's IP (`per_ip`) and for `identifier`
/// (`per_identifier`): a spray from one address and a guess at one account both stop.
pub(crate) async fn limit_ip_and_identifier(
    app: &AppState,
    action: &str,
    meta: &ClientMeta,
    per_ip: u32,
    identifier: &str,
    per_identifier: u32,
) -> ApiResult<()> {
    limit(app, format!("{action}:ip:{}", ip_key(meta)), per_ip).await?;
    limit(app, format!("{action}:id:{identifier}"), per_identifier).await
}

pub(crate) fn ip_key(meta: &ClientMeta) -> String {
    meta.limit_key()
}

/// The limiter key of the login backoff for an identifier (known or not, so the answer
/// never tells whether an account exists).
fn backoff_key(identifier: &str) -> String {
    format!("login-backoff:{identifier}")
}

/// Forgets the failed logins of `email`: after a successful login, and after a password reset
/// (a new password is no reason to keep its owner waiting).
pub async fn clear_login_backoff(app: &AppState, email: &str) {
    app.limiter
        .clear(&backoff_key(&email.trim().to_lowercase()))
        .await;
}

fn login_backoff(wait: u64) -> ApiError {
    let mut err = ApiError::rate_limited(wait);
    err.code = "login_backoff";
    err.detail = format!("Too many failed sign-ins for this account; retry in {wait} s");
    err
}

/// Create a client account with email and password.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = AuthResponse), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
async fn register(
    State(app): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, ApiJson<AuthResponse>)> {
    limit(
        &app,
        format!("register:ip:{}", ip_key(&meta)),
        app.config.login_limit_per_ip,
    )
    .await?;
    let mut c = Check::new();
    let email = c.email("email", &body.email);
    check_password(&mut c, "password", &body.password);
    let first_name = c.text("first_name", &body.first_name, 1, 100);
    let last_name = c.text("last_name", &body.last_name, 0, 100);
    let language = body
        .language
        .as_deref()
        .map(|l| c.text("language", l, 2, 16).to_lowercase());
    if let Some(tz) = &body.time_zone {
        c.time_zone("time_zone", tz);
    }
    let device = c.opt_text("device", body.device.as_deref(), 100);
    c.finish()?;
    let email = email.ok_or_else(|| ApiError::field("email", "invalid_email", "is required"))?;

    let hash = password::hash(body.password).await?;
    let now = app.clock.now();
    let mut m = NewUser {
        email: Some(email.into_inner()),
        password_hash: Some(hash),
        last_name,
        ..NewUser::new(Role::Client, first_name)
    };
    if let Some(l) = language {
        m.language = l;
    }
    if let Some(tz) = body.time_zone {
        m.time_zone = tz.trim().to_owned();
    }
    let mut m = m.into_active_model(now);
    m.last_login_at = Set(Some(now));
    // The account and its first session exist together or not at all.
    let txn = store::begin_write(&app.db).await?;
    let user = m.insert(&txn).await?;
    let tokens = session::start(&txn, &app, &user, &meta, device, Proof::Password).await?;
    domain::notifications::notify(&txn, now, user.id, "welcome", serde_json::json!({})).await?;
    crate::accounts::email::send_verification(&txn, &app, &user).await?;
    txn.commit().await?;
    app.job_wakeup.notify_one();
    Ok((
        StatusCode::CREATED,
        ApiJson(AuthResponse {
            user: user.into(),
            tokens,
            created: true,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    pub device: Option<String>,
}

/// Log in with email and password. Wrong email and wrong password answer the same.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = AuthResponse), (status = 401, body = Problem), (status = 429, body = Problem)))]
async fn login(
    State(app): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<ApiJson<AuthResponse>> {
    let identifier = body.email.trim().to_lowercase();
    // Refused before counting: an unbounded identifier would become an unbounded limiter key.
    if identifier.len() > 254 || identifier.chars().any(char::is_control) {
        return Err(invalid_credentials());
    }
    limit_ip_and_identifier(
        &app,
        "login",
        &meta,
        app.config.login_limit_per_ip,
        &identifier,
        app.config.login_limit_per_identifier,
    )
    .await?;
    let mut c = Check::new();
    c.ensure(
        !identifier.is_empty(),
        "email",
        "required",
        "must not be empty",
    );
    c.ensure(
        !body.password.is_empty(),
        "password",
        "required",
        "must not be empty",
    );
    let device = c.opt_text("device", body.device.as_deref(), 100);
    c.finish()?;
    // Checked before the password, so that during a lockout even the right one is refused
    // and guessing costs the attacker the whole delay.
    let backoff = backoff_key(&identifier);
    if let Some(wait) = app.limiter.locked_for(&backoff, app.clock.now()).await {
        return Err(login_backoff(wait));
    }
    let ok = body.password.chars().count() <= domain::validate::MAX_PASSWORD_CHARS;
    let found = if ok {
        user::Entity::find()
            .filter(user::Column::Email.eq(identifier))
            .one(&app.db)
            .await?
            .filter(|u| u.status != AccountStatus::Deleted.as_str())
    } else {
        None
    };
    let ok = ok
        && password::verify(
            body.password,
            found.as_ref().and_then(|u| u.password_hash.clone()),
        )
        .await?;
    let user = match found {
        Some(u) if ok => u,
        _ => {
            // The failure that starts a lockout still answers as a wrong password; the
            // lockout shows from the next attempt on.
            app.limiter
                .fail(&backoff, app.config.login_backoff(), app.clock.now())
                .await;
            return Err(invalid_credentials());
        }
    };
    app.limiter.clear(&backoff).await;
    if user.status != AccountStatus::Active.as_str() {
        return Err(ApiError::forbidden(
            "account_suspended",
            "This account is suspended",
        ));
    }
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let mut m = user.into_active_model();
    m.last_login_at = Set(Some(now));
    let user = m.update(&txn).await?;
    let tokens = session::start(&txn, &app, &user, &meta, device, Proof::Password).await?;
    txn.commit().await?;
    // A sign-in from a new device queued a notice.
    app.job_wakeup.notify_one();
    Ok(ApiJson(AuthResponse {
        user: user.into(),
        tokens,
        created: false,
    }))
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "Email or password is incorrect")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchange a refresh token for a new pair. Each refresh token works once.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem)))]
async fn refresh(
    State(app): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> ApiResult<ApiJson<TokenPair>> {
    if body.refresh_token.is_empty() || body.refresh_token.len() > 200 {
        return Err(ApiError::unauthorized(
            "invalid_refresh_token",
            "The refresh token is not valid; sign in again",
        ));
    }
    Ok(ApiJson(
        session::rotate(&app, &body.refresh_token, &meta).await?,
    ))
}

/// End this device's session; its refresh tokens stop working.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = Problem)),
    security(("bearer" = [])))]
async fn logout(State(app): State<AppState>, auth: AuthUser) -> ApiResult<StatusCode> {
    session::revoke(&app.db, auth.session_id, "logged_out", app.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpRequest {
    /// E.164, e.g. `+919812345678`.
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OtpSent {
    /// Seconds the code stays valid.
    pub expires_in: i64,
    /// Seconds before another code may be requested.
    pub resend_after: i64,
}

/// Send a 6-digit sign-in code by SMS.
#[utoipa::path(post, path = "/api/v1/auth/otp/request", tag = "auth", request_body = OtpRequest,
    responses((status = 202, body = OtpSent), (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn otp_request(
    State(app): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<OtpRequest>,
) -> ApiResult<(StatusCode, ApiJson<OtpSent>)> {
    let mut c = Check::new();
    let phone = c.phone("phone", &body.phone);
    c.finish()?;
    let phone = phone.ok_or_else(|| ApiError::field("phone", "invalid_phone", "is required"))?;
    limit_ip_and_identifier(
        &app,
        "otp",
        &meta,
        app.config.otp_limit_per_ip,
        phone.as_str(),
        app.config.otp_limit_per_identifier,
    )
    .await?;
    let issued = otp::issue(&app, &phone).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(OtpSent {
            expires_in: issued.expires_in,
            resend_after: issued.resend_after,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpVerify {
    pub phone: String,
    pub code: String,
    /// Used only when this creates the account.
    pub first_name: Option<String>,
    pub device: Option<String>,
}

/// Check the code; signs in, creating a client account on first use of the number.
#[utoipa::path(post, path = "/api/v1/auth/otp/verify", tag = "auth", request_body = OtpVerify,
    responses((status = 200, body = AuthResponse), (status = 400, body = Problem), (status = 429, body = Problem)))]
async fn otp_verify(
    State(app): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<OtpVerify>,
) -> ApiResult<ApiJson<AuthResponse>> {
    let mut c = Check::new();
    let phone = c.phone("phone", &body.phone);
    let code = body.code.trim();
    c.ensure(
        code.len() == 6 && code.chars().all(|ch| ch.is_ascii_digit()),
        "code",
        "invalid_code",
        "must be 6 digits",
    );
    let first_name = c.opt_text("first_name", body.first_name.as_deref(), 100);
    let device = c.opt_text("device", body.device.as_deref(), 100);
    c.finish()?;
    let phone = phone.ok_or_else(|| ApiError::field("phone", "invalid_phone", "is required"))?;
    limit(
        &app,
        format!("otp-verify:ip:{}", ip_key(&meta)),
        app.config.login_limit_per_ip,
    )
    .await?;
    otp::verify(&app, &phone, code).await?;

    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    // Only OTP ever stores a number, so a stored number is a verified one; the filter keeps
    // it that way should another path store one unverified.
    let existing = user::Entity::find()
        .filter(user::Column::Phone.eq(phone.as_str()))
        .filter(user::Column::PhoneVerified.eq(true))
        .one(&txn)
        .await?;
    let (user, created) = match existing {
        Some(u) => {
            if u.status != AccountStatus::Active.as_str() {
                return Err(ApiError::forbidden(
                    "account_suspended",
                    "This account is not active",
                ));
            }
            let mut m = u.into_active_model();
            m.phone_verified = Set(true);
            m.last_login_at = Set(Some(now));
            (m.update(&txn).await?, false)
        }
        None => (
            {
                let mut m = NewUser {
                    phone: Some(phone.as_str().to_owned()),
                    phone_verified: true,
                    ..NewUser::new(Role::Client, first_name.unwrap_or_default())
                }
                .into_active_model(now);
                m.last_login_at = Set(Some(now));
                m
            }
            .insert(&txn)
            .await?,
            true,
        ),
    };
    let tokens = session::start(&txn, &app, &user, &meta, device, Proof::PhoneCode).await?;
    if created {
        domain::notifications::notify(&txn, now, user.id, "welcome", serde_json::json!({})).await?;
    }
    txn.commit().await?;
    // A welcome, or the notice of a sign-in from a new device.
    app.job_wakeup.notify_one();
    Ok(ApiJson(AuthResponse {
        user: user.into(),
        tokens,
        created,
    }))
}
