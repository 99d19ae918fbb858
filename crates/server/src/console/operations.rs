//! The admin's operational pages: promo codes and credit packages (create, deactivate),
//! notification deliveries (retry a dead letter), background jobs, bookings (settle a
//! dispute), consultations with their transcripts, and reviews (hide or show). Like every
//! console page, each reads and acts through the API.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use uuid::Uuid;

use super::ConsoleState;
use super::admin::{
    ListSpec, Params, admin_page, after, back_to, failed, field, form_key, list_page, param,
    parse_amount, query_string,
};
use super::session::{AdminViewer, Flash, redirect_with};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(
            "/console/admin/promo-codes",
            get(promo_codes).post(create_promo),
        )
        .route(
            "/console/admin/promo-codes/{id}/deactivate",
            post(deactivate_promo),
        )
        .route(
            "/console/admin/packages",
            get(packages).post(create_package),
        )
        .route(
            "/console/admin/packages/{id}/deactivate",
            post(deactivate_package),
        )
        .route("/console/admin/deliveries", get(deliveries))
        .route("/console/admin/deliveries/{id}/retry", post(retry_delivery))
        .route("/console/admin/jobs", get(jobs))
        .route("/console/admin/bookings", get(bookings))
        .route(
            "/console/admin/bookings/{id}/resolve",
            post(resolve_booking),
        )
        .route("/console/admin/consultations", get(consultations))
        .route("/console/admin/consultations/{id}", get(consultation))
        .route("/console/admin/reviews", get(reviews))
        .route(
            "/console/admin/reviews/{id}/visibility",
            post(review_visibility),
        )
}

async fn promo_codes(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let spec = ListSpec {
        title: "Promo codes",
        api_path: "/api/v1/admin/promo-codes",
        console_path: "/console/admin/promo-codes",
        template: "admin/promo_codes.html",
        filters: vec![],
        csv: &[
            ("code", "/code"),
            ("description", "/description"),
            ("discount", "/discount"),
            ("max_discount", "/max_discount"),
            ("usage_limit", "/usage_limit"),
            ("used_count", "/used_count"),
            ("valid_until", "/valid_until"),
            ("active", "/active"),
        ],
        file: "promo-codes",
    };
    list_page(&console, &viewer, spec, &q, json!({})).await
}

/// An optional rupee amount from a form field, as minor units.
fn optional_amount(form: &Params, name: &str) -> Result<Option<i64>, String> {
    match field(form, name) {
        "" => Ok(None),
        text => parse_amount(text).map(Some),
    }
}

fn optional_count(form: &Params, name: &str) -> Result<Option<i64>, String> {
    match field(form, name) {
        "" => Ok(None),
        text => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| format!("{} must be a whole number", name.replace('_', " "))),
    }
}

/// The API's body for a new promo code, from the form (amounts typed in rupees, a
/// percentage typed as `10` or `12.5`).
fn promo_body(form: &Params) -> Result<Value, String> {
    let discount = match field(form, "kind") {
        "percentage" => {
            // Hundredths of a percent are basis points: "12.5" → 1250.
            let bps = parse_amount(field(form, "value"))
                .map_err(|_| "Enter a percentage such as 10 or 12.5".to_owned())?;
            json!({"percentage": {"bps": bps}})
        }
        _ => json!({"fixed": {"amount": parse_amount(field(form, "value"))?}}),
    };
    let contexts: Vec<&str> = ["topup", "session", "appointment"]
        .into_iter()
        .filter(|c| form.contains_key(&format!("context_{c}")))
        .collect();
    let valid_until = match field(form, "valid_until") {
        "" => None,
        day => Some(
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_err(|_| "Valid until must be a date".to_owned())?
                .and_hms_opt(23, 59, 59)
                .unwrap_or_default()
                .and_utc(),
        ),
    };
    Ok(json!({
        "code": field(form, "code"),
        "description": field(form, "description"),
        "discount": discount,
        "max_discount": optional_amount(form, "max_discount")?,
        "min_order": optional_amount(form, "min_order")?,
        "usage_limit": optional_count(form, "usage_limit")?,
        "per_user_limit": optional_count(form, "per_user_limit")?,
        "valid_until": valid_until,
        "contexts": contexts,
    }))
}

async fn create_promo(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Form(form): Form<Params>,
) -> Response {
    let back = "/console/admin/promo-codes";
    let body = match promo_body(&form) {
        Ok(body) => body,
        Err(text) => return redirect_with(&console.app, back, Flash::error("new-promo", text)),
    };
    let result = viewer
        .api(&console)
        .post("/api/v1/admin/promo-codes", body)
        .await;
    after(
        &console,
        back,
        "new-promo",
        result,
        "The promo code is live.",
    )
}

