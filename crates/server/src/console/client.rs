//! The client's small area, for the demo: the wallet and a top-up through the gateway's
//! checkout, practitioners to chat with, the live panel (`static/live.js`), booking an
//! appointment from a practitioner's free slots, and the birth chart.

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use uuid::Uuid;

use super::ConsoleState;
use super::admin::{
    Params, after, failed, field, form_key, listing, param, parse_amount, query_string,
};
use super::render::page;
use super::session::{ClientViewer, Flash, redirect_with};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/client", get(home))
        .route("/console/client/topup", post(topup))
        .route("/console/client/chat/{practitioner}", post(chat))
        .route("/console/client/book", get(book_page).post(book))
        .route("/console/client/bookings", get(my_bookings))
        .route("/console/client/bookings/{id}/cancel", post(cancel_booking))
        .route("/console/client/chart", get(chart).post(save_birth))
        .route("/console/client/chart.svg", get(chart_svg))
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

/// Booking, step by step on one page: a practitioner, one of their services, a day, then
/// a free slot (each slot is a form that books it).
async fn book_page(
    State(console): State<ConsoleState>,
    ClientViewer(viewer): ClientViewer,
    Query(q): Query<Params>,
) -> Response {
    let api = viewer.api(&console);
    let practitioners: Vec<Value> = api
        .get("/api/v1/practitioners?limit=50")
        .await
        .ok()
        .and_then(|page| page["items"].as_array().cloned())
        .unwrap_or_default();
    let chosen = param(&q, "practitioner").and_then(|p| p.parse::<Uuid>().ok());
    let services: Vec<Value> = match chosen {
        Some(id) => match api
            .get(&format!("/api/v1/practitioners/{id}/services"))
            .await
        {
            Ok(Value::Array(items)) => items,
            Ok(page) => page["items"].as_array().cloned().unwrap_or_default(),
            Err(problem) => return failed(&problem),
        },
        None => Vec::new(),
    };
    let service = param(&q, "service").and_then(|s| s.parse::<Uuid>().ok());
    let zone = match viewer.auth.user.time_zone.as_str() {
        "" => "UTC".to_owned(),
        zone => zone.to_owned(),
    };
    let slots = match service {
        Some(sid) => {
            let path = format!(
                "/api/v1/services/{sid}/slots{}",
                query_string(&[
                    ("from", param(&q, "from")),
                    ("days", Some("7")),
                    ("time_zone", Some(&zone))
                ])
            );
            match api.get(&path).await {
                Ok(slots) => Some(slots),
                Err(problem) => return failed(&problem),
            }
        }
        None => None,
    };
    page(
        &console.app,
        Some(&viewer),
        StatusCode::OK,
        "client/book.html",
        json!({"title": "Book an appointment", "active": "/console/client/book",
               "practitioners": practitioners, "chosen": chosen, "services": services,
               "service": service, "slots": slots, "key": Uuid::now_v7()}),
    )
}

async fn book(
    State(console): State<ConsoleState>,
    ClientViewer(viewer): ClientViewer,
    Form(form): Form<Params>,
) -> Response {
    let result = viewer
        .api(&console)
        .post_keyed(
            "/api/v1/bookings",
            json!({"service_id": field(&form, "service_id"), "start": field(&form, "start"),
                   "notes": field(&form, "notes")}),
            &form_key(&form),
        )
        .await;
    match result {
        Ok(_) => redirect_with(
            &console.app,
            "/console/client/bookings",
            Flash::ok(
                "Requested: the practitioner confirms it, and the price is held in your wallet until then.",
            ),
        ),
        Err(problem) => {
            let back = format!(
                "/console/client/book{}",
                query_string(&[
                    ("practitioner", Some(field(&form, "practitioner"))),
                    ("service", Some(field(&form, "service_id")))
                ])
            );
            redirect_with(&console.app, &back, Flash::error("book", problem.message()))
        }
    }
}

async fn my_bookings(
    State(console): State<ConsoleState>,
    ClientViewer(viewer): ClientViewer,
    Query(q): Query<Params>,
) -> Response {
    let api = viewer.api(&console);
    let list = match listing(
        &api,
        "/api/v1/bookings",
        "/console/client/bookings",
        &[("role", Some("client"))],
        &q,
    )
    .await
    {
        Ok(list) => list,
        Err(problem) => return failed(&problem),
    };
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
        "client/bookings.html",
        json!({"title": "My bookings", "active": "/console/client/bookings", "items": items,
               "next_url": list.next_url, "first_url": list.first_url, "on_first": list.on_first}),
    )
}

async fn cancel_booking(
    State(console): State<ConsoleState>,
    ClientViewer(viewer): ClientViewer,
    Path(id): Path<Uuid>,
    Form(form): Form<Params>,
) -> Response {
    let result = viewer
        .api(&console)
        .post_keyed(
            &format!("/api/v1/bookings/{id}/cancel"),
            json!({}),
            &form_key(&form),
        )
        .await;
    let ok = match &result {
        Ok(b) if b["refunded"].as_i64().unwrap_or(0) > 0 => format!(
            "Cancelled: {} is back in your wallet.",
            domain::notifications::format_money(
                b["refunded"].as_i64().unwrap_or(0),
                b["currency"].as_str().unwrap_or("INR")
            )
        ),
        _ => "Cancelled.".to_owned(),
    };
    after(
        &console,
        "/console/client/bookings",
        &format!("cancel-{id}"),
        result,
        &ok,
    )
}

async fn chart(
    State(console): State<ConsoleState>,
    ClientViewer(viewer): ClientViewer,
) -> Response {
    let api = viewer.api(&console);
    let birth = api.get("/api/v1/me/birth-details").await.ok();
    let chart = match &birth {
        Some(_) => api.get("/api/v1/me/chart").await.ok(),
        None => None,
    };
    page(
        &console.app,
        Some(&viewer),
        StatusCode::OK,
        "client/chart.html",
        json!({"title": "My chart", "active": "/console/client/chart", "birth": birth, "chart": chart}),
    )
}

async fn save_birth(
    State(console): State<ConsoleState>,
    ClientViewer(viewer): ClientViewer,
    Form(form): Form<Params>,
) -> Response {
    let back = "/console/client/chart";
    let coordinate = |name: &str| field(&form, name).parse::<f64>().ok();
    let (Some(latitude), Some(longitude)) = (coordinate("latitude"), coordinate("longitude"))
    else {
        return redirect_with(
            &console.app,
            back,
            Flash::error(
                "birth",
                "Latitude and longitude are numbers, such as 19.076 and 72.8777",
            ),
        );
    };
    let time = Some(field(&form, "birth_time")).filter(|t| !t.is_empty());
    let result = viewer
        .api(&console)
        .put(
            "/api/v1/me/birth-details",
            json!({"birth_date": field(&form, "birth_date"), "birth_time": time.map(|t| format!("{t}:00")),
                   "time_known": time.is_some(), "place_name": field(&form, "place_name"),
                   "latitude": latitude, "longitude": longitude, "time_zone": field(&form, "time_zone")}),
        )
        .await;
    after(
        &console,
        back,
        "birth",
        result,
        "Saved: your chart is below.",
    )
}

/// The chart drawn by the API, served from here so the page loads it as an image.
async fn chart_svg(
    State(console): State<ConsoleState>,
    ClientViewer(viewer): ClientViewer,
) -> Response {
    match viewer
        .api(&console)
        .get_raw("/api/v1/me/chart/svg?style=north_indian")
        .await
    {
        Ok((_, svg)) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            )],
            svg,
        )
            .into_response(),
        Err(problem) => failed(&problem),
    }
}
