//! Refunds of top-ups back through the gateway they came in by: partial or whole, never more
//! than was paid, audited.
//!
//! The gateway call happens outside any database transaction, so the money is first set
//! aside with a hold (it can no longer be spent), then the gateway is asked, then the hold
//! is captured into the gateway's clearing account, or released if the gateway refused.
//!
//! Only a definite refusal releases the hold. A timeout, a reset connection or a 5xx may
//! hide a refund the gateway made, so the refund stays `pending` with its hold, and no
//! other refund of the top-up may start, until the sweeper has asked the gateway what became
//! of it (otherwise a retry under a new key could refund twice at the bank).
//!
//! A top-up that brought a package bonus or promo credit gives it back in proportion: a
//! refund of X of a paid P takes back X/P of the extra credit too (see [`clawback`]), held
//! and captured with the refund, into the promotions account that paid it. A wallet that has
//! spent it cannot be refunded from.

use chrono::Duration;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::RefundAnswer;
use super::human_reference;
use crate::Services;
use crate::audit::{self, Actor, Change};
use crate::error::{Error, Kind, Result};
use crate::ledger::holds::{self, HoldRequest};
use crate::ledger::{AccountKind, AccountRef, MAX_AMOUNT, stored_currency};
use crate::wallet::CreditReason;
use store::entity::{payment_order, refund};
use store::status::{HoldStatus, PaymentOrderStatus, RefundStatus};

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    pub id: Uuid,
    /// Human reference, e.g. `RF4K9M2Q7XAB`.
    pub reference: String,
    pub topup_id: Uuid,
    /// Sent back through the gateway.
    pub amount: i64,
    /// Package bonus and promo credit taken back from the wallet with it.
    pub clawback: i64,
    pub currency: String,
    /// `succeeded`, `pending` (the gateway's answer is not known yet; the money stays set
    /// aside until the sweeper learns it) or `failed`.
    pub status: String,
    pub gateway_refund_id: Option<String>,
    /// Refunded on this top-up so far, this refund included.
    pub refunded_total: i64,
}

/// The extra credit (package bonus plus promo credit) a refund of `refunding` takes back,
/// when `refunded_before` of the `paid` amount was refunded already. Cumulative shares
/// rounded down, so partial refunds never take more than the whole, and refunding
/// everything takes back exactly everything.
pub fn clawback(extra: i64, paid: i64, refunded_before: i64, refunding: i64) -> i64 {
    if paid <= 0 || extra <= 0 {
        return 0;
    }
    let share = |refunded: i64| {
        let refunded = refunded.clamp(0, paid);
        i64::try_from(i128::from(extra) * i128::from(refunded) / i128::from(paid)).unwrap_or(extra)
    };
    share(refunded_before + refunding) - share(refunded_before)
}

pub fn view_of(r: &refund::Model, refunded_total: i64) -> RefundView {
    RefundView {
        id: r.id,
        reference: r.reference.clone(),
        topup_id: r.payment_order_id,
        amount: r.amount,
        clawback: r.clawback,
        currency: r.currency.clone(),
        status: r.status.clone(),
        gateway_refund_id: r.gateway_refund_id.clone(),
        refunded_total,
    }
}

pub fn refused() -> Error {
    Error::new(
        Kind::BadGateway,
        "gateway_refund_failed",
        "The gateway refused the refund; nothing was taken",
    )
}

