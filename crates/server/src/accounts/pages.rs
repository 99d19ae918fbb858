//! The two pages emailed links open, server-rendered because there is no web console yet:
//! `/reset-password` (choose a new password) and `/verify-email` (confirm an address).
//!
//! Each GET shows a form and changes nothing (mail scanners fetch links); the form POSTs
//! back here and runs the same code as the API. Pages carry no script, and their one style
//! block is allowed by its hash, so the strict Content-Security-Policy below holds. Every
//! value written into a page is HTML-escaped.

use std::sync::LazyLock;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::error::{ApiError, Problem};
use crate::http::ClientMeta;
use crate::notifications::APP_NAME;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reset_password_page, reset_password_form))
        .routes(routes!(verify_email_page, verify_email_form))
}

/// The address an email links to: `{public_url}/{page}?token=…`.
pub fn link(app: &AppState, page: &str, token: &str) -> String {
    // Tokens are base64url, which needs no escaping in a query string.
    format!("{}/{page}?token={token}", app.public_url())
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5}\
label{display:block;margin-top:1rem}input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}\
button{margin-top:1.5rem;padding:.6rem 1.2rem}.error{color:#a00}";

/// `default-src 'none'` forbids scripts, frames and every other fetch; the style block is
/// allowed by its hash alone; forms may post only here; no other site may frame the page.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
});

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body` (already escaped by the caller).
fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · {}</title><style>{STYLE}</style></head><body><h1>{}</h1>{body}</body></html>",
        escape(title),
        APP_NAME,
        escape(title)
    );
    let mut res = (StatusCode::OK, html).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&CSP) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    // The address holds the token: keep it out of caches and out of Referer headers.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// What went wrong, in words for the page: field messages for invalid input, else the
/// error's detail (a 500 says nothing internal).
fn explain(e: &ApiError) -> String {
    if e.fields.is_empty() {
        e.detail.clone()
    } else {
        e.fields
            .iter()
            .map(|f| format!("The password {}.", f.message))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// The token of the emailed link.
    pub token: Option<String>,
}

fn incomplete_link() -> Response {
    page(
        "This link is incomplete",
        "<p>Open the link from the email again, or copy all of it into the address bar.</p>",
    )
}

fn reset_form(token: &str, error: Option<&str>) -> Response {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        "Choose a new password",
        &format!(
            "{error}<form method=\"post\" action=\"/reset-password\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <label>New password (at least 12 characters)\
             <input type=\"password\" name=\"password\" autocomplete=\"new-password\" required minlength=\"12\" maxlength=\"128\"></label>\
             <label>The same password again\
             <input type=\"password\" name=\"password_confirm\" autocomplete=\"new-password\" required minlength=\"12\" maxlength=\"128\"></label>\
             <button type=\"submit\">Set the new password</button></form>\
             <p>Every device signed in to your account will be signed out.</p>",
            escape(token)
        ),
    )
}

/// The page a password-reset email links to: a form for the new password.
#[utoipa::path(get, path = "/reset-password", tag = "pages", operation_id = "show_reset_password_page",
    params(LinkQuery),
    responses((status = 200, description = "The form", content_type = "text/html", body = String),
              (status = 400, body = Problem, description = "`invalid_query`")))]
async fn reset_password_page(Query(q): Query<LinkQuery>) -> Response {
    match q.token.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() && t.len() <= 100 => reset_form(t, None),
        _ => incomplete_link(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetPasswordForm {
    pub token: String,
    pub password: String,
    pub password_confirm: String,
}

/// The reset form's target: sets the new password (as `POST /api/v1/auth/password/reset`)
/// and answers a page saying what happened; a mistake shows the form again.
#[utoipa::path(post, path = "/reset-password", tag = "pages", operation_id = "submit_reset_password_form",
    request_body(content = ResetPasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Done, or the form again with the reason", content_type = "text/html", body = String),
              (status = 415, body = Problem), (status = 422, body = Problem, description = "`invalid_body`: fields missing")))]
async fn reset_password_form(
    State(app): State<AppState>,
    meta: ClientMeta,
    Form(form): Form<ResetPasswordForm>,
) -> Response {
    if form.password != form.password_confirm {
        return reset_form(&form.token, Some("The two passwords differ."));
    }
    match super::security::reset_with_token(&app, &meta, &form.token, form.password).await {
        Ok(()) => page(
            "Your password is changed",
            "<p>Sign in with your new password. Every device that was signed in has been signed out.</p>",
        ),
        Err(e) if matches!(e.code, "reset_token_invalid" | "reset_token_expired") => page(
            "This link does not work",
            &format!(
                "<p>{}</p><p>Ask for a new link with “Forgot password” in the app.</p>",
                escape(&e.detail)
            ),
        ),
        Err(e) if e.status.is_server_error() => e.into_response(),
        Err(e) => reset_form(&form.token, Some(&explain(&e))),
    }
}

/// The page a verification email links to: one button confirms the address.
#[utoipa::path(get, path = "/verify-email", tag = "pages", operation_id = "show_verify_email_page",
    params(LinkQuery),
    responses((status = 200, description = "The confirmation form", content_type = "text/html", body = String),
              (status = 400, body = Problem, description = "`invalid_query`")))]
async fn verify_email_page(Query(q): Query<LinkQuery>) -> Response {
    match q.token.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() && t.len() <= 100 => page(
            "Confirm your email address",
            &format!(
                "<form method=\"post\" action=\"/verify-email\">\
                 <input type=\"hidden\" name=\"token\" value=\"{}\">\
                 <button type=\"submit\">Confirm my email address</button></form>",
                escape(t)
            ),
        ),
        _ => incomplete_link(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyEmailForm {
    pub token: String,
}

/// The confirmation form's target (as `POST /api/v1/auth/email/verify`), answering a page.
#[utoipa::path(post, path = "/verify-email", tag = "pages", operation_id = "submit_verify_email_form",
    request_body(content = VerifyEmailForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "What happened", content_type = "text/html", body = String),
              (status = 415, body = Problem), (status = 422, body = Problem, description = "`invalid_body`: the token is missing")))]
async fn verify_email_form(
    State(app): State<AppState>,
    Form(form): Form<VerifyEmailForm>,
) -> Response {
    match super::email::confirm_with_token(&app, &form.token).await {
        Ok(u) => page(
            "Your email address is confirmed",
            &format!(
                "<p>{} is now the verified address of your account.</p>",
                escape(u.email.as_deref().unwrap_or_default())
            ),
        ),
        Err(e) if e.status.is_server_error() => e.into_response(),
        Err(e) => page(
            "This link does not work",
            &format!(
                "<p>{}</p><p>You can ask for a new link in the app.</p>",
                escape(&e.detail)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(
            escape("\"><script>alert('x')</script>&"),
            "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
    }

    #[test]
    fn policy_allows_the_style_by_hash_and_no_script() {
        assert!(CSP.contains("default-src 'none'"));
        assert!(CSP.contains("style-src 'sha256-"));
        assert!(!CSP.contains("unsafe-inline"));
        assert!(!CSP.contains("script-src"));
    }
}
