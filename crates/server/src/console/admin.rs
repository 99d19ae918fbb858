//! The admin's pages: the dashboard, users, practitioner applications, top-ups and their
//! refunds, payouts, notification templates and the audit log. Each page reads the API
//! and each form calls one API operation; lists page with the API's cursors and export
//! the same rows as CSV.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

use super::ConsoleState;
use super::api::{Api, Problem};
use super::render::{self, error_page, page};
use super::session::{AdminViewer, Flash, Viewer, percent_encode, redirect_with};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/admin", get(dashboard))
        .route("/console/admin/users", get(users))
        .route("/console/admin/users/{id}", get(user))
        .route("/console/admin/users/{id}/{action}", post(user_action))
        .route("/console/admin/practitioners", get(practitioners))
        .route("/console/admin/practitioners/{id}", get(practitioner))
        .route(
            "/console/admin/practitioners/{id}/{action}",
            post(practitioner_action),
        )
        .route("/console/admin/topups", get(topups))
        .route("/console/admin/topups/{id}/refund", post(refund))
        .route("/console/admin/payouts", get(payouts))
        .route("/console/admin/payouts/{id}/{action}", post(payout_action))
        .route("/console/admin/templates", get(templates))
        .route(
            "/console/admin/templates/{event}/{channel}/{locale}",
            get(template).post(save_template),
        )
        .route(
            "/console/admin/templates/{event}/{channel}/{locale}/preview",
            post(preview_template),
        )
        .route("/console/admin/audit", get(audit))
}

pub(super) type Params = HashMap<String, String>;

/// A query string from the non-empty `params` (values encoded).
pub(super) fn query_string(params: &[(&str, Option<&str>)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
            out.append_pair(name, v);
        }
    }
    let text = out.finish();
    if text.is_empty() {
        text
    } else {
        format!("?{text}")
    }
}

pub(super) fn param<'a>(q: &'a Params, name: &str) -> Option<&'a str> {
    q.get(name)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

/// A page that could not be read: its problem as an error page.
pub(super) fn failed(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = match problem.status {
        404 => "Not found",
        403 => "Not allowed",
        422 | 400 => "That filter is not valid",
        _ => "Something went wrong",
    };
    error_page(status, title, &problem.message())
}

/// One page of a list: its items, and the console links to the next and first pages.
pub(super) struct Listing {
    pub items: Vec<Value>,
    pub next_url: Option<String>,
    pub first_url: String,
    pub on_first: bool,
}

/// Reads one page of `api_path` with the filters `filters` and the page's cursor.
pub(super) async fn listing(
    api: &Api,
    api_path: &str,
    console_path: &str,
    filters: &[(&str, Option<&str>)],
    q: &Params,
) -> Result<Listing, Problem> {
    let cursor = param(q, "cursor");
    let mut with_cursor = filters.to_vec();
    with_cursor.push(("cursor", cursor));
    let body = api
        .get(&format!("{api_path}{}", query_string(&with_cursor)))
        .await?;
    let items = body["items"].as_array().cloned().unwrap_or_default();
    let next_url = body["next_cursor"].as_str().map(|next| {
        let mut with_next = filters.to_vec();
        with_next.push(("cursor", Some(next)));
        format!("{console_path}{}", query_string(&with_next))
    });
    Ok(Listing {
        items,
        next_url,
        first_url: format!("{console_path}{}", query_string(filters)),
        on_first: cursor.is_none(),
    })
}

/// The most rows one CSV export walks (a hundred API pages).
const CSV_MAX_ROWS: usize = 10_000;
/// The most API pages any one console request walks.
const MAX_PAGES: usize = 100;

