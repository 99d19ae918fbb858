//! Top-ups through payment gateways: an order is created at the gateway, the client pays
//! there, and the gateway's signed webhook is what credits the wallet, once.
//!
//! `PaymentGateway` is what an adapter implements. The built-in `sandbox` gateway serves its
//! own checkout page and signs its webhooks with the same scheme Stripe documents
//! (`t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`), so the whole flow runs in a browser
//! without any account anywhere.

pub mod razorpay;
pub mod refunds;
pub mod sandbox;
pub mod stripe;
pub mod topups;

use chrono::{DateTime, Utc};
use rand::Rng;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{self, Actor, Change};
use crate::error::{Error, Kind};
use crate::ledger::{self, AccountRef, Currency, LedgerError, TransferRequest};
use store::entity::{payment_order, webhook_event};
use store::status::PaymentOrderStatus;

/// What an order asks of a gateway.
pub struct NewOrder {
    pub id: Uuid,
    pub reference: String,
    pub amount: i64,
    pub currency: Currency,
}

/// What the gateway answers: its own order id and how the client pays.
pub struct GatewayOrder {
    pub gateway_order_id: String,
    /// A page to send the client to (sandbox, Razorpay); empty when the client pays with
    /// the gateway's SDK instead (Stripe).
    pub checkout_url: String,
    /// Stripe's PaymentIntent client secret for Stripe.js / mobile SDKs; never stored.
    pub client_secret: Option<String>,
}

#[async_trait::async_trait]
pub trait PaymentGateway: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    async fn create_order(
        &self,
        order: &NewOrder,
        public_url: &str,
    ) -> anyhow::Result<GatewayOrder>;
    /// Sends `amount` of a paid order back to the payer. `key` makes a retried call one
    /// refund at the gateway.
    async fn refund(&self, order: &payment_order::Model, amount: i64, key: &str) -> RefundAnswer;
    /// What became of the refund asked under `key`: [`RefundAnswer::NotFound`] when the
    /// gateway has none (it never arrived), or [`RefundAnswer::Unknown`] when the gateway
    /// cannot be asked now.
    async fn find_refund(
        &self,
        order: &payment_order::Model,
        amount: i64,
        key: &str,
    ) -> RefundAnswer;
}

/// A gateway's answer about one refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundAnswer {
    /// Refunded, or accepted for processing: the gateway's refund id.
    Refunded(String),
    /// A definite no (the gateway answered and refused): nothing left the platform.
    Refused(String),
    /// No answer to trust: a timeout, a reset connection, a 5xx, a 2xx we cannot read. The
    /// refund may have happened, so its money stays set aside until the gateway is asked.
    Unknown(String),
    /// Asked about a refund, the gateway has none under the key.
    NotFound,
}

/// Reads a gateway's answer to a refund request: a refund of exactly `amount` with an id;
/// a 4xx is a refusal (but 409 and 429, which say "not now", and 408 are not); anything
/// else leaves the outcome unknown.
pub async fn refund_answer(
    gateway: &str,
    res: Result<reqwest::Response, reqwest::Error>,
    amount: i64,
) -> RefundAnswer {
    let res = match res {
        Ok(res) => res,
        Err(e) => return RefundAnswer::Unknown(format!("{gateway} refund call: {e}")),
    };
    let status = res.status();
    let body = match res.bytes().await {
        Ok(b) => b,
        Err(e) => return RefundAnswer::Unknown(format!("reading {gateway} refund: {e}")),
    };
    let text = String::from_utf8_lossy(&body);
    // Stripe answers 400 `idempotency_error` when a key was used with other parameters:
    // that names an earlier request under the key, which may have refunded.
    let key_conflict = text.contains("idempotency_error");
    if status.is_client_error() && ![408, 409, 429].contains(&status.as_u16()) && !key_conflict {
        return RefundAnswer::Refused(format!("{gateway} refund answered {status}: {text}"));
    }
    if !status.is_success() {
        return RefundAnswer::Unknown(format!("{gateway} refund answered {status}: {text}"));
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return RefundAnswer::Unknown(format!("{gateway} refund answer is not JSON: {text}"));
    };
    let state = v["status"].as_str().unwrap_or_default();
    match (v["id"].as_str(), v["amount"].as_i64()) {
        // Stripe may create a refund object that has already failed.
        (Some(_), Some(a)) if a == amount && ["failed", "canceled"].contains(&state) => {
            RefundAnswer::Refused(format!("{gateway} refund is {state}"))
        }
        (Some(id), Some(a)) if a == amount => RefundAnswer::Refunded(id.to_owned()),
        // Something happened at the gateway that is not what we asked: keep the money set
        // aside and let a person look.
        _ => RefundAnswer::Unknown(format!(
            "{gateway} refund answer is not for {amount}: {text}"
        )),
    }
}

