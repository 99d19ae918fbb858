//! The practitioner's working week: weekly hours drawn on a week calendar and edited as
//! text (`09:00-13:00, 14:00-18:00` per day), date overrides (other hours, or closed),
//! and the bookable services. Breaks and blocked dates set through the API are kept as
//! they are when the hours are saved.

use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use uuid::Uuid;

use super::ConsoleState;
use super::admin::{Params, after, failed, field, parse_amount};
use super::render::{self, page};
use super::session::{Flash, PractitionerViewer, redirect_with};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/practitioner/hours", get(hours).post(save_hours))
        .route("/console/practitioner/hours/override", post(add_override))
        .route(
            "/console/practitioner/hours/override/{date}/remove",
            post(remove_override),
        )
        .route(
            "/console/practitioner/services",
            get(services).post(create_service),
        )
        .route(
            "/console/practitioner/services/{id}/toggle",
            post(toggle_service),
        )
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// `09:00-13:00, 14:00-18:00` → `[{start, end}, …]`; empty means closed.
fn parse_windows(text: &str) -> Result<Vec<Value>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| {
            let (start, end) = w
                .split_once('-')
                .ok_or_else(|| format!("“{w}” is not a time range such as 09:00-13:00"))?;
            Ok(json!({"start": start.trim(), "end": end.trim()}))
        })
        .collect()
}

