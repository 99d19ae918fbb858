//! Device sessions and refresh-token rotation.
//!
//! Each sign-in opens a session (a refresh-token family). Every refresh spends the
//! presented token and issues a new one; presenting a spent token again means it was
//! copied, so the whole family is revoked and both holders must sign in again.
//!
//! A session also remembers when it last proved the password (`reauthenticated_at`), which
//! sensitive changes require to be recent, and a sign-in from a device this account has
//! never used before tells the user (`signin.new_device`).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::http::ClientMeta;
use store::entity::{auth_session, refresh_token, user};

use super::AccountStatus;
use super::token::{AccessClaims, hash_refresh_token, new_refresh_token};

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub session_id: Uuid,
}

/// A fresh access token for an existing session (the console's in-process API calls).
pub fn access_token(
    app: &AppState,
    user: &user::Model,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> (String, i64) {
    let ttl = app.config.access_token_ttl_secs;
    let claims = AccessClaims {
        sub: user.id,
        sid: session_id,
        role: user.role.clone(),
        iat: now.timestamp(),
        exp: now.timestamp() + ttl,
        typ: "access".into(),
    };
    (app.keys.sign(&claims), ttl)
}

async fn insert_refresh_token<C: ConnectionTrait>(
    conn: &C,
    app: &AppState,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    let token = new_refresh_token();
    refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        token_hash: Set(hash_refresh_token(&token)),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(app.config.refresh_token_ttl_days)),
        used_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(token)
}

/// What a sign-in proved: the password (which counts as a fresh re-authentication) or
/// possession of the phone (which does not: only the password unlocks sensitive changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Password,
    PhoneCode,
}

/// Opens a device session for `user` and returns its first token pair. When the account
/// has signed in before, but never from this device (user agent and device name), the user
/// is told, in the caller's transaction.
pub async fn start<C: ConnectionTrait>(
    conn: &C,
    app: &AppState,
    user: &user::Model,
    meta: &ClientMeta,
    device: Option<String>,
    proof: Proof,
) -> ApiResult<TokenPair> {
    let now = app.clock.now();
    if is_new_device(conn, user.id, meta.user_agent.as_deref(), device.as_deref()).await? {
        domain::notifications::notify(
            conn,
            now,
            user.id,
            "signin.new_device",
            serde_json::json!({
                "device": describe_device(meta.user_agent.as_deref(), device.as_deref()),
                "signed_in_at": local_time(now, &user.time_zone),
                "ip": meta.ip_string(),
            }),
        )
        .await?;
    }
    let session_id = Uuid::now_v7();
    auth_session::ActiveModel {
        id: Set(session_id),
        user_id: Set(user.id),
        device: Set(device),
        ip: Set(meta.ip_string()),
        user_agent: Set(meta.user_agent.clone()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + Duration::days(app.config.refresh_token_ttl_days)),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        reauthenticated_at: Set((proof == Proof::Password).then_some(now)),
    }
    .insert(conn)
    .await?;
    let refresh_token = insert_refresh_token(conn, app, session_id, now).await?;
    let (access_token, expires_in) = access_token(app, user, session_id, now);
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in,
        session_id,
    })
}

/// True when the account has sessions (ended ones included) but none from this user agent
/// and device name. An account's first sign-in, the one that created it included, has
/// nothing to compare with and is never "new".
async fn is_new_device<C: ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
    user_agent: Option<&str>,
    device: Option<&str>,
) -> ApiResult<bool> {
    let earlier = auth_session::Entity::find()
        .filter(auth_session::Column::UserId.eq(user_id))
        .one(conn)
        .await?;
    if earlier.is_none() {
        return Ok(false);
    }
    let mut same = auth_session::Entity::find().filter(auth_session::Column::UserId.eq(user_id));
    same = match user_agent {
        Some(ua) => same.filter(auth_session::Column::UserAgent.eq(ua)),
        None => same.filter(auth_session::Column::UserAgent.is_null()),
    };
    same = match device {
        Some(d) => same.filter(auth_session::Column::Device.eq(d)),
        None => same.filter(auth_session::Column::Device.is_null()),
    };
    Ok(same.one(conn).await?.is_none())
}

/// How the new-device message names the device: its given name, else its user agent.
fn describe_device(user_agent: Option<&str>, device: Option<&str>) -> String {
    match (device, user_agent) {
        (Some(d), _) => d.to_owned(),
        (None, Some(ua)) => ua.chars().take(120).collect(),
        (None, None) => "an unnamed device".to_owned(),
    }
}

/// `Mon 7 Dec 2026 20:25 IST`, in the account's zone (UTC when it is not a zone name).
fn local_time(at: DateTime<Utc>, zone: &str) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    at.with_timezone(&tz)
        .format("%a %-d %b %Y %H:%M %Z")
        .to_string()
}

