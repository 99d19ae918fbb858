//! Who is using the console: the cookie naming a sign-in session, the CSRF token bound to
//! it, the one-shot message shown after a redirect, and the sign-in and sign-out pages.
//!
//! The cookie holds `{user}.{session}.{tag}`, the tag a keyed hash of both ids, so it cannot
//! be forged; the session row decides whether it still works (signing out anywhere, a
//! password change or a suspension ends it). The CSRF token is another keyed hash of the
//! session id, so it needs no storage and dies with the session.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{FromRef, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::ConsoleState;
use super::api::{Api, Caller};
use super::render::{self, error_page};
use crate::app::AppState;
use crate::auth::{AuthUser, Role};

pub const SESSION_COOKIE: &str = "augur_console";
/// Set by the sign-in page before anyone is signed in, to bind that form's CSRF token.
const SIGN_IN_COOKIE: &str = "augur_console_signin";
const FLASH_COOKIE: &str = "augur_console_flash";

/// The request's cookies by name (the first of a repeated name wins).
pub fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                out.entry(name.trim().to_owned())
                    .or_insert_with(|| value.trim().to_owned());
            }
        }
    }
    out
}

fn tag(app: &AppState, purpose: &str, parts: &[&str]) -> String {
    let mut all = vec![purpose];
    all.extend_from_slice(parts);
    app.keys.keyed_hash(&all)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The user and session a console cookie names, when its tag is genuine.
pub fn session_of(app: &AppState, headers: &HeaderMap) -> Option<(Uuid, Uuid)> {
    let value = cookies(headers).remove(SESSION_COOKIE)?;
    let mut parts = value.split('.');
    let (Some(user), Some(session), Some(given), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    same(&tag(app, "console-session", &[user, session]), given)
        .then(|| Some((user.parse().ok()?, session.parse().ok()?)))
        .flatten()
}

pub fn csrf_for_session(app: &AppState, session: Uuid) -> String {
    tag(app, "console-csrf", &[&session.to_string()])
}

/// The CSRF token a state-changing request must carry: for the sign-in form, the one
/// bound to that form's own cookie (a session cookie left over from an ended session must
/// not lock its owner out of signing in again); for every other form, the one bound to
/// the session. `None` when the request has no such cookie.
pub fn expected_csrf(app: &AppState, headers: &HeaderMap, signing_in: bool) -> Option<String> {
    if signing_in {
        let nonce = cookies(headers).remove(SIGN_IN_COOKIE)?;
        return (!nonce.is_empty()).then(|| tag(app, "console-signin-csrf", &[&nonce]));
    }
    session_of(app, headers).map(|(_, session)| csrf_for_session(app, session))
}

pub fn csrf_matches(expected: &str, given: &str) -> bool {
    same(expected, given)
}

/// `Secure` is added when the public address is https, so the cookie never travels in
/// clear behind a TLS-terminating proxy, and a plain-http demo still works.
fn cookie(app: &AppState, name: &str, value: &str, path: &str, max_age: i64) -> HeaderValue {
    let secure = if app.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A message for the next page, shown once: success at the top, a failure next to the
/// form (`form`) that caused it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
    #[serde(default)]
    pub form: Option<String>,
}

impl Flash {
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            ok: true,
            text: text.into(),
            form: None,
        }
    }

    pub fn error(form: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            ok: false,
            text: text.into(),
            form: Some(form.into()),
        }
    }
}

/// 303 to `to` (a console path), carrying `flash` to the page it lands on. The message is
/// signed, so a cookie planted from elsewhere cannot put words on a console page.
pub fn redirect_with(app: &AppState, to: &str, flash: Flash) -> Response {
    let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&flash).unwrap_or_default());
    let signed = format!("{encoded}.{}", tag(app, "console-flash", &[&encoded]));
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookie(app, FLASH_COOKIE, &signed, "/console", 60),
    );
    res
}

