//! Refunds of top-ups back through the gateway they came in by: partial or whole, never more
//! than was paid, audited.
//!
//! The gateway call happens outside any database transaction, so the money is first set
//! aside with a hold (it can no longer be spent), then the gateway is asked, then the hold
//! is captured into the gateway's clearing account, or released if the gateway refused.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Duration;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::human_reference;
use crate::app::AppState;
use crate::audit::{self, Actor, Change};
use crate::auth::AdminUser;
use crate::db::entity::{payment_order, refund};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, ClientMeta};
use crate::idempotency::{IdempotencyKey, fingerprint};
use crate::ledger::holds::{self, HoldRequest};
use crate::ledger::{AccountRef, Currency};
use crate::validate::Check;
use crate::wallet::routes::CreditReason;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(refund_topup))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Minor units; at most what was paid and not yet refunded.
    pub amount: i64,
    pub reason: CreditReason,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    pub id: Uuid,
    /// Human reference, e.g. `RF4K9M2Q7XAB`.
    pub reference: String,
    pub topup_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub gateway_refund_id: Option<String>,
    /// Refunded on this top-up so far, this refund included.
    pub refunded_total: i64,
}

/// Refund (part of) a paid top-up back through its gateway. The money leaves the client's
/// wallet; a wallet that no longer holds it cannot be refunded from. Requires
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/admin/topups/{id}/refunds", tag = "admin",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = RefundRequest,
    responses((status = 201, body = RefundView), (status = 402, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem)),
    security(("bearer" = [])))]
async fn refund_topup(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RefundRequest>,
) -> ApiResult<Response> {
    let fp = fingerprint("POST", &format!("/api/v1/admin/topups/{id}/refunds"), &body);
    if let Some(replayed) = key.replay(&app.db, admin.0.id, &fp).await? {
        return Ok(replayed);
    }
    let mut c = Check::new();
    c.range("amount", body.amount, 1, crate::ledger::MAX_AMOUNT);
    let note = c
        .opt_text("note", body.note.as_deref(), 1000)
        .unwrap_or_default();
    c.finish()?;
    let now = app.clock.now();

    // 1. Claim the amount on the order and set the money aside, in one transaction.
    let txn = crate::db::begin_write(&app.db).await?;
    let order = payment_order::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Top-up"))?;
    if order.status != "paid" {
        return Err(ApiError::conflict(
            "not_paid",
            "Only a paid top-up can be refunded",
        ));
    }
    if order.gateway != app.gateway.name() {
        return Err(ApiError::conflict(
            "gateway_changed",
            "This top-up came through a gateway that is no longer configured",
        ));
    }
    let claimed = payment_order::Entity::update_many()
        .col_expr(
            payment_order::Column::Refunded,
            Expr::col(payment_order::Column::Refunded).add(body.amount),
        )
        .col_expr(payment_order::Column::UpdatedAt, Expr::value(now))
        .filter(payment_order::Column::Id.eq(id))
        .filter(
            Expr::col(payment_order::Column::Refunded)
                .add(body.amount)
                .lte(Expr::col(payment_order::Column::Amount)),
        )
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(ApiError::conflict(
            "refund_exceeds_payment",
            format!(
                "At most {} can still be refunded on this top-up",
                order.amount - order.refunded
            ),
        ));
    }
    let currency =
        Currency::parse(&order.currency).map_err(|m| ApiError::internal(anyhow::anyhow!(m)))?;
    let refund_id = Uuid::now_v7();
    let hold_key = format!("refund-hold:{refund_id}");
    let hold = holds::place(
        &txn,
        HoldRequest {
            user: order.user_id,
            currency,
            amount: body.amount,
            reference: &format!("refund:{}", order.reference),
            key: &hold_key,
            expires_at: now + Duration::days(7),
        },
        now,
    )
    .await?;
    let row = refund::ActiveModel {
        id: Set(refund_id),
        reference: Set(human_reference("RF")),
        payment_order_id: Set(order.id),
        user_id: Set(order.user_id),
        amount: Set(body.amount),
        currency: Set(order.currency.clone()),
        reason: Set(serde_json::to_value(body.reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()),
        note: Set(note.clone()),
        status: Set("pending".into()),
        gateway_refund_id: Set(None),
        hold_id: Set(hold.id),
        created_by: Set(admin.0.id),
        idempotency_key: Set(key.0.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        if crate::error::unique_violation(&e).is_some() {
            ApiError::conflict(
                "idempotency_in_progress",
                "A refund with this Idempotency-Key is being processed; retry",
            )
        } else {
            e.into()
        }
    })?;
    txn.commit().await?;

    // 2. Ask the gateway, outside any transaction.
    let outcome = app
        .gateway
        .refund(&order, body.amount, &gateway_key(&order, &row))
        .await;

    // 3. Settle the hold according to the answer.
    let refund_row = refund::Entity::find_by_id(refund_id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("refund row vanished")))?;
    let settled = settle(
        &app,
        &refund_row,
        &order,
        outcome.as_deref().map_err(|e| e.to_string()),
        &Actor::user(&admin.0, &meta),
    )
    .await?;
    match settled {
        Settled::Succeeded(gateway_refund_id) | Settled::Already(Some(gateway_refund_id)) => {
            let now = app.clock.now();
            let view = RefundView {
                id: refund_id,
                reference: row.reference,
                topup_id: order.id,
                amount: body.amount,
                currency: order.currency,
                status: "succeeded".into(),
                gateway_refund_id: Some(gateway_refund_id),
                refunded_total: order.refunded + body.amount,
            };
            let txn = crate::db::begin_write(&app.db).await?;
            let res = key
                .save(&txn, admin.0.id, &fp, StatusCode::CREATED, &view, now)
                .await?;
            txn.commit().await?;
            Ok(res)
        }
        Settled::Failed | Settled::Already(None) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "gateway_refund_failed",
            "The gateway did not accept the refund; nothing was taken",
        )),
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

