//! The console's only way to read or change anything: a call into the JSON API router,
//! in-process, as the signed-in user. A console page can therefore do exactly what the API
//! allows that user, with the same validation, audit entries, idempotency and rate limits.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, Request, header};
use serde_json::Value;
use tower::ServiceExt;

/// The largest API answer a page reads (a page of 100 rows is far below it).
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// What the API answered instead of a success: its problem document, read back.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: u16,
    pub code: String,
    pub detail: String,
    /// `(field, message)` for each invalid field.
    pub fields: Vec<(String, String)>,
}

impl Problem {
    fn unreadable(status: u16) -> Self {
        Self {
            status,
            code: "internal_error".into(),
            detail: "The server failed to handle this request".into(),
            fields: Vec::new(),
        }
    }

    /// The words shown next to the form: the API's own detail, then each field's message.
    pub fn message(&self) -> String {
        if self.fields.is_empty() {
            return self.detail.clone();
        }
        let fields: Vec<String> = self
            .fields
            .iter()
            .filter(|(_, message)| !self.detail.contains(message.as_str()))
            .map(|(field, message)| format!("{}: {message}", field.replace('_', " ")))
            .collect();
        if fields.is_empty() {
            return self.detail.clone();
        }
        format!(
            "{} ({})",
            self.detail.trim_end_matches('.'),
            fields.join("; ")
        )
    }
}

/// The parts of the browser's request that the API reads about its caller: address, user
/// agent and forwarding header, so audit entries and rate limits see the real client.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    peer: Option<ConnectInfo<SocketAddr>>,
    user_agent: Option<HeaderValue>,
    forwarded_for: Option<HeaderValue>,
    request_id: Option<HeaderValue>,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            peer: parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned(),
            user_agent: parts.headers.get(header::USER_AGENT).cloned(),
            forwarded_for: parts.headers.get("x-forwarded-for").cloned(),
            request_id: parts.headers.get("x-request-id").cloned(),
        })
    }
}

/// The API as one user sees it.
#[derive(Clone)]
pub struct Api {
    router: Router,
    bearer: Option<String>,
    caller: Caller,
}

impl Api {
    pub fn new(router: Router, bearer: Option<String>, caller: Caller) -> Self {
        Self {
            router,
            bearer,
            caller,
        }
    }

    pub async fn get(&self, path: &str) -> Result<Value, Problem> {
        self.call(Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value, Problem> {
        self.call(Method::POST, path, Some(body), None).await
    }

    /// A POST that moves money: `key` comes from the form, so a double click or a resent
    /// form replays the first answer instead of acting twice.
    pub async fn post_keyed(&self, path: &str, body: Value, key: &str) -> Result<Value, Problem> {
        self.call(Method::POST, path, Some(body), Some(key)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Result<Value, Problem> {
        self.call(Method::PUT, path, Some(body), None).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Result<Value, Problem> {
        self.call(Method::PATCH, path, Some(body), None).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, Problem> {
        self.call(Method::DELETE, path, None, None).await
    }

    /// A GET whose success is not JSON (a drawn chart): its content type and bytes.
    pub async fn get_raw(&self, path: &str) -> Result<(String, bytes::Bytes), Problem> {
        let (status, kind, bytes) = self.send(Method::GET, path, None, None).await?;
        if status < 400 {
            return Ok((kind, bytes));
        }
        Err(problem_of(status, &bytes))
    }

    /// One request through the API router; a success answers its JSON (`null` for 204).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> Result<Value, Problem> {
        let (status, _, bytes) = self.send(method, path, body, idempotency_key).await?;
        if status >= 400 {
            return Err(problem_of(status, &bytes));
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|_| Problem::unreadable(status))
    }

    /// Sends one request through the router: its status, content type and body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, String, bytes::Bytes), Problem> {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = &self.bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        for (name, value) in [
            (header::USER_AGENT.as_str(), &self.caller.user_agent),
            ("x-forwarded-for", &self.caller.forwarded_for),
            ("x-request-id", &self.caller.request_id),
        ] {
            if let Some(v) = value {
                req = req.header(name, v.clone());
            }
        }
        let body = match body {
            Some(json) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        let mut req = req.body(body).map_err(|_| Problem::unreadable(500))?;
        if let Some(peer) = &self.caller.peer {
            req.extensions_mut().insert(*peer);
        }
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|never| match never {});
        let status = res.status().as_u16();
        let kind = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(res.into_body(), MAX_ANSWER_BYTES)
            .await
            .map_err(|_| Problem::unreadable(status))?;
        Ok((status, kind, bytes))
    }
}

/// The problem document of a failed answer (a generic one when it is not readable).
fn problem_of(status: u16, bytes: &[u8]) -> Problem {
    let Ok(json) = serde_json::from_slice::<Value>(bytes) else {
        return Problem::unreadable(status);
    };
    let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_owned);
    let fields = json
        .get("errors")
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    let get = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default();
                    (get("field").to_owned(), get("message").to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    Problem {
        status,
        code: text("code").unwrap_or_else(|| "internal_error".into()),
        detail: text("detail").unwrap_or_else(|| "The request failed".into()),
        fields,
    }
}
