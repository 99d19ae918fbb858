//! Stripe adapter: PaymentIntents (`POST /v1/payment_intents`, form-encoded, bearer secret
//! key, `Idempotency-Key`), and webhooks signed with `Stripe-Signature: t=…,v1=…`
//! (several `v1` and several endpoint secrets accepted during a rotation).

use anyhow::Context;
use secrecy::ExposeSecret;

use super::{GatewayOrder, NewOrder, PaymentEvent, PaymentEventKind, PaymentGateway, RefundAnswer};
use crate::config::Config;
use crate::error::Error;
use providers::payments::{self as protocol, StripeEventKind, StripeWebhook};

pub const NAME: &str = "stripe";

pub struct StripeGateway {
    pub http: reqwest::Client,
    pub base_url: String,
    pub secret_key: String,
    /// How long a call may take before its answer counts as unknown.
    pub timeout: std::time::Duration,
}

impl StripeGateway {
    pub fn from_config(cfg: &Config, http: reqwest::Client) -> Option<Self> {
        Some(Self {
            http,
            base_url: cfg.stripe_base_url.trim_end_matches('/').to_owned(),
            secret_key: cfg.stripe_secret_key.as_ref()?.expose_secret().to_owned(),
            timeout: std::time::Duration::from_secs(cfg.gateway_timeout_secs.max(1)),
        })
    }
}

#[async_trait::async_trait]
impl PaymentGateway for StripeGateway {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn create_order(
        &self,
        order: &NewOrder,
        _public_url: &str,
    ) -> anyhow::Result<GatewayOrder> {
        let order_id = order.id.to_string();
        let (fields, idempotency_key) = protocol::stripe_payment_intent_form(
            order.amount,
            &order.currency.as_str().to_lowercase(),
            &[
                ("augur_order_id", &order_id),
                ("reference", &order.reference),
            ],
            &format!("augur-topup-{order_id}"),
        )
        .map_err(|e| anyhow::anyhow!("stripe payment intent request: {e}"))?;
        let res = self
            .http
            .post(format!("{}/v1/payment_intents", self.base_url))
            .bearer_auth(&self.secret_key)
            .header("idempotency-key", idempotency_key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(protocol::form_urlencode(&fields))
            .send()
            .await
            .context("calling Stripe PaymentIntents API")?;
        let status = res.status();
        let bytes = res.bytes().await.context("reading Stripe response")?;
        anyhow::ensure!(
            status.is_success(),
            "Stripe answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        let intent = protocol::parse_stripe_payment_intent(&bytes)
            .map_err(|e| anyhow::anyhow!("Stripe response: {e}"))?;
        anyhow::ensure!(
            intent.amount == order.amount,
            "Stripe created an intent for another amount"
        );
        Ok(GatewayOrder {
            // Clients confirm the intent with Stripe.js or a mobile SDK using its client
            // secret; there is no page of ours to visit.
            checkout_url: String::new(),
            gateway_order_id: intent.id,
            client_secret: intent.client_secret,
        })
    }

    async fn refund(
        &self,
        order: &store::entity::payment_order::Model,
        amount: i64,
        key: &str,
    ) -> RefundAnswer {
        let fields = vec![
            ("payment_intent".to_owned(), order.gateway_order_id.clone()),
            ("amount".to_owned(), amount.to_string()),
            ("metadata[augur_order_id]".to_owned(), order.id.to_string()),
            ("metadata[augur_refund_key]".to_owned(), key.to_owned()),
        ];
        let res = self
            .http
            .post(format!("{}/v1/refunds", self.base_url))
            .bearer_auth(&self.secret_key)
            .timeout(self.timeout)
            .header("idempotency-key", format!("augur-refund-{key}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(protocol::form_urlencode(&fields))
            .send()
            .await;
        super::refund_answer("Stripe", res, amount).await
    }

    /// The PaymentIntent's refunds, ours found by `metadata[augur_refund_key]`. (Asking again
    /// under the same `Idempotency-Key` would also be safe, but Stripe replays a stored 500
    /// for 24 hours, so a list answers sooner.)
    async fn find_refund(
        &self,
        order: &store::entity::payment_order::Model,
        _amount: i64,
        key: &str,
    ) -> RefundAnswer {
        let res = self
            .http
            .get(format!(
                "{}/v1/refunds?{}",
                self.base_url,
                protocol::form_urlencode(&[
                    ("payment_intent".to_owned(), order.gateway_order_id.clone()),
                    ("limit".to_owned(), "100".to_owned()),
                ])
            ))
            .bearer_auth(&self.secret_key)
            .timeout(self.timeout)
            .send()
            .await;
        super::refund_in_list(
            "Stripe",
            res,
            "data",
            |r| r["metadata"]["augur_refund_key"].as_str(),
            key,
            &["failed", "canceled"],
        )
        .await
    }
}

/// Verifies a Stripe webhook and reduces it to a payment event.
pub fn parse_webhook(
    secrets: &[String],
    signature: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<PaymentEvent, Error> {
    let signature = signature
        .ok_or_else(|| Error::bad_request("signature_missing", "Stripe-Signature is missing"))?;
    let keys: Vec<&str> = secrets.iter().map(String::as_str).collect();
    protocol::verify_stripe_webhook(&keys, signature, body, now, tolerance)
        .map_err(super::sandbox::signature_error)?;
    let parsed = protocol::parse_stripe_webhook(body)
        .map_err(|e| Error::bad_request("invalid_event", e.to_string()))?;
    let (event_id, event_type, kind) = match parsed {
        StripeWebhook::Event(ev) => {
            let kind = match ev.kind {
                StripeEventKind::PaymentIntentSucceeded => PaymentEventKind::Succeeded {
                    gateway_order_id: ev.intent_id.clone(),
                    payment_id: ev.intent_id.clone(),
                    amount: ev.amount_received.unwrap_or(ev.amount),
                    currency: ev.currency.to_uppercase(),
                },
                StripeEventKind::PaymentIntentPaymentFailed => PaymentEventKind::Failed {
                    gateway_order_id: ev.intent_id.clone(),
                },
            };
            (ev.id, ev.kind.as_str().to_owned(), kind)
        }
        StripeWebhook::Unrecognized { id, event_type, .. } => {
            (id, event_type, PaymentEventKind::Other)
        }
    };
    Ok(PaymentEvent {
        gateway: NAME,
        event_id,
        event_type,
        natural_key: None,
        kind,
        raw: String::from_utf8_lossy(body).into_owned(),
    })
}