/// Reads a gateway's list of one payment's refunds (`items` for Razorpay, `data` for
/// Stripe) and finds the refund whose `key_of` is `key`: refunded unless its status is one
/// of `failed_statuses`.
pub async fn refund_in_list(
    gateway: &str,
    res: Result<reqwest::Response, reqwest::Error>,
    list_field: &str,
    key_of: impl Fn(&serde_json::Value) -> Option<&str>,
    key: &str,
    failed_statuses: &[&str],
) -> RefundAnswer {
    let res = match res {
        Ok(res) => res,
        Err(e) => return RefundAnswer::Unknown(format!("{gateway} refund lookup: {e}")),
    };
    let status = res.status();
    let body = match res.bytes().await {
        Ok(b) if status.is_success() => b,
        Ok(b) => {
            return RefundAnswer::Unknown(format!(
                "{gateway} refund lookup answered {status}: {}",
                String::from_utf8_lossy(&b)
            ));
        }
        Err(e) => return RefundAnswer::Unknown(format!("reading {gateway} refunds: {e}")),
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return RefundAnswer::Unknown(format!("{gateway} refund list is not JSON"));
    };
    let Some(items) = v[list_field].as_array() else {
        return RefundAnswer::Unknown(format!("{gateway} refund list has no {list_field}"));
    };
    let Some(found) = items.iter().find(|r| key_of(r) == Some(key)) else {
        return RefundAnswer::NotFound;
    };
    let state = found["status"].as_str().unwrap_or_default();
    match found["id"].as_str() {
        Some(_) if failed_statuses.contains(&state) => {
            RefundAnswer::Refused(format!("{gateway} refund is {state}"))
        }
        Some(id) => RefundAnswer::Refunded(id.to_owned()),
        None => RefundAnswer::Unknown(format!("{gateway} refund without id")),
    }
}

/// The gateway `payment_gateway` names, with its credentials from the config.
pub fn gateway_from_config(
    cfg: &crate::config::Config,
    http: reqwest::Client,
) -> anyhow::Result<std::sync::Arc<dyn PaymentGateway>> {
    use crate::config::GatewayKind;
    Ok(match cfg.payment_gateway {
        GatewayKind::Razorpay => std::sync::Arc::new(
            razorpay::RazorpayGateway::from_config(cfg, http)
                .ok_or_else(|| anyhow::anyhow!("Razorpay credentials are missing"))?,
        ),
        GatewayKind::Stripe => std::sync::Arc::new(
            stripe::StripeGateway::from_config(cfg, http)
                .ok_or_else(|| anyhow::anyhow!("Stripe credentials are missing"))?,
        ),
        GatewayKind::Sandbox => std::sync::Arc::new(sandbox::SandboxGateway),
    })
}

/// A receipt number: year plus the (unique, random) reference, so it is unique too and
/// reveals nothing about volumes.
pub fn receipt_number(now: DateTime<Utc>, reference: &str) -> String {
    format!("RCPT-{}-{reference}", now.format("%Y"))
}

/// A short, non-sequential human reference: prefix + 10 Crockford base-32 characters.
pub fn human_reference(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    let tail: String = (0..10)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{prefix}{tail}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOutcome {
    /// First delivery of a success: the wallet was credited.
    Credited,
    /// The order had already been credited (another event for it came first).
    AlreadyPaid,
    /// A failure event; the order is marked failed unless it was already paid.
    MarkedFailed,
    /// This event id was processed before; nothing changed.
    Duplicate,
    /// No order matches, or the amount differs: recorded, nothing credited.
    Rejected,
    /// An event type we do not act on.
    Ignored,
}

impl PaymentOutcome {
    fn as_str(self) -> &'static str {
        match self {
            PaymentOutcome::Credited => "credited",
            PaymentOutcome::AlreadyPaid => "already_paid",
            PaymentOutcome::MarkedFailed => "marked_failed",
            PaymentOutcome::Duplicate => "duplicate",
            PaymentOutcome::Rejected => "rejected",
            PaymentOutcome::Ignored => "ignored",
        }
    }
}

/// A verified gateway event, reduced to what matters for a top-up.
pub struct PaymentEvent {
    pub gateway: &'static str,
    pub event_id: String,
    pub event_type: String,
    /// What the event is about, `{event type}:{payment id}`, for gateways whose payment ids
    /// name one attempt (Razorpay): the same event replayed under a new event id is the
    /// same key. `None` where only the event id identifies it.
    pub natural_key: Option<String>,
    pub kind: PaymentEventKind,
    pub raw: String,
}

