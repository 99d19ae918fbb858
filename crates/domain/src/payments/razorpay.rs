//! Razorpay adapter: Orders API (`POST /v1/orders`, HTTP basic auth with key id and
//! secret), the checkout signature a client returns after paying, and webhooks signed with
//! `X-Razorpay-Signature` and identified by `X-Razorpay-Event-Id`.

use anyhow::Context;
use secrecy::ExposeSecret;

use super::{GatewayOrder, NewOrder, PaymentEvent, PaymentEventKind, PaymentGateway, RefundAnswer};
use crate::config::Config;
use crate::error::Error;
use providers::payments::{self as protocol, RazorpayEventKind, RazorpayWebhook};

pub const NAME: &str = "razorpay";

pub struct RazorpayGateway {
    pub http: reqwest::Client,
    pub base_url: String,
    pub key_id: String,
    pub key_secret: String,
    /// How long a call may take before its answer counts as unknown.
    pub timeout: std::time::Duration,
}

impl RazorpayGateway {
    pub fn from_config(cfg: &Config, http: reqwest::Client) -> Option<Self> {
        Some(Self {
            http,
            base_url: cfg.razorpay_base_url.trim_end_matches('/').to_owned(),
            key_id: cfg.razorpay_key_id.clone()?,
            key_secret: cfg.razorpay_key_secret.as_ref()?.expose_secret().to_owned(),
            timeout: std::time::Duration::from_secs(cfg.gateway_timeout_secs.max(1)),
        })
    }
}

