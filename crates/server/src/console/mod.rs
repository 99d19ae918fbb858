//! The web console at `/console`: server-rendered pages for admins, practitioners and
//! clients, served by this binary with every asset embedded.
//!
//! The console owns no rules. Every read and every change is a call into the JSON API,
//! in-process, as the signed-in user (`api::Api`), so a page can do exactly what the API
//! allows that user, validated, audited and idempotent the same way. What the console adds
//! is the browser's side: a session cookie, CSRF tokens on every form, escaped HTML under a
//! strict Content-Security-Policy, and error messages in words next to the form that
//! caused them. docs/console.md says how to add a page.

mod admin;
pub mod api;
mod catalogue;
mod client;
mod operations;
mod practitioner;
pub mod render;
mod schedule;
pub mod session;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::auth::Role;
use render::error_page;
use session::Viewer;

/// What console handlers are given: the app, and the API router they call into.
#[derive(Clone)]
pub struct ConsoleState {
    pub app: AppState,
    pub api: Router,
}

impl FromRef<ConsoleState> for AppState {
    fn from_ref(console: &ConsoleState) -> AppState {
        console.app.clone()
    }
}

/// The console's routes; `api` is the JSON API with its state, which pages call into.
pub fn router(app: AppState, api: Router) -> Router {
    let console = ConsoleState { app, api };
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route(
            "/console/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/token", post(session::token))
        .route("/console/static/{file}", get(asset))
        .merge(admin::routes())
        .merge(operations::routes())
        .merge(catalogue::routes())
        .merge(practitioner::routes())
        .merge(schedule::routes())
        .merge(client::routes())
        .layer(middleware::from_fn_with_state(console.clone(), guard))
        .with_state(console)
}

/// The navigation of each role: (path, label).
pub fn nav(role: Role) -> Value {
    let links: &[(&str, &str)] = match role {
        Role::Admin => &[
            ("/console/admin", "Dashboard"),
            ("/console/admin/users", "Users"),
            ("/console/admin/practitioners", "Practitioners"),
            ("/console/admin/topups", "Top-ups"),
            ("/console/admin/payouts", "Payouts"),
            ("/console/admin/consultations", "Consultations"),
            ("/console/admin/bookings", "Bookings"),
            ("/console/admin/reviews", "Reviews"),
            ("/console/admin/promo-codes", "Promo codes"),
            ("/console/admin/packages", "Packages"),
            ("/console/admin/templates", "Templates"),
            ("/console/admin/catalogue", "Catalogue"),
            ("/console/admin/deliveries", "Deliveries"),
            ("/console/admin/jobs", "Jobs"),
            ("/console/admin/audit", "Audit log"),
        ],
        Role::Practitioner => &[
            ("/console/practitioner", "Live"),
            ("/console/practitioner/bookings", "Bookings"),
            ("/console/practitioner/hours", "Hours"),
            ("/console/practitioner/services", "Services"),
            ("/console/practitioner/earnings", "Earnings"),
            ("/console/practitioner/reviews", "Reviews"),
            ("/console/practitioner/profile", "Profile"),
        ],
        Role::Client => &[
            ("/console/client", "Wallet and chat"),
            ("/console/client/book", "Book"),
            ("/console/client/bookings", "My bookings"),
            ("/console/client/chart", "My chart"),
        ],
    };
    json!(
        links
            .iter()
            .map(|(href, label)| json!({"href": href, "label": label}))
            .collect::<Vec<_>>()
    )
}

async fn home(viewer: Viewer) -> Response {
    Redirect::to(session::home_of(viewer.auth.role)).into_response()
}

/// The largest form the console accepts (a template body is the biggest).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// Every console request passes here. A state-changing one must come from this site
/// (its `Origin`, when sent) and carry the CSRF token bound to its session, as the form
/// field `_csrf` or the header `X-CSRF-Token`; every answer gets the security headers.
async fn guard(State(console): State<ConsoleState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let req = if safe {
        req
    } else {
        match check_forgery(&console, req).await {
            Ok(req) => req,
            Err(refusal) => return refusal,
        }
    };
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    render::secure_headers(h);
    // Pages, exports and previews hold private data: no cache keeps them. The embedded
    // assets say otherwise for themselves.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

async fn check_forgery(console: &ConsoleState, req: Request) -> Result<Request, Response> {
    let refused = || {
        error_page(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The page was open too long or came from elsewhere. Reload it and send the form again.",
        )
    };
    let headers = req.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest);
        if host.is_none() || origin_host != host {
            return Err(refused());
        }
    }
    let signing_in = req.uri().path() == "/console/sign-in";
    let Some(expected) = session::expected_csrf(&console.app, headers, signing_in) else {
        return Err(refused());
    };
    if let Some(given) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return if session::csrf_matches(&expected, given) {
            Ok(req)
        } else {
            Err(refused())
        };
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much to send",
                "This form is larger than the console accepts.",
            )
        })?;
    let given = form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == "_csrf")
        .map(|(_, value)| value.into_owned());
    match given {
        Some(given) if session::csrf_matches(&expected, &given) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(refused()),
    }
}

/// The embedded stylesheet and script.
async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (
            include_str!("static/console.css"),
            "text/css; charset=utf-8",
        ),
        "console.js" => (
            include_str!("static/console.js"),
            "text/javascript; charset=utf-8",
        ),
        "live.js" => (
            include_str!("static/live.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => {
            return error_page(StatusCode::NOT_FOUND, "Not found", "There is no such file.");
        }
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}

/// True when the request comes from a browser that would rather read a page than JSON.
pub fn wants_html(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The answer to an unknown address: a page for a browser, the problem document for the
/// API's clients.
pub fn not_found_page() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Nothing here",
        "There is no page at this address.",
    )
}
