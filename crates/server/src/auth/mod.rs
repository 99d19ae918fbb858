//! Who is calling. Owns sign-up, sign-in (password and phone OTP), token rotation,
//! device sessions, and the extractors every other route uses to require a role.
//!
//! The ownership rule for every later route: load the row, then `auth.ensure_owner(row.owner)`.
//! A non-owner gets 404, never 403, so ids of other users' data reveal nothing.

pub mod otp;
pub mod routes;
pub mod session;

pub use domain::auth::{AccountStatus, Role, password, token};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sea_orm::EntityTrait;
use uuid::Uuid;

use crate::app::AppState;
use crate::error::ApiError;
use store::entity::{auth_session, user};
use token::TokenError;

/// An authenticated, active user (the bearer token checked, the account and session alive).
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub role: Role,
    pub session_id: Uuid,
    pub user: user::Model,
}

impl AuthUser {
    /// This user as the actor of an audited change made by this request.
    pub fn actor(&self, meta: &crate::http::ClientMeta) -> domain::audit::Actor {
        domain::audit::Actor::user(
            self.id,
            self.role,
            meta.ip_string(),
            meta.request_id.clone(),
        )
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The one ownership check: owners and admins pass; anyone else sees "not found".
    pub fn ensure_owner(&self, owner_id: Uuid, what: &str) -> Result<(), ApiError> {
        if self.id == owner_id || self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::not_found(what))
        }
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let token = bearer(parts).ok_or_else(|| {
            ApiError::unauthorized(
                "missing_token",
                "Send an access token: Authorization: Bearer <token>",
            )
        })?;
        authenticate(&app, token).await
    }
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $check:expr, $msg:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub AuthUser);

        impl<S> FromRequestParts<S> for $name
        where
            S: Send + Sync,
            AppState: FromRef<S>,
        {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
                let user = AuthUser::from_request_parts(parts, state).await?;
                let allowed: fn(Role) -> bool = $check;
                if allowed(user.role) {
                    Ok(Self(user))
                } else {
                    Err(ApiError::forbidden("forbidden", $msg))
                }
            }
        }
    };
}

role_extractor!(
    /// An admin.
    AdminUser,
    |r| r == Role::Admin,
    "This action needs an admin account"
);
role_extractor!(
    /// An approved practitioner (the role is granted on approval).
    PractitionerUser,
    |r| r == Role::Practitioner,
    "This action needs an approved practitioner account"
);
role_extractor!(
    /// A client (the buyer side).
    ClientUser,
    |r| r == Role::Client,
    "This action needs a client account"
);

/// Checks an access token the way every authenticated request does: signature and expiry,
/// a live session, an active account. Used by the header extractor and the WebSocket
/// (whose browsers cannot send headers, so the token may come in the query).
pub async fn authenticate(app: &AppState, token: &str) -> Result<AuthUser, ApiError> {
    let claims = app
        .keys
        .verify(token, app.clock.now().timestamp())
        .map_err(|e| match e {
            TokenError::Expired => {
                ApiError::unauthorized("token_expired", "The access token has expired; refresh it")
            }
            _ => ApiError::unauthorized("invalid_token", "The access token is not valid"),
        })?;
    signed_in(app, claims.sub, claims.sid, false).await
}

/// The account behind a live session: the session not revoked (and, for a console cookie
/// that outlives no access token, not past its own expiry), the account active.
pub async fn signed_in(
    app: &AppState,
    user_id: Uuid,
    session_id: Uuid,
    check_expiry: bool,
) -> Result<AuthUser, ApiError> {
    let now = app.clock.now();
    let (user, session) = tokio::try_join!(
        user::Entity::find_by_id(user_id).one(&app.db),
        auth_session::Entity::find_by_id(session_id).one(&app.db),
    )?;
    let session_alive = session.is_some_and(|s| {
        s.revoked_at.is_none() && s.user_id == user_id && (!check_expiry || s.expires_at > now)
    });
    let user = match user {
        Some(u) if session_alive => u,
        _ => {
            return Err(ApiError::unauthorized(
                "invalid_token",
                "The session has ended; sign in again",
            ));
        }
    };
    if user.status != AccountStatus::Active.as_str() {
        return Err(ApiError::forbidden(
            "account_suspended",
            "This account is not active",
        ));
    }
    let role = user
        .role
        .parse::<Role>()
        .ok()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown role {}", user.role)))?;
    Ok(AuthUser {
        id: user.id,
        role,
        session_id,
        user,
    })
}
