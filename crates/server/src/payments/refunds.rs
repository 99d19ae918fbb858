//! The admin's refund of a top-up over HTTP; the refund rules, the gateway round trip and
//! the sweeper are in `domain::payments::refunds`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::AdminUser;
use crate::error::{ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, ClientMeta};
use crate::idempotency::{IdempotencyKey, fingerprint};
use crate::wallet::routes::CreditReason;
use domain::payments::refunds::{self, RefundOrder, RefundView, Requested};
use domain::validate::Check;

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
    let mut c = Check::new();
    c.range("amount", body.amount, 1, domain::ledger::MAX_AMOUNT);
    let note = c
        .opt_text("note", body.note.as_deref(), 1000)
        .unwrap_or_default();
    c.finish()?;
    let order = RefundOrder {
        topup: id,
        amount: body.amount,
        reason: body.reason,
        note: &note,
        key: &key.0,
    };
    match refunds::request(&app, &admin.0.actor(&meta), order).await? {
        Requested::Pending(view) => Ok((StatusCode::ACCEPTED, ApiJson(view)).into_response()),
        Requested::Succeeded(view) => {
            let now = app.clock.now();
            let txn = store::begin_write(&app.db).await?;
            let res = key
                .save(&txn, admin.0.id, &fp, StatusCode::CREATED, &view, now)
                .await?;
            txn.commit().await?;
            Ok(res)
        }
    }
}