async fn deactivate_promo(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<Uuid>,
) -> Response {
    let result = viewer
        .api(&console)
        .post(
            &format!("/api/v1/admin/promo-codes/{id}/deactivate"),
            json!({}),
        )
        .await;
    after(
        &console,
        "/console/admin/promo-codes",
        &format!("deactivate-{id}"),
        result,
        "Deactivated: the code is refused from now on.",
    )
}

async fn packages(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
) -> Response {
    let items = match viewer.api(&console).get("/api/v1/wallet/packages").await {
        Ok(Value::Array(items)) => items,
        Ok(_) => Vec::new(),
        Err(problem) => return failed(&problem),
    };
    admin_page(
        &console,
        &viewer,
        "admin/packages.html",
        json!({"title": "Credit packages", "items": items}),
        "/console/admin/packages",
    )
}

async fn create_package(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Form(form): Form<Params>,
) -> Response {
    let back = "/console/admin/packages";
    let amounts = parse_amount(field(&form, "price"))
        .and_then(|price| parse_amount(field(&form, "credit")).map(|credit| (price, credit)));
    let (price, credit) = match amounts {
        Ok(pair) => pair,
        Err(text) => return redirect_with(&console.app, back, Flash::error("new-package", text)),
    };
    let result = viewer
        .api(&console)
        .post(
            "/api/v1/admin/credit-packages",
            json!({"name": field(&form, "name"), "description": field(&form, "description"),
                   "price": price, "credit": credit}),
        )
        .await;
    after(
        &console,
        back,
        "new-package",
        result,
        "The package is on sale.",
    )
}

async fn deactivate_package(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<Uuid>,
) -> Response {
    let result = viewer
        .api(&console)
        .post(
            &format!("/api/v1/admin/credit-packages/{id}/deactivate"),
            json!({}),
        )
        .await;
    after(
        &console,
        "/console/admin/packages",
        &format!("deactivate-{id}"),
        result,
        "The package is off sale.",
    )
}

async fn deliveries(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let spec = ListSpec {
        title: "Notification deliveries",
        api_path: "/api/v1/admin/notification-deliveries",
        console_path: "/console/admin/deliveries",
        template: "admin/deliveries.html",
        filters: vec![
            ("status", Some(param(&q, "status").unwrap_or("dead"))),
            ("channel", param(&q, "channel")),
        ],
        csv: &[
            ("id", "/id"),
            ("event", "/event"),
            ("channel", "/channel"),
            ("recipient", "/recipient"),
            ("status", "/status"),
            ("attempts", "/attempts"),
            ("last_error", "/last_error"),
            ("created_at", "/created_at"),
        ],
        file: "deliveries",
    };
    list_page(
        &console,
        &viewer,
        spec,
        &q,
        json!({"statuses": ["dead", "retrying", "pending", "sent", "skipped"],
               "channels": ["email", "sms", "push", "in_app"]}),
    )
    .await
}

async fn retry_delivery(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<Uuid>,
    Form(form): Form<Params>,
) -> Response {
    let back = back_to(&form, "/console/admin/deliveries".to_owned());
    let result = viewer
        .api(&console)
        .post(
            &format!("/api/v1/admin/notification-deliveries/{id}/retry"),
            json!({}),
        )
        .await;
    after(
        &console,
        &back,
        &format!("retry-{id}"),
        result,
        "Queued again.",
    )
}

const JOB_STATUSES: &[&str] = &["dead", "pending", "running", "done"];

async fn jobs(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let status = param(&q, "status").unwrap_or("dead");
    let path = format!(
        "/api/v1/admin/jobs{}",
        query_string(&[("status", Some(status)), ("limit", Some("100"))])
    );
    let items = match viewer.api(&console).get(&path).await {
        Ok(Value::Array(items)) => items,
        Ok(_) => Vec::new(),
        Err(problem) => return failed(&problem),
    };
    admin_page(
        &console,
        &viewer,
        "admin/jobs.html",
        json!({"title": "Background jobs", "items": items, "status": status, "statuses": JOB_STATUSES}),
        "/console/admin/jobs",
    )
}

