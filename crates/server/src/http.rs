//! HTTP conventions every route shares: extractors whose rejections are problem+json,
//! the caller's IP / user agent / request id, and opaque pagination cursors.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::error::ApiError;

pub use domain::request::{REQUEST_ID, current_id as current_request_id};

/// `axum::Json` whose rejections are problem+json.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rej: JsonRejection) -> Self {
        match rej {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON with Content-Type: application/json",
            ),
            JsonRejection::JsonDataError(e) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                e.body_text(),
            ),
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::bad_request("invalid_json", e.body_text())
            }
            JsonRejection::BytesRejection(e) => ApiError::new(
                e.status(),
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    "payload_too_large"
                } else {
                    "invalid_body"
                },
                e.body_text(),
            ),
            other => ApiError::bad_request("invalid_body", other.body_text()),
        }
    }
}

/// `axum::extract::Query` whose rejections are problem+json.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rej: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", rej.body_text())
    }
}

/// `axum::extract::Path` whose rejections are problem+json.
#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rej: PathRejection) -> Self {
        ApiError::bad_request("invalid_path", rej.body_text())
    }
}

/// Who is calling from where: for sessions, rate limits and the audit log.
#[derive(Debug, Clone)]
pub struct ClientMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl ClientMeta {
    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }

    /// Whose budget this request spends in per-client rate limits (IPv6 by its /64).
    pub fn limit_key(&self) -> String {
        crate::ratelimit::ip_bucket(self.ip)
    }
}

impl<S> FromRequestParts<S> for ClientMeta
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let forwarded = app
            .config
            .trust_forwarded_for
            .then(|| {
                parts
                    .headers
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                    // The proxy appends the address it saw; entries to its left come from
                    // the client and can be forged.
                    .and_then(|v| v.rsplit(',').next())
                    .and_then(|v| v.trim().parse::<IpAddr>().ok())
            })
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip());
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect());
        Ok(Self {
            ip: forwarded.or(peer),
            user_agent,
            request_id: current_request_id(),
        })
    }
}

/// Opaque keyset cursor: the last row's sort key and id, base64url JSON.
pub fn encode_cursor<T: Serialize>(key: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

pub fn decode_cursor<T: DeserializeOwned>(cursor: &str) -> Result<T, ApiError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).map_err(|_| {
        ApiError::field(
            "cursor",
            "invalid_cursor",
            "is not a cursor this API issued",
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::field(
            "cursor",
            "invalid_cursor",
            "is not a cursor this API issued",
        )
    })
}

/// The order of a list whose ids grow with time (UUID v7): newest first, or oldest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeOrder {
    #[default]
    Newest,
    Oldest,
}

impl TimeOrder {
    /// `query` after `cursor` (an id from the page before) in this order.
    pub fn page<E: sea_orm::EntityTrait>(
        self,
        query: sea_orm::Select<E>,
        id: impl sea_orm::ColumnTrait,
        cursor: Option<&str>,
    ) -> Result<sea_orm::Select<E>, ApiError> {
        use sea_orm::{QueryFilter, QueryOrder};
        let after: Option<uuid::Uuid> = cursor.map(decode_cursor).transpose()?;
        Ok(match (self, after) {
            (TimeOrder::Newest, Some(after)) => query.filter(id.lt(after)).order_by_desc(id),
            (TimeOrder::Newest, None) => query.order_by_desc(id),
            (TimeOrder::Oldest, Some(after)) => query.filter(id.gt(after)).order_by_asc(id),
            (TimeOrder::Oldest, None) => query.order_by_asc(id),
        })
    }
}

/// Page size: default 20, at most 100.
pub fn page_limit(limit: Option<u64>) -> Result<u64, ApiError> {
    match limit {
        None => Ok(20),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field(
            "limit",
            "out_of_range",
            "must be between 1 and 100",
        )),
    }
}

/// A page of items and the cursor of the next page (absent on the last page).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with `LIMIT limit + 1`: the extra row only says that
    /// another page exists; the cursor is made from the last row kept.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        limit: u64,
        cursor_of: impl Fn(&R) -> String,
        item: impl FnMut(R) -> T,
    ) -> Self {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(cursor_of)
        } else {
            None
        };
        Self {
            items: rows.into_iter().map(item).collect(),
            next_cursor,
        }
    }
}

/// For PATCH bodies: a missing field is `None`, an explicit `null` is `Some(None)`.
pub fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(de).map(Some)
}
