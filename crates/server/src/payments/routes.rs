//! `/api/v1/wallet/topups…` (start and follow a top-up), `/api/v1/payments/webhooks/{gateway}`
//! (gateways confirm payments), and the sandbox checkout pages.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{PaymentEvent, PaymentEventKind, PaymentOutcome, apply_event, sandbox};
use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, ApiQuery, Page, decode_cursor, encode_cursor, page_limit};
use crate::idempotency::{IdempotencyKey, fingerprint};
use domain::ledger::Currency;
use domain::payments::topups::{self, TopupOrder};
use domain::validate::Check;
use store::entity::payment_order;

pub use domain::payments::topups::{MAX_TOPUP, MIN_TOPUP};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_topup, list_topups))
        .routes(routes!(get_topup))
        .routes(routes!(topup_receipt))
        .routes(routes!(razorpay_webhook))
        .routes(routes!(stripe_webhook))
        .route("/checkout/razorpay/{id}", get(razorpay_checkout))
        .route("/checkout/razorpay/{id}/return", post(razorpay_return))
}

/// The sandbox gateway's checkout pages and webhook. Mounted only while the sandbox is the
/// gateway: its "Pay" button needs no money, so it must not exist beside a real gateway (nor
/// settle sandbox orders left from before a switch). Not in the OpenAPI document, which
/// describes every deployment; docs/ledger.md describes it.
pub fn sandbox_router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/payments/webhooks/sandbox", post(sandbox_webhook))
        .route("/sandbox/checkout/{id}", get(sandbox::checkout_page))
        .route("/sandbox/checkout/{id}/pay", post(sandbox::pay))
        .route("/sandbox/checkout/{id}/fail", post(sandbox::fail))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopupRequest {
    /// Minor units (paise for INR), 100 … 10,000,000. Omit when buying a package.
    pub amount: Option<i64>,
    /// Buy this credit package (its price, plus its bonus credit).
    pub package_id: Option<Uuid>,
    /// Default `INR`.
    pub currency: Option<String>,
    /// A promo code: the client pays less, the wallet still receives `amount`.
    pub promo_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopupView {
    pub id: Uuid,
    /// Human reference, e.g. `TP7Q2M9XK4AB`.
    pub reference: String,
    /// What the client pays at the gateway.
    pub amount: i64,
    /// Added by the promo code on payment.
    pub discount: i64,
    /// Added by the credit package on payment; the wallet receives
    /// `amount + discount + package_bonus`.
    pub package_bonus: i64,
    pub currency: String,
    pub gateway: String,
    /// `created`, `paid` or `failed`.
    pub status: String,
    /// Where the client pays (sandbox and Razorpay); empty for Stripe.
    pub checkout_url: String,
    /// The gateway's order (Razorpay `order_…`) or PaymentIntent (`pi_…`) id, for SDKs.
    pub gateway_order_id: String,
    /// Stripe only, and only in the answer that created the top-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub paid_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<payment_order::Model> for TopupView {
    fn from(o: payment_order::Model) -> Self {
        Self {
            id: o.id,
            reference: o.reference,
            amount: o.amount,
            discount: o.discount,
            package_bonus: o.package_bonus,
            currency: o.currency,
            gateway: o.gateway,
            status: o.status,
            checkout_url: o.checkout_url,
            gateway_order_id: o.gateway_order_id,
            client_secret: None,
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
    let package = match body.package_id {
        Some(id) => Some(
            store::entity::credit_package::Entity::find_by_id(id)
                .one(&app.db)
                .await?
                .filter(|p| p.active)
                .ok_or_else(|| {
                    ApiError::field("package_id", "unknown_package", "is not a package on sale")
                })?,
        ),
        None => None,
    };
    let mut c = Check::new();
    let amount = match (&package, body.amount) {
        (Some(p), None) => p.price,
        (_, Some(a)) => a,
        (None, None) => {
            c.fail("amount", "required", "give an amount or a package_id");
            MIN_TOPUP
        }
    };
    c.range("amount", amount, MIN_TOPUP, MAX_TOPUP);
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
    let opened = topups::open(
        &app,
        TopupOrder {
            user: auth.id,
            package,
            amount,
            currency,
            promo_code: body.promo_code.as_deref(),
        },
    )
    .await?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let (row, client_secret) = opened.record(&txn, now).await?;
    let mut view = TopupView::from(row);
    view.client_secret = client_secret;
    let res = key
        .save(&txn, auth.id, &fp, StatusCode::CREATED, &view, now)
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
async fn sandbox_webhook(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<ApiJson<WebhookAck>> {
    let now = app.clock.now();
    domain::payments::sandbox::verify_signature(
        &domain::payments::sandbox::webhook_secret(&app),
        headers
            .get(domain::payments::sandbox::SIGNATURE_HEADER)
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
        gateway: domain::payments::sandbox::NAME,
        event_id: event.id,
        event_type: event.kind,
        natural_key: None,
        kind,
        raw: String::from_utf8_lossy(&body).into_owned(),
    };
    let txn = store::begin_write(&app.db).await?;
    let outcome = apply_event(&txn, &event, now).await?;
    txn.commit().await?;
    Ok(ApiJson(WebhookAck {
        received: true,
        outcome,
    }))
}

async fn apply(app: &AppState, event: PaymentEvent) -> ApiResult<ApiJson<WebhookAck>> {
    let txn = store::begin_write(&app.db).await?;
    let outcome = apply_event(&txn, &event, app.clock.now()).await?;
    txn.commit().await?;
    Ok(ApiJson(WebhookAck {
        received: true,
        outcome,
    }))
}

fn not_configured(gateway: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "gateway_not_configured",
        format!("The {gateway} gateway is not configured"),
    )
}

/// Razorpay's webhook (`X-Razorpay-Signature` over the raw body; deduplicated by
/// `X-Razorpay-Event-Id`). Acts on `payment.captured`, `order.paid` and `payment.failed`.
#[utoipa::path(post, path = "/api/v1/payments/webhooks/razorpay", tag = "payments",
    params(("X-Razorpay-Signature" = String, Header), ("X-Razorpay-Event-Id" = String, Header)),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = WebhookAck), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, description = "This gateway is not configured on the server (`gateway_not_configured`)", body = Problem)))]