pub enum PaymentEventKind {
    Succeeded {
        gateway_order_id: String,
        payment_id: String,
        amount: i64,
        currency: String,
    },
    Failed {
        gateway_order_id: String,
    },
    Other,
}

/// Applies one verified event inside the caller's transaction. The event row (unique per
/// gateway and event id, and per gateway and natural key), the order's new state and the ledger credit (keyed by the order,
/// so two different events for one order still credit once) commit together or not at all.
pub async fn apply_event<C: ConnectionTrait>(
    conn: &C,
    event: &PaymentEvent,
    now: DateTime<Utc>,
) -> Result<PaymentOutcome, Error> {
    let row_id = Uuid::now_v7();
    let inserted = webhook_event::Entity::insert(webhook_event::ActiveModel {
        id: Set(row_id),
        gateway: Set(event.gateway.to_owned()),
        event_id: Set(event.event_id.clone()),
        event_type: Set(event.event_type.clone()),
        payload: Set(event.raw.clone()),
        outcome: Set("processing".into()),
        received_at: Set(now),
        natural_key: Set(event.natural_key.clone()),
    })
    // No target: a clash on either unique key, the event id or the natural key, makes the
    // event a duplicate (a replay under a fresh event id changes nothing either).
    .on_conflict(OnConflict::new().do_nothing().to_owned())
    .exec_without_returning(conn)
    .await?;
    if inserted == 0 {
        return Ok(PaymentOutcome::Duplicate);
    }
    let outcome = match &event.kind {
        PaymentEventKind::Other => PaymentOutcome::Ignored,
        PaymentEventKind::Failed { gateway_order_id } => {
            let res = payment_order::Entity::update_many()
                .col_expr(
                    payment_order::Column::Status,
                    Expr::value(PaymentOrderStatus::Failed.as_str()),
                )
                .col_expr(payment_order::Column::UpdatedAt, Expr::value(now))
                .filter(payment_order::Column::Gateway.eq(event.gateway))
                .filter(payment_order::Column::GatewayOrderId.eq(gateway_order_id.as_str()))
                .filter(payment_order::Column::Status.eq(PaymentOrderStatus::Created.as_str()))
                .exec(conn)
                .await?;
            if res.rows_affected == 1 {
                PaymentOutcome::MarkedFailed
            } else {
                PaymentOutcome::Ignored
            }
        }
        PaymentEventKind::Succeeded {
            gateway_order_id,
            payment_id,
            amount,
            currency,
        } => {
            credit_order(
                conn,
                event.gateway,
                gateway_order_id,
                payment_id,
                *amount,
                currency,
                now,
            )
            .await?
        }
    };
    webhook_event::Entity::update_many()
        .col_expr(
            webhook_event::Column::Outcome,
            Expr::value(outcome.as_str()),
        )
        .filter(webhook_event::Column::Id.eq(row_id))
        .exec(conn)
        .await?;
    Ok(outcome)
}