/// Every row of `api_path` under `filters`, as CSV with one column per `(header, field)`
/// (a JSON pointer into each item).
async fn csv_export(
    api: &Api,
    api_path: &str,
    filters: &[(&str, Option<&str>)],
    columns: &[(&str, &str)],
    file: &str,
) -> Response {
    let mut out = String::new();
    let header: Vec<String> = columns.iter().map(|(h, _)| csv_cell(h)).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    let mut cursor: Option<String> = None;
    let mut rows = 0;
    for _ in 0..MAX_PAGES {
        let mut params = filters.to_vec();
        params.push(("limit", Some("100")));
        params.push(("cursor", cursor.as_deref()));
        let body = match api
            .get(&format!("{api_path}{}", query_string(&params)))
            .await
        {
            Ok(body) => body,
            Err(problem) => return failed(&problem),
        };
        for item in body["items"].as_array().into_iter().flatten() {
            let cells: Vec<String> = columns
                .iter()
                .map(|(_, pointer)| {
                    let v = item.pointer(pointer).unwrap_or(&Value::Null);
                    csv_cell(&match v {
                        Value::Null => String::new(),
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
            rows += 1;
        }
        cursor = body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() || rows >= CSV_MAX_ROWS {
            break;
        }
    }
    let disposition = format!("attachment; filename=\"{file}.csv\"");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        out,
    )
        .into_response()
}

/// One CSV cell: quoted when needed, and a leading `=`, `+`, `-` or `@` neutralised so a
/// spreadsheet never runs a user's text as a formula.
fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && text.parse::<f64>().is_err()
    {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// A list page: an API list read with filters, one page at a time, or all of it as CSV.
pub(super) struct ListSpec<'a> {
    pub title: &'a str,
    pub api_path: &'a str,
    pub console_path: &'a str,
    pub template: &'a str,
    /// The page's filters, passed to the API as they are.
    pub filters: Vec<(&'a str, Option<&'a str>)>,
    /// CSV columns: (header, JSON pointer into an item).
    pub csv: &'a [(&'a str, &'a str)],
    pub file: &'a str,
}

/// Draws `spec`'s list. The template gets `items` (each with a fresh form `key`, so a
/// double click acts once), the pager's links, `f` (the filters), `csv_url`, `back` (this
/// page with its filters, for forms to return to), and whatever `extra` adds.
pub(super) async fn list_page(
    console: &ConsoleState,
    viewer: &Viewer,
    spec: ListSpec<'_>,
    q: &Params,
    extra: Value,
) -> Response {
    let api = viewer.api(console);
    if wants_csv(q) {
        return csv_export(&api, spec.api_path, &spec.filters, spec.csv, spec.file).await;
    }
    let list = match listing(&api, spec.api_path, spec.console_path, &spec.filters, q).await {
        Ok(list) => list,
        Err(problem) => return failed(&problem),
    };
    let items: Vec<Value> = list
        .items
        .into_iter()
        .map(|mut item| {
            item["key"] = json!(Uuid::now_v7());
            item
        })
        .collect();
    let mut csv = vec![("format", Some("csv"))];
    csv.extend_from_slice(&spec.filters);
    let filters: serde_json::Map<String, Value> = spec
        .filters
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!(value)))
        .collect();
    let mut ctx = json!({
        "title": spec.title, "items": items, "next_url": list.next_url,
        "first_url": list.first_url, "on_first": list.on_first, "f": filters,
        "csv_url": format!("{}{}", spec.console_path, query_string(&csv)),
        "back": format!("{}{}", spec.console_path, query_string(&spec.filters)),
    });
    if let (Some(map), Value::Object(more)) = (ctx.as_object_mut(), extra) {
        map.extend(more);
    }
    admin_page(console, viewer, spec.template, ctx, spec.console_path)
}

fn wants_csv(q: &Params) -> bool {
    param(q, "format") == Some("csv")
}

/// After a form: back to `to`, with the API's answer in words.
pub(super) fn after(
    console: &ConsoleState,
    to: &str,
    form: &str,
    result: Result<Value, Problem>,
    ok: &str,
) -> Response {
    match result {
        Ok(_) => redirect_with(&console.app, to, Flash::ok(ok)),
        Err(problem) => redirect_with(&console.app, to, Flash::error(form, problem.message())),
    }
}

/// Where a form returns: its `_back` when that is an admin page (never elsewhere), else
/// `default`.
pub(super) fn back_to(form: &Params, default: String) -> String {
    match super::session::safe_next(Some(field(form, "_back"))) {
        Some(back) if back.starts_with("/console/admin/") => back.to_owned(),
        _ => default,
    }
}

pub(super) fn field<'a>(form: &'a Params, name: &str) -> &'a str {
    form.get(name).map(|v| v.trim()).unwrap_or_default()
}

