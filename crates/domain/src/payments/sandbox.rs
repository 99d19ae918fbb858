//! The built-in sandbox gateway: a checkout page served by Augur with "Pay" and "Fail"
//! buttons. Pressing one makes the sandbox send a webhook back the way a real gateway does:
//! an HTTP POST to `/api/v1/payments/webhooks/sandbox`, signed with
//! `Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
//! (Stripe's documented scheme), retried by the job queue until it is accepted.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::{GatewayOrder, NewOrder, PaymentGateway, RefundAnswer};
use crate::Services;
use crate::error::{Error, Result};
use crate::jobs;
use providers::payments as protocol;
use store::entity::payment_order;
use store::status::PaymentOrderStatus;

pub const NAME: &str = "sandbox";
pub const SIGNATURE_HEADER: &str = "sandbox-signature";

pub struct SandboxGateway;

#[async_trait::async_trait]
impl PaymentGateway for SandboxGateway {
    fn name(&self) -> &'static str {
        NAME
    }
    async fn create_order(
        &self,
        order: &NewOrder,
        public_url: &str,
    ) -> anyhow::Result<GatewayOrder> {
        let gateway_order_id = format!("sbx_order_{}", order.id.simple());
        Ok(GatewayOrder {
            checkout_url: format!("{public_url}/sandbox/checkout/{gateway_order_id}"),
            gateway_order_id,
            client_secret: None,
        })
    }

    async fn refund(&self, order: &payment_order::Model, amount: i64, key: &str) -> RefundAnswer {
        if order.status != PaymentOrderStatus::Paid.as_str() || amount <= 0 {
            return RefundAnswer::Refused("sandbox refunds only paid orders".into());
        }
        // The sandbox settles refunds at once; the id is derived from the key, so a retry
        // names the same refund.
        RefundAnswer::Refunded(refund_id(key))
    }

    /// Every refund the sandbox was asked for succeeded at once, under an id derived from
    /// its key.
    async fn find_refund(
        &self,
        order: &payment_order::Model,
        amount: i64,
        key: &str,
    ) -> RefundAnswer {
        self.refund(order, amount, key).await
    }
}

fn refund_id(key: &str) -> String {
    format!(
        "sbx_refund_{}",
        &crate::auth::token::hash_refresh_token(key)[..24]
    )
}

/// The sandbox's webhook secret: derived from the server key, so every node agrees on it.
pub fn webhook_secret(app: &Services) -> String {
    app.keys.keyed_hash(&["sandbox-webhook-secret"])
}

pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    protocol::stripe_signature_header(secret, timestamp, body)
}

/// Checks a `t=…,v1=…` header exactly as a Stripe endpoint would (shared code).
pub fn verify_signature(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<()> {
    let header = header.ok_or_else(|| {
        Error::bad_request("signature_missing", "The signature header is missing")
    })?;
    protocol::verify_stripe_webhook(&[secret], header, body, now, tolerance)
        .map(|_| ())
        .map_err(signature_error)
}

/// The stable problem for a failed signature check.
pub fn signature_error(e: protocol::SignatureError) -> Error {
    use protocol::SignatureError as S;
    match e {
        S::MissingHeader | S::Malformed => Error::bad_request(
            e.code(),
            "The signature header is missing or not well formed",
        ),
        S::TimestampOutsideTolerance => Error::unauthorized(
            e.code(),
            "The signature timestamp is too old or in the future",
        ),
        S::Mismatch => Error::unauthorized(e.code(), "The signature does not match"),
    }
}

pub async fn find_order(app: &Services, gateway_order_id: &str) -> Result<payment_order::Model> {
    payment_order::Entity::find()
        .filter(payment_order::Column::Gateway.eq(NAME))
        .filter(payment_order::Column::GatewayOrderId.eq(gateway_order_id))
        .one(&app.db)
        .await?
        .ok_or_else(|| Error::not_found("Checkout"))
}

/// Answers the checkout as the client pressed "Pay" or "Fail": the sandbox queues the signed
/// webhook a real gateway would send.
pub async fn press(app: &Services, id: &str, succeeded: bool) -> Result<()> {
    let order = find_order(app, id).await?;
    let now = app.clock.now();
    let event_type = if succeeded {
        "payment.succeeded"
    } else {
        "payment.failed"
    };
    let body = json!({
        "id": format!("evt_{}", Uuid::now_v7().simple()),
        "type": event_type,
        "created": now.timestamp(),
        "data": {
            "order_id": order.gateway_order_id,
            "payment_id": format!("pay_{}", Uuid::now_v7().simple()),
            "amount": order.amount,
            "currency": order.currency,
        }
    })
    .to_string();
    // Delivered by the durable queue, with retries, like a gateway's webhook sender.
    jobs::enqueue(
        &app.db,
        now,
        jobs::DELIVER_WEBHOOK,
        json!({"url": format!("{}/api/v1/payments/webhooks/sandbox", app.public_url()), "body": body}),
        now,
        8,
    )
    .await?;
    app.job_wakeup.notify_one();
    Ok(())
}

/// The job that posts a sandbox webhook, signed at send time (so retries carry a fresh
/// timestamp, as real senders do).
pub async fn deliver(app: &Services, payload: &serde_json::Value) -> anyhow::Result<()> {
    let url = payload["url"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("webhook job without url"))?;
    let body = payload["body"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("webhook job without body"))?;
    let header = signature_header(
        &webhook_secret(app),
        app.clock.now().timestamp(),
        body.as_bytes(),
    );
    let res = app
        .http
        .post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, header)
        .body(body.to_owned())
        .send()
        .await?;
    let status = res.status();
    anyhow::ensure!(status.is_success(), "webhook answered {status}");
    Ok(())
}
