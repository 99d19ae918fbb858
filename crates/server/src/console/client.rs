//! The client's small area, for the demo: the wallet and a top-up through the gateway's
//! checkout, practitioners to chat with, and the live panel (`static/live.js`).

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use uuid::Uuid;

use super::ConsoleState;
use super::admin::parse_amount;
use super::render::page;
use super::session::{ClientViewer, Flash, redirect_with};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/client", get(home))
        .route("/console/client/topup", post(topup))
        .route("/console/client/chat/{practitioner}", post(chat))
}

async fn home(State(console): State<ConsoleState>, ClientViewer(viewer): ClientViewer) -> Response {
    let api = viewer.api(&console);
    let wallet = api.get("/api/v1/wallet").await.ok();
    let practitioners: Vec<Value> = api
        .get("/api/v1/practitioners?limit=50")
        .await
        .ok()
        .and_then(|page| page["items"].as_array().cloned())
        .unwrap_or_default();
    page(
        &console.app,
        Some(&viewer),
        StatusCode::OK,
        "client/home.html",
        json!({"title": "Wallet and chat", "active": "/console/client", "wallet": wallet,
               "practitioners": practitioners, "topup_key": Uuid::now_v7()}),
    )
}

/// Starts a top-up and sends the browser to the gateway's checkout.
async fn topup(
    State(console): State<ConsoleState>,
    ClientViewer(viewer): ClientViewer,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let back = "/console/client";
    let amount = match parse_amount(form.get("amount").map(String::as_str).unwrap_or_default()) {
        Ok(amount) => amount,
        Err(text) => return redirect_with(&console.app, back, Flash::error("topup", text)),
    };
    let key = form
        .get("_key")
        .filter(|k| !k.is_empty() && k.len() <= 100)
        .map(|k| format!("console:{k}"))
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    let result = viewer
        .api(&console)
        .post_keyed("/api/v1/wallet/topups", json!({"amount": amount}), &key)
        .await;
    match result {
        Ok(order) => match order["checkout_url"].as_str().filter(|u| !u.is_empty()) {
            Some(url) => Redirect::to(url).into_response(),
            None => redirect_with(
                &console.app,
                back,
                Flash::error(
                    "topup",
                    "This gateway pays inside an app; use the API's client secret.",
                ),
            ),
        },
        Err(problem) => redirect_with(&console.app, back, Flash::error("topup", problem.message())),
    }
}

/// Asks a practitioner for a chat; the live panel takes it from there.
async fn chat(
    State(console): State<ConsoleState>,
    ClientViewer(viewer): ClientViewer,
    Path(practitioner): Path<Uuid>,
) -> Response {
    let result = viewer
        .api(&console)
        .post(
            "/api/v1/consultations",
            json!({"practitioner_id": practitioner, "channel": "chat"}),
        )
        .await;
    let back = "/console/client";
    match result {
        Ok(_) => redirect_with(
            &console.app,
            back,
            Flash::ok("Request sent: waiting for the practitioner to answer."),
        ),
        Err(problem) => redirect_with(
            &console.app,
            back,
            Flash::error(format!("chat-{practitioner}"), problem.message()),
        ),
    }
}