/// A form's idempotency key: given by the page that drew the form, so sending it twice
/// acts once; a fresh one when the form had none.
pub(super) fn form_key(form: &Params) -> String {
    let key = field(form, "_key");
    if key.is_empty() || key.len() > 100 {
        Uuid::now_v7().to_string()
    } else {
        format!("console:{key}")
    }
}

/// Rupees typed by a person (`1,250.50`, `1,00,000`) as minor units, with integers only.
/// Commas must group digits the Indian or the Western way, so `2,50` (two rupees fifty,
/// written the European way) is refused rather than read as ₹250.
pub fn parse_amount(text: &str) -> Result<i64, String> {
    let text = text.trim().trim_start_matches('₹').trim();
    let whole_part = text.split('.').next().unwrap_or_default();
    if whole_part.contains(',') {
        let groups: Vec<&str> = whole_part.split(',').collect();
        let last = groups.len() - 1;
        let grouped = groups.iter().enumerate().all(|(i, g)| match i {
            0 => (1..=3).contains(&g.len()),
            i if i == last => g.len() == 3,
            _ => g.len() == 2 || g.len() == 3,
        });
        if !grouped {
            return Err("Enter an amount such as 250 or 1,250.50".to_owned());
        }
    }
    let cleaned: String = text.chars().filter(|c| *c != ',').collect();
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!fraction.is_empty() && !digits(fraction)) || fraction.len() > 2 {
        return Err("Enter an amount such as 250 or 250.50".to_owned());
    }
    let whole: i64 = whole
        .parse()
        .map_err(|_| "That amount is too large".to_owned())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(|| "That amount is too large".to_owned())
}

pub(super) fn admin_page(
    console: &ConsoleState,
    viewer: &Viewer,
    template: &str,
    mut ctx: Value,
    active: &str,
) -> Response {
    if let Some(map) = ctx.as_object_mut() {
        map.insert("active".into(), json!(active));
    }
    page(&console.app, Some(viewer), StatusCode::OK, template, ctx)
}

async fn dashboard(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
) -> Response {
    let api = viewer.api(&console);
    let zone = match viewer.auth.user.time_zone.as_str() {
        "UTC" | "" => "Asia/Kolkata".to_owned(),
        zone => zone.to_owned(),
    };
    let figures = match api
        .get(&format!(
            "/api/v1/admin/dashboard{}",
            query_string(&[("time_zone", Some(&zone))])
        ))
        .await
    {
        Ok(f) => f,
        Err(problem) => return failed(&problem),
    };
    let currency = figures["currency"].as_str().unwrap_or("INR").to_owned();
    let series = |key: &str| -> Vec<(String, i64)> {
        figures["days"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let label = d["day"]
                    .as_str()
                    .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                    .map(|day| day.format("%-d %b").to_string())
                    .unwrap_or_default();
                (label, d[key].as_i64().unwrap_or(0))
            })
            .collect()
    };
    let charts = json!([
        {"title": "Top-ups", "svg": render::bars("Top-ups", &series("topups"), &currency, "days")},
        {"title": "Consultation revenue", "svg": render::bars("Consultation revenue", &series("consultation_revenue"), &currency, "days")},
        {"title": "Commission", "svg": render::bars("Commission", &series("commission"), &currency, "days")},
    ]);
    admin_page(
        &console,
        &viewer,
        "admin/dashboard.html",
        json!({"title": "Dashboard", "d": figures, "charts": charts, "zone": zone}),
        "/console/admin",
    )
}