async fn razorpay_webhook(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<ApiJson<WebhookAck>> {
    let secrets = domain::config::secret_list(&app.config.razorpay_webhook_secrets);
    if secrets.is_empty() {
        return Err(not_configured("Razorpay"));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let event = domain::payments::razorpay::parse_webhook(
        &secrets,
        header("x-razorpay-signature"),
        header("x-razorpay-event-id"),
        &body,
    )?;
    apply(&app, event).await
}

/// Stripe's webhook (`Stripe-Signature`, 300 s tolerance, rotated secrets accepted).
/// Acts on `payment_intent.succeeded` and `payment_intent.payment_failed`.
#[utoipa::path(post, path = "/api/v1/payments/webhooks/stripe", tag = "payments",
    params(("Stripe-Signature" = String, Header)),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = WebhookAck), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, description = "This gateway is not configured on the server (`gateway_not_configured`)", body = Problem)))]
async fn stripe_webhook(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<ApiJson<WebhookAck>> {
    let secrets = domain::config::secret_list(&app.config.stripe_webhook_secrets);
    if secrets.is_empty() {
        return Err(not_configured("Stripe"));
    }
    let event = domain::payments::stripe::parse_webhook(
        &secrets,
        headers
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok()),
        &body,
        app.clock.now().timestamp(),
        app.config.webhook_tolerance_secs,
    )?;
    apply(&app, event).await
}

async fn razorpay_order(app: &AppState, id: &str) -> ApiResult<payment_order::Model> {
    payment_order::Entity::find()
        .filter(payment_order::Column::Gateway.eq(domain::payments::razorpay::NAME))
        .filter(payment_order::Column::GatewayOrderId.eq(id))
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Checkout"))
}

