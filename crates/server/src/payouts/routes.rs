//! `/api/v1/practitioners/me/{earnings,payout-account,payouts}` and `/api/v1/admin/payouts…`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::status::PayoutStatus;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{AdminUser, PractitionerUser};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{
    ApiJson, ApiPath, ApiQuery, ClientMeta, Page, decode_cursor, encode_cursor, page_limit,
};
use crate::idempotency::{IdempotencyKey, fingerprint};
use domain::audit::{self, Change};
use domain::ledger::AccountKind;
use domain::payouts::{self, PayoutAccountView};
use domain::validate::Check;
use store::entity::{payout, payout_account, practitioner};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_earnings))
        .routes(routes!(get_payout_account, put_payout_account))
        .routes(routes!(request_payout, my_payouts))
        .routes(routes!(admin_payouts))
        .routes(routes!(reject_payout))
        .routes(routes!(mark_paid))
}

async fn me(app: &AppState, user: &PractitionerUser) -> ApiResult<practitioner::Model> {
    crate::practitioners::profile::find_by_user(app, user.0.id).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Earnings {
    pub currency: String,
    /// Earned and not yet requested.
    pub available: i64,
    /// Requested, waiting for an admin.
    pub pending_payout: i64,
    /// The platform's commission on this practitioner's consultations, basis points.
    pub commission_bps: u16,
    /// What sessions, appointments and tips earned in each of the last 12 weeks (Monday
    /// to Sunday, UTC), oldest first.
    pub weeks: Vec<payouts::WeekEarned>,
}

/// My earnings.
#[utoipa::path(get, path = "/api/v1/practitioners/me/earnings", tag = "practitioners",
    responses((status = 200, body = Earnings), (status = 403, body = Problem)), security(("bearer" = [])))]
