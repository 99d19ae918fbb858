//! `/api/v1/wallet/topups…` (start and follow a top-up), `/api/v1/payments/webhooks/{gateway}`
//! (gateways confirm payments), and the sandbox checkout pages.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{
    NewOrder, PaymentEvent, PaymentEventKind, PaymentOutcome, apply_event, human_reference, sandbox,
};
use crate::app::AppState;
use crate::auth::AuthUser;
use crate::db::entity::payment_order;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, ApiQuery, Page, decode_cursor, encode_cursor, page_limit};
use crate::idempotency::{IdempotencyKey, fingerprint};
use crate::ledger::Currency;
use crate::validate::Check;

/// Smallest and largest top-up, in minor units (₹1 and ₹1,00,000 for INR).
pub const MIN_TOPUP: i64 = 100;
pub const MAX_TOPUP: i64 = 10_000_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_topup, list_topups))
        .routes(routes!(get_topup))
        .routes(routes!(sandbox_webhook))
        .route("/sandbox/checkout/{id}", get(sandbox::checkout_page))
        .route("/sandbox/checkout/{id}/pay", post(sandbox::pay))
        .route("/sandbox/checkout/{id}/fail", post(sandbox::fail))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopupRequest {
    /// Minor units (paise for INR), 100 … 10,000,000.
    pub amount: i64,
    /// Default `INR`.
    pub currency: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopupView {
    pub id: Uuid,
    /// Human reference, e.g. `TP7Q2M9XK4AB`.
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    pub gateway: String,
    /// `created`, `paid` or `failed`.
    pub status: String,
    /// Where the client pays.
    pub checkout_url: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub paid_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<payment_order::Model> for TopupView {
    fn from(o: payment_order::Model) -> Self {
        Self {
            id: o.id,
            reference: o.reference,
            amount: o.amount,
            currency: o.currency,
            gateway: o.gateway,
            status: o.status,
            checkout_url: o.checkout_url,
            created_at: o.created_at,
            paid_at: o.paid_at,
        }
    }
}

/// Start a top-up: creates the gateway order and returns where to pay. The wallet is
/// credited when the gateway confirms the payment. Requires `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/wallet/topups", tag = "wallet",
    params(("Idempotency-Key" = String, Header, description = "Unique per intended top-up")),
    request_body = TopupRequest,
    responses((status = 201, body = TopupView), (status = 400, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_topup(
    State(app): State<AppState>,
    auth: AuthUser,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<TopupRequest>,
) -> ApiResult<Response> {
    let fp = fingerprint("POST", "/api/v1/wallet/topups", &body);
    if let Some(replayed) = key.replay(&app.db, auth.id, &fp).await? {
        return Ok(replayed);
    }
    let mut c = Check::new();
    c.range("amount", body.amount, MIN_TOPUP, MAX_TOPUP);
    let currency = match body.currency.as_deref() {
        None => Some(Currency::INR),
        Some(code) => match Currency::parse(code) {
            Ok(cur) => Some(cur),
            Err(m) => {
                c.fail("currency", "invalid_currency", m);
                None
            }
        },
    };
    c.finish()?;
    let currency = currency.unwrap_or(Currency::INR);
    let now = app.clock.now();
    let order = NewOrder {
        id: Uuid::now_v7(),
        reference: human_reference("TP"),
        amount: body.amount,
        currency,
    };
    let gateway_order = app
        .gateway
        .create_order(&order, &app.public_url())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "gateway refused the order");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "gateway_unavailable",
                "The payment gateway did not accept the order; try again",
            )
        })?;
    let txn = crate::db::begin_write(&app.db).await?;
    let row = payment_order::ActiveModel {
        id: Set(order.id),
        reference: Set(order.reference),
        user_id: Set(auth.id),
        amount: Set(order.amount),
        currency: Set(currency.as_str().to_owned()),
        gateway: Set(app.gateway.name().to_owned()),
        gateway_order_id: Set(gateway_order.gateway_order_id),
        gateway_payment_id: Set(None),
        status: Set("created".into()),
        checkout_url: Set(gateway_order.checkout_url),
        credit_transfer_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        paid_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let res = key
        .save(
            &txn,
            auth.id,
            &fp,
            StatusCode::CREATED,
            &TopupView::from(row),
            now,
        )
        .await?;
    txn.commit().await?;
    Ok(res)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TopupsQuery {
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// My top-ups, newest first.
#[utoipa::path(get, path = "/api/v1/wallet/topups", tag = "wallet", params(TopupsQuery),
    responses((status = 200, body = Page<TopupView>)), security(("bearer" = [])))]
async fn list_topups(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<TopupsQuery>,
) -> ApiResult<ApiJson<Page<TopupView>>> {
    let limit = page_limit(q.limit)?;
    let mut query = payment_order::Entity::find().filter(payment_order::Column::UserId.eq(auth.id));
    if let Some(raw) = q.cursor.as_deref() {
        let before: Uuid = decode_cursor(raw)?;
        query = query.filter(payment_order::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(payment_order::Column::Id)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        TopupView::from,
    )))
}

/// One of my top-ups.
#[utoipa::path(get, path = "/api/v1/wallet/topups/{id}", tag = "wallet", params(("id" = Uuid, Path)),
    responses((status = 200, body = TopupView), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_topup(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<TopupView>> {
    let row = payment_order::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Top-up"))?;
    auth.ensure_owner(row.user_id, "Top-up")?;
    Ok(ApiJson(row.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    pub received: bool,
    pub outcome: PaymentOutcome,
}

#[derive(Deserialize)]
struct SandboxEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: SandboxEventData,
}

#[derive(Deserialize)]
struct SandboxEventData {
    order_id: String,
    payment_id: Option<String>,
    amount: Option<i64>,
    currency: Option<String>,
}

/// The sandbox gateway's webhook. Verified (`Sandbox-Signature`, 300 s tolerance) and
/// deduplicated by event id in the same transaction as the credit.
#[utoipa::path(post, path = "/api/v1/payments/webhooks/sandbox", tag = "payments",
    params(("Sandbox-Signature" = String, Header, description = "t=<unix>,v1=<hex HMAC-SHA256 of \"t.body\">")),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = WebhookAck), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn sandbox_webhook(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<ApiJson<WebhookAck>> {
    let now = app.clock.now();
    sandbox::verify_signature(
        &sandbox::webhook_secret(&app),
        headers
            .get(sandbox::SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok()),
        &body,
        now.timestamp(),
        app.config.webhook_tolerance_secs,
    )?;
    let event: SandboxEvent = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_event", format!("Not a sandbox event: {e}")))?;
    let kind = match event.kind.as_str() {
        "payment.succeeded" => PaymentEventKind::Succeeded {
            gateway_order_id: event.data.order_id,
            payment_id: event.data.payment_id.unwrap_or_default(),
            amount: event
                .data
                .amount
                .ok_or_else(|| ApiError::bad_request("invalid_event", "amount is missing"))?,
            currency: event.data.currency.unwrap_or_default(),
        },
        "payment.failed" => PaymentEventKind::Failed {
            gateway_order_id: event.data.order_id,
        },
        _ => PaymentEventKind::Other,
    };
    let event = PaymentEvent {
        gateway: sandbox::NAME,
        event_id: event.id,
        event_type: event.kind,
        kind,
        raw: String::from_utf8_lossy(&body).into_owned(),
    };
    let txn = crate::db::begin_write(&app.db).await?;
    let outcome = apply_event(&txn, &event, now).await?;
    txn.commit().await?;
    Ok(ApiJson(WebhookAck {
        received: true,
        outcome,
    }))
}
