//! Credit packages: admin-made bundles ("pay ₹500, get ₹550") that a top-up can buy. The
//! bonus comes from the promotions budget when the payment is credited.

use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::routes::{MAX_TOPUP, MIN_TOPUP};
use crate::app::AppState;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, ClientMeta};
use domain::audit::{self, Change};
use domain::ledger::Currency;
use domain::validate::Check;
use store::entity::credit_package;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_packages))
        .routes(routes!(create_package))
        .routes(routes!(deactivate_package))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PackageView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// What the client pays, minor units.
    pub price: i64,
    /// What the wallet receives.
    pub credit: i64,
    pub bonus: i64,
    pub currency: String,
    pub active: bool,
}

impl From<credit_package::Model> for PackageView {
    fn from(p: credit_package::Model) -> Self {
        Self {
            id: p.id,
            bonus: p.credit - p.price,
            name: p.name,
            description: p.description,
            price: p.price,
            credit: p.credit,
            currency: p.currency,
            active: p.active,
        }
    }
}

/// Credit packages on sale.
#[utoipa::path(get, path = "/api/v1/wallet/packages", tag = "wallet", responses((status = 200, body = Vec<PackageView>)))]
async fn list_packages(State(app): State<AppState>) -> ApiResult<ApiJson<Vec<PackageView>>> {
    let rows = credit_package::Entity::find()
        .filter(credit_package::Column::Active.eq(true))
        .order_by_asc(credit_package::Column::SortOrder)
        .order_by_asc(credit_package::Column::Price)
        .all(&app.db)
        .await?;
    Ok(ApiJson(rows.into_iter().map(PackageView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPackage {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub price: i64,
    /// At least `price`.
    pub credit: i64,
    pub currency: Option<String>,
    #[serde(default)]
    pub sort_order: i32,
}

/// Create a credit package.
#[utoipa::path(post, path = "/api/v1/admin/credit-packages", tag = "admin", request_body = NewPackage,
    responses((status = 201, body = PackageView), (status = 422, body = Problem)), security(("bearer" = [])))]
async fn create_package(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiJson(body): ApiJson<NewPackage>,
) -> ApiResult<(StatusCode, ApiJson<PackageView>)> {
    let mut c = Check::new();
    let name = c.text("name", &body.name, 1, 100);
    let description = c.text("description", &body.description, 0, 500);
    c.range("price", body.price, MIN_TOPUP, MAX_TOPUP);
    c.ensure(
        body.credit >= body.price && body.credit <= body.price.saturating_mul(10),
        "credit",
        "out_of_range",
        "must be between price and 10 × price",
    );
    c.range("sort_order", body.sort_order, -1000, 1000);
    let currency = match body
        .currency
        .as_deref()
        .map(Currency::parse)
        .unwrap_or(Ok(Currency::INR))
    {
        Ok(cur) => cur,
        Err(m) => {
            c.fail("currency", "invalid_currency", m);
            Currency::INR
        }
    };
    c.finish()?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let row = credit_package::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        description: Set(description),
        price: Set(body.price),
        credit: Set(body.credit),
        currency: Set(currency.as_str().to_owned()),
        active: Set(true),
        sort_order: Set(body.sort_order),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "package.create",
            target_type: "credit_package",
            target_id: row.id.to_string(),
            before: None,
            after: Some(
                json!({"price": row.price, "credit": row.credit, "currency": row.currency}),
            ),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(row.into())))
}

/// Take a package off sale.
#[utoipa::path(post, path = "/api/v1/admin/credit-packages/{id}/deactivate", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 200, body = PackageView), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn deactivate_package(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<PackageView>> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let res = credit_package::Entity::update_many()
        .col_expr(credit_package::Column::Active, Expr::value(false))
        .col_expr(credit_package::Column::UpdatedAt, Expr::value(now))
        .filter(credit_package::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(ApiError::not_found("Credit package"));
    }
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "package.deactivate",
            target_type: "credit_package",
            target_id: id.to_string(),
            before: Some(json!({"active": true})),
            after: Some(json!({"active": false})),
        },
        now,
    )
    .await?;
    let row = credit_package::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Credit package"))?;
    txn.commit().await?;
    Ok(ApiJson(row.into()))
}