const USER_COLUMNS: &[(&str, &str)] = &[
    ("id", "/id"),
    ("email", "/email"),
    ("phone", "/phone"),
    ("first_name", "/first_name"),
    ("last_name", "/last_name"),
    ("role", "/role"),
    ("status", "/status"),
    ("created_at", "/created_at"),
    ("last_login_at", "/last_login_at"),
];

async fn users(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let spec = ListSpec {
        title: "Users",
        api_path: "/api/v1/admin/users",
        console_path: "/console/admin/users",
        template: "admin/users.html",
        filters: vec![
            ("sort", param(&q, "sort")),
            ("q", param(&q, "q")),
            ("role", param(&q, "role")),
            ("status", param(&q, "status")),
        ],
        csv: USER_COLUMNS,
        file: "users",
    };
    list_page(&console, &viewer, spec, &q, json!({})).await
}

async fn user(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<Uuid>,
) -> Response {
    let api = viewer.api(&console);
    let found = match api.get(&format!("/api/v1/admin/users/{id}")).await {
        Ok(found) => found,
        Err(problem) => return failed(&problem),
    };
    let wallet = api.get(&format!("/api/v1/admin/wallets/{id}")).await.ok();
    let history = api
        .get(&format!("/api/v1/admin/wallets/{id}/transactions?limit=20"))
        .await
        .ok()
        .and_then(|page| page["items"].as_array().cloned())
        .unwrap_or_default();
    let topups = api
        .get(&format!("/api/v1/admin/topups?user_id={id}&limit=10"))
        .await
        .ok()
        .and_then(|page| page["items"].as_array().cloned())
        .unwrap_or_default();
    let title = format!(
        "{} {}",
        found["user"]["first_name"].as_str().unwrap_or_default(),
        found["user"]["last_name"].as_str().unwrap_or_default()
    );
    admin_page(
        &console,
        &viewer,
        "admin/user.html",
        json!({
            "title": title.trim(), "u": found["user"], "sessions": found["sessions"],
            "wallet": wallet, "history": history, "topups": topups,
            "credit_key": Uuid::now_v7(),
        }),
        "/console/admin/users",
    )
}

async fn user_action(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path((id, action)): Path<(Uuid, String)>,
    Form(form): Form<Params>,
) -> Response {
    let api = viewer.api(&console);
    let back = format!("/console/admin/users/{id}");
    let reason = field(&form, "reason");
    let (result, ok) = match action.as_str() {
        "suspend" => (
            api.post(
                &format!("/api/v1/admin/users/{id}/suspend"),
                json!({"reason": reason}),
            )
            .await,
            "The account is suspended and its sessions have ended.",
        ),
        "reactivate" => (
            api.post(&format!("/api/v1/admin/users/{id}/reactivate"), json!({}))
                .await,
            "The account is active again.",
        ),
        "freeze" => (
            api.post(
                &format!("/api/v1/admin/wallets/{id}/freeze"),
                json!({"reason": reason}),
            )
            .await,
            "The wallet is frozen.",
        ),
        "unfreeze" => (
            api.post(
                &format!("/api/v1/admin/wallets/{id}/unfreeze"),
                json!({"reason": reason}),
            )
            .await,
            "The wallet is unfrozen.",
        ),
        "credit" => {
            let amount = match parse_amount(field(&form, "amount")) {
                Ok(amount) => amount,
                Err(text) => {
                    return redirect_with(&console.app, &back, Flash::error("credit", text));
                }
            };
            let note = Some(field(&form, "note")).filter(|n| !n.is_empty());
            (
                api.post_keyed(
                    &format!("/api/v1/admin/wallets/{id}/credits"),
                    json!({"amount": amount, "reason": field(&form, "reason"), "note": note}),
                    &form_key(&form),
                )
                .await,
                "The credit is in the wallet.",
            )
        }
        _ => return super::not_found_page(),
    };
    after(&console, &back, &action, result, ok)
}

const PRACTITIONER_STATUSES: &[&str] = &["pending", "approved", "rejected", "suspended"];

