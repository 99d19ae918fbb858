//! The in-app inbox: my notifications newest first in cursor pages, the unread count, and
//! marking one or all read. New ones are also pushed to my open WebSockets as a
//! `{"type":"notification", …}` frame (see `delivery`).

use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, ApiQuery, Page, decode_cursor, encode_cursor, page_limit};
use domain::notifications::inbox::{NotificationView, count_unread};
use store::entity::notification;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(unread_count))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only the ones not read yet.
    #[serde(default)]
    pub unread: bool,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// My notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", operation_id = "list_notifications", tag = "notifications", params(ListQuery),
    responses((status = 200, body = Page<NotificationView>), (status = 401, body = Problem)),
    security(("bearer" = [])))]
async fn list(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<ApiJson<Page<NotificationView>>> {
    let limit = page_limit(q.limit)?;
    let mut query = notification::Entity::find().filter(notification::Column::UserId.eq(auth.id));
    if q.unread {
        query = query.filter(notification::Column::ReadAt.is_null());
    }
    if let Some(raw) = q.cursor.as_deref() {
        // Ids are UUID v7: id order is creation order.
        let before: Uuid = decode_cursor(raw)?;
        query = query.filter(notification::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(notification::Column::Id)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        NotificationView::from,
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub unread: u64,
}

/// How many of my notifications are unread (the badge).
#[utoipa::path(get, path = "/api/v1/notifications/unread-count", tag = "notifications",
    responses((status = 200, body = UnreadCount)), security(("bearer" = [])))]
async fn unread_count(
    State(app): State<AppState>,
    auth: AuthUser,
) -> ApiResult<ApiJson<UnreadCount>> {
    Ok(ApiJson(UnreadCount {
        unread: count_unread(&app.db, auth.id).await?,
    }))
}

/// Mark one of my notifications read. Repeating it changes nothing.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn mark_read(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    // Someone else's notification answers like a missing one.
    let found = notification::Entity::find_by_id(id)
        .filter(notification::Column::UserId.eq(auth.id))
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Notification"))?;
    if found.read_at.is_none() {
        notification::Entity::update_many()
            .col_expr(notification::Column::ReadAt, Expr::value(app.clock.now()))
            .filter(notification::Column::Id.eq(id))
            .filter(notification::Column::ReadAt.is_null())
            .exec(&app.db)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    /// How many were unread and are now read.
    pub marked: u64,
}

/// Mark all my notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications",
    responses((status = 200, body = MarkedRead)), security(("bearer" = [])))]
async fn mark_all_read(
    State(app): State<AppState>,
    auth: AuthUser,
) -> ApiResult<ApiJson<MarkedRead>> {
    let res = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(app.clock.now()))
        .filter(notification::Column::UserId.eq(auth.id))
        .filter(notification::Column::ReadAt.is_null())
        .exec(&app.db)
        .await?;
    Ok(ApiJson(MarkedRead {
        marked: res.rows_affected,
    }))
}