/// Applies the gateway's answer to a pending refund, once: the status moves out of
/// `pending` in the same transaction as the hold is captured or released, so the request
/// and the sweeper can never both settle it.
pub async fn settle(
    app: &AppState,
    r: &refund::Model,
    order: &payment_order::Model,
    outcome: Result<&str, String>,
    actor: &Actor,
) -> ApiResult<Settled> {
    let now = app.clock.now();
    let currency =
        Currency::parse(&order.currency).map_err(|m| ApiError::internal(anyhow::anyhow!(m)))?;
    let txn = crate::db::begin_write(&app.db).await?;
    let status = if outcome.is_ok() {
        "succeeded"
    } else {
        "failed"
    };
    let mut claim = refund::Entity::update_many()
        .col_expr(refund::Column::Status, Expr::value(status))
        .col_expr(refund::Column::UpdatedAt, Expr::value(now))
        .filter(refund::Column::Id.eq(r.id))
        .filter(refund::Column::Status.eq("pending"));
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
            (c.status == "succeeded")
                .then_some(c.gateway_refund_id)
                .flatten()
        })));
    }
    let settled = match outcome {
        Ok(gateway_refund_id) => {
            holds::capture(
                &txn,
                r.hold_id,
                &[(AccountRef::gateway(&order.gateway, currency), r.amount)],
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
                    after: Some(json!({"amount": r.amount, "reason": r.reason, "note": r.note,
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
            holds::release(&txn, r.hold_id, "released", now).await?;
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

/// Refunds left `pending` by a crash between asking the gateway and recording its answer:
/// ask again with the same idempotency key and settle. A gateway error leaves the refund
/// pending for the next sweep (the money stays set aside, never lost or doubled).
pub async fn sweep(app: &AppState) -> ApiResult<u32> {
    let cutoff = app.clock.now() - Duration::seconds(app.config.refund_stuck_after_secs);
    let stuck = refund::Entity::find()
        .filter(refund::Column::Status.eq("pending"))
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
        match app
            .gateway
            .refund(&order, r.amount, &gateway_key(&order, &r))
            .await
        {
            Ok(id) => {
                settle(app, &r, &order, Ok(&id), &Actor::system()).await?;
                settled += 1;
            }
            Err(e) => tracing::warn!(error = %e, refund = %r.id, "stuck refund still not answered"),
        }
    }
    Ok(settled)
}
