//! What an operator looks at before acting: the dashboard's figures, the user directory
//! with one user's sign-in sessions, and every client's top-ups. Read-only; the changes
//! these screens lead to are the audited routes beside them.

use axum::extract::State;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::UserView;
use crate::accounts::routes::SessionView;
use crate::app::AppState;
use crate::auth::{AccountStatus, AdminUser, Role};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, ApiQuery, Page, TimeOrder, encode_cursor, page_limit};
use crate::payments::routes::TopupView;
use domain::dashboard::Dashboard;
use domain::validate::Check;
use store::entity::{auth_session, payment_order, user};
use store::status::PaymentOrderStatus;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(admin_dashboard))
        .routes(routes!(admin_users))
        .routes(routes!(admin_user))
        .routes(routes!(admin_topups))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DashboardQuery {
    /// ISO 4217 code of the figures (default `INR`).
    pub currency: Option<String>,
    /// IANA zone whose midnights divide the days (default `Asia/Kolkata`).
    pub time_zone: Option<String>,
}

/// Today's and the last 30 days' money (top-ups, consultation revenue, commission), and
/// the queues waiting for someone: live and requested consultations, applications,
/// payouts, failed deliveries, dead jobs, and whether the books balance.
#[utoipa::path(get, path = "/api/v1/admin/dashboard", tag = "admin", params(DashboardQuery),
    responses((status = 200, body = Dashboard), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn admin_dashboard(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<DashboardQuery>,
) -> ApiResult<ApiJson<Dashboard>> {
    let mut c = Check::new();
    let currency = q.currency.as_deref().unwrap_or("INR").to_owned();
    c.ensure(
        currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()),
        "currency",
        "invalid_currency",
        "must be an ISO 4217 code such as INR",
    );
    let zone = q.time_zone.as_deref().unwrap_or("Asia/Kolkata");
    c.time_zone("time_zone", zone);
    c.finish()?;
    let zone: chrono_tz::Tz = zone
        .parse()
        .map_err(|_| ApiError::field("time_zone", "invalid_time_zone", "is not a zone"))?;
    let figures = domain::dashboard::dashboard(&app.db, app.clock.now(), zone, &currency).await?;
    Ok(ApiJson(figures))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsersQuery {
    /// `newest` first (default) or `oldest` first.
    #[param(inline)]
    pub sort: Option<TimeOrder>,
    /// Part of an email, a phone number or a name (at least 2 characters).
    pub q: Option<String>,
    /// `client`, `practitioner` or `admin`.
    pub role: Option<String>,
    /// `active`, `suspended` or `deleted`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// Accounts, newest first, found by email, phone or name and filtered by role and status.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(UsersQuery),
    responses((status = 200, body = Page<UserView>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn admin_users(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<UsersQuery>,
) -> ApiResult<ApiJson<Page<UserView>>> {
    let limit = page_limit(q.limit)?;
    let mut query = user::Entity::find();
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let mut c = Check::new();
        let text = c.text("q", text, 2, 100);
        c.finish()?;
        // LIKE's own wildcards in the search are matched literally.
        let pattern = format!(
            "%{}%",
            text.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let like = |col: user::Column| {
            sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(
                sea_orm::sea_query::Expr::col(col),
            ))
            .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\'))
        };
        query = query.filter(
            Condition::any()
                .add(like(user::Column::Email))
                .add(like(user::Column::Phone))
                .add(like(user::Column::FirstName))
                .add(like(user::Column::LastName)),
        );
    }
    if let Some(role) = q.role.as_deref() {
        let role: Role = role.parse().map_err(|_| {
            ApiError::field(
                "role",
                "invalid_choice",
                "must be client, practitioner or admin",
            )
        })?;
        query = query.filter(user::Column::Role.eq(role.as_str()));
    }
    if let Some(status) = q.status.as_deref() {
        let status: AccountStatus = status.parse().map_err(|_| {
            ApiError::field(
                "status",
                "invalid_choice",
                "must be active, suspended or deleted",
            )
        })?;
        query = query.filter(user::Column::Status.eq(status.as_str()));
    }
    let query = q
        .sort
        .unwrap_or_default()
        .page(query, user::Column::Id, q.cursor.as_deref())?;
    let rows = query.limit(limit + 1).all(&app.db).await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        UserView::from,
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    pub user: UserView,
    /// Signed-in devices that have not ended, most recently seen first.
    pub sessions: Vec<SessionView>,
}

/// One account and its live sign-in sessions.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 200, body = AdminUserView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn admin_user(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<AdminUserView>> {
    let found = user::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let now = app.clock.now();
    let sessions = auth_session::Entity::find()
        .filter(auth_session::Column::UserId.eq(id))
        .filter(auth_session::Column::RevokedAt.is_null())
        .filter(auth_session::Column::ExpiresAt.gt(now))
        .order_by_desc(auth_session::Column::LastSeenAt)
        .all(&app.db)
        .await?
        .into_iter()
        .map(|s| SessionView::of(s, None))
        .collect();
    Ok(ApiJson(AdminUserView {
        user: found.into(),
        sessions,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdminTopupsQuery {
    /// `newest` first (default) or `oldest` first.
    #[param(inline)]
    pub sort: Option<TimeOrder>,
    /// `created`, `paid` or `failed`.
    pub status: Option<String>,
    /// Only this client's top-ups.
    pub user_id: Option<Uuid>,
    /// The human reference, exactly (`TP…`).
    pub reference: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminTopupView {
    #[serde(flatten)]
    pub topup: TopupView,
    pub user_id: Uuid,
    /// Sent back through the gateway so far (pending refunds included).
    pub refunded: i64,
    pub receipt_number: Option<String>,
}

/// Every client's top-ups, newest first.
#[utoipa::path(get, path = "/api/v1/admin/topups", tag = "admin", params(AdminTopupsQuery),
    responses((status = 200, body = Page<AdminTopupView>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn admin_topups(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<AdminTopupsQuery>,
) -> ApiResult<ApiJson<Page<AdminTopupView>>> {
    let limit = page_limit(q.limit)?;
    let mut query = payment_order::Entity::find();
    if let Some(status) = q.status.as_deref() {
        let status: PaymentOrderStatus = status.parse().map_err(|_| {
            ApiError::field(
                "status",
                "invalid_choice",
                "must be created, paid or failed",
            )
        })?;
        query = query.filter(payment_order::Column::Status.eq(status));
    }
    if let Some(user_id) = q.user_id {
        query = query.filter(payment_order::Column::UserId.eq(user_id));
    }
    if let Some(reference) = q
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        query = query.filter(payment_order::Column::Reference.eq(reference.to_uppercase()));
    }
    let query =
        q.sort
            .unwrap_or_default()
            .page(query, payment_order::Column::Id, q.cursor.as_deref())?;
    let rows = query.limit(limit + 1).all(&app.db).await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        |r| AdminTopupView {
            user_id: r.user_id,
            refunded: r.refunded,
            receipt_number: r.receipt_number.clone(),
            topup: TopupView::from(r),
        },
    )))
}
