//! The practitioner's pages: going online and offline, the live panel where requests
//! arrive over the WebSocket and sessions are chatted in (`static/live.js`), and the
//! bookings to confirm, decline and complete, the profile, earnings with payouts, and
//! reviews with replies.

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use uuid::Uuid;

use super::ConsoleState;
use super::admin::{
    Params, after, failed, field, form_key, listing, param, parse_amount, query_string,
};
use super::render;
use super::render::page;
use super::session::{Flash, PractitionerViewer, redirect_with};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/practitioner", get(home))
        .route("/console/practitioner/presence", post(presence))
        .route("/console/practitioner/bookings", get(bookings))
        .route(
            "/console/practitioner/profile",
            get(profile).post(save_profile),
        )
        .route(
            "/console/practitioner/earnings",
            get(earnings).post(request_payout),
        )
        .route("/console/practitioner/reviews", get(reviews))
        .route("/console/practitioner/reviews/{id}/reply", post(reply))
        .route(
            "/console/practitioner/bookings/{id}/{action}",
            post(booking_action),
        )
}

async fn home(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
) -> Response {
    let api = viewer.api(&console);
    let presence = api.get("/api/v1/practitioners/me/presence").await.ok();
    let profile = api.get("/api/v1/practitioners/me").await.ok();
    let earnings = api.get("/api/v1/practitioners/me/earnings").await.ok();
    page(
        &console.app,
        Some(&viewer),
        StatusCode::OK,
        "practitioner/home.html",
        json!({"title": "Live", "active": "/console/practitioner", "presence": presence,
               "profile": profile, "earnings": earnings}),
    )
}

async fn presence(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let status = form.get("status").map(String::as_str).unwrap_or_default();
    let result = viewer
        .api(&console)
        .put(
            "/api/v1/practitioners/me/presence",
            json!({"status": status}),
        )
        .await;
    let back = "/console/practitioner";
    match result {
        Ok(_) if status == "online" => redirect_with(
            &console.app,
            back,
            Flash::ok("You are online: requests will appear below."),
        ),
        Ok(_) => redirect_with(&console.app, back, Flash::ok("You are offline.")),
        Err(problem) => redirect_with(
            &console.app,
            back,
            Flash::error("presence", problem.message()),
        ),
    }
}

const BOOKING_STATUSES: &[&str] = &[
    "requested",
    "confirmed",
    "completed",
    "declined",
    "cancelled",
];

async fn bookings(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
    Query(q): Query<Params>,
) -> Response {
    let api = viewer.api(&console);
    let status = param(&q, "status").unwrap_or("requested");
    let filters = [("role", Some("practitioner")), ("status", Some(status))];
    let list = match listing(
        &api,
        "/api/v1/bookings",
        "/console/practitioner/bookings",
        &filters,
        &q,
    )
    .await
    {
        Ok(list) => list,
        Err(problem) => return failed(&problem),
    };
    // Each form carries its own key: a double click confirms, declines or completes once.
    let items: Vec<Value> = list
        .items
        .into_iter()
        .map(|mut b| {
            b["key"] = json!(Uuid::now_v7());
            b
        })
        .collect();
    page(
        &console.app,
        Some(&viewer),
        StatusCode::OK,
        "practitioner/bookings.html",
        json!({"title": "Bookings", "active": "/console/practitioner/bookings", "items": items,
               "next_url": list.next_url, "first_url": list.first_url, "on_first": list.on_first,
               "status": status, "statuses": BOOKING_STATUSES,
               "back": format!("/console/practitioner/bookings{}", query_string(&[("status", Some(status))]))}),
    )
}

async fn booking_action(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
    Path((id, action)): Path<(Uuid, String)>,
    Form(form): Form<Params>,
) -> Response {
    let back = match super::session::safe_next(form.get("_back").map(String::as_str)) {
        Some(b) if b.starts_with("/console/practitioner/") => b.to_owned(),
        _ => "/console/practitioner/bookings".to_owned(),
    };
    let api = viewer.api(&console);
    let path = format!("/api/v1/bookings/{id}/{action}");
    let (result, ok) = match action.as_str() {
        "confirm" => (
            api.post(&path, json!({})).await,
            "Confirmed: the client is told.",
        ),
        "decline" => {
            let reason = form
                .get("reason")
                .map(|r| r.trim())
                .filter(|r| !r.is_empty());
            (
                api.post_keyed(&path, json!({"reason": reason}), &form_key(&form))
                    .await,
                "Declined: the client's money is released.",
            )
        }
        "complete" => (
            api.post_keyed(&path, json!({}), &form_key(&form)).await,
            "Completed: your earnings are credited.",
        ),
        _ => return super::not_found_page(),
    };
    match result {
        Ok(_) => redirect_with(&console.app, &back, Flash::ok(ok)),
        Err(problem) => redirect_with(
            &console.app,
            &back,
            Flash::error(format!("{action}-{id}"), problem.message()),
        ),
    }
}

async fn profile(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
) -> Response {
    let me = match viewer.api(&console).get("/api/v1/practitioners/me").await {
        Ok(me) => me,
        Err(problem) => return failed(&problem),
    };
    page(
        &console.app,
        Some(&viewer),
        StatusCode::OK,
        "practitioner/profile.html",
        json!({"title": "Profile", "active": "/console/practitioner/profile", "p": me,
               "kinds": store::status::PractitionerKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>()}),
    )
}

