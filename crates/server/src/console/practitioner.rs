//! The practitioner's pages: going online and offline, and the live panel where requests
//! arrive over the WebSocket and sessions are chatted in (`static/live.js`).

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;

use super::ConsoleState;
use super::render::page;
use super::session::{Flash, PractitionerViewer, redirect_with};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/practitioner", get(home))
        .route("/console/practitioner/presence", post(presence))
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