async fn bookings(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let spec = ListSpec {
        title: "Bookings",
        api_path: "/api/v1/admin/bookings",
        console_path: "/console/admin/bookings",
        template: "admin/bookings.html",
        filters: vec![
            ("status", param(&q, "status")),
            ("practitioner_id", param(&q, "practitioner_id")),
            ("client_id", param(&q, "client_id")),
        ],
        csv: &[
            ("id", "/id"),
            ("reference", "/reference"),
            ("client_id", "/client_id"),
            ("practitioner_id", "/practitioner_id"),
            ("status", "/status"),
            ("starts_at", "/starts_at"),
            ("amount", "/amount"),
            ("captured", "/captured"),
            ("refunded", "/refunded"),
            ("currency", "/currency"),
        ],
        file: "bookings",
    };
    list_page(
        &console,
        &viewer,
        spec,
        &q,
        json!({"statuses": ["requested", "confirmed", "completed", "client_no_show", "practitioner_no_show", "cancelled", "declined", "expired"]}),
    )
    .await
}

async fn resolve_booking(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<Uuid>,
    Form(form): Form<Params>,
) -> Response {
    let back = back_to(&form, "/console/admin/bookings".to_owned());
    let result = viewer
        .api(&console)
        .post_keyed(
            &format!("/api/v1/admin/bookings/{id}/resolve"),
            json!({"outcome": field(&form, "outcome"), "note": field(&form, "note")}),
            &form_key(&form),
        )
        .await;
    after(
        &console,
        &back,
        &format!("resolve-{id}"),
        result,
        "Settled: the money has moved as decided.",
    )
}

async fn consultations(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let spec = ListSpec {
        title: "Consultations",
        api_path: "/api/v1/admin/consultations",
        console_path: "/console/admin/consultations",
        template: "admin/consultations.html",
        filters: vec![
            ("sort", param(&q, "sort")),
            ("status", Some(param(&q, "status").unwrap_or("active"))),
            ("client_id", param(&q, "client_id")),
            ("practitioner_id", param(&q, "practitioner_id")),
        ],
        csv: &[
            ("id", "/id"),
            ("reference", "/reference"),
            ("client_id", "/client_id"),
            ("practitioner_id", "/practitioner_id"),
            ("channel", "/channel"),
            ("status", "/status"),
            ("started_at", "/started_at"),
            ("ended_at", "/ended_at"),
            ("end_reason", "/end_reason"),
            ("minutes_billed", "/minutes_billed"),
            ("amount_charged", "/amount_charged"),
        ],
        file: "consultations",
    };
    list_page(
        &console,
        &viewer,
        spec,
        &q,
        json!({"statuses": ["active", "requested", "ended", "declined", "missed", "cancelled"]}),
    )
    .await
}

/// One consultation with its whole conversation, for a dispute.
async fn consultation(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<Uuid>,
) -> Response {
    let api = viewer.api(&console);
    let found = match api.get(&format!("/api/v1/consultations/{id}")).await {
        Ok(found) => found,
        Err(problem) => return failed(&problem),
    };
    let transcript = api
        .get_raw(&format!("/api/v1/consultations/{id}/transcript"))
        .await
        .map(|(_, text)| String::from_utf8_lossy(&text).into_owned())
        .unwrap_or_default();
    let title = format!(
        "Consultation {}",
        found["reference"].as_str().unwrap_or_default()
    );
    admin_page(
        &console,
        &viewer,
        "admin/consultation.html",
        json!({"title": title, "c": found, "transcript": transcript}),
        "/console/admin/consultations",
    )
}

async fn reviews(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let spec = ListSpec {
        title: "Reviews",
        api_path: "/api/v1/admin/reviews",
        console_path: "/console/admin/reviews",
        template: "admin/reviews.html",
        filters: vec![
            ("sort", param(&q, "sort")),
            ("hidden", param(&q, "hidden")),
            ("practitioner_id", param(&q, "practitioner_id")),
        ],
        csv: &[
            ("id", "/id"),
            ("practitioner_id", "/practitioner_id"),
            ("consultation_id", "/consultation_id"),
            ("rating", "/rating"),
            ("text", "/text"),
            ("verified", "/verified"),
            ("hidden", "/hidden"),
            ("created_at", "/created_at"),
        ],
        file: "reviews",
    };
    list_page(&console, &viewer, spec, &q, json!({})).await
}

async fn review_visibility(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<Uuid>,
    Form(form): Form<Params>,
) -> Response {
    let back = back_to(&form, "/console/admin/reviews".to_owned());
    let hidden = field(&form, "hidden") == "true";
    let reason = Some(field(&form, "reason")).filter(|r| !r.is_empty());
    let result = viewer
        .api(&console)
        .post(
            &format!("/api/v1/admin/reviews/{id}/visibility"),
            json!({"hidden": hidden, "reason": reason}),
        )
        .await;
    let ok = if hidden {
        "Hidden: it no longer shows or counts in the rating."
    } else {
        "Shown again."
    };
    after(&console, &back, &format!("visibility-{id}"), result, ok)
}
