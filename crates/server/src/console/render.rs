//! Turning API answers into pages: the embedded templates (escaped by default), the
//! filters that show money, times and codes the way people read them, the charts (SVG
//! drawn here, so no script is needed to see them) and the headers every page carries.

use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use minijinja::{Environment, Value as Jinja};
use serde_json::{Value, json};

use super::session::{Viewer, clear_flash};
use crate::app::AppState;

/// Scripts and styles only from this server, no inline code, no frames, forms only here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn secure_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "base.html",
    "macros.html",
    "sign_in.html",
    "error.html",
    "admin/dashboard.html",
    "admin/practitioners.html",
    "admin/practitioner.html",
    "admin/users.html",
    "admin/user.html",
    "admin/topups.html",
    "admin/payouts.html",
    "admin/templates.html",
    "admin/template.html",
    "admin/audit.html",
    "admin/promo_codes.html",
    "admin/packages.html",
    "admin/deliveries.html",
    "admin/jobs.html",
    "admin/bookings.html",
    "admin/consultations.html",
    "admin/consultation.html",
    "admin/reviews.html",
    "admin/catalogue.html",
    "live_panel.html",
    "practitioner/home.html",
    "practitioner/bookings.html",
    "practitioner/profile.html",
    "practitioner/earnings.html",
    "practitioner/reviews.html",
    "practitioner/hours.html",
    "practitioner/services.html",
    "client/home.html",
    "client/book.html",
    "client/bookings.html",
    "client/chart.html",
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // `.html` names are escaped on output (minijinja's default rule); nothing is marked
    // safe except the charts drawn below.
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("console template {name}: {e}"));
    }
    env.add_filter("money", money);
    env.add_filter("major", major);
    env.add_filter("when", when);
    env.add_filter("day", day);
    env.add_filter("words", words);
    env.add_filter("short", short);
    env
});

/// `₹1,23,456.00`: minor units of `currency` (default rupees), Indian grouping for INR.
fn money(minor: Jinja, currency: Option<String>) -> String {
    match i64::try_from(minor) {
        Ok(minor) => {
            domain::notifications::format_money(minor, currency.as_deref().unwrap_or("INR"))
        }
        Err(_) => "—".to_owned(),
    }
}

/// `2000` → `20.00`: minor units as a person types them in a form (no symbol, no commas).
fn major(minor: Jinja) -> String {
    match i64::try_from(minor) {
        Ok(minor) => format!(
            "{}{}.{:02}",
            if minor < 0 { "-" } else { "" },
            minor.unsigned_abs() / 100,
            minor.unsigned_abs() % 100
        ),
        Err(_) => String::new(),
    }
}

fn local(at: &Jinja, zone: Option<&str>) -> Option<DateTime<chrono_tz::Tz>> {
    let text = at.as_str()?;
    let at: DateTime<Utc> = text.parse().ok()?;
    let zone: chrono_tz::Tz = zone.and_then(|z| z.parse().ok()).unwrap_or(chrono_tz::UTC);
    Some(at.with_timezone(&zone))
}

/// `7 Dec 2026, 20:25 IST` in the viewer's zone.
fn when(at: Jinja, zone: Option<String>) -> String {
    local(&at, zone.as_deref())
        .map(|t| t.format("%-d %b %Y, %H:%M %Z").to_string())
        .unwrap_or_else(|| "—".to_owned())
}

/// `7 Dec 2026` in the viewer's zone.
fn day(at: Jinja, zone: Option<String>) -> String {
    local(&at, zone.as_deref())
        .map(|t| t.format("%-d %b %Y").to_string())
        .unwrap_or_else(|| "—".to_owned())
}

