//! Proving email addresses: the link sent at sign-up (and again on request, after a
//! cooldown), and changing the address, which takes effect only when the link sent to the
//! new address is followed; the old address is then told.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::UserView;
use super::security::confirm_password;
use super::tokens::{self, Purpose, Refused};
use crate::app::AppState;
use crate::auth::{AccountStatus, AuthUser};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ClientMeta};
use domain::validate::Check;
use store::entity::user;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(resend_verification))
        .routes(routes!(change_email))
        .routes(routes!(confirm_email))
}

/// Issues a verification link for the account's current address and queues its email, in
/// the caller's transaction (sign-up calls it with the new account).
pub async fn send_verification<C: ConnectionTrait>(
    conn: &C,
    app: &AppState,
    u: &user::Model,
) -> ApiResult<()> {
    let Some(address) = u.email.as_deref() else {
        return Ok(());
    };
    let now = app.clock.now();
    let ttl = app.config.email_verification_ttl_secs;
    let token = tokens::issue(conn, u.id, Purpose::EmailVerify, address, ttl, now).await?;
    domain::notifications::notify(
        conn,
        now,
        u.id,
        "email.verify",
        json!({
            "url": super::pages::link(app, "verify-email", &token),
            "hours": ttl / 3600,
        }),
    )
    .await?;
    Ok(())
}

/// Refuses another link to this account within `email_verification_resend_secs` of the last
/// one (verification or change): each sends an email, possibly to an address the caller
/// only typed.
async fn cooldown(app: &AppState, user_id: uuid::Uuid) -> ApiResult<()> {
    let now = app.clock.now();
    let last = tokens::latest(
        &app.db,
        user_id,
        &[Purpose::EmailVerify, Purpose::EmailChange],
    )
    .await?;
    if let Some(last) = last {
        let ready = last.created_at + Duration::seconds(app.config.email_verification_resend_secs);
        if ready > now {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "verification_resend_too_soon",
                "A verification email was sent moments ago; wait before asking again",
            );
            e.retry_after_secs = Some((ready - now).num_seconds().max(1) as u64);
            return Err(e);
        }
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationSent {
    /// Where the link went.
    pub email: String,
    /// Seconds the link stays valid.
    pub expires_in: i64,
    /// Seconds before another link may be asked for.
    pub resend_after: i64,
}

/// Email me a new link to verify my address (the older links stop working).
#[utoipa::path(post, path = "/api/v1/me/email/verification", tag = "me", operation_id = "resend_email_verification",
    responses((status = 202, body = VerificationSent),
              (status = 401, body = Problem),
              (status = 409, body = Problem, description = "`email_already_verified`, `email_missing`"),
              (status = 429, body = Problem, description = "`verification_resend_too_soon`, see `Retry-After`")),
    security(("bearer" = [])))]
