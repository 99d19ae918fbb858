//! The one error type every handler returns, rendered as RFC 7807 `application/problem+json`.
//!
//! Domain failures carry a stable machine `code` (clients switch on it, so never rename one);
//! database and unexpected failures become a logged 500 whose body says nothing internal.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DbErr;
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

pub use domain::error::{FieldError, unique_violation};

/// The documented error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem kind (`about:blank` style, stable per code).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `validation_failed`, `invalid_credentials`.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub fields: Vec<FieldError>,
    pub retry_after_secs: Option<u64>,
    /// Kept only for the log of a 500; never rendered.
    pub source: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            fields: Vec::new(),
            retry_after_secs: None,
            source: None,
        }
    }
    // The common failures are the domain's, so both layers word and map them the same way.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        domain::error::Error::bad_request(code, detail).into()
    }
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        domain::error::Error::unauthorized(code, detail).into()
    }
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        domain::error::Error::forbidden(code, detail).into()
    }
    pub fn not_found(what: &str) -> Self {
        domain::error::Error::not_found(what).into()
    }
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        domain::error::Error::conflict(code, detail).into()
    }
    pub fn validation(fields: Vec<FieldError>) -> Self {
        domain::error::Error::validation(fields).into()
    }
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        domain::error::Error::field(field, code, message).into()
    }
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        domain::error::Error::rate_limited(retry_after_secs).into()
    }
    pub fn internal(err: anyhow::Error) -> Self {
        domain::error::Error::internal(err).into()
    }

    pub fn to_problem(&self, request_id: Option<String>) -> Problem {
        Problem {
            kind: format!("https://augur.dev/problems/{}", self.code.replace('_', "-")),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.fields.clone(),
            request_id,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)?;
        for e in &self.fields {
            write!(f, "; {} {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        Self::internal(err)
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        domain::error::Error::from(err).into()
    }
}

impl From<domain::ledger::LedgerError> for ApiError {
    fn from(err: domain::ledger::LedgerError) -> Self {
        domain::error::Error::from(err).into()
    }
}

/// The one mapping from a domain failure to the HTTP status its problem carries.
impl From<domain::error::Error> for ApiError {
    fn from(err: domain::error::Error) -> Self {
        use domain::error::Kind;
        let status = match err.kind {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::PaymentRequired => StatusCode::PAYMENT_REQUIRED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Kind::BadGateway => StatusCode::BAD_GATEWAY,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Timeout => StatusCode::REQUEST_TIMEOUT,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            status,
            code: err.code,
            detail: err.detail,
            fields: err.fields,
            retry_after_secs: err.retry_after_secs,
            source: err.source,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(src) => tracing::error!(error = ?src, code = self.code, "request failed"),
                None => tracing::error!(code = self.code, detail = %self.detail, "request failed"),
            }
        }
        // The request id is filled in by the middleware that sees both request and response.
        let body = serde_json::to_vec(&self.to_problem(crate::http::current_request_id()))
            .unwrap_or_default();
        let mut res = (self.status, body).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after_secs
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}