async fn credit_order<C: ConnectionTrait>(
    conn: &C,
    gateway: &'static str,
    gateway_order_id: &str,
    payment_id: &str,
    amount: i64,
    currency: &str,
    now: DateTime<Utc>,
) -> Result<PaymentOutcome, Error> {
    let Some(order) = payment_order::Entity::find()
        .filter(payment_order::Column::Gateway.eq(gateway))
        .filter(payment_order::Column::GatewayOrderId.eq(gateway_order_id))
        .lock_exclusive()
        .one(conn)
        .await?
    else {
        tracing::warn!(gateway, gateway_order_id, "payment for an unknown order");
        return Ok(PaymentOutcome::Rejected);
    };
    if order.status == PaymentOrderStatus::Paid.as_str() {
        return Ok(PaymentOutcome::AlreadyPaid);
    }
    // The order says what was asked; an event for another amount credits nothing.
    if order.amount != amount || !order.currency.eq_ignore_ascii_case(currency) {
        tracing::error!(order = %order.id, amount, currency, "payment amount differs from the order");
        return Ok(PaymentOutcome::Rejected);
    }
    let cur = Currency::parse(&order.currency).map_err(|m| Error::internal(anyhow::anyhow!(m)))?;
    let applied = ledger::transfer(
        conn,
        TransferRequest {
            debit: AccountRef::gateway(gateway, cur),
            credit: AccountRef::wallet(order.user_id, cur),
            amount: order.amount,
            kind: "topup".into(),
            reference: format!("topup:{}", order.reference),
            idempotency_key: format!("topup:{}", order.id),
            hold_id: None,
            description: format!("Top-up {}", order.reference),
        },
        now,
    )
    .await
    .map_err(|e| match e {
        // The money reached the gateway but may not move into a frozen wallet: answer an
        // error so the gateway redelivers after the wallet is unfrozen.
        LedgerError::WalletFrozen => Error::new(
            Kind::Unavailable,
            "wallet_frozen_retry",
            "The wallet is frozen; deliver this event again later",
        ),
        other => other.into(),
    })?;
    let bonus = topup_bonus(conn, &order, cur, now).await?;
    if order.package_bonus > 0 {
        ledger::transfer(
            conn,
            TransferRequest {
                debit: AccountRef::platform(ledger::AccountKind::PromotionsExpense, cur),
                credit: AccountRef::wallet(order.user_id, cur),
                amount: order.package_bonus,
                kind: "package_bonus".into(),
                reference: format!("topup:{}", order.reference),
                idempotency_key: format!("topup-package:{}", order.id),
                hold_id: None,
                description: format!("Package bonus on top-up {}", order.reference),
            },
            now,
        )
        .await?;
    }
    payment_order::Entity::update_many()
        .col_expr(payment_order::Column::Discount, Expr::value(bonus))
        .col_expr(
            payment_order::Column::Status,
            Expr::value(PaymentOrderStatus::Paid.as_str()),
        )
        .col_expr(
            payment_order::Column::ReceiptNumber,
            Expr::value(receipt_number(now, &order.reference)),
        )
        .col_expr(
            payment_order::Column::GatewayPaymentId,
            Expr::value(payment_id),
        )
        .col_expr(
            payment_order::Column::CreditTransferId,
            Expr::value(applied.transfer().id),
        )
        .col_expr(payment_order::Column::PaidAt, Expr::value(now))
        .col_expr(payment_order::Column::UpdatedAt, Expr::value(now))
        .filter(payment_order::Column::Id.eq(order.id))
        .exec(conn)
        .await?;
    audit::record(
        conn,
        &Actor::system(),
        Change {
            action: "wallet.topup",
            target_type: "payment_order",
            target_id: order.id.to_string(),
            before: Some(json!({"status": order.status})),
            after: Some(json!({"status": "paid", "amount": order.amount, "bonus": bonus, "currency": order.currency, "gateway": gateway, "payment_id": payment_id, "transfer_id": applied.transfer().id})),
        },
        now,
    )
    .await?;
    crate::notifications::notify(
        conn,
        now,
        order.user_id,
        "topup.credited",
        json!({
            "amount": crate::notifications::format_money(order.amount + bonus + order.package_bonus, &order.currency),
            "reference": order.reference,
        }),
    )
    .await?;
    Ok(PaymentOutcome::Credited)
}

/// Redeems the order's promo code, now that it is paid, and credits its discount from the
/// promotions budget. If the code ran out between quote and payment, the client still gets
/// what they paid for, and nothing more.
async fn topup_bonus<C: ConnectionTrait>(
    conn: &C,
    order: &payment_order::Model,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<i64, Error> {
    let (Some(promo), true) = (order.promo_code_id, order.discount > 0) else {
        return Ok(0);
    };
    // The price the code was quoted on: what the client pays plus the code's discount.
    let price = order.amount + order.discount;
    let reference = format!("topup:{}", order.id);
    let redeemed = crate::promos::redeem(
        conn,
        &crate::promos::Redemption {
            promo_id: promo,
            user: order.user_id,
            context: crate::promos::rules::Context::Topup,
            reference: &reference,
            price,
            currency: currency.as_str(),
        },
        now,
    )
    .await?;
    let bonus = match redeemed {
        Ok(d) => d.min(order.discount),
        Err(refusal) => {
            tracing::warn!(order = %order.id, ?refusal, "promo no longer applies at payment; no bonus");
            return Ok(0);
        }
    };
    if bonus > 0 {
        ledger::transfer(
            conn,
            TransferRequest {
                debit: AccountRef::platform(ledger::AccountKind::PromotionsExpense, currency),
                credit: AccountRef::wallet(order.user_id, currency),
                amount: bonus,
                kind: "promo".into(),
                reference: format!("topup:{}", order.reference),
                idempotency_key: format!("topup-promo:{}", order.id),
                hold_id: None,
                description: format!("Promo on top-up {}", order.reference),
            },
            now,
        )
        .await?;
    }
    Ok(bonus)
}
