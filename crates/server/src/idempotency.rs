//! `Idempotency-Key` for POSTs that move money: the first response is stored in the same
//! transaction as the money movement, and a retry with the same key gets it back verbatim.
//!
//! Handlers: `let key = IdempotencyKey` (extractor; the header is required), then
//! `if let Some(r) = key.replay(&app.db, user, &fp).await? { return Ok(r) }`, do the work in
//! a write transaction, `key.save(&txn, …)`, commit. Ledger transfers derive their own keys
//! from this one, so even two racing first attempts move money once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Set};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use store::entity::idempotency_key;

pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get("idempotency-key")
            .ok_or_else(|| {
                ApiError::bad_request(
                    "idempotency_key_required",
                    "Send an Idempotency-Key header with this request",
                )
            })?
            .to_str()
            .map_err(|_| {
                ApiError::bad_request(
                    "invalid_idempotency_key",
                    "The Idempotency-Key must be printable ASCII",
                )
            })?
            .trim();
        if value.is_empty() || value.len() > 200 {
            return Err(ApiError::bad_request(
                "invalid_idempotency_key",
                "The Idempotency-Key must be 1 to 200 characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }
}

/// What makes two requests "the same": method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &impl Serialize) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(serde_json::to_vec(body).unwrap_or_default());
    hex::encode(h.finalize())
}

fn stored_response(row: &idempotency_key::Model) -> Response {
    let status = StatusCode::from_u16(row.status_code as u16).unwrap_or(StatusCode::OK);
    let mut res = (status, row.response_body.clone()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}

impl IdempotencyKey {
    /// The stored response when this key was already used by `user` for this request.
    pub async fn replay(
        &self,
        db: &DatabaseConnection,
        user: Uuid,
        fingerprint: &str,
    ) -> ApiResult<Option<Response>> {
        let Some(row) = idempotency_key::Entity::find_by_id((user, self.0.clone()))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        if row.fingerprint != fingerprint {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request",
            ));
        }
        Ok(Some(stored_response(&row)))
    }

    /// Stores the response inside the transaction that did the work.
    pub async fn save<C: ConnectionTrait, T: Serialize>(
        &self,
        conn: &C,
        user: Uuid,
        fingerprint: &str,
        status: StatusCode,
        body: &T,
        now: chrono::DateTime<chrono::Utc>,
    ) -> ApiResult<Response> {
        let text = serde_json::to_string(body).map_err(|e| ApiError::internal(e.into()))?;
        let row = idempotency_key::ActiveModel {
            user_id: Set(user),
            key: Set(self.0.clone()),
            fingerprint: Set(fingerprint.to_owned()),
            status_code: Set(i32::from(status.as_u16())),
            response_body: Set(text),
            created_at: Set(now),
        }
        .insert(conn)
        .await
        // A parallel request with the same key won; the client should retry to receive that
        // request's stored answer.
        .map_err(domain::error::conflict_on_unique(
            "idempotency_in_progress",
            "A request with this Idempotency-Key is being processed; retry",
        ))?;
        let mut res = (status, row.response_body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(res)
    }
}
