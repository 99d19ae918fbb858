//! Emailed single-use links: password resets, email verification and email changes.
//!
//! A link carries 32 random bytes; only their SHA-256 is stored (256 bits cannot be guessed,
//! so a keyed hash adds nothing). Issuing a link retires the account's earlier unused links
//! of the same purpose, so only the newest email works. Using one is a conditional update,
//! so two racing uses cannot both succeed.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use uuid::Uuid;

use crate::auth::token::{hash_refresh_token, new_refresh_token};
use store::entity::account_token;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    /// Proves the account's current address.
    EmailVerify,
    /// Proves a new address; the account's address changes when it is used.
    EmailChange,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerify => "email_verify",
            Purpose::EmailChange => "email_change",
        }
    }
}

/// Why a presented token does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown, for another purpose, already used or replaced by a newer link.
    Invalid,
    Expired,
}

/// Makes a link token for `user_id`, sent to `email`, valid for `ttl_secs`; earlier unused
/// links of this purpose stop working. Returns the token to put in the email (never stored).
pub async fn issue<C: ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
    purpose: Purpose,
    email: &str,
    ttl_secs: i64,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    retire(conn, user_id, purpose, now).await?;
    let token = new_refresh_token();
    account_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        purpose: Set(purpose.as_str().to_owned()),
        token_hash: Set(hash_refresh_token(&token)),
        email: Set(email.to_owned()),
        expires_at: Set(now + Duration::seconds(ttl_secs)),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(token)
}

/// Stops every unused link of this purpose for the account (a newer link, a password
/// change, an address that was verified another way).
pub async fn retire<C: ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(now))
        .filter(account_token::Column::UserId.eq(user_id))
        .filter(account_token::Column::Purpose.eq(purpose.as_str()))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// The newest link of these purposes for the account, used or not (resend cooldowns).
pub async fn latest<C: ConnectionTrait>(
    conn: &C,
    user_id: Uuid,
    purposes: &[Purpose],
) -> Result<Option<account_token::Model>, DbErr> {
    account_token::Entity::find()
        .filter(account_token::Column::UserId.eq(user_id))
        .filter(account_token::Column::Purpose.is_in(purposes.iter().map(|p| p.as_str())))
        .order_by_desc(account_token::Column::CreatedAt)
        .one(conn)
        .await
}

/// The live link `token` is, without spending it: lets a caller refuse a dead link before
/// doing costly work (hashing a new password) for it.
pub async fn check<C: ConnectionTrait>(
    conn: &C,
    token: &str,
    purposes: &[Purpose],
    now: DateTime<Utc>,
) -> Result<Result<account_token::Model, Refused>, DbErr> {
    // Anything longer than a token we made cannot be one; it is not worth hashing.
    if token.is_empty() || token.len() > 100 {
        return Ok(Err(Refused::Invalid));
    }
    let Some(row) = account_token::Entity::find()
        .filter(account_token::Column::TokenHash.eq(hash_refresh_token(token)))
        .one(conn)
        .await?
    else {
        return Ok(Err(Refused::Invalid));
    };
    if row.used_at.is_some() || !purposes.iter().any(|p| p.as_str() == row.purpose) {
        return Ok(Err(Refused::Invalid));
    }
    if row.expires_at <= now {
        return Ok(Err(Refused::Expired));
    }
    Ok(Ok(row))
}

/// Spends `token` if it is a live link of one of `purposes`; returns its row.
pub async fn consume<C: ConnectionTrait>(
    conn: &C,
    token: &str,
    purposes: &[Purpose],
    now: DateTime<Utc>,
) -> Result<Result<account_token::Model, Refused>, DbErr> {
    let row = match check(conn, token, purposes, now).await? {
        Ok(row) => row,
        Err(refused) => return Ok(Err(refused)),
    };
    let spent = account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(now))
        .filter(account_token::Column::Id.eq(row.id))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    if spent.rows_affected != 1 {
        return Ok(Err(Refused::Invalid));
    }
    Ok(Ok(row))
}