async fn razorpay_checkout(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<axum::response::Html<String>> {
    let key_id = app
        .config
        .razorpay_key_id
        .clone()
        .ok_or_else(|| not_configured("Razorpay"))?;
    let order = razorpay_order(&app, &id).await?;
    Ok(axum::response::Html(
        domain::payments::razorpay::checkout_page(&key_id, &order),
    ))
}

#[derive(Deserialize)]
struct RazorpayReturn {
    razorpay_payment_id: String,
    razorpay_order_id: String,
    razorpay_signature: String,
}

/// Razorpay Checkout posts here after payment. The checkout signature (HMAC-SHA256 of
/// `order_id|payment_id` with the key secret) proves the payment; the credit shares the
/// webhook's key, so whichever arrives first credits and the other changes nothing.
async fn razorpay_return(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    axum::extract::Form(form): axum::extract::Form<RazorpayReturn>,
) -> ApiResult<axum::response::Html<String>> {
    use secrecy::ExposeSecret;
    let secret = app
        .config
        .razorpay_key_secret
        .as_ref()
        .ok_or_else(|| not_configured("Razorpay"))?;
    if form.razorpay_order_id != id {
        return Err(ApiError::bad_request(
            "order_mismatch",
            "The payment is for another order",
        ));
    }
    providers::payments::verify_razorpay_checkout(
        secret.expose_secret().as_bytes(),
        &form.razorpay_order_id,
        &form.razorpay_payment_id,
        &form.razorpay_signature,
    )
    .map_err(domain::payments::sandbox::signature_error)?;
    let order = razorpay_order(&app, &id).await?;
    let event = PaymentEvent {
        gateway: domain::payments::razorpay::NAME,
        event_id: format!("checkout:{}", form.razorpay_payment_id),
        event_type: "checkout.returned".into(),
        natural_key: None,
        kind: PaymentEventKind::Succeeded {
            gateway_order_id: id.clone(),
            payment_id: form.razorpay_payment_id.clone(),
            amount: order.amount,
            currency: order.currency.clone(),
        },
        raw: serde_json::json!({"order_id": id, "payment_id": form.razorpay_payment_id})
            .to_string(),
    };
    let ack = apply(&app, event).await?;
    Ok(axum::response::Html(format!(
        "<!doctype html><p>Payment received ({}). You can close this page.</p>",
        match ack.0.outcome {
            PaymentOutcome::Credited | PaymentOutcome::AlreadyPaid | PaymentOutcome::Duplicate =>
                "credited",
            _ => "not credited",
        }
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    pub receipt_number: String,
    pub issued_at: chrono::DateTime<chrono::Utc>,
    /// The top-up's reference.
    pub reference: String,
    pub payer_name: String,
    pub payer_email: Option<String>,
    pub currency: String,
    /// Paid at the gateway.
    pub amount_paid: i64,
    /// Added by a promo code.
    pub promo_discount: i64,
    /// Added by a credit package.
    pub package_bonus: i64,
    /// Credited to the wallet in all.
    pub wallet_credit: i64,
    /// Sent back through the gateway so far.
    pub refunded: i64,
    pub gateway: String,
    pub gateway_payment_id: Option<String>,
}

/// The receipt of a paid top-up.
#[utoipa::path(get, path = "/api/v1/wallet/topups/{id}/receipt", tag = "wallet", params(("id" = Uuid, Path)),
    responses((status = 200, body = Receipt), (status = 404, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
async fn topup_receipt(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<Receipt>> {
    let o = payment_order::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Top-up"))?;
    auth.ensure_owner(o.user_id, "Top-up")?;
    let (Some(number), Some(paid_at)) = (o.receipt_number.clone(), o.paid_at) else {
        return Err(ApiError::conflict(
            "not_paid",
            "A receipt exists once the top-up is paid",
        ));
    };
    let payer = crate::accounts::routes::load_user(&app, o.user_id).await?;
    Ok(ApiJson(Receipt {
        receipt_number: number,
        issued_at: paid_at,
        reference: o.reference,
        payer_name: format!("{} {}", payer.first_name, payer.last_name)
            .trim()
            .to_owned(),
        payer_email: payer.email,
        currency: o.currency,
        amount_paid: o.amount,
        promo_discount: o.discount,
        package_bonus: o.package_bonus,
        wallet_credit: o.amount + o.discount + o.package_bonus,
        refunded: o.refunded,
        gateway: o.gateway,
        gateway_payment_id: o.gateway_payment_id,
    }))
}