/// Applies the gateway's answer to a pending refund, once: the status moves out of
/// `pending` in the same transaction as the hold is captured or released, so the request
/// and the sweeper can never both settle it.
pub async fn settle(
    app: &Services,
    r: &refund::Model,
    order: &payment_order::Model,
    outcome: Result<&str, String>,
    actor: &Actor,
) -> Result<Settled> {
    let now = app.clock.now();
    let currency = stored_currency(&order.currency)?;
    let txn = store::begin_write(&app.db).await?;
    let status = if outcome.is_ok() {
        RefundStatus::Succeeded.as_str()
    } else {
        RefundStatus::Failed.as_str()
    };
    let mut claim = refund::Entity::update_many()
        .col_expr(refund::Column::Status, Expr::value(status))
        .col_expr(refund::Column::UpdatedAt, Expr::value(now))
        .filter(refund::Column::Id.eq(r.id))
        .filter(refund::Column::Status.eq(RefundStatus::Pending.as_str()));
    if let Ok(gateway_refund_id) = outcome {
        claim = claim.col_expr(
            refund::Column::GatewayRefundId,
            Expr::value(gateway_refund_id.to_owned()),
        );
    }
    if claim.exec(&txn).await?.rows_affected != 1 {
        drop(txn);
        let current = refund::Entity::find_by_id(r.id).one(&app.db).await?;
        return Ok(Settled::Already(current.and_then(|c| {
            (c.status == RefundStatus::Succeeded.as_str())
                .then_some(c.gateway_refund_id)
                .flatten()
        })));
    }
    let settled = match outcome {
        Ok(gateway_refund_id) => {
            holds::capture(
                &txn,
                r.hold_id,
                &[
                    (AccountRef::gateway(&order.gateway, currency), r.amount),
                    (
                        AccountRef::platform(AccountKind::PromotionsExpense, currency),
                        r.clawback,
                    ),
                ],
                "refund",
                &format!("refund:{}", r.id),
                now,
            )
            .await?;
            audit::record(
                &txn,
                actor,
                Change {
                    action: "topup.refund",
                    target_type: "payment_order",
                    target_id: order.id.to_string(),
                    before: None,
                    after: Some(json!({"amount": r.amount, "clawback": r.clawback, "reason": r.reason, "note": r.note,
                                       "refund": r.reference, "gateway_refund_id": gateway_refund_id})),
                },
                now,
            )
            .await?;
            crate::notifications::notify(
                &txn,
                now,
                order.user_id,
                "refund.issued",
                json!({
                    "amount": crate::notifications::format_money(r.amount, &order.currency),
                    "reference": r.reference,
                    "topup_reference": order.reference,
                }),
            )
            .await?;
            Settled::Succeeded(gateway_refund_id.to_owned())
        }
        Err(err) => {
            tracing::error!(error = %err, refund = %r.id, "gateway refused the refund");
            holds::release(&txn, r.hold_id, HoldStatus::Released.as_str(), now).await?;
            payment_order::Entity::update_many()
                .col_expr(
                    payment_order::Column::Refunded,
                    Expr::col(payment_order::Column::Refunded).sub(r.amount),
                )
                .filter(payment_order::Column::Id.eq(order.id))
                .exec(&txn)
                .await?;
            Settled::Failed
        }
    };
    txn.commit().await?;
    app.job_wakeup.notify_one();
    Ok(settled)
}

/// The gateway idempotency key of a refund: the same on every attempt, so asking again
/// after a crash cannot refund twice at the gateway.
pub fn gateway_key(order: &payment_order::Model, r: &refund::Model) -> String {
    format!("{}-{}", order.id.simple(), r.reference)
}

/// Refunds left `pending` by a crash between asking the gateway and recording its answer, or
/// by an answer that never came: ask the gateway what became of each (by its key) and
/// settle it. A refund the gateway never received is asked for again under the same key; a
/// gateway that still cannot answer leaves it pending for the next sweep (the money stays
/// set aside, never lost or doubled).
pub async fn sweep(app: &Services) -> Result<u32> {
    let cutoff = app.clock.now() - Duration::seconds(app.config.refund_stuck_after_secs);
    let stuck = refund::Entity::find()
        .filter(refund::Column::Status.eq(RefundStatus::Pending.as_str()))
        .filter(refund::Column::UpdatedAt.lt(cutoff))
        .all(&app.db)
        .await?;
    let mut settled = 0;
    for r in stuck {
        let Some(order) = payment_order::Entity::find_by_id(r.payment_order_id)
            .one(&app.db)
            .await?
        else {
            continue;
        };
        // Only the gateway the money came in by can say what became of it; after a switch,
        // asking another one would settle it on no evidence.
        if order.gateway != app.gateway.name() {
            tracing::error!(refund = %r.id, gateway = %order.gateway,
                "pending refund of a gateway no longer configured; settle it by hand");
            continue;
        }
        let key = gateway_key(&order, &r);
        let mut answer = app.gateway.find_refund(&order, r.amount, &key).await;
        if answer == RefundAnswer::NotFound {
            answer = app.gateway.refund(&order, r.amount, &key).await;
        }
        let outcome = match answer {
            RefundAnswer::Refunded(id) => Ok(id),
            RefundAnswer::Refused(why) => Err(why),
            RefundAnswer::NotFound => continue,
            RefundAnswer::Unknown(why) => {
                tracing::warn!(error = %why, refund = %r.id, "pending refund still not answered");
                continue;
            }
        };
        // One refund that cannot be settled now holds up none of the others.
        match settle(
            app,
            &r,
            &order,
            outcome.as_deref().map_err(String::clone),
            &Actor::system(),
        )
        .await
        {
            Ok(_) => settled += 1,
            Err(e) => tracing::warn!(error = ?e, refund = %r.id, "pending refund not settled"),
        }
    }
    Ok(settled)
}