/// The windows of `day` in the API's document, as the text the form shows.
fn windows_text(windows: &[Value]) -> String {
    windows
        .iter()
        .map(|w| {
            format!(
                "{}-{}",
                w["start"].as_str().unwrap_or(""),
                w["end"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.split_once(':')?;
    Some(h.parse::<u32>().ok()? * 60 + m.parse::<u32>().ok()?)
}

async fn hours(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
) -> Response {
    let doc = match viewer
        .api(&console)
        .get("/api/v1/practitioners/me/availability")
        .await
    {
        Ok(doc) => doc,
        Err(problem) => return failed(&problem),
    };
    let weekly = doc["weekly"].as_array().cloned().unwrap_or_default();
    let days: Vec<Value> = WEEKDAYS
        .iter()
        .map(|day| {
            let of_day: Vec<Value> = weekly
                .iter()
                .filter(|w| w["weekday"] == *day)
                .cloned()
                .collect();
            json!({"name": day, "text": windows_text(&of_day)})
        })
        .collect();
    let blocks: Vec<(usize, u32, u32)> = weekly
        .iter()
        .filter_map(|w| {
            let day = WEEKDAYS.iter().position(|d| w["weekday"] == *d)?;
            Some((
                day,
                minutes(w["start"].as_str()?)?,
                minutes(w["end"].as_str()?)?,
            ))
        })
        .collect();
    let overrides: Vec<Value> = doc["overrides"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            let windows = o["hours"].as_array().cloned().unwrap_or_default();
            json!({"date": o["date"], "text": windows_text(&windows)})
        })
        .collect();
    page(
        &console.app,
        Some(&viewer),
        StatusCode::OK,
        "practitioner/hours.html",
        json!({"title": "Working hours", "active": "/console/practitioner/hours", "doc": doc,
               "days": days, "overrides": overrides, "calendar": render::week_calendar(&blocks)}),
    )
}

/// Saves `doc` back (the whole availability document), answering in words.
async fn put_doc(
    console: &ConsoleState,
    viewer: &super::session::Viewer,
    doc: Value,
    form: &str,
    ok: &str,
) -> Response {
    let result = viewer
        .api(console)
        .put("/api/v1/practitioners/me/availability", doc)
        .await;
    after(console, "/console/practitioner/hours", form, result, ok)
}

async fn current(
    console: &ConsoleState,
    viewer: &super::session::Viewer,
) -> Result<Value, Response> {
    viewer
        .api(console)
        .get("/api/v1/practitioners/me/availability")
        .await
        .map_err(|problem| failed(&problem))
}

async fn save_hours(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
    Form(form): Form<Params>,
) -> Response {
    let mut doc = match current(&console, &viewer).await {
        Ok(doc) => doc,
        Err(page) => return page,
    };
    let mut weekly = Vec::new();
    for day in WEEKDAYS {
        match parse_windows(field(&form, day)) {
            Ok(windows) => weekly.extend(windows.into_iter().map(|mut w| {
                w["weekday"] = json!(day);
                w
            })),
            Err(text) => {
                return redirect_with(
                    &console.app,
                    "/console/practitioner/hours",
                    Flash::error(
                        "hours",
                        format!(
                            "{}: {text}",
                            super::render::words(minijinja::Value::from(day))
                        ),
                    ),
                );
            }
        }
    }
    doc["weekly"] = json!(weekly);
    doc["time_zone"] = json!(field(&form, "time_zone"));
    put_doc(
        &console,
        &viewer,
        doc,
        "hours",
        "Saved: clients see the new free times.",
    )
    .await
}

async fn add_override(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
    Form(form): Form<Params>,
) -> Response {
    let mut doc = match current(&console, &viewer).await {
        Ok(doc) => doc,
        Err(page) => return page,
    };
    let date = field(&form, "date").to_owned();
    let windows = match parse_windows(field(&form, "hours")) {
        Ok(windows) => windows,
        Err(text) => {
            return redirect_with(
                &console.app,
                "/console/practitioner/hours",
                Flash::error("override", text),
            );
        }
    };
    let mut overrides: Vec<Value> = doc["overrides"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o["date"] != date.as_str())
        .collect();
    overrides.push(json!({"date": date, "hours": windows}));
    doc["overrides"] = json!(overrides);
    put_doc(&console, &viewer, doc, "override", "Saved for that date.").await
}

async fn remove_override(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
    Path(date): Path<String>,
) -> Response {
    let mut doc = match current(&console, &viewer).await {
        Ok(doc) => doc,
        Err(page) => return page,
    };
    let overrides: Vec<Value> = doc["overrides"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o["date"] != date.as_str())
        .collect();
    doc["overrides"] = json!(overrides);
    put_doc(
        &console,
        &viewer,
        doc,
        "override",
        "That date follows the week again.",
    )
    .await
}

async fn services(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
) -> Response {
    let items = match viewer
        .api(&console)
        .get("/api/v1/practitioners/me/services")
        .await
    {
        Ok(Value::Array(items)) => items,
        Ok(page) => page["items"].as_array().cloned().unwrap_or_default(),
        Err(problem) => return failed(&problem),
    };
    page(
        &console.app,
        Some(&viewer),
        StatusCode::OK,
        "practitioner/services.html",
        json!({"title": "Services", "active": "/console/practitioner/services", "items": items,
               "channels": ["video", "call", "chat", "in_person"]}),
    )
}

async fn create_service(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
    Form(form): Form<Params>,
) -> Response {
    let back = "/console/practitioner/services";
    let price = match parse_amount(field(&form, "price")) {
        Ok(price) => price,
        Err(text) => return redirect_with(&console.app, back, Flash::error("new-service", text)),
    };
    let Ok(duration) = field(&form, "duration_minutes").parse::<i32>() else {
        return redirect_with(
            &console.app,
            back,
            Flash::error("new-service", "The length is a whole number of minutes"),
        );
    };
    let result = viewer
        .api(&console)
        .post(
            "/api/v1/practitioners/me/services",
            json!({"name": field(&form, "name"), "description": field(&form, "description"),
                   "channel": field(&form, "channel"), "duration_minutes": duration, "price": price}),
        )
        .await;
    after(
        &console,
        back,
        "new-service",
        result,
        "The service is bookable.",
    )
}

/// Stops or resumes bookings of a service (the rest of it unchanged).
async fn toggle_service(
    State(console): State<ConsoleState>,
    PractitionerViewer(viewer): PractitionerViewer,
    Path(id): Path<Uuid>,
) -> Response {
    let api = viewer.api(&console);
    let back = "/console/practitioner/services";
    // The practitioner's own list holds paused services too.
    let mine = match api.get("/api/v1/practitioners/me/services").await {
        Ok(Value::Array(items)) => items,
        Ok(_) => Vec::new(),
        Err(problem) => {
            return redirect_with(
                &console.app,
                back,
                Flash::error(format!("toggle-{id}"), problem.message()),
            );
        }
    };
    let Some(current) = mine
        .into_iter()
        .find(|s| s["id"] == id.to_string().as_str())
    else {
        return super::not_found_page();
    };
    let mut body = json!({});
    for key in [
        "name",
        "description",
        "service_type_id",
        "channel",
        "duration_minutes",
        "price",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "min_notice_minutes",
        "slot_interval_minutes",
        "booking_window_days",
        "max_per_day",
        "max_per_week",
    ] {
        if !current[key].is_null() {
            body[key] = current[key].clone();
        }
    }
    let active = current["active"].as_bool().unwrap_or(true);
    body["active"] = json!(!active);
    let result = api
        .put(&format!("/api/v1/practitioners/me/services/{id}"), body)
        .await;
    let ok = if active {
        "Paused: nobody can book it now."
    } else {
        "Bookable again."
    };
    after(&console, back, &format!("toggle-{id}"), result, ok)
}
