//! The audit log: who did what to which target, its state before and after, from where.
//! Every admin action and every money movement records one row in the same transaction
//! as the change it describes.

use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Role;
use store::entity::audit_log;

/// The actor and request an audited change belongs to.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub role: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    /// A signed-in user acting from `ip`, in the request `request_id`.
    pub fn user(
        id: uuid::Uuid,
        role: Role,
        ip: Option<String>,
        request_id: Option<String>,
    ) -> Self {
        Self {
            id: Some(id),
            role: Some(role.as_str().to_owned()),
            ip,
            request_id,
        }
    }

    pub fn system() -> Self {
        Self {
            id: None,
            role: Some("system".into()),
            ip: None,
            request_id: crate::request::current_id(),
        }
    }
}

/// What changed: an action name (`practitioner.approve`), the target, and snapshots.
pub struct Change<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

pub async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    change: Change<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Uuid, sea_orm::DbErr> {
    let id = Uuid::now_v7();
    audit_log::ActiveModel {
        id: Set(id),
        actor_id: Set(actor.id),
        actor_role: Set(actor.role.clone()),
        action: Set(change.action.to_owned()),
        target_type: Set(change.target_type.to_owned()),
        target_id: Set(Some(change.target_id)),
        before_state: Set(change.before.map(|v| v.to_string())),
        after_state: Set(change.after.map(|v| v.to_string())),
        ip: Set(actor.ip.clone()),
        request_id: Set(actor.request_id.clone()),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(id)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<audit_log::Model> for AuditEntry {
    fn from(a: audit_log::Model) -> Self {
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        Self {
            id: a.id,
            actor_id: a.actor_id,
            actor_role: a.actor_role,
            action: a.action,
            target_type: a.target_type,
            target_id: a.target_id,
            before: parse(a.before_state),
            after: parse(a.after_state),
            ip: a.ip,
            request_id: a.request_id,
            created_at: a.created_at,
        }
    }
}
