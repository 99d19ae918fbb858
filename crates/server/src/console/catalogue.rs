//! What the platform offers around consultations, kept by admins: tarot decks (reversal
//! chance, on or off) and spreads (offered or withdrawn), appointment service types, and
//! the daily horoscopes. The public lists show active items only, so a switched-off deck,
//! spread or type comes back by its slug.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use uuid::Uuid;

use super::ConsoleState;
use super::admin::{Params, admin_page, after, failed, field, param, parse_amount, query_string};
use super::session::{AdminViewer, Flash, percent_encode, redirect_with};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/admin/catalogue", get(catalogue))
        .route("/console/admin/catalogue/switch-on", post(switch_on))
        .route("/console/admin/catalogue/decks/{slug}", post(update_deck))
        .route(
            "/console/admin/catalogue/spreads/{slug}",
            post(update_spread),
        )
        .route("/console/admin/catalogue/service-types", post(create_type))
        .route(
            "/console/admin/catalogue/service-types/{id}",
            post(update_type),
        )
        .route(
            "/console/admin/catalogue/horoscopes/{date}/{sign}",
            post(save_horoscope),
        )
}

const SIGNS: [&str; 12] = [
    "aries",
    "taurus",
    "gemini",
    "cancer",
    "leo",
    "virgo",
    "libra",
    "scorpio",
    "sagittarius",
    "capricorn",
    "aquarius",
    "pisces",
];

fn array(value: Result<Value, super::api::Problem>) -> Result<Vec<Value>, super::api::Problem> {
    value.map(|v| match v {
        Value::Array(items) => items,
        other => other["items"].as_array().cloned().unwrap_or_default(),
    })
}

async fn catalogue(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let api = viewer.api(&console);
    let date = param(&q, "date")
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or_else(|| console.app.clock.now().date_naive());
    let day = date.to_string();
    let horoscopes_path = format!(
        "/api/v1/horoscopes{}",
        query_string(&[("date", Some(&day))])
    );
    let (decks, spreads, types, horoscopes) = tokio::join!(
        api.get("/api/v1/tarot/decks"),
        api.get("/api/v1/tarot/spreads"),
        api.get("/api/v1/service-types"),
        api.get(&horoscopes_path),
    );
    let (decks, spreads, types, horoscopes) = match (
        array(decks),
        array(spreads),
        array(types),
        array(horoscopes),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        (Err(p), ..) | (_, Err(p), ..) | (_, _, Err(p), _) | (.., Err(p)) => return failed(&p),
    };
    let signs: Vec<Value> = SIGNS
        .iter()
        .map(|sign| {
            let written = horoscopes.iter().find(|h| h["sign"] == *sign).cloned();
            json!({"sign": sign, "h": written})
        })
        .collect();
    admin_page(
        &console,
        &viewer,
        "admin/catalogue.html",
        json!({"title": "Catalogue", "decks": decks, "spreads": spreads, "types": types,
               "signs": signs, "date": date.to_string()}),
        "/console/admin/catalogue",
    )
}

const BACK: &str = "/console/admin/catalogue";

async fn update_deck(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path(slug): Path<String>,
    Form(form): Form<Params>,
) -> Response {
    let mut body = json!({"active": field(&form, "active") != "false"});
    if !field(&form, "reversal").is_empty() {
        // A percentage (`25` or `12.5`) as basis points.
        match parse_amount(field(&form, "reversal")) {
            Ok(bps) => body["reversal_bps"] = json!(bps),
            Err(_) => {
                return redirect_with(
                    &console.app,
                    BACK,
                    Flash::error(
                        "decks",
                        "Enter the reversal chance as a percentage such as 25",
                    ),
                );
            }
        }
    }
    let result = viewer
        .api(&console)
        .patch(
            &format!("/api/v1/admin/tarot/decks/{}", percent_encode(&slug)),
            body,
        )
        .await;
    after(&console, BACK, "decks", result, "The deck is saved.")
}

async fn update_spread(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path(slug): Path<String>,
    Form(form): Form<Params>,
) -> Response {
    let active = field(&form, "active") != "false";
    let result = viewer
        .api(&console)
        .patch(
            &format!("/api/v1/admin/tarot/spreads/{}", percent_encode(&slug)),
            json!({"active": active}),
        )
        .await;
    after(
        &console,
        BACK,
        "spreads",
        result,
        if active {
            "The spread is offered."
        } else {
            "The spread is withdrawn."
        },
    )
}

async fn create_type(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Form(form): Form<Params>,
) -> Response {
    let result = viewer
        .api(&console)
        .post(
            "/api/v1/admin/service-types",
            json!({"slug": field(&form, "slug"), "name": field(&form, "name"), "description": field(&form, "description")}),
        )
        .await;
    after(
        &console,
        BACK,
        "types",
        result,
        "The service type is added.",
    )
}

async fn update_type(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<Uuid>,
    Form(form): Form<Params>,
) -> Response {
    let mut body = json!({});
    if form.contains_key("active") {
        body["active"] = json!(field(&form, "active") == "true");
    }
    if !field(&form, "name").is_empty() {
        body["name"] = json!(field(&form, "name"));
    }
    let result = viewer
        .api(&console)
        .patch(&format!("/api/v1/admin/service-types/{id}"), body)
        .await;
    after(
        &console,
        BACK,
        "types",
        result,
        "The service type is saved.",
    )
}

async fn save_horoscope(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path((date, sign)): Path<(String, String)>,
    Form(form): Form<Params>,
) -> Response {
    let back = format!("{BACK}{}", query_string(&[("date", Some(&date))]));
    let path = format!(
        "/api/v1/admin/horoscopes/{}/{}",
        percent_encode(&date),
        percent_encode(&sign)
    );
    let api = viewer.api(&console);
    let form_id = format!("horoscope-{sign}");
    if field(&form, "_form") == "delete" {
        let result = api.delete(&path).await;
        return after(&console, &back, &form_id, result, "Removed.");
    }
    let number = match field(&form, "lucky_number") {
        "" => None,
        n => match n.parse::<i32>() {
            Ok(n) => Some(n),
            Err(_) => {
                return redirect_with(
                    &console.app,
                    &back,
                    Flash::error(form_id, "The lucky number is a whole number"),
                );
            }
        },
    };
    let optional = |name: &str| Some(field(&form, name)).filter(|v| !v.is_empty());
    let result = api
        .put(
            &path,
            json!({"text": field(&form, "text"), "mood": optional("mood"),
                   "lucky_color": optional("lucky_color"), "lucky_number": number}),
        )
        .await;
    after(
        &console,
        &back,
        &form_id,
        result,
        "The horoscope is published.",
    )
}

/// A switched-off deck or spread, offered again by its slug.
async fn switch_on(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Form(form): Form<Params>,
) -> Response {
    let slug = percent_encode(field(&form, "slug"));
    let path = match field(&form, "kind") {
        "spread" => format!("/api/v1/admin/tarot/spreads/{slug}"),
        _ => format!("/api/v1/admin/tarot/decks/{slug}"),
    };
    let result = viewer
        .api(&console)
        .patch(&path, json!({"active": true}))
        .await;
    after(&console, BACK, "switch-on", result, "Switched on.")
}