async fn resend_verification(
    State(app): State<AppState>,
    auth: AuthUser,
) -> ApiResult<(StatusCode, ApiJson<VerificationSent>)> {
    let Some(address) = auth.user.email.clone() else {
        return Err(ApiError::conflict(
            "email_missing",
            "This account has no email address; add one with POST /api/v1/me/email",
        ));
    };
    if auth.user.email_verified {
        return Err(ApiError::conflict(
            "email_already_verified",
            "This email address is already verified",
        ));
    }
    cooldown(&app, auth.id).await?;
    let txn = store::begin_write(&app.db).await?;
    send_verification(&txn, &app, &auth.user).await?;
    txn.commit().await?;
    app.job_wakeup.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(VerificationSent {
            email: address,
            expires_in: app.config.email_verification_ttl_secs,
            resend_after: app.config.email_verification_resend_secs,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmail {
    /// The new address.
    pub email: String,
    /// My current password.
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailChangePending {
    /// The address waiting for confirmation; the account keeps its current one until then.
    pub pending_email: String,
    /// Seconds the link sent there stays valid.
    pub expires_in: i64,
}

/// Change my email address. Nothing changes until the link emailed to the new address is
/// followed; then the old address is told.
#[utoipa::path(post, path = "/api/v1/me/email", tag = "me", operation_id = "request_email_change",
    request_body = ChangeEmail,
    responses((status = 202, body = EmailChangePending),
              (status = 401, body = Problem, description = "`invalid_credentials`: wrong password"),
              (status = 409, body = Problem, description = "`email_taken`, `email_unchanged`, `password_not_set`"),
              (status = 422, body = Problem),
              (status = 429, body = Problem, description = "`rate_limited`, `verification_resend_too_soon`")),
    security(("bearer" = [])))]
async fn change_email(
    State(app): State<AppState>,
    auth: AuthUser,
    meta: ClientMeta,
    ApiJson(body): ApiJson<ChangeEmail>,
) -> ApiResult<(StatusCode, ApiJson<EmailChangePending>)> {
    let mut c = Check::new();
    let email = c.email("email", &body.email);
    c.finish()?;
    let email = email.ok_or_else(|| ApiError::field("email", "invalid_email", "is required"))?;
    confirm_password(&app, &auth, &meta, &body.password).await?;
    if auth.user.email.as_deref() == Some(email.as_str()) {
        return Err(ApiError::conflict(
            "email_unchanged",
            "This is already the account's address",
        ));
    }
    let taken = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&app.db)
        .await?
        .is_some();
    if taken {
        return Err(ApiError::conflict(
            "email_taken",
            "An account with this email already exists",
        ));
    }
    cooldown(&app, auth.id).await?;
    let now = app.clock.now();
    let ttl = app.config.email_verification_ttl_secs;
    let txn = store::begin_write(&app.db).await?;
    let token = tokens::issue(
        &txn,
        auth.id,
        Purpose::EmailChange,
        email.as_str(),
        ttl,
        now,
    )
    .await?;
    crate::notifications::notify_email(
        &txn,
        now,
        auth.id,
        email.as_str(),
        "email.change_requested",
        json!({
            "url": super::pages::link(&app, "verify-email", &token),
            "hours": ttl / 3600,
            "email": email.as_str(),
        }),
    )
    .await?;
    txn.commit().await?;
    app.job_wakeup.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(EmailChangePending {
            pending_email: email.into_inner(),
            expires_in: ttl,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmEmail {
    /// The `token` of the emailed link.
    pub token: String,
}

/// Follow an emailed verification link: the address is verified or, for an address change,
/// becomes the account's address. No sign-in needed (the link may be opened on another
/// device).
#[utoipa::path(post, path = "/api/v1/auth/email/verify", tag = "auth", operation_id = "confirm_email_address",
    request_body = ConfirmEmail,
    responses((status = 200, body = UserView),
              (status = 400, body = Problem, description = "`verification_token_invalid` (unknown, used or replaced), `verification_token_expired`"),
              (status = 403, body = Problem, description = "`account_suspended`"),
              (status = 409, body = Problem, description = "`email_taken`: another account took the address meanwhile"),
              (status = 422, body = Problem)))]
async fn confirm_email(
    State(app): State<AppState>,
    ApiJson(body): ApiJson<ConfirmEmail>,
) -> ApiResult<ApiJson<UserView>> {
    Ok(ApiJson(confirm_with_token(&app, &body.token).await?.into()))
}

/// The confirmation itself, shared by the API and the page the email links to.
pub(crate) async fn confirm_with_token(app: &AppState, token: &str) -> ApiResult<user::Model> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let row = match tokens::consume(
        &txn,
        token.trim(),
        &[Purpose::EmailVerify, Purpose::EmailChange],
        now,
    )
    .await?
    {
        Ok(row) => row,
        Err(Refused::Invalid) => {
            return Err(ApiError::bad_request(
                "verification_token_invalid",
                "This link is not valid: it was used, replaced by a newer one, or mistyped",
            ));
        }
        Err(Refused::Expired) => {
            return Err(ApiError::bad_request(
                "verification_token_expired",
                "This link has expired; ask for a new one",
            ));
        }
    };
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
    let old = u.email.clone();
    let changing = row.purpose == Purpose::EmailChange.as_str();
    if !changing && old.as_deref() != Some(row.email.as_str()) {
        // The address changed after this link was sent: it proves nothing about the new one.
        return Err(ApiError::bad_request(
            "verification_token_invalid",
            "This link was for an address the account no longer uses",
        ));
    }
    let mut m: user::ActiveModel = u.into();
    m.email = Set(Some(row.email.clone()));
    m.email_verified = Set(true);
    m.updated_at = Set(now);
    // A unique violation (someone registered the address meanwhile) is `email_taken`.
    let saved = m.update(&txn).await?;
    if changing {
        // Links sent to the old address (verification, password reset) must not act on
        // the account any more.
        tokens::retire(&txn, saved.id, Purpose::EmailVerify, now).await?;
        tokens::retire(&txn, saved.id, Purpose::PasswordReset, now).await?;
        if let Some(old) = old.as_deref() {
            crate::notifications::notify_email(
                &txn,
                now,
                saved.id,
                old,
                "email.changed",
                json!({ "new_email": row.email }),
            )
            .await?;
        }
    }
    txn.commit().await?;
    app.job_wakeup.notify_one();
    Ok(saved)
}