/// A stored code as words: `client_ended` → "Ended by the client".
pub fn words(code: Jinja) -> String {
    let Some(code) = code.as_str() else {
        return "—".to_owned();
    };
    let known = match code {
        "client_ended" => "Ended by the client",
        "practitioner_ended" => "Ended by the practitioner",
        "insufficient_funds" => "The wallet ran out",
        "client_gone" | "client_disconnected" => "The client left",
        "practitioner_gone" | "practitioner_disconnected" => "The practitioner left",
        "max_duration" => "Reached the longest allowed session",
        "admin_ended" => "Ended by an admin",
        "requested" => "Waiting",
        "pending" => "Waiting for review",
        "verified" | "approved" => "Approved",
        "created" => "Not paid yet",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    let mut text = code.replace(['_', '.'], " ");
    if let Some(first) = text.get(0..1) {
        text.replace_range(0..1, &first.to_uppercase());
    }
    text
}

/// The first 8 characters of an id, enough to tell rows apart.
fn short(id: Jinja) -> String {
    id.as_str()
        .map(|s| s.chars().take(8).collect())
        .unwrap_or_default()
}

/// A page: `template` with `context`, plus what the layout needs about the viewer.
pub fn page(
    app: &AppState,
    viewer: Option<&Viewer>,
    status: StatusCode,
    template: &str,
    mut context: Value,
) -> Response {
    if let Some(viewer) = viewer
        && let Some(map) = context.as_object_mut()
    {
        map.insert("viewer".into(), viewer.context());
        map.insert("csrf".into(), json!(viewer.csrf));
        map.insert("flash".into(), json!(viewer.flash));
        map.insert("nav".into(), super::nav(viewer.auth.role));
        map.insert("tz".into(), json!(viewer.auth.user.time_zone));
    }
    let html = ENV
        .get_template(template)
        .and_then(|t| t.render(Jinja::from_serialize(&context)));
    let mut res = match html {
        Ok(html) => (status, html).into_response(),
        Err(e) => {
            tracing::error!(template, error = %e, "console template failed");
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "This page could not be drawn.",
            );
        }
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    secure_headers(h);
    if viewer.is_some_and(|v| v.flash.is_some()) {
        h.append(header::SET_COOKIE, clear_flash(app));
    }
    res
}

/// A page for a browser that hit an error (no layout that needs a viewer).
pub fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    let html = ENV
        .get_template("error.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                title => title, detail => detail, status => status.as_u16()
            })
        })
        .unwrap_or_else(|_| format!("{title}: {detail}"));
    let mut res = (status, html).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    secure_headers(h);
    res
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar chart of one value per label, drawn as SVG. Each bar carries its exact figure
/// as a tooltip and the chart a text summary, so it reads without sight too.
pub fn bars(title: &str, points: &[(String, i64)], currency: &str, period: &str) -> String {
    const W: f64 = 600.0;
    const H: f64 = 160.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 20.0;
    let max = points.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let n = points.len().max(1) as f64;
    let slot = W / n;
    let total: i64 = points.iter().map(|(_, v)| *v).sum();
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}: {} over {} {period}\">",
        escape(title),
        escape(&domain::notifications::format_money(total, currency)),
        points.len()
    );
    for (i, (label, value)) in points.iter().enumerate() {
        let height = (*value as f64 / max) * (H - TOP - BOTTOM);
        let x = i as f64 * slot + slot * 0.15;
        let y = H - BOTTOM - height;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{height:.1}\"><title>{}: {}</title></rect>",
            slot * 0.7,
            escape(label),
            escape(&domain::notifications::format_money(*value, currency)),
        ));
    }
    let step = (points.len() / 6).max(1);
    for (i, (label, _)) in points.iter().enumerate().step_by(step) {
        let x = i as f64 * slot + slot / 2.0;
        svg.push_str(&format!(
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            H - 5.0,
            escape(label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A week calendar: seven columns (Monday first), hours down the side, and a block for
/// each `(weekday 0–6, start minute, end minute)` window. Drawn as SVG, like the charts.
pub fn week_calendar(windows: &[(usize, u32, u32)]) -> String {
    const W: f64 = 700.0;
    const H: f64 = 320.0;
    const LEFT: f64 = 40.0;
    const TOP: f64 = 20.0;
    let col = (W - LEFT) / 7.0;
    let per_minute = (H - TOP) / 1440.0;
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let hours: u32 = windows
        .iter()
        .map(|(_, s, e)| e.saturating_sub(*s))
        .sum::<u32>()
        / 60;
    let mut svg = format!(
        "<svg class=\"calendar\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"Working hours: {hours} hours a week\">"
    );
    for (i, day) in days.iter().enumerate() {
        let x = LEFT + i as f64 * col;
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"14\" text-anchor=\"middle\">{day}</text><line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{H}\"/>",
            x + col / 2.0
        ));
    }
    for hour in (0..=24).step_by(6) {
        let y = TOP + f64::from(hour * 60) * per_minute;
        svg.push_str(&format!(
            "<text x=\"2\" y=\"{:.1}\">{hour:02}:00</text><line class=\"hour\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{W}\" y2=\"{y:.1}\"/>",
            (y + 4.0).min(H - 2.0)
        ));
    }
    for (day, start, end) in windows {
        let x = LEFT + *day as f64 * col + 3.0;
        let y = TOP + f64::from(*start) * per_minute;
        let h = f64::from(end.saturating_sub(*start)) * per_minute;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\"><title>{} {:02}:{:02}–{:02}:{:02}</title></rect>",
            col - 6.0,
            days.get(*day).copied().unwrap_or(""),
            start / 60,
            start % 60,
            end / 60,
            end % 60
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_week_calendar_draws_each_window() {
        let svg = week_calendar(&[(0, 9 * 60, 13 * 60), (6, 14 * 60, 18 * 60)]);
        assert!(svg.contains("<title>Mon 09:00–13:00</title>"), "{svg}");
        assert!(svg.contains("<title>Sun 14:00–18:00</title>"));
        assert!(svg.contains("aria-label=\"Working hours: 8 hours a week\""));
    }

    #[test]
    fn codes_read_as_words() {
        assert_eq!(words(Jinja::from("client_ended")), "Ended by the client");
        assert_eq!(words(Jinja::from("payout.paid")), "Payout paid");
        assert_eq!(words(Jinja::from(())), "—");
    }

    #[test]
    fn money_is_rupees_with_indian_grouping() {
        assert_eq!(money(Jinja::from(12_345_678), None), "₹1,23,456.78");
        assert_eq!(money(Jinja::from(250), Some("USD".into())), "$2.50");
    }

    #[test]
    fn templates_escape_what_they_show() {
        let html = ENV
            .get_template("error.html")
            .unwrap()
            .render(minijinja::context! { title => "x", detail => "<script>alert(1)</script>", status => 400 })
            .unwrap();
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
    }

    #[test]
    fn a_chart_labels_its_bars_with_exact_figures() {
        let svg = bars(
            "Top-ups",
            &[("6 Dec".into(), 10_000), ("7 Dec".into(), 0)],
            "INR",
            "days",
        );
        assert!(svg.contains("<title>6 Dec: ₹100.00</title>"), "{svg}");
        assert!(svg.contains("aria-label=\"Top-ups: ₹100.00 over 2 days\""));
    }
}