#[async_trait::async_trait]
impl PaymentGateway for RazorpayGateway {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn create_order(
        &self,
        order: &NewOrder,
        public_url: &str,
    ) -> anyhow::Result<GatewayOrder> {
        let order_id = order.id.to_string();
        let body = protocol::razorpay_order_request(
            order.amount,
            order.currency.as_str(),
            &order.reference,
            &[("augur_order_id", &order_id)],
        )
        .map_err(|e| anyhow::anyhow!("razorpay order request: {e}"))?;
        let res = self
            .http
            .post(format!("{}/v1/orders", self.base_url))
            .basic_auth(&self.key_id, Some(&self.key_secret))
            .json(&body)
            .send()
            .await
            .context("calling Razorpay Orders API")?;
        let status = res.status();
        let bytes = res.bytes().await.context("reading Razorpay response")?;
        anyhow::ensure!(
            status.is_success(),
            "Razorpay answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        let created = protocol::parse_razorpay_order(&bytes)
            .map_err(|e| anyhow::anyhow!("Razorpay order response: {e}"))?;
        anyhow::ensure!(
            created.amount == order.amount,
            "Razorpay created an order for another amount"
        );
        Ok(GatewayOrder {
            // Clients open Razorpay Checkout with this order id and our key id; this page
            // hands both to their SDK.
            checkout_url: format!("{public_url}/checkout/razorpay/{}", created.id),
            gateway_order_id: created.id,
            client_secret: None,
        })
    }

    async fn refund(
        &self,
        order: &store::entity::payment_order::Model,
        amount: i64,
        key: &str,
    ) -> RefundAnswer {
        let Some(payment_id) = order.gateway_payment_id.as_deref() else {
            return RefundAnswer::Refused("the order has no Razorpay payment id".into());
        };
        let res = self
            .http
            .post(format!("{}/v1/payments/{payment_id}/refund", self.base_url))
            .basic_auth(&self.key_id, Some(&self.key_secret))
            .timeout(self.timeout)
            .json(&serde_json::json!({"amount": amount, "receipt": receipt(key), "notes": {"augur_order_id": order.id.to_string()}}))
            .send()
            .await;
        super::refund_answer("Razorpay", res, amount).await
    }

    /// Razorpay has no idempotency key for refunds, so asking twice could refund twice:
    /// the payment's refunds are listed instead and ours is found by its `receipt`.
    async fn find_refund(
        &self,
        order: &store::entity::payment_order::Model,
        _amount: i64,
        key: &str,
    ) -> RefundAnswer {
        let Some(payment_id) = order.gateway_payment_id.as_deref() else {
            return RefundAnswer::NotFound;
        };
        let res = self
            .http
            .get(format!(
                "{}/v1/payments/{payment_id}/refunds?count=100",
                self.base_url
            ))
            .basic_auth(&self.key_id, Some(&self.key_secret))
            .timeout(self.timeout)
            .send()
            .await;
        let receipt = receipt(key);
        super::refund_in_list(
            "Razorpay",
            res,
            "items",
            |r| r["receipt"].as_str(),
            &receipt,
            &["failed"],
        )
        .await
    }
}

/// The refund's `receipt` at Razorpay (at most 40 characters): how a lookup finds it. The
/// key's first 40 characters (the order and the start of the refund's reference), as every
/// refund has been sent, so refunds asked for before lookups existed are found too.
fn receipt(key: &str) -> String {
    key.chars().take(40).collect()
}

/// Verifies a Razorpay webhook and reduces it to a payment event.
pub fn parse_webhook(
    secrets: &[String],
    signature: Option<&str>,
    event_id: Option<&str>,
    body: &[u8],
) -> Result<PaymentEvent, Error> {
    let signature = signature.ok_or_else(|| {
        Error::bad_request("signature_missing", "X-Razorpay-Signature is missing")
    })?;
    let keys: Vec<&[u8]> = secrets.iter().map(|s| s.as_bytes()).collect();
    protocol::verify_razorpay_webhook_any(&keys, body, signature)
        .map_err(super::sandbox::signature_error)?;
    let event_id = event_id
        .filter(|e| !e.is_empty() && e.len() <= 200)
        .ok_or_else(|| Error::bad_request("event_id_missing", "X-Razorpay-Event-Id is missing"))?;
    let parsed = protocol::parse_razorpay_webhook(body)
        .map_err(|e| Error::bad_request("invalid_event", e.to_string()))?;
    let (event_type, natural_key, kind) = match parsed {
        RazorpayWebhook::Event(ev) => {
            let event_type = ev.kind.as_str().to_owned();
            // Each payment attempt has its own `pay_…` id, so an event type and a payment id
            // name one happening, whatever event id a delivery carries.
            let natural_key =
                (!ev.payment_id.is_empty()).then(|| format!("{event_type}:{}", ev.payment_id));
            let order_id = ev.order_id.clone().unwrap_or_default();
            let kind = match ev.kind {
                RazorpayEventKind::PaymentCaptured | RazorpayEventKind::OrderPaid => {
                    PaymentEventKind::Succeeded {
                        gateway_order_id: order_id,
                        payment_id: ev.payment_id,
                        amount: ev.amount,
                        currency: ev.currency,
                    }
                }
                RazorpayEventKind::PaymentFailed => PaymentEventKind::Failed {
                    gateway_order_id: order_id,
                },
            };
            (event_type, natural_key, kind)
        }
        RazorpayWebhook::Unrecognized { event } => (event, None, PaymentEventKind::Other),
    };
    Ok(PaymentEvent {
        gateway: NAME,
        event_id: event_id.to_owned(),
        event_type,
        natural_key,
        kind,
        raw: String::from_utf8_lossy(body).into_owned(),
    })
}

/// The checkout page: hands the order to Razorpay Checkout, which posts the result back to
/// `/checkout/razorpay/{order}/return` (Razorpay's documented `callback_url` flow).
pub fn checkout_page(key_id: &str, order: &store::entity::payment_order::Model) -> String {
    let major = format!("{}.{:02}", order.amount / 100, order.amount % 100);
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pay with Razorpay</title>
<script src="https://checkout.razorpay.com/v1/checkout.js"></script></head>
<body style="font:16px system-ui;max-width:420px;margin:60px auto">
<h2>Top-up {reference}</h2><p>{currency} {major}</p><button id="pay">Pay</button>
<script>
document.getElementById("pay").onclick = function () {{
  new Razorpay({{ key: "{key}", order_id: "{order}", amount: {amount}, currency: "{currency}",
    name: "Augur", description: "Wallet top-up {reference}",
    callback_url: "/checkout/razorpay/{order}/return" }}).open();
}};
</script></body></html>"#,
        key = esc(key_id),
        order = esc(&order.gateway_order_id),
        amount = order.amount,
        currency = esc(&order.currency),
        reference = esc(&order.reference),
    )
}
