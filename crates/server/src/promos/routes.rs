//! `/api/v1/promos/quote` for buyers; `/api/v1/admin/promo-codes…` for admins.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::rules::{Context, Discount, FixedOff, PercentageOff, UserType};
use super::{Quote, quote};
use crate::app::AppState;
use crate::auth::{AdminUser, AuthUser};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{
    ApiJson, ApiPath, ApiQuery, ClientMeta, Page, decode_cursor, encode_cursor, page_limit,
};
use domain::audit::{self, Change};
use domain::ledger::{Currency, MAX_AMOUNT};
use domain::validate::Check;
use store::entity::promo_code;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(quote_code))
        .routes(routes!(create_code, list_codes))
        .routes(routes!(deactivate_code))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    pub code: String,
    /// Price in minor units.
    pub price: i64,
    pub currency: Option<String>,
    pub context: Context,
}

/// What a code would take off a price, or why it would not apply.
#[utoipa::path(post, path = "/api/v1/promos/quote", tag = "wallet", request_body = QuoteRequest,
    responses((status = 200, body = Quote), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn quote_code(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<QuoteRequest>,
) -> ApiResult<ApiJson<Quote>> {
    let mut c = Check::new();
    c.range("price", body.price, 1, MAX_AMOUNT);
    let code = c.text("code", &body.code, 1, 40);
    c.finish()?;
    let currency = currency_of(body.currency.as_deref())?;
    Ok(ApiJson(
        quote(
            &app.db,
            auth.id,
            Some(&code),
            body.price,
            currency.as_str(),
            body.context,
            app.clock.now(),
        )
        .await?,
    ))
}

fn currency_of(raw: Option<&str>) -> ApiResult<Currency> {
    match raw {
        None => Ok(Currency::INR),
        Some(c) => {
            Currency::parse(c).map_err(|m| ApiError::field("currency", "invalid_currency", m))
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPromo {
    /// Letters, digits, `-` and `_`; stored upper-case.
    pub code: String,
    #[serde(default)]
    pub description: String,
    pub discount: Discount,
    pub currency: Option<String>,
    pub max_discount: Option<i64>,
    pub min_order: Option<i64>,
    /// Uses in all; absent = unlimited.
    pub usage_limit: Option<i64>,
    pub per_user_limit: Option<i64>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub user_type: Option<UserType>,
    /// Where it applies; absent or empty = everywhere.
    pub contexts: Option<Vec<Context>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PromoView {
    pub id: Uuid,
    pub code: String,
    pub description: String,
    pub discount: Discount,
    pub currency: String,
    pub max_discount: Option<i64>,
    pub min_order: Option<i64>,
    pub usage_limit: Option<i64>,
    pub per_user_limit: Option<i64>,
    pub used_count: i64,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub active: bool,
    pub user_type: UserType,
    pub contexts: Vec<Context>,
}

impl From<promo_code::Model> for PromoView {
    fn from(p: promo_code::Model) -> Self {
        let r = super::rules_of(&p);
        Self {
            id: p.id,
            code: p.code,
            description: p.description,
            discount: r.discount,
            currency: p.currency,
            max_discount: p.max_discount,
            min_order: p.min_order,
            usage_limit: p.usage_limit,
            per_user_limit: p.per_user_limit,
            used_count: p.used_count,
            valid_from: p.valid_from,
            valid_until: p.valid_until,
            active: p.active,
            user_type: r.user_type,
            contexts: r.contexts,
        }
    }
}

/// Create a promo code.
#[utoipa::path(post, path = "/api/v1/admin/promo-codes", tag = "admin", request_body = NewPromo,
    responses((status = 201, body = PromoView), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn create_code(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiJson(body): ApiJson<NewPromo>,
) -> ApiResult<(StatusCode, ApiJson<PromoView>)> {
    let mut c = Check::new();
    let code = c.text("code", &body.code, 3, 40).to_uppercase();
    c.ensure(
        code.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'),
        "code",
        "invalid_code",
        "letters, digits, - and _ only",
    );
    let description = c.text("description", &body.description, 0, 500);
    match body.discount {
        Discount::Percentage(PercentageOff { bps }) => c.ensure(
            (1..=10_000).contains(&bps),
            "discount.bps",
            "out_of_range",
            "must be 1 to 10000",
        ),
        Discount::Fixed(FixedOff { amount }) => c.ensure(
            (1..=MAX_AMOUNT).contains(&amount),
            "discount.amount",
            "out_of_range",
            "must be positive",
        ),
    }
    for (field, v) in [
        ("max_discount", body.max_discount),
        ("min_order", body.min_order),
        ("usage_limit", body.usage_limit),
        ("per_user_limit", body.per_user_limit),
    ] {
        if let Some(v) = v {
            c.range(field, v, 1, MAX_AMOUNT);
        }
    }
    c.ensure(
        !super::rules::needs_cap(
            body.discount,
            body.max_discount,
            body.contexts.as_deref().unwrap_or_default(),
        ),
        "max_discount",
        "cap_required",
        "a percentage code usable on sessions or appointments needs a max_discount",
    );
    // Each use of such a code pays a practitioner from the promotions account; without a
    // limit in all, throwaway accounts (one use each) would draw on it without end.
    c.ensure(
        !super::rules::practitioner_priced(body.contexts.as_deref().unwrap_or_default())
            || body.usage_limit.is_some(),
        "usage_limit",
        "limit_required",
        "a code usable on sessions or appointments needs a usage_limit",
    );
    let now = app.clock.now();
    let valid_from = body.valid_from.unwrap_or(now);
    if let Some(until) = body.valid_until {
        c.ensure(
            until > valid_from,
            "valid_until",
            "invalid_range",
            "must be after valid_from",
        );
    }
    c.finish()?;
    let currency = currency_of(body.currency.as_deref())?;
    let txn = store::begin_write(&app.db).await?;
    let row = promo_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(code),
        description: Set(description),
        discount: Set(serde_json::to_string(&body.discount).unwrap_or_default()),
        currency: Set(currency.as_str().to_owned()),
        max_discount: Set(body.max_discount),
        min_order: Set(body.min_order),
        usage_limit: Set(body.usage_limit),
        per_user_limit: Set(body.per_user_limit),
        used_count: Set(0),
        valid_from: Set(valid_from),
        valid_until: Set(body.valid_until),
        active: Set(true),
        user_type: Set(
            serde_json::to_value(body.user_type.unwrap_or(UserType::All))
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "all".into()),
        ),
        contexts: Set(serde_json::to_string(&body.contexts.unwrap_or_default())
            .unwrap_or_else(|_| "[]".into())),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(domain::error::conflict_on_unique(
        "code_taken",
        "A promo code with this code exists",
    ))?;
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "promo.create",
            target_type: "promo_code",
            target_id: row.id.to_string(),
            before: None,
            after: Some(
                json!({"code": row.code, "discount": row.discount, "usage_limit": row.usage_limit}),
            ),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(row.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PromoListQuery {
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// Promo codes, newest first.
#[utoipa::path(get, path = "/api/v1/admin/promo-codes", tag = "admin", params(PromoListQuery),
    responses((status = 200, body = Page<PromoView>)), security(("bearer" = [])))]
async fn list_codes(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<PromoListQuery>,
) -> ApiResult<ApiJson<Page<PromoView>>> {
    let limit = page_limit(q.limit)?;
    let mut query = promo_code::Entity::find();
    if let Some(raw) = q.cursor.as_deref() {
        let before: Uuid = decode_cursor(raw)?;
        query = query.filter(promo_code::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(promo_code::Column::Id)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        PromoView::from,
    )))
}

/// Stop a code from applying anywhere.
#[utoipa::path(post, path = "/api/v1/admin/promo-codes/{id}/deactivate", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 200, body = PromoView), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn deactivate_code(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<PromoView>> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let res = promo_code::Entity::update_many()
        .col_expr(promo_code::Column::Active, Expr::value(false))
        .col_expr(promo_code::Column::UpdatedAt, Expr::value(now))
        .filter(promo_code::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(ApiError::not_found("Promo code"));
    }
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "promo.deactivate",
            target_type: "promo_code",
            target_id: id.to_string(),
            before: Some(json!({"active": true})),
            after: Some(json!({"active": false})),
        },
        now,
    )
    .await?;
    let row = promo_code::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Promo code"))?;
    txn.commit().await?;
    Ok(ApiJson(row.into()))
}
