//! Starting a top-up: the amount (a credit package's price, or what the client asked for),
//! the promo code through the one `promos::quote`, the order at the gateway, then the
//! order's row. Nothing is credited here; the gateway's signed webhook does that, once.
//!
//! Two steps, because the gateway is called outside any transaction: [`open`] asks the
//! gateway, [`Opened::record`] writes the row inside the caller's transaction (where the
//! server also keeps the idempotent answer, so a retry finds the same order).

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use super::{GatewayOrder, NewOrder, human_reference};
use crate::Services;
use crate::error::{Error, Kind, Result};
use crate::ledger::Currency;
use crate::promos::{self, rules::Context};
use store::WriteTxn;
use store::entity::{credit_package, payment_order};
use store::status::PaymentOrderStatus;

/// Smallest and largest top-up, in minor units (₹1 and ₹1,00,000 for INR).
pub const MIN_TOPUP: i64 = 100;
pub const MAX_TOPUP: i64 = 10_000_000;

/// What a client asked to pay: a package on sale, or an amount, in a currency.
#[derive(Debug, Clone)]
pub struct TopupOrder<'a> {
    pub user: Uuid,
    pub package: Option<credit_package::Model>,
    pub amount: i64,
    pub currency: Currency,
    pub promo_code: Option<&'a str>,
}

/// A top-up the gateway has accepted, not yet recorded.
pub struct Opened {
    user: Uuid,
    order: NewOrder,
    gateway: String,
    gateway_order: GatewayOrder,
    promo_id: Option<Uuid>,
    discount: i64,
    package: Option<credit_package::Model>,
}

/// Prices the top-up (the package's price, less any promo discount) and opens the order at
/// the gateway.
pub async fn open(app: &Services, t: TopupOrder<'_>) -> Result<Opened> {
    if let Some(p) = &t.package {
        if t.amount != p.price {
            return Err(Error::field(
                "amount",
                "amount_mismatch",
                "must be omitted or equal the package price",
            ));
        }
        if p.currency != t.currency.as_str() {
            return Err(Error::field(
                "currency",
                "invalid_currency",
                "differs from the package's currency",
            ));
        }
    }
    if !(MIN_TOPUP..=MAX_TOPUP).contains(&t.amount) {
        return Err(Error::field(
            "amount",
            "out_of_range",
            format!("must be between {MIN_TOPUP} and {MAX_TOPUP}"),
        ));
    }
    let now = app.clock.now();
    let quote = promos::quote(
        &app.db,
        t.user,
        t.promo_code,
        t.amount,
        t.currency.as_str(),
        Context::Topup,
        now,
    )
    .await?;
    if let Some(why) = quote.refusal {
        return Err(promos::refused(why));
    }
    if quote.final_amount < MIN_TOPUP {
        return Err(Error::field(
            "promo_code",
            "promo_refused",
            "The code leaves less than the smallest payment",
        ));
    }
    let order = NewOrder {
        id: Uuid::now_v7(),
        reference: human_reference("TP"),
        amount: quote.final_amount,
        currency: t.currency,
    };
    let gateway_order = app
        .gateway
        .create_order(&order, &app.public_url())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "gateway refused the order");
            Error::new(
                Kind::BadGateway,
                "gateway_unavailable",
                "The payment gateway did not accept the order; try again",
            )
        })?;
    Ok(Opened {
        user: t.user,
        order,
        gateway: app.gateway.name().to_owned(),
        gateway_order,
        promo_id: quote.promo_id,
        discount: quote.discount,
        package: t.package,
    })
}

impl Opened {
    /// Writes the order's row inside the caller's transaction. Returns it with the client
    /// secret the gateway gave for paying in the page (Stripe), which is never stored.
    pub async fn record(
        self,
        txn: &WriteTxn,
        now: DateTime<Utc>,
    ) -> Result<(payment_order::Model, Option<String>)> {
        let row = payment_order::ActiveModel {
            id: Set(self.order.id),
            reference: Set(self.order.reference),
            user_id: Set(self.user),
            amount: Set(self.order.amount),
            currency: Set(self.order.currency.as_str().to_owned()),
            gateway: Set(self.gateway),
            gateway_order_id: Set(self.gateway_order.gateway_order_id),
            gateway_payment_id: Set(None),
            status: Set(PaymentOrderStatus::Created.as_str().into()),
            checkout_url: Set(self.gateway_order.checkout_url),
            credit_transfer_id: Set(None),
            promo_code_id: Set(self.promo_id),
            discount: Set(self.discount),
            package_id: Set(self.package.as_ref().map(|p| p.id)),
            package_bonus: Set(self.package.as_ref().map_or(0, |p| p.credit - p.price)),
            refunded: Set(0),
            receipt_number: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            paid_at: Set(None),
        }
        .insert(txn)
        .await?;
        Ok((row, self.gateway_order.client_secret))
    }
}
