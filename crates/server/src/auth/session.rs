//! Device sessions and refresh-token rotation.
//!
//! Each sign-in opens a session (a refresh-token family). Every refresh spends the
//! presented token and issues a new one; presenting a spent token again means it was
//! copied, so the whole family is revoked and both holders must sign in again.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::AppState;
use crate::db::entity::{auth_session, refresh_token, user};
use crate::error::{ApiError, ApiResult};
use crate::http::ClientMeta;

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

fn access_token(
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

/// Opens a device session for `user` and returns its first token pair.
pub async fn start<C: ConnectionTrait>(
    conn: &C,
    app: &AppState,
    user: &user::Model,
    meta: &ClientMeta,
    device: Option<String>,
) -> ApiResult<TokenPair> {
    let now = app.clock.now();
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

    let txn = crate::db::begin_write(&app.db).await?;
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
