//! `/api/v1/wallet…` and `/api/v1/admin/wallets…`, `/api/v1/admin/ledger/reconciliation`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{WalletTransactionView, WalletView};
use crate::app::AppState;
use crate::auth::{AdminUser, AuthUser};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{
    ApiJson, ApiPath, ApiQuery, ClientMeta, Page, decode_cursor, encode_cursor, page_limit,
};
use crate::idempotency::{IdempotencyKey, fingerprint};
use domain::ledger::{Currency, MAX_AMOUNT};
use domain::validate::Check;
pub use domain::wallet::{CreditReason, Reconciliation};
use store::entity::{user, wallet, wallet_transaction};
use store::status::WalletStatus;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_wallet))
        .routes(routes!(my_transactions))
        .routes(routes!(admin_wallet))
        .routes(routes!(admin_transactions))
        .routes(routes!(freeze))
        .routes(routes!(unfreeze))
        .routes(routes!(grant_credit))
        .routes(routes!(reconciliation))
}

fn currency_param(raw: Option<&str>) -> ApiResult<Currency> {
    match raw {
        None => Ok(Currency::INR),
        Some(c) => {
            Currency::parse(c).map_err(|m| ApiError::field("currency", "invalid_currency", m))
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WalletQuery {
    /// ISO 4217 code (default `INR`).
    pub currency: Option<String>,
}

async fn wallet_of(
    db: &DatabaseConnection,
    user: Uuid,
    currency: Currency,
) -> ApiResult<Option<wallet::Model>> {
    Ok(wallet::Entity::find()
        .filter(wallet::Column::UserId.eq(user))
        .filter(wallet::Column::Currency.eq(currency.as_str()))
        .one(db)
        .await?)
}

/// My wallet balances.
#[utoipa::path(get, path = "/api/v1/wallet", tag = "wallet", params(WalletQuery),
    responses((status = 200, body = WalletView)), security(("bearer" = [])))]
async fn my_wallet(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<WalletQuery>,
) -> ApiResult<ApiJson<WalletView>> {
    let currency = currency_param(q.currency.as_deref())?;
    Ok(ApiJson(
        wallet_of(&app.db, auth.id, currency)
            .await?
            .map(WalletView::from)
            .unwrap_or_else(|| WalletView::empty(currency.as_str())),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub currency: Option<String>,
    /// Only this kind, e.g. `topup`, `hold`, `capture`, `release`, `credit`.
    pub kind: Option<String>,
    /// From this instant (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Up to this instant (exclusive).
    pub to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

async fn history(
    app: &AppState,
    user: Uuid,
    q: HistoryQuery,
) -> ApiResult<Page<WalletTransactionView>> {
    let currency = currency_param(q.currency.as_deref())?;
    let limit = page_limit(q.limit)?;
    let mut c = Check::new();
    let kind = q.kind.as_deref().map(|k| c.text("kind", k, 1, 40));
    if let (Some(f), Some(t)) = (q.from, q.to) {
        c.ensure(f <= t, "from", "invalid_range", "must not be after `to`");
    }
    c.finish()?;
    let Some(w) = wallet_of(&app.db, user, currency).await? else {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    };
    let mut query =
        wallet_transaction::Entity::find().filter(wallet_transaction::Column::WalletId.eq(w.id));
    if let Some(k) = kind {
        query = query.filter(wallet_transaction::Column::Kind.eq(k));
    }
    if let Some(f) = q.from {
        query = query.filter(wallet_transaction::Column::CreatedAt.gte(f));
    }
    if let Some(t) = q.to {
        query = query.filter(wallet_transaction::Column::CreatedAt.lt(t));
    }
    if let Some(raw) = q.cursor.as_deref() {
        // Ids are UUID v7: id order is the order rows were written.
        let before: Uuid = decode_cursor(raw)?;
        query = query.filter(wallet_transaction::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(wallet_transaction::Column::Id)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    Ok(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        WalletTransactionView::from,
    ))
}

/// My wallet history, newest first.
#[utoipa::path(get, path = "/api/v1/wallet/transactions", tag = "wallet", params(HistoryQuery),
    responses((status = 200, body = Page<WalletTransactionView>), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn my_transactions(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<ApiJson<Page<WalletTransactionView>>> {
    Ok(ApiJson(history(&app, auth.id, q).await?))
}

async fn existing_user(app: &AppState, id: Uuid) -> ApiResult<user::Model> {
    user::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))
}

/// A user's wallet (admin).
#[utoipa::path(get, path = "/api/v1/admin/wallets/{id}", tag = "admin", params(("id" = Uuid, Path), WalletQuery),
    responses((status = 200, body = WalletView), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn admin_wallet(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<WalletQuery>,
) -> ApiResult<ApiJson<WalletView>> {
    let currency = currency_param(q.currency.as_deref())?;
    existing_user(&app, id).await?;
    Ok(ApiJson(
        wallet_of(&app.db, id, currency)
            .await?
            .map(WalletView::from)
            .unwrap_or_else(|| WalletView::empty(currency.as_str())),
    ))
}

/// A user's wallet history (admin).
#[utoipa::path(get, path = "/api/v1/admin/wallets/{id}/transactions", tag = "admin", params(("id" = Uuid, Path), HistoryQuery),
    responses((status = 200, body = Page<WalletTransactionView>), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn admin_transactions(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<ApiJson<Page<WalletTransactionView>>> {
    existing_user(&app, id).await?;
    Ok(ApiJson(history(&app, id, q).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeRequest {
    pub reason: String,
    pub currency: Option<String>,
}

async fn set_status(
    app: &AppState,
    admin: &AdminUser,
    meta: &ClientMeta,
    id: Uuid,
    body: FreezeRequest,
    to: WalletStatus,
) -> ApiResult<WalletView> {
    let mut c = Check::new();
    let reason = c.text("reason", &body.reason, 1, 1000);
    c.finish()?;
    let currency = currency_param(body.currency.as_deref())?;
    existing_user(app, id).await?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    domain::wallet::set_status(&txn, &admin.0.actor(meta), id, currency, to, &reason, now).await?;
    txn.commit().await?;
    Ok(wallet_of(&app.db, id, currency)
        .await?
        .map(WalletView::from)
        .unwrap_or_else(|| WalletView::empty(currency.as_str())))
}

/// Freeze a wallet: no money moves in or out until it is unfrozen.
#[utoipa::path(post, path = "/api/v1/admin/wallets/{id}/freeze", tag = "admin", params(("id" = Uuid, Path)),
    request_body = FreezeRequest, responses((status = 200, body = WalletView), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn freeze(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<FreezeRequest>,
) -> ApiResult<ApiJson<WalletView>> {
    Ok(ApiJson(
        set_status(&app, &admin, &meta, id, body, WalletStatus::Frozen).await?,
    ))
}

/// Unfreeze a wallet.
#[utoipa::path(post, path = "/api/v1/admin/wallets/{id}/unfreeze", tag = "admin", params(("id" = Uuid, Path)),
    request_body = FreezeRequest, responses((status = 200, body = WalletView), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn unfreeze(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<FreezeRequest>,
) -> ApiResult<ApiJson<WalletView>> {
    Ok(ApiJson(
        set_status(&app, &admin, &meta, id, body, WalletStatus::Active).await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditRequest {
    /// Minor units, 1 … 10^12.
    pub amount: i64,
    /// Default `INR`.
    pub currency: Option<String>,
    pub reason: CreditReason,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditResult {
    pub transfer_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub wallet: WalletView,
}

/// Credit a user's wallet from the platform's promotions budget (goodwill, compensation).
/// Requires `Idempotency-Key`; a retry returns the first answer and moves nothing.
#[utoipa::path(post, path = "/api/v1/admin/wallets/{id}/credits", tag = "admin",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header, description = "Unique per intended credit")),
    request_body = CreditRequest,
    responses((status = 201, body = CreditResult), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn grant_credit(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CreditRequest>,
) -> ApiResult<Response> {
    let fp = fingerprint(
        "POST",
        &format!("/api/v1/admin/wallets/{id}/credits"),
        &body,
    );
    if let Some(replayed) = key.replay(&app.db, admin.0.id, &fp).await? {
        return Ok(replayed);
    }
    let mut c = Check::new();
    c.range("amount", body.amount, 1, MAX_AMOUNT);
    let note = c.opt_text("note", body.note.as_deref(), 1000);
    c.finish()?;
    let currency = currency_param(body.currency.as_deref())?;
    let target = existing_user(&app, id).await?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let credited = domain::wallet::grant_credit(
        &txn,
        &admin.0.actor(&meta),
        &target,
        currency,
        body.amount,
        body.reason,
        note.as_deref(),
        &key.0,
        now,
    )
    .await?;
    let result = CreditResult {
        transfer_id: credited.transfer_id,
        amount: body.amount,
        currency: currency.as_str().to_owned(),
        wallet: credited.wallet.into(),
    };
    let res = key
        .save(&txn, admin.0.id, &fp, StatusCode::CREATED, &result, now)
        .await?;
    txn.commit().await?;
    Ok(res)
}

/// Prove the books balance: per currency the ledger sums to zero (the gateway edge
/// included), and every wallet row equals its accounts.
#[utoipa::path(get, path = "/api/v1/admin/ledger/reconciliation", tag = "admin",
    responses((status = 200, body = Reconciliation)), security(("bearer" = [])))]
async fn reconciliation(
    State(app): State<AppState>,
    _admin: AdminUser,
) -> ApiResult<ApiJson<Reconciliation>> {
    Ok(ApiJson(domain::wallet::reconciliation(&app.db).await?))
}
