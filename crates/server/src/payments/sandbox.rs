//! The sandbox gateway's checkout page, served by Augur with "Pay" and "Fail" buttons (see
//! `domain::payments::sandbox` for what pressing them does).

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use store::status::PaymentOrderStatus;

use crate::app::AppState;
use crate::error::ApiResult;
use crate::http::ApiPath;
use domain::payments::sandbox::{find_order, press};

/// The checkout page a client is sent to.
#[derive(Debug, serde::Deserialize)]
pub struct Sent {
    sent: Option<String>,
}

pub async fn checkout_page(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    axum::extract::Query(sent): axum::extract::Query<Sent>,
) -> ApiResult<Html<String>> {
    let order = find_order(&app, &id).await?;
    let major = format!("{}.{:02}", order.amount / 100, order.amount % 100);
    let actions = if sent.sent.is_some() && order.status == PaymentOrderStatus::Created.as_str() {
        // Pressed, and the signed webhook is on its way: the money arrives with it, as with
        // a real gateway, so the page says so instead of offering to pay again.
        "<p class=\"status\">Payment sent. Your wallet is credited when the gateway's webhook arrives.</p>\
         <p><a href=\"/console/client\">Back to your wallet</a></p>"
            .to_owned()
    } else if order.status == PaymentOrderStatus::Created.as_str() {
        format!(
            r#"<form method="post" action="/sandbox/checkout/{id}/pay"><button class="pay">Pay {cur} {major}</button></form>
<form method="post" action="/sandbox/checkout/{id}/fail"><button class="fail">Fail the payment</button></form>"#,
            id = escape(&id),
            cur = escape(&order.currency),
        )
    } else {
        // A real gateway sends the payer back to the shop; the console's wallet is ours.
        format!(
            "<p class=\"status\">This payment is <b>{}</b>.</p><p><a href=\"/console/client\">Back to your wallet</a></p>",
            escape(&order.status)
        )
    };
    Ok(Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox checkout</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;max-width:420px;margin:60px auto;padding:0 16px;color:#1d2330}}
.card{{border:1px solid #ddd;border-radius:10px;padding:24px}}button{{width:100%;padding:12px;border:0;border-radius:6px;font-size:16px;margin-top:10px;cursor:pointer}}
.pay{{background:#2f7d4f;color:#fff}}.fail{{background:#eee}}.ref{{color:#666;font-size:13px}}</style></head>
<body><div class="card"><h2>Augur sandbox checkout</h2><p>Top-up <b>{ref_}</b></p><p style="font-size:28px">{cur} {major}</p>{actions}
<p class="ref">No real money moves. The sandbox signs a webhook to the server, as a real gateway would.</p></div></body></html>"#,
        ref_ = escape(&order.reference),
        cur = escape(&order.currency),
    )))
}

pub async fn pay(State(app): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
    press(&app, &id, true).await?;
    Ok(Redirect::to(&format!("/sandbox/checkout/{id}?sent=1")).into_response())
}

pub async fn fail(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    press(&app, &id, false).await?;
    Ok(Redirect::to(&format!("/sandbox/checkout/{id}")).into_response())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