async fn my_earnings(
    State(app): State<AppState>,
    user: PractitionerUser,
) -> ApiResult<ApiJson<Earnings>> {
    let p = me(&app, &user).await?;
    let currency = payouts::currency_of(&p)?;
    Ok(ApiJson(Earnings {
        currency: currency.as_str().to_owned(),
        available: payouts::balance(&app.db, AccountKind::PractitionerEarnings, p.id, currency)
            .await?,
        pending_payout: payouts::balance(&app.db, AccountKind::PayoutsPending, p.id, currency)
            .await?,
        commission_bps: super::commission_for(app.config.commission_bps, p.commission_bps).get(),
        weeks: payouts::earned_by_week(&app.db, p.id, currency, app.clock.now(), 12).await?,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutAccountInput {
    /// `bank` or `upi`.
    pub method: String,
    pub account_holder: String,
    pub bank_account_number: Option<String>,
    pub ifsc: Option<String>,
    pub upi_id: Option<String>,
}

/// Where my payouts go.
#[utoipa::path(get, path = "/api/v1/practitioners/me/payout-account", tag = "practitioners",
    responses((status = 200, body = PayoutAccountView), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn get_payout_account(
    State(app): State<AppState>,
    user: PractitionerUser,
) -> ApiResult<ApiJson<PayoutAccountView>> {
    let p = me(&app, &user).await?;
    let a = payout_account::Entity::find_by_id(p.id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Payout account"))?;
    Ok(ApiJson(a.into()))
}

/// Set where my payouts go: a bank account (number + IFSC) or a UPI id. The session must
/// have proved the password within `reauth_window_secs` (sign in, or
/// `POST /api/v1/auth/reauthenticate`); the practitioner is told by email and in the app.
#[utoipa::path(put, path = "/api/v1/practitioners/me/payout-account", tag = "practitioners", request_body = PayoutAccountInput,
    responses((status = 200, body = PayoutAccountView),
              (status = 403, body = Problem, description = "`reauthentication_required`, or not a practitioner"),
              (status = 422, body = Problem)), security(("bearer" = [])))]
async fn put_payout_account(
    State(app): State<AppState>,
    user: PractitionerUser,
    meta: ClientMeta,
    ApiJson(body): ApiJson<PayoutAccountInput>,
) -> ApiResult<ApiJson<PayoutAccountView>> {
    // Whoever holds a stolen access token could otherwise send the earnings elsewhere.
    crate::auth::session::require_recent_password(&app, user.0.session_id).await?;
    let p = me(&app, &user).await?;
    let mut c = Check::new();
    let holder = c.text("account_holder", &body.account_holder, 2, 100);
    let (number, ifsc, upi) = match body.method.as_str() {
        "bank" => {
            let n = body.bank_account_number.clone().unwrap_or_default();
            c.ensure(
                (9..=18).contains(&n.len()) && n.chars().all(|d| d.is_ascii_digit()),
                "bank_account_number",
                "invalid_account",
                "must be 9 to 18 digits",
            );
            let i = body.ifsc.clone().unwrap_or_default().to_uppercase();
            // IFSC: 4 letters, a zero, 6 letters or digits.
            let ok = i.len() == 11
                && i[..4].chars().all(|ch| ch.is_ascii_uppercase())
                && &i[4..5] == "0"
                && i[5..].chars().all(|ch| ch.is_ascii_alphanumeric());
            c.ensure(
                ok,
                "ifsc",
                "invalid_ifsc",
                "must be an IFSC such as HDFC0001234",
            );
            (Some(n), Some(i), None)
        }
        "upi" => {
            let u = body.upi_id.clone().unwrap_or_default().to_lowercase();
            let ok = u.split_once('@').is_some_and(|(a, b)| {
                !a.is_empty() && !b.is_empty() && u.len() <= 100 && !u.contains(char::is_whitespace)
            });
            c.ensure(
                ok,
                "upi_id",
                "invalid_upi",
                "must be a UPI id such as name@bank",
            );
            (None, None, Some(u))
        }
        _ => {
            c.fail("method", "invalid_choice", "must be bank or upi");
            (None, None, None)
        }
    };
    c.finish()?;
    let now = app.clock.now();
    let model = payout_account::ActiveModel {
        practitioner_id: Set(p.id),
        method: Set(body.method.clone()),
        account_holder: Set(holder),
        bank_account_number: Set(number),
        ifsc: Set(ifsc),
        upi_id: Set(upi),
        updated_at: Set(now),
    };
    let txn = store::begin_write(&app.db).await?;
    let before = payout_account::Entity::find_by_id(p.id).one(&txn).await?;
    let saved = if before.is_some() {
        model.update(&txn).await?
    } else {
        model.insert(&txn).await?
    };
    let view = PayoutAccountView::from(saved);
    audit::record(
        &txn,
        &user.0.actor(&meta),
        Change {
            action: "payout_account.update",
            target_type: "practitioner",
            target_id: p.id.to_string(),
            before: before.map(|b| json!(PayoutAccountView::from(b))),
            after: Some(json!(view)),
        },
        now,
    )
    .await?;
    domain::notifications::notify(
        &txn,
        now,
        user.0.id,
        "payout_account.changed",
        json!({ "method": view.method, "destination": view.destination() }),
    )
    .await?;
    txn.commit().await?;
    app.job_wakeup.notify_one();
    Ok(ApiJson(view))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutRequest {
    /// Minor units; at least the configured minimum, at most the available earnings.
    pub amount: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutView {
    pub id: Uuid,
    /// Human reference, e.g. `PO3K9M2Q7XAB`.
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    /// `requested`, `rejected` or `paid`.
    pub status: String,
    pub note: Option<String>,
    pub paid_reference: Option<String>,
    pub receipt_number: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub paid_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<payout::Model> for PayoutView {
    fn from(p: payout::Model) -> Self {
        Self {
            id: p.id,
            reference: p.reference,
            amount: p.amount,
            currency: p.currency,
            status: p.status,
            note: p.note,
            paid_reference: p.paid_reference,
            receipt_number: p.receipt_number,
            created_at: p.created_at,
            paid_at: p.paid_at,
        }
    }
}

/// Ask to be paid out. Requires a payout account and `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/practitioners/me/payouts", tag = "practitioners",
    params(("Idempotency-Key" = String, Header)), request_body = PayoutRequest,
    responses((status = 201, body = PayoutView), (status = 402, body = Problem),
              (status = 403, body = Problem, description = "`email_unverified`, or not a practitioner"),
              (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn request_payout(
    State(app): State<AppState>,
    user: PractitionerUser,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<PayoutRequest>,
) -> ApiResult<Response> {
    let fp = fingerprint("POST", "/api/v1/practitioners/me/payouts", &body);
    if let Some(r) = key.replay(&app.db, user.0.id, &fp).await? {
        return Ok(r);
    }
    let p = me(&app, &user).await?;
    let mut c = Check::new();
    c.range(
        "amount",
        body.amount,
        app.config.payout_min_minor,
        domain::ledger::MAX_AMOUNT,
    );
    c.finish()?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let row = payouts::request(
        &txn,
        &user.0.user,
        &p,
        body.amount,
        app.config.payout_min_minor,
        &key.0,
        now,
    )
    .await?;
    let res = key
        .save(
            &txn,
            user.0.id,
            &fp,
            StatusCode::CREATED,
            &PayoutView::from(row),
            now,
        )
        .await?;
    txn.commit().await?;
    Ok(res)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PayoutsQuery {
    /// `requested`, `rejected` or `paid` (admin list default: `requested`).
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

async fn list(
    app: &AppState,
    practitioner: Option<Uuid>,
    q: PayoutsQuery,
    default_status: Option<&str>,
) -> ApiResult<Page<PayoutView>> {
    let limit = page_limit(q.limit)?;
    let mut query = payout::Entity::find();
    if let Some(p) = practitioner {
        query = query.filter(payout::Column::PractitionerId.eq(p));
    }
    match q
        .status
        .as_deref()
        .or(default_status)
        .map(str::parse::<PayoutStatus>)
    {
        Some(Ok(s)) => query = query.filter(payout::Column::Status.eq(s.as_str())),
        Some(Err(_)) => {
            return Err(ApiError::field(
                "status",
                "invalid_choice",
                "must be requested, rejected or paid",
            ));
        }
        None => {}
    }
    if let Some(raw) = q.cursor.as_deref() {
        let before: Uuid = decode_cursor(raw)?;
        query = query.filter(payout::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(payout::Column::Id)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    Ok(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        PayoutView::from,
    ))
}

/// My payouts, newest first.
#[utoipa::path(get, path = "/api/v1/practitioners/me/payouts", tag = "practitioners", params(PayoutsQuery),
    responses((status = 200, body = Page<PayoutView>)), security(("bearer" = [])))]
async fn my_payouts(
    State(app): State<AppState>,
    user: PractitionerUser,
    ApiQuery(q): ApiQuery<PayoutsQuery>,
) -> ApiResult<ApiJson<Page<PayoutView>>> {
    let p = me(&app, &user).await?;
    Ok(ApiJson(list(&app, Some(p.id), q, None).await?))
}

/// Payout requests (admin; default: those waiting).
#[utoipa::path(get, path = "/api/v1/admin/payouts", tag = "admin", params(PayoutsQuery),
    responses((status = 200, body = Page<PayoutView>)), security(("bearer" = [])))]
async fn admin_payouts(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<PayoutsQuery>,
) -> ApiResult<ApiJson<Page<PayoutView>>> {
    Ok(ApiJson(
        list(&app, None, q, Some(PayoutStatus::Requested.as_str())).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Rejecting: why. Paying: the bank's or UPI reference (UTR).
    pub note: String,
}

async fn decide(
    app: &AppState,
    admin: &AdminUser,
    meta: &ClientMeta,
    id: Uuid,
    decision: payouts::Decision,
) -> ApiResult<PayoutView> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let row = payouts::decide(&txn, &admin.0.actor(meta), id, decision, now).await?;
    txn.commit().await?;
    app.job_wakeup.notify_one();
    Ok(row.into())
}

/// Reject a payout request; the money returns to the practitioner's earnings.
#[utoipa::path(post, path = "/api/v1/admin/payouts/{id}/reject", tag = "admin", params(("id" = Uuid, Path)), request_body = Decision,
    responses((status = 200, body = PayoutView), (status = 409, body = Problem)), security(("bearer" = [])))]
async fn reject_payout(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Decision>,
) -> ApiResult<ApiJson<PayoutView>> {
    let mut c = Check::new();
    let note = c.text("note", &body.note, 1, 500);
    c.finish()?;
    Ok(ApiJson(
        decide(
            &app,
            &admin,
            &meta,
            id,
            payouts::Decision::Rejected { note },
        )
        .await?,
    ))
}

/// Mark a payout paid (after the bank transfer), with the transfer's reference.
#[utoipa::path(post, path = "/api/v1/admin/payouts/{id}/mark-paid", tag = "admin", params(("id" = Uuid, Path)), request_body = Decision,
    responses((status = 200, body = PayoutView), (status = 409, body = Problem)), security(("bearer" = [])))]
async fn mark_paid(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Decision>,
) -> ApiResult<ApiJson<PayoutView>> {
    let mut c = Check::new();
    let note = c.text("note", &body.note, 1, 100);
    c.finish()?;
    Ok(ApiJson(
        decide(
            &app,
            &admin,
            &meta,
            id,
            payouts::Decision::Paid { reference: note },
        )
        .await?,
    ))
}