async fn practitioners(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let spec = ListSpec {
        title: "Practitioners",
        api_path: "/api/v1/admin/practitioners",
        console_path: "/console/admin/practitioners",
        template: "admin/practitioners.html",
        filters: vec![("status", Some(param(&q, "status").unwrap_or("pending")))],
        csv: &[
            ("id", "/id"),
            ("user_id", "/user_id"),
            ("display_name", "/display_name"),
            ("kind", "/kind"),
            ("verification_status", "/verification_status"),
            ("experience_years", "/experience_years"),
            ("rate_chat", "/rates/chat"),
            ("currency", "/rates/currency"),
            ("created_at", "/created_at"),
        ],
        file: "practitioners",
    };
    list_page(
        &console,
        &viewer,
        spec,
        &q,
        json!({"statuses": PRACTITIONER_STATUSES}),
    )
    .await
}

async fn practitioner(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<Uuid>,
) -> Response {
    let found = match viewer
        .api(&console)
        .get(&format!("/api/v1/admin/practitioners/{id}"))
        .await
    {
        Ok(found) => found,
        Err(problem) => return failed(&problem),
    };
    let title = found["display_name"]
        .as_str()
        .unwrap_or("Practitioner")
        .to_owned();
    admin_page(
        &console,
        &viewer,
        "admin/practitioner.html",
        json!({"title": title, "p": found}),
        "/console/admin/practitioners",
    )
}

async fn practitioner_action(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path((id, action)): Path<(Uuid, String)>,
    Form(form): Form<Params>,
) -> Response {
    let api = viewer.api(&console);
    let back = back_to(&form, format!("/console/admin/practitioners/{id}"));
    if action == "commission" {
        // A percentage typed as `18` or `17.5`; empty returns them to the platform's rate.
        let bps = match field(&form, "commission") {
            "" => None,
            text => match parse_amount(text) {
                Ok(bps) => Some(bps),
                Err(_) => {
                    return redirect_with(
                        &console.app,
                        &back,
                        Flash::error(
                            format!("commission-{id}"),
                            "Enter a percentage such as 18 or 17.5",
                        ),
                    );
                }
            },
        };
        let result = api
            .put(
                &format!("/api/v1/admin/practitioners/{id}/commission"),
                json!({"commission_bps": bps}),
            )
            .await;
        return after(
            &console,
            &back,
            &format!("commission-{id}"),
            result,
            "Commission saved: it applies from their next session.",
        );
    }
    let reason = Some(field(&form, "reason")).filter(|r| !r.is_empty());
    let (path, ok) = match action.as_str() {
        "approve" => (
            "approve",
            "Approved: the practitioner can now take clients.",
        ),
        "reject" => ("reject", "The application is rejected."),
        "suspend" => ("suspend", "The practitioner is suspended."),
        _ => return super::not_found_page(),
    };
    let result = api
        .post(
            &format!("/api/v1/admin/practitioners/{id}/{path}"),
            json!({"reason": reason}),
        )
        .await;
    after(&console, &back, &format!("{action}-{id}"), result, ok)
}

const TOPUP_COLUMNS: &[(&str, &str)] = &[
    ("id", "/id"),
    ("reference", "/reference"),
    ("user_id", "/user_id"),
    ("amount", "/amount"),
    ("currency", "/currency"),
    ("refunded", "/refunded"),
    ("gateway", "/gateway"),
    ("status", "/status"),
    ("receipt_number", "/receipt_number"),
    ("created_at", "/created_at"),
    ("paid_at", "/paid_at"),
];

async fn topups(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let spec = ListSpec {
        title: "Top-ups",
        api_path: "/api/v1/admin/topups",
        console_path: "/console/admin/topups",
        template: "admin/topups.html",
        filters: vec![
            ("sort", param(&q, "sort")),
            ("status", param(&q, "status")),
            ("reference", param(&q, "reference")),
            ("user_id", param(&q, "user_id")),
        ],
        csv: TOPUP_COLUMNS,
        file: "topups",
    };
    list_page(&console, &viewer, spec, &q, json!({})).await
}