#[cfg(test)]
mod tests {
    use super::clawback;
    use proptest::prelude::*;

    #[test]
    fn a_whole_refund_takes_back_the_whole_bonus() {
        // Bought 1,000 with a 500 bonus: refunding the 1,000 takes back the 500 too.
        assert_eq!(clawback(50_000, 100_000, 0, 100_000), 50_000);
        // Half now, half later.
        assert_eq!(clawback(50_000, 100_000, 0, 50_000), 25_000);
        assert_eq!(clawback(50_000, 100_000, 50_000, 50_000), 25_000);
        assert_eq!(clawback(0, 100_000, 0, 100_000), 0);
        // Odd shares round down until the last refund takes the remainder.
        assert_eq!(clawback(100, 300, 0, 100), 33);
        assert_eq!(clawback(100, 300, 100, 100), 33);
        assert_eq!(clawback(100, 300, 200, 100), 34);
    }

    proptest! {
        #[test]
        fn partial_refunds_take_back_exactly_the_extra_in_all(
            extra in 0i64..10_000_000,
            parts in proptest::collection::vec(1i64..100_000, 1..8),
        ) {
            let paid: i64 = parts.iter().sum();
            let mut before = 0;
            let mut taken = 0;
            for p in &parts {
                let c = clawback(extra, paid, before, *p);
                prop_assert!(c >= 0);
                taken += c;
                before += p;
                prop_assert!(taken <= extra);
            }
            prop_assert_eq!(taken, extra);
        }
    }
}

/// How a pending refund ended.
#[derive(Debug)]
pub enum Settled {
    /// The gateway refunded: the hold was captured into its clearing account.
    Succeeded(String),
    /// The gateway refused: the hold was released and the order's refunded total restored.
    Failed,
    /// Someone else (the request or the sweeper) settled it first; its gateway id if it
    /// succeeded.
    Already(Option<String>),
}

/// What an admin asked for when refunding a top-up.
#[derive(Debug, Clone)]
pub struct RefundOrder<'a> {
    pub topup: Uuid,
    /// Minor units sent back through the gateway.
    pub amount: i64,
    pub reason: CreditReason,
    pub note: &'a str,
    /// The admin's idempotency key; a retry under it answers the refund's current state.
    pub key: &'a str,
}

/// Where a requested refund stands once this call returns.
#[derive(Debug)]
pub enum Requested {
    /// The gateway refunded it; the money left the wallet.
    Succeeded(RefundView),
    /// The gateway's answer is not known yet: the money stays set aside until the sweeper
    /// learns it.
    Pending(RefundView),
}

