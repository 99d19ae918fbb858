//! The admin's refund of a top-up over HTTP; the refund rules, the gateway round trip and
//! the sweeper are in `domain::payments::refunds`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, ClientMeta};
use crate::idempotency::{IdempotencyKey, fingerprint};
use crate::wallet::routes::CreditReason;
use domain::ledger::Currency;
use domain::ledger::holds::{self, HoldRequest};
use domain::payments::refunds::{
    RefundView, Settled, clawback, gateway_key, refused, settle, view_of,
};
use domain::payments::{RefundAnswer, human_reference};
use domain::validate::Check;
use store::entity::{payment_order, refund};

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

/// The answer for a refund the gateway has not settled yet: 202, with the row as it is.
fn pending_answer(view: RefundView) -> Response {
    (StatusCode::ACCEPTED, ApiJson(view)).into_response()
}

/// Refund (part of) a paid top-up back through its gateway. The money leaves the client's
/// wallet, with the same share of any package bonus or promo credit the top-up brought; a
/// wallet that no longer holds it cannot be refunded from. 201 when the gateway refunded;
/// 202 when its answer is not known yet (the refund stays `pending`, its money set aside,
/// until the sweeper asks the gateway); 409 `refund_pending` while another refund of the
/// top-up is pending. Requires `Idempotency-Key`; a retry under the same key answers the
/// refund's current state.
#[utoipa::path(post, path = "/api/v1/admin/topups/{id}/refunds", tag = "admin",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = RefundRequest,
    responses((status = 201, body = RefundView), (status = 202, body = RefundView), (status = 402, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem)),
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
    // A retry of a refund whose gateway answer was unknown: say where it stands now.
    if let Some(earlier) = refund::Entity::find()
        .filter(refund::Column::IdempotencyKey.eq(key.0.as_str()))
        .one(&app.db)
        .await?
    {
        if earlier.payment_order_id != id || earlier.amount != body.amount {
            return Err(ApiError::conflict(
                "idempotency_key_reused",
                "This Idempotency-Key was used for another refund",
            ));
        }
        let total = payment_order::Entity::find_by_id(id)
            .one(&app.db)
            .await?
            .map_or(0, |o| o.refunded);
        return match earlier.status.as_str() {
            "failed" => Err(refused().into()),
            "pending" => Ok(pending_answer(view_of(&earlier, total))),
            _ => Ok((StatusCode::CREATED, ApiJson(view_of(&earlier, total))).into_response()),
        };
    }
    let mut c = Check::new();
    c.range("amount", body.amount, 1, domain::ledger::MAX_AMOUNT);
    let note = c
        .opt_text("note", body.note.as_deref(), 1000)
        .unwrap_or_default();
    c.finish()?;
    let now = app.clock.now();

    // 1. Claim the amount on the order and set the money aside, in one transaction.
    let txn = store::begin_write(&app.db).await?;
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
    if refund::Entity::find()
        .filter(refund::Column::PaymentOrderId.eq(order.id))
        .filter(refund::Column::Status.eq("pending"))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(
            "refund_pending",
            "Another refund of this top-up is waiting for the gateway's answer; try again once it is settled",
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
    let taken_back = clawback(
        order.discount + order.package_bonus,
        order.amount,
        order.refunded,
        body.amount,
    );
    let hold = holds::place(
        &txn,
        HoldRequest {
            user: order.user_id,
            currency,
            amount: body.amount + taken_back,
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
        clawback: Set(taken_back),
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
    let answer = app
        .gateway
        .refund(&order, body.amount, &gateway_key(&order, &row))
        .await;

    // 3. Settle the hold according to the answer; an unknown answer settles nothing.
    let outcome = match answer {
        RefundAnswer::Refunded(id) => Ok(id),
        RefundAnswer::Refused(why) => Err(why),
        RefundAnswer::NotFound => {
            tracing::warn!(refund = %row.id, "the gateway answered a refund with nothing; left pending");
            return Ok(pending_answer(view_of(&row, order.refunded + body.amount)));
        }
        RefundAnswer::Unknown(why) => {
            tracing::warn!(refund = %row.id, error = %why, "refund answer unknown; left pending for the sweeper");
            return Ok(pending_answer(view_of(&row, order.refunded + body.amount)));
        }
    };
    let settled = settle(
        &app,
        &row,
        &order,
        outcome.as_deref().map_err(String::clone),
        &admin.0.actor(&meta),
    )
    .await?;
    match settled {
        Settled::Succeeded(gateway_refund_id) | Settled::Already(Some(gateway_refund_id)) => {
            let now = app.clock.now();
            let view = RefundView {
                status: "succeeded".into(),
                gateway_refund_id: Some(gateway_refund_id),
                ..view_of(&row, order.refunded + body.amount)
            };
            let txn = store::begin_write(&app.db).await?;
            let res = key
                .save(&txn, admin.0.id, &fp, StatusCode::CREATED, &view, now)
                .await?;
            txn.commit().await?;
            Ok(res)
        }
        Settled::Failed | Settled::Already(None) => Err(refused().into()),
    }
}