async fn refund(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path(id): Path<Uuid>,
    Form(form): Form<Params>,
) -> Response {
    let back = back_to(&form, "/console/admin/topups".to_owned());
    let form_id = format!("refund-{id}");
    let amount = match parse_amount(field(&form, "amount")) {
        Ok(amount) => amount,
        Err(text) => return redirect_with(&console.app, &back, Flash::error(form_id, text)),
    };
    let note = Some(field(&form, "note")).filter(|n| !n.is_empty());
    let result = viewer
        .api(&console)
        .post_keyed(
            &format!("/api/v1/admin/topups/{id}/refunds"),
            json!({"amount": amount, "reason": field(&form, "reason"), "note": note}),
            &form_key(&form),
        )
        .await;
    let ok = match &result {
        Ok(body) if body["status"] == "pending" => {
            "The gateway has not answered yet; the refund stays pending and is settled automatically."
        }
        _ => "Refunded.",
    };
    after(&console, &back, &form_id, result, ok)
}

async fn payouts(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let spec = ListSpec {
        title: "Payouts",
        api_path: "/api/v1/admin/payouts",
        console_path: "/console/admin/payouts",
        template: "admin/payouts.html",
        filters: vec![("status", Some(param(&q, "status").unwrap_or("requested")))],
        csv: &[
            ("id", "/id"),
            ("reference", "/reference"),
            ("amount", "/amount"),
            ("currency", "/currency"),
            ("status", "/status"),
            ("paid_reference", "/paid_reference"),
            ("note", "/note"),
            ("created_at", "/created_at"),
            ("paid_at", "/paid_at"),
        ],
        file: "payouts",
    };
    list_page(
        &console,
        &viewer,
        spec,
        &q,
        json!({"statuses": ["requested", "paid", "rejected"]}),
    )
    .await
}

async fn payout_action(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path((id, action)): Path<(Uuid, String)>,
    Form(form): Form<Params>,
) -> Response {
    let back = back_to(&form, "/console/admin/payouts".to_owned());
    let (path, ok) = match action.as_str() {
        "mark-paid" => ("mark-paid", "Marked paid."),
        "reject" => (
            "reject",
            "Rejected: the amount is back in the practitioner's earnings.",
        ),
        _ => return super::not_found_page(),
    };
    let result = viewer
        .api(&console)
        .post(
            &format!("/api/v1/admin/payouts/{id}/{path}"),
            json!({"note": field(&form, "note")}),
        )
        .await;
    after(&console, &back, &format!("{action}-{id}"), result, ok)
}

async fn templates(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let api = viewer.api(&console);
    let body = match api.get("/api/v1/admin/notification-templates").await {
        Ok(body) => body,
        Err(problem) => return failed(&problem),
    };
    let channel = param(&q, "channel");
    let items: Vec<Value> = body
        .as_array()
        .or_else(|| body["items"].as_array())
        .into_iter()
        .flatten()
        .filter(|t| channel.is_none_or(|c| t["channel"].as_str() == Some(c)))
        .cloned()
        .collect();
    admin_page(
        &console,
        &viewer,
        "admin/templates.html",
        json!({"title": "Notification templates", "items": items, "channel": channel,
               "channels": ["email", "sms", "push", "in_app"]}),
        "/console/admin/templates",
    )
}

fn template_path(event: &str, channel: &str, locale: &str) -> String {
    format!(
        "/api/v1/admin/notification-templates/{}/{}/{}",
        percent_encode(event),
        percent_encode(channel),
        percent_encode(locale)
    )
}

async fn template(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path((event, channel, locale)): Path<(String, String, String)>,
) -> Response {
    let api = viewer.api(&console);
    let found = match api.get(&template_path(&event, &channel, &locale)).await {
        Ok(found) => found,
        Err(problem) => return failed(&problem),
    };
    let preview = api
        .post(
            &format!("{}/preview", template_path(&event, &channel, &locale)),
            json!({}),
        )
        .await
        .ok();
    admin_page(
        &console,
        &viewer,
        "admin/template.html",
        json!({"title": format!("Template: {event}"), "t": found, "preview": preview,
               "event": event, "channel": channel, "locale": locale,
               "self_url": format!("/console/admin/templates/{}/{}/{}", percent_encode(&event), percent_encode(&channel), percent_encode(&locale))}),
        "/console/admin/templates",
    )
}