/// A comma-separated list as the API's array (`"en, hi"` → `["en", "hi"]`).
fn list_field(form: &Params, name: &str) -> Vec<String> {
    field(form, name)
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A rate typed in rupees; empty means the channel is not offered.
fn rate_field(form: &Params, name: &str) -> Result<Option<i64>, String> {
    match field(form, name) {
        "" => Ok(None),
        text => parse_amount(text).map(Some),
    }
}

fn profile_body(form: &Params) -> Result<Value, String> {
    let experience: i32 = field(form, "experience_years")
        .parse()
        .map_err(|_| "Experience must be a whole number of years".to_owned())?;
    let max_sessions: i32 = field(form, "max_concurrent_sessions")
        .parse()
        .map_err(|_| "Sessions at once must be a whole number".to_owned())?;
    let avatar = Some(field(form, "avatar_url")).filter(|a| !a.is_empty());
    Ok(json!({
        "kind": field(form, "kind"),
        "display_name": field(form, "display_name"),
        "bio": form.get("bio").map(|b| b.replace("\r\n", "\n")).unwrap_or_default(),
        "avatar_url": avatar,
        "experience_years": experience,
        "languages": list_field(form, "languages"),
        "specializations": list_field(form, "specializations"),
        "education": field(form, "education"),
        "rates": {
            "currency": field(form, "currency"),
            "chat": rate_field(form, "rate_chat")?,
            "call": rate_field(form, "rate_call")?,
            "video": rate_field(form, "rate_video")?,
        },
        "max_concurrent_sessions": max_sessions,
    }))
}

async fn save_profile(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
    Form(form): Form<Params>,
) -> Response {
    let back = "/console/practitioner/profile";
    let body = match profile_body(&form) {
        Ok(body) => body,
        Err(text) => return redirect_with(&console.app, back, Flash::error("profile", text)),
    };
    let result = viewer
        .api(&console)
        .patch("/api/v1/practitioners/me", body)
        .await;
    after(
        &console,
        back,
        "profile",
        result,
        "Saved: clients see the new profile now.",
    )
}

async fn earnings(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
) -> Response {
    let api = viewer.api(&console);
    let earned = match api.get("/api/v1/practitioners/me/earnings").await {
        Ok(earned) => earned,
        Err(problem) => return failed(&problem),
    };
    let currency = earned["currency"].as_str().unwrap_or("INR").to_owned();
    let weeks: Vec<(String, i64)> = earned["weeks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            let label = w["week_start"]
                .as_str()
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .map(|d| d.format("%-d %b").to_string())
                .unwrap_or_default();
            (label, w["earned"].as_i64().unwrap_or(0))
        })
        .collect();
    let payouts = api
        .get("/api/v1/practitioners/me/payouts?limit=20")
        .await
        .ok()
        .and_then(|p| p["items"].as_array().cloned())
        .unwrap_or_default();
    page(
        &console.app,
        Some(&viewer),
        StatusCode::OK,
        "practitioner/earnings.html",
        json!({"title": "Earnings", "active": "/console/practitioner/earnings", "e": earned,
               "chart": render::bars("Earnings by week", &weeks, &currency, "weeks"),
               "payouts": payouts, "payout_key": Uuid::now_v7()}),
    )
}

async fn request_payout(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
    Form(form): Form<Params>,
) -> Response {
    let back = "/console/practitioner/earnings";
    let amount = match parse_amount(field(&form, "amount")) {
        Ok(amount) => amount,
        Err(text) => return redirect_with(&console.app, back, Flash::error("payout", text)),
    };
    let result = viewer
        .api(&console)
        .post_keyed(
            "/api/v1/practitioners/me/payouts",
            json!({"amount": amount}),
            &form_key(&form),
        )
        .await;
    after(
        &console,
        back,
        "payout",
        result,
        "Requested: an admin pays it to your bank.",
    )
}

async fn reviews(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
    Query(q): Query<Params>,
) -> Response {
    let api = viewer.api(&console);
    let me = match api.get("/api/v1/practitioners/me").await {
        Ok(me) => me,
        Err(problem) => return failed(&problem),
    };
    let id = me["id"].as_str().unwrap_or_default().to_owned();
    let list = match listing(
        &api,
        &format!("/api/v1/practitioners/{id}/reviews"),
        "/console/practitioner/reviews",
        &[],
        &q,
    )
    .await
    {
        Ok(list) => list,
        Err(problem) => return failed(&problem),
    };
    page(
        &console.app,
        Some(&viewer),
        StatusCode::OK,
        "practitioner/reviews.html",
        json!({"title": "Reviews", "active": "/console/practitioner/reviews", "items": list.items,
               "next_url": list.next_url, "first_url": list.first_url, "on_first": list.on_first,
               "rating": me["rating"]}),
    )
}

async fn reply(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
    Path(id): Path<Uuid>,
    Form(form): Form<Params>,
) -> Response {
    let result = viewer
        .api(&console)
        .post(
            &format!("/api/v1/reviews/{id}/reply"),
            json!({"text": field(&form, "text")}),
        )
        .await;
    after(
        &console,
        "/console/practitioner/reviews",
        &format!("reply-{id}"),
        result,
        "Your reply is posted.",
    )
}