fn read_flash(app: &AppState, headers: &HeaderMap) -> Option<Flash> {
    let raw = cookies(headers).remove(FLASH_COOKIE)?;
    let (encoded, given) = raw.split_once('.')?;
    if !same(&tag(app, "console-flash", &[encoded]), given) {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Clears a shown flash (added to the page that showed it).
pub fn clear_flash(app: &AppState) -> HeaderValue {
    cookie(app, FLASH_COOKIE, "", "/console", 0)
}

/// A signed-in console user.
#[derive(Clone)]
pub struct Viewer {
    pub auth: AuthUser,
    pub csrf: String,
    pub flash: Option<Flash>,
    caller: Caller,
}

impl Viewer {
    /// The API as this user, through a short-lived access token for their session.
    pub fn api(&self, console: &ConsoleState) -> Api {
        let (token, _) = crate::auth::session::access_token(
            &console.app,
            &self.auth.user,
            self.auth.session_id,
            console.app.clock.now(),
        );
        Api::new(console.api.clone(), Some(token), self.caller.clone())
    }

    pub fn name(&self) -> String {
        format!("{} {}", self.auth.user.first_name, self.auth.user.last_name)
            .trim()
            .to_owned()
    }

    /// What every page's layout reads about its viewer.
    pub fn context(&self) -> Value {
        json!({
            "id": self.auth.id,
            "name": self.name(),
            "email": self.auth.user.email,
            "role": self.auth.role.as_str(),
            "time_zone": self.auth.user.time_zone,
        })
    }
}

/// Where a signed-out browser goes: the sign-in page, then back here.
fn to_sign_in(parts: &Parts) -> Response {
    let here = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/console");
    let next = if parts.method == axum::http::Method::GET {
        format!("?next={}", percent_encode(here))
    } else {
        String::new()
    };
    Redirect::to(&format!("/console/sign-in{next}")).into_response()
}

pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl<S> FromRequestParts<S> for Viewer
where
    S: Send + Sync,
    ConsoleState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let console = ConsoleState::from_ref(state);
        let app = &console.app;
        let Some((user, session)) = session_of(app, &parts.headers) else {
            return Err(to_sign_in(parts));
        };
        let auth = match crate::auth::signed_in(app, user, session, true).await {
            Ok(auth) => auth,
            Err(e) if e.status.is_server_error() => {
                return Err(error_page(e.status, "Something went wrong", &e.detail));
            }
            Err(_) => {
                let mut res = to_sign_in(parts);
                res.headers_mut()
                    .append(header::SET_COOKIE, cookie(app, SESSION_COOKIE, "", "/", 0));
                return Err(res);
            }
        };
        let caller = Caller::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        Ok(Viewer {
            csrf: csrf_for_session(app, auth.session_id),
            flash: read_flash(app, &parts.headers),
            auth,
            caller,
        })
    }
}

macro_rules! role_viewer {
    ($(#[$doc:meta])* $name:ident, $role:expr, $what:literal) => {
        $(#[$doc])*
        pub struct $name(pub Viewer);

        impl<S> FromRequestParts<S> for $name
        where
            S: Send + Sync,
            ConsoleState: FromRef<S>,
        {
            type Rejection = Response;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
                let viewer = Viewer::from_request_parts(parts, state).await?;
                if viewer.auth.role == $role {
                    Ok(Self(viewer))
                } else {
                    Err(error_page(
                        StatusCode::FORBIDDEN,
                        "Not for this account",
                        concat!("This page is for ", $what, " accounts."),
                    ))
                }
            }
        }
    };
}

role_viewer!(
    /// A signed-in admin.
    AdminViewer,
    Role::Admin,
    "admin"
);
role_viewer!(
    /// A signed-in practitioner (the role is granted on approval; the API checks the rest).
    PractitionerViewer,
    Role::Practitioner,
    "practitioner"
);
role_viewer!(
    /// A signed-in client.
    ClientViewer,
    Role::Client,
    "client"
);

/// Where each role starts.
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::Admin => "/console/admin",
        Role::Practitioner => "/console/practitioner",
        Role::Client => "/console/client",
    }
}

/// A `next` that stays inside the console (never another site, never `//host`).
pub fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        (*n == "/console" || n.starts_with("/console/") || n.starts_with("/console?"))
            && !n.contains('\\')
            && n.bytes().all(|b| b.is_ascii_graphic())
    })
}

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
}

