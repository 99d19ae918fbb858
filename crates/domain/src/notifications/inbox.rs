//! The in-app inbox as other features read it: a notification as users see it, and their
//! unread count (pushed over the socket after each delivery). The inbox's routes are the
//! server's.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use store::entity::notification;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    /// The event, e.g. `booking.confirmed`.
    pub event: String,
    pub category: String,
    pub title: String,
    pub body: String,
    /// The event's data (a booking reference to open, …).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<notification::Model> for NotificationView {
    fn from(n: notification::Model) -> Self {
        Self {
            id: n.id,
            event: n.event,
            category: n.category,
            title: n.title,
            body: n.body,
            data: serde_json::from_str(&n.data).unwrap_or_default(),
            read_at: n.read_at,
            created_at: n.created_at,
        }
    }
}

pub async fn count_unread<C: ConnectionTrait>(conn: &C, user: Uuid) -> Result<u64, sea_orm::DbErr> {
    notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::ReadAt.is_null())
        .count(conn)
        .await
}