/// Refunds (part of) a paid top-up back through its gateway: claims the amount on the order
/// and sets the money aside (with the share of any bonus or promo credit it brought) in one
/// transaction, asks the gateway outside any transaction, then settles by its answer. A
/// definite refusal is an error and releases the money; an unknown answer leaves the refund
/// pending. A retry under the same key answers what became of the first attempt.
pub async fn request(app: &Services, actor: &Actor, order: RefundOrder<'_>) -> Result<Requested> {
    if let Some(earlier) = refund::Entity::find()
        .filter(refund::Column::IdempotencyKey.eq(order.key))
        .one(&app.db)
        .await?
    {
        if earlier.payment_order_id != order.topup || earlier.amount != order.amount {
            return Err(Error::conflict(
                "idempotency_key_reused",
                "This Idempotency-Key was used for another refund",
            ));
        }
        let total = payment_order::Entity::find_by_id(order.topup)
            .one(&app.db)
            .await?
            .map_or(0, |o| o.refunded);
        let view = view_of(&earlier, total);
        return match earlier.status.parse::<RefundStatus>() {
            Ok(RefundStatus::Failed) => Err(refused()),
            Ok(RefundStatus::Pending) => Ok(Requested::Pending(view)),
            Ok(RefundStatus::Succeeded) => Ok(Requested::Succeeded(view)),
            Err(_) => Err(Error::internal(anyhow::anyhow!(
                "refund {} has the status {:?}",
                earlier.id,
                earlier.status
            ))),
        };
    }
    if !(1..=MAX_AMOUNT).contains(&order.amount) {
        return Err(Error::field(
            "amount",
            "out_of_range",
            format!("must be between 1 and {MAX_AMOUNT}"),
        ));
    }
    let admin = actor
        .id
        .ok_or_else(|| Error::forbidden("admin_only", "Only an admin can refund a top-up"))?;
    let now = app.clock.now();

    // 1. Claim the amount on the order and set the money aside, in one transaction.
    let txn = store::begin_write(&app.db).await?;
    let topup = payment_order::Entity::find_by_id(order.topup)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("Top-up"))?;
    if topup.status != PaymentOrderStatus::Paid.as_str() {
        return Err(Error::conflict(
            "not_paid",
            "Only a paid top-up can be refunded",
        ));
    }
    if topup.gateway != app.gateway.name() {
        return Err(Error::conflict(
            "gateway_changed",
            "This top-up came through a gateway that is no longer configured",
        ));
    }
    if refund::Entity::find()
        .filter(refund::Column::PaymentOrderId.eq(topup.id))
        .filter(refund::Column::Status.eq(RefundStatus::Pending.as_str()))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(Error::conflict(
            "refund_pending",
            "Another refund of this top-up is waiting for the gateway's answer; try again once it is settled",
        ));
    }
    let claimed = payment_order::Entity::update_many()
        .col_expr(
            payment_order::Column::Refunded,
            Expr::col(payment_order::Column::Refunded).add(order.amount),
        )
        .col_expr(payment_order::Column::UpdatedAt, Expr::value(now))
        .filter(payment_order::Column::Id.eq(topup.id))
        .filter(
            Expr::col(payment_order::Column::Refunded)
                .add(order.amount)
                .lte(Expr::col(payment_order::Column::Amount)),
        )
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(Error::conflict(
            "refund_exceeds_payment",
            format!(
                "At most {} can still be refunded on this top-up",
                topup.amount - topup.refunded
            ),
        ));
    }
    let currency = stored_currency(&topup.currency)?;
    let refund_id = Uuid::now_v7();
    let taken_back = clawback(
        topup.discount + topup.package_bonus,
        topup.amount,
        topup.refunded,
        order.amount,
    );
    let hold = holds::place(
        &txn,
        HoldRequest {
            user: topup.user_id,
            currency,
            amount: order.amount + taken_back,
            reference: &format!("refund:{}", topup.reference),
            key: &format!("refund-hold:{refund_id}"),
            expires_at: now + Duration::days(7),
        },
        now,
    )
    .await?;
    let row = refund::ActiveModel {
        id: Set(refund_id),
        reference: Set(human_reference("RF")),
        payment_order_id: Set(topup.id),
        user_id: Set(topup.user_id),
        amount: Set(order.amount),
        clawback: Set(taken_back),
        currency: Set(topup.currency.clone()),
        reason: Set(order.reason.as_str().to_owned()),
        note: Set(order.note.to_owned()),
        status: Set(RefundStatus::Pending.as_str().into()),
        gateway_refund_id: Set(None),
        hold_id: Set(hold.id),
        created_by: Set(admin),
        idempotency_key: Set(order.key.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(crate::error::conflict_on_unique(
        "idempotency_in_progress",
        "A refund with this Idempotency-Key is being processed; retry",
    ))?;
    txn.commit().await?;
    let refunded_total = topup.refunded + order.amount;

    // 2. Ask the gateway, outside any transaction.
    let answer = app
        .gateway
        .refund(&topup, order.amount, &gateway_key(&topup, &row))
        .await;

    // 3. Settle the hold according to the answer; an unknown answer settles nothing.
    let outcome = match answer {
        RefundAnswer::Refunded(id) => Ok(id),
        RefundAnswer::Refused(why) => Err(why),
        RefundAnswer::NotFound => {
            tracing::warn!(refund = %row.id, "the gateway answered a refund with nothing; left pending");
            return Ok(Requested::Pending(view_of(&row, refunded_total)));
        }
        RefundAnswer::Unknown(why) => {
            tracing::warn!(refund = %row.id, error = %why, "refund answer unknown; left pending for the sweeper");
            return Ok(Requested::Pending(view_of(&row, refunded_total)));
        }
    };
    match settle(
        app,
        &row,
        &topup,
        outcome.as_deref().map_err(String::clone),
        actor,
    )
    .await?
    {
        Settled::Succeeded(gateway_refund_id) | Settled::Already(Some(gateway_refund_id)) => {
            Ok(Requested::Succeeded(RefundView {
                status: RefundStatus::Succeeded.as_str().into(),
                gateway_refund_id: Some(gateway_refund_id),
                ..view_of(&row, refunded_total)
            }))
        }
        Settled::Failed | Settled::Already(None) => Err(refused()),
    }
}
