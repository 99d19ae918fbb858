//! The one error every domain service returns: what kind of failure it is (the HTTP layer
//! turns the kind into a status), a stable machine `code` clients switch on (never rename
//! one), a sentence for people, and the invalid fields when the input was at fault.
//!
//! Database and unexpected failures become `Kind::Internal`, whose `source` is kept for
//! the log and never shown.

use sea_orm::DbErr;
use serde::Serialize;
use utoipa::ToSchema;

/// What went wrong, in the business's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request cannot be understood as asked (a malformed value, a wrong state).
    BadRequest,
    /// Who is asking is not known, or their proof is not good.
    Unauthorized,
    /// The wallet does not hold what this needs.
    PaymentRequired,
    /// Known, but not allowed to do this.
    Forbidden,
    NotFound,
    /// The request collides with the current state (a taken slot, a used key).
    Conflict,
    /// Too large to accept.
    PayloadTooLarge,
    UnsupportedMediaType,
    /// One or more fields are invalid (`fields` says which).
    Invalid,
    /// Asked too often; `retry_after_secs` says when to come back.
    RateLimited,
    /// An outside provider (a gateway) refused or failed.
    BadGateway,
    /// A dependency is down or the request ran out of time; retrying later can succeed.
    Unavailable,
    Timeout,
    Internal,
}

/// One invalid input field: which field, a stable code and a human sentence.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub code: &'static str,
    pub detail: String,
    pub fields: Vec<FieldError>,
    pub retry_after_secs: Option<u64>,
    /// Kept only for the log of an internal failure; never shown.
    pub source: Option<anyhow::Error>,
}

/// `Result` with the domain's error by default.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            detail: detail.into(),
            fields: Vec::new(),
            retry_after_secs: None,
            source: None,
        }
    }
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, code, detail)
    }
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(Kind::Unauthorized, code, detail)
    }
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, code, detail)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(Kind::NotFound, "not_found", format!("{what} was not found"))
    }
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, code, detail)
    }
    pub fn validation(fields: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            Kind::Invalid,
            "validation_failed",
            "One or more fields are invalid",
        );
        e.fields = fields;
        e
    }
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, code, message)])
    }
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            Kind::RateLimited,
            "rate_limited",
            format!("Too many attempts; retry in {retry_after_secs} s"),
        );
        e.retry_after_secs = Some(retry_after_secs.max(1));
        e
    }
    pub fn internal(err: anyhow::Error) -> Self {
        let mut e = Self::new(
            Kind::Internal,
            "internal_error",
            "The server failed to handle this request",
        );
        e.source = Some(err);
        e
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {}: {}", self.kind, self.code, self.detail)?;
        for e in &self.fields {
            write!(f, "; {} {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        Self::internal(err)
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        if let Some(constraint) = unique_violation(&err) {
            return on_constraint(&constraint);
        }
        Self::internal(anyhow::Error::new(err).context("database"))
    }
}

/// The one place that turns a unique-constraint name into the client's error.
fn on_constraint(constraint: &str) -> Error {
    if constraint.contains("users_email") || constraint.contains("users.email") {
        Error::conflict("email_taken", "An account with this email already exists")
    } else if constraint.contains("users_phone") || constraint.contains("users.phone") {
        Error::conflict(
            "phone_taken",
            "An account with this phone number already exists",
        )
    } else {
        Error::conflict("conflict", "The request conflicts with existing data")
    }
}

/// Maps a write refused by a unique constraint to a conflict with `code` (the thing already
/// exists, or a parallel request made it); any other database error maps as usual.
pub fn conflict_on_unique(code: &'static str, detail: &'static str) -> impl FnOnce(DbErr) -> Error {
    move |e| {
        if unique_violation(&e).is_some() {
            Error::conflict(code, detail)
        } else {
            e.into()
        }
    }
}

/// Name (or message) of the violated unique constraint, on either backend.
pub fn unique_violation(err: &DbErr) -> Option<String> {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(msg)) => Some(msg),
        _ => None,
    }
}