/// The sign-in form. Signed-in visitors go straight to their home.
pub async fn sign_in_page(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Response {
    let app = &console.app;
    let mut stale = false;
    if let Some((user, session)) = session_of(app, &headers) {
        match crate::auth::signed_in(app, user, session, true).await {
            Ok(auth) => return Redirect::to(home_of(auth.role)).into_response(),
            Err(_) => stale = true,
        }
    }
    let mut res = sign_in_form(app, &headers, q.next.as_deref(), "", None, StatusCode::OK);
    if stale {
        // The session behind the cookie has ended: forget it.
        res.headers_mut()
            .append(header::SET_COOKIE, cookie(app, SESSION_COOKIE, "", "/", 0));
    }
    res
}

fn sign_in_form(
    app: &AppState,
    headers: &HeaderMap,
    next: Option<&str>,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let nonce = cookies(headers)
        .remove(SIGN_IN_COOKIE)
        .filter(|n| n.len() == 43)
        .unwrap_or_else(|| {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            URL_SAFE_NO_PAD.encode(bytes)
        });
    let csrf = tag(app, "console-signin-csrf", &[&nonce]);
    let mut res = render::page(
        app,
        None,
        status,
        "sign_in.html",
        json!({
            "title": "Sign in",
            "csrf": csrf,
            "next": safe_next(next),
            "email": email,
            "error": error,
            "demo": app.config.demo,
        }),
    );
    res.headers_mut().append(
        header::SET_COOKIE,
        cookie(app, SIGN_IN_COOKIE, &nonce, "/console", 3600),
    );
    res
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Signs in through the API's own login (its rate limits and lockouts included) and
/// keeps the session it opened in the cookie.
pub async fn sign_in(
    State(console): State<ConsoleState>,
    headers: HeaderMap,
    caller: Caller,
    Form(form): Form<SignInForm>,
) -> Response {
    let app = &console.app;
    let api = Api::new(console.api.clone(), None, caller);
    let answer = api
        .post(
            "/api/v1/auth/login",
            json!({"email": form.email, "password": form.password, "device": "Console"}),
        )
        .await;
    let body = match answer {
        Ok(body) => body,
        Err(problem) => {
            let status =
                StatusCode::from_u16(problem.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            return sign_in_form(
                app,
                &headers,
                form.next.as_deref(),
                &form.email,
                Some(&problem.message()),
                status,
            );
        }
    };
    let ids = (
        body.pointer("/user/id").and_then(Value::as_str),
        body.pointer("/tokens/session_id").and_then(Value::as_str),
        body.pointer("/user/role").and_then(Value::as_str),
    );
    let (Some(user), Some(session), Some(role)) = ids else {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The sign-in answer could not be read",
        );
    };
    let role: Role = role.parse().unwrap_or(Role::Client);
    let value = format!(
        "{user}.{session}.{}",
        tag(app, "console-session", &[user, session])
    );
    let to = safe_next(form.next.as_deref()).unwrap_or(home_of(role));
    let mut res = Redirect::to(to).into_response();
    let max_age = app.config.refresh_token_ttl_days * 86_400;
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookie(app, SESSION_COOKIE, &value, "/", max_age),
    );
    h.append(
        header::SET_COOKIE,
        cookie(app, SIGN_IN_COOKIE, "", "/console", 0),
    );
    res
}

/// Ends this browser's session (the API's logout) and forgets the cookie.
pub async fn sign_out(State(console): State<ConsoleState>, viewer: Viewer) -> Response {
    // A failure still signs the browser out; the session then ends at its expiry.
    let _ = viewer
        .api(&console)
        .post("/api/v1/auth/logout", json!({}))
        .await;
    let mut res = Redirect::to("/console/sign-in").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookie(&console.app, SESSION_COOKIE, "", "/", 0),
    );
    res
}

/// A short-lived access token for this browser's session, for the console's live pages,
/// which talk to the API and the WebSocket from script. Only same-site script can ask
/// (the CSRF header is required), and the token lives in that page's memory only.
pub async fn token(State(console): State<ConsoleState>, viewer: Viewer) -> Response {
    let (token, expires_in) = crate::auth::session::access_token(
        &console.app,
        &viewer.auth.user,
        viewer.auth.session_id,
        console.app.clock.now(),
    );
    let mut res =
        axum::Json(json!({"access_token": token, "expires_in": expires_in})).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
