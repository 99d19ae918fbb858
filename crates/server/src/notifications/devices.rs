//! Push device tokens: a signed-in app registers the token its push service gave it and
//! removes it on sign-out. A token belongs to one account at a time (the last one signed in
//! on that device); tokens the push service reports as gone are removed by `delivery`.

use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath};
use domain::validate::Check;
use store::entity::push_device;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_devices, register_device))
        .routes(routes!(unregister_device))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRequest {
    /// The registration token from Firebase Cloud Messaging.
    pub token: String,
    /// `android`, `ios` or `web`.
    pub platform: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceView {
    pub id: Uuid,
    pub platform: String,
    /// The token's last characters, enough to tell devices apart.
    pub token_suffix: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
}

impl From<push_device::Model> for DeviceView {
    fn from(d: push_device::Model) -> Self {
        let skip = d.token.chars().count().saturating_sub(8);
        Self {
            id: d.id,
            platform: d.platform,
            token_suffix: d.token.chars().skip(skip).collect(),
            created_at: d.created_at,
            last_seen_at: d.last_seen_at,
        }
    }
}

/// Register this device for push notifications. Registering a known token again refreshes
/// it (and moves it to me if another account had it).
#[utoipa::path(post, path = "/api/v1/notifications/devices", tag = "notifications",
    request_body = DeviceRequest,
    responses((status = 201, body = DeviceView), (status = 200, body = DeviceView), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn register_device(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<DeviceRequest>,
) -> ApiResult<(StatusCode, ApiJson<DeviceView>)> {
    let mut c = Check::new();
    let token = c.text("token", &body.token, 16, 512);
    c.ensure(
        !token.chars().any(char::is_whitespace),
        "token",
        "invalid_token",
        "must not contain spaces",
    );
    c.ensure(
        ["android", "ios", "web"].contains(&body.platform.as_str()),
        "platform",
        "invalid_choice",
        "must be android, ios or web",
    );
    c.finish()?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let existing = push_device::Entity::find()
        .filter(push_device::Column::Token.eq(token.as_str()))
        .one(&txn)
        .await?;
    let (row, status) = match existing {
        Some(d) => {
            let mut m = d.into_active_model();
            m.user_id = Set(auth.id);
            m.platform = Set(body.platform.clone());
            m.last_seen_at = Set(now);
            (m.update(&txn).await?, StatusCode::OK)
        }
        None => (
            push_device::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(auth.id),
                token: Set(token),
                platform: Set(body.platform.clone()),
                created_at: Set(now),
                last_seen_at: Set(now),
            }
            .insert(&txn)
            .await?,
            StatusCode::CREATED,
        ),
    };
    txn.commit().await?;
    Ok((status, ApiJson(row.into())))
}

/// My registered devices.
#[utoipa::path(get, path = "/api/v1/notifications/devices", tag = "notifications",
    responses((status = 200, body = Vec<DeviceView>)), security(("bearer" = [])))]
async fn list_devices(
    State(app): State<AppState>,
    auth: AuthUser,
) -> ApiResult<ApiJson<Vec<DeviceView>>> {
    let rows = push_device::Entity::find()
        .filter(push_device::Column::UserId.eq(auth.id))
        .order_by_asc(push_device::Column::Id)
        .all(&app.db)
        .await?;
    Ok(ApiJson(rows.into_iter().map(DeviceView::from).collect()))
}

/// Stop push notifications to one of my devices (on sign-out).
#[utoipa::path(delete, path = "/api/v1/notifications/devices/{id}", tag = "notifications",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
async fn unregister_device(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let res = push_device::Entity::delete_many()
        .filter(push_device::Column::Id.eq(id))
        .filter(push_device::Column::UserId.eq(auth.id))
        .exec(&app.db)
        .await?;
    if res.rows_affected == 0 {
        return Err(ApiError::not_found("Device"));
    }
    Ok(StatusCode::NO_CONTENT)
}