/// The template fields of a form, as the API's body (`html` only for email).
fn template_body(form: &Params) -> Value {
    let optional = |name: &str| {
        form.get(name)
            .map(|v| v.replace("\r\n", "\n"))
            .filter(|v| !v.trim().is_empty())
    };
    json!({
        "subject": optional("subject"),
        "body": form.get("body").map(|v| v.replace("\r\n", "\n")).unwrap_or_default(),
        "html": optional("html"),
    })
}

async fn save_template(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path((event, channel, locale)): Path<(String, String, String)>,
    Form(form): Form<Params>,
) -> Response {
    let back = format!(
        "/console/admin/templates/{}/{}/{}",
        percent_encode(&event),
        percent_encode(&channel),
        percent_encode(&locale)
    );
    let api = viewer.api(&console);
    let result = if field(&form, "_form") == "reset" {
        api.delete(&template_path(&event, &channel, &locale)).await
    } else {
        api.put(
            &template_path(&event, &channel, &locale),
            template_body(&form),
        )
        .await
    };
    let ok = if field(&form, "_form") == "reset" {
        "The template is back to the default."
    } else {
        "Saved. New notifications use it from now on."
    };
    after(&console, &back, "template", result, ok)
}

/// The live preview: the draft in the form, rendered with the event's sample data.
async fn preview_template(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Path((event, channel, locale)): Path<(String, String, String)>,
    Form(form): Form<Params>,
) -> Response {
    let result = viewer
        .api(&console)
        .post(
            &format!("{}/preview", template_path(&event, &channel, &locale)),
            json!({"template": template_body(&form)}),
        )
        .await;
    match result {
        Ok(rendered) => Json(json!({"ok": true, "rendered": rendered})).into_response(),
        Err(problem) => (
            StatusCode::OK,
            Json(json!({"ok": false, "error": problem.message()})),
        )
            .into_response(),
    }
}

async fn audit(
    State(console): State<ConsoleState>,
    AdminViewer(viewer): AdminViewer,
    Query(q): Query<Params>,
) -> Response {
    let spec = ListSpec {
        title: "Audit log",
        api_path: "/api/v1/admin/audit-logs",
        console_path: "/console/admin/audit",
        template: "admin/audit.html",
        filters: vec![
            ("action", param(&q, "action")),
            ("target_type", param(&q, "target_type")),
            ("target_id", param(&q, "target_id")),
            ("actor_id", param(&q, "actor_id")),
        ],
        csv: &[
            ("id", "/id"),
            ("created_at", "/created_at"),
            ("actor_id", "/actor_id"),
            ("actor_role", "/actor_role"),
            ("action", "/action"),
            ("target_type", "/target_type"),
            ("target_id", "/target_id"),
            ("ip", "/ip"),
            ("request_id", "/request_id"),
            ("before", "/before"),
            ("after", "/after"),
        ],
        file: "audit-log",
    };
    list_page(&console, &viewer, spec, &q, json!({})).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_without_floats() {
        assert_eq!(parse_amount("250"), Ok(25_000));
        assert_eq!(parse_amount("₹1,250.5"), Ok(125_050));
        assert_eq!(parse_amount("0.07"), Ok(7));
        assert!(parse_amount("1.234").is_err());
        assert!(parse_amount("-5").is_err());
        assert!(parse_amount("1e3").is_err());
        assert!(parse_amount("").is_err());
        assert!(parse_amount("99999999999999999999").is_err());
        assert_eq!(parse_amount("1,00,000"), Ok(10_000_000));
        assert_eq!(parse_amount("100,000.5"), Ok(10_000_050));
        assert!(parse_amount("2,50").is_err(), "not ₹250");
        assert!(parse_amount("1,0,0").is_err());
        assert!(parse_amount("1 000").is_err());
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-250"), "-250");
    }
}
