//! The practitioner's pages: going online and offline, the live panel where requests
//! arrive over the WebSocket and sessions are chatted in (`static/live.js`), and the
//! bookings to confirm, decline and complete.

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
use super::admin::{Params, failed, form_key, listing, param, query_string};
use super::render::page;
use super::session::{Flash, PractitionerViewer, redirect_with};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/practitioner", get(home))
        .route("/console/practitioner/presence", post(presence))
        .route("/console/practitioner/bookings", get(bookings))
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