/// Records that this session just proved the account's password.
pub async fn mark_reauthenticated<C: ConnectionTrait>(
    conn: &C,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    auth_session::Entity::update_many()
        .col_expr(auth_session::Column::ReauthenticatedAt, Expr::value(now))
        .filter(auth_session::Column::Id.eq(session_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Refuses a sensitive change (403 `reauthentication_required`) unless this session proved
/// the password within `reauth_window_secs` by the server's clock.
pub async fn require_recent_password(app: &AppState, session_id: Uuid) -> ApiResult<()> {
    let now = app.clock.now();
    let window = Duration::seconds(app.config.reauth_window_secs);
    let fresh = auth_session::Entity::find_by_id(session_id)
        .one(&app.db)
        .await?
        .and_then(|s| s.reauthenticated_at)
        .is_some_and(|at| at <= now && now - at < window);
    if fresh {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "reauthentication_required",
            format!(
                "Confirm your password first (POST /api/v1/auth/reauthenticate); it counts for {} minutes",
                app.config.reauth_window_secs / 60
            ),
        ))
    }
}

/// Ends every live session of `user_id` except `keep` (the caller's own, when there is one).
pub async fn revoke_all<C: ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    let mut q = auth_session::Entity::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::value(now))
        .col_expr(auth_session::Column::RevokedReason, Expr::value(reason))
        .filter(auth_session::Column::UserId.eq(user_id))
        .filter(auth_session::Column::RevokedAt.is_null());
    if let Some(id) = keep {
        q = q.filter(auth_session::Column::Id.ne(id));
    }
    Ok(q.exec(conn).await?.rows_affected)
}

pub async fn revoke<C: ConnectionTrait>(
    conn: &C,
    session_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    let res = auth_session::Entity::update_many()
        .col_expr(auth_session::Column::RevokedAt, Expr::value(now))
        .col_expr(auth_session::Column::RevokedReason, Expr::value(reason))
        .filter(auth_session::Column::Id.eq(session_id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthorized(
        "invalid_refresh_token",
        "The refresh token is not valid; sign in again",
    )
}

/// Spends `presented` and returns a new pair in the same session.
pub async fn rotate(app: &AppState, presented: &str, meta: &ClientMeta) -> ApiResult<TokenPair> {
    let now = app.clock.now();
    let hash = hash_refresh_token(presented);
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(&app.db)
        .await?
    else {
        return Err(invalid_refresh());
    };
    let session = auth_session::Entity::find_by_id(row.session_id)
        .one(&app.db)
        .await?
        .ok_or_else(invalid_refresh)?;
    if session.revoked_at.is_some() {
        return Err(ApiError::unauthorized(
            "session_revoked",
            "This session has ended; sign in again",
        ));
    }
    if row.used_at.is_some() {
        revoke(&app.db, session.id, "refresh_token_reused", now).await?;
        tracing::warn!(session_id = %session.id, "refresh token reused; session revoked");
        return Err(ApiError::unauthorized(
            "refresh_token_reused",
            "This refresh token was already used; the session has been ended for safety",
        ));
    }
    if row.expires_at <= now || session.expires_at <= now {
        return Err(ApiError::unauthorized(
            "refresh_token_expired",
            "The refresh token has expired; sign in again",
        ));
    }
    let user = user::Entity::find_by_id(session.user_id)
        .one(&app.db)
        .await?
        .ok_or_else(invalid_refresh)?;
    if user.status != AccountStatus::Active.as_str() {
        return Err(ApiError::forbidden(
            "account_suspended",
            "This account is not active",
        ));
    }

    let txn = store::begin_write(&app.db).await?;
    // Spending is a conditional update so two racing refreshes cannot both succeed.
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if spent.rows_affected != 1 {
        txn.rollback().await?;
        revoke(&app.db, session.id, "refresh_token_reused", now).await?;
        return Err(ApiError::unauthorized(
            "refresh_token_reused",
            "This refresh token was already used; the session has been ended for safety",
        ));
    }
    let refresh_token = insert_refresh_token(&txn, app, session.id, now).await?;
    auth_session::Entity::update_many()
        .col_expr(auth_session::Column::LastSeenAt, Expr::value(now))
        .col_expr(auth_session::Column::Ip, Expr::value(meta.ip_string()))
        .col_expr(
            auth_session::Column::UserAgent,
            Expr::value(meta.user_agent.clone()),
        )
        .filter(auth_session::Column::Id.eq(session.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    let (access_token, expires_in) = access_token(app, &user, session.id, now);
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in,
        session_id: session.id,
    })
}
