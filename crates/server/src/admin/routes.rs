//! `/api/v1/admin/…`.

use axum::extract::State;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::status::JobStatus;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::UserView;
use crate::app::AppState;
use crate::auth::{AccountStatus, AdminUser, Role};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{
    ApiJson, ApiPath, ApiQuery, ClientMeta, Page, decode_cursor, encode_cursor, page_limit,
};
use crate::practitioners::{Availability, PractitionerPrivate, Verification, refresh_card};
use domain::audit::{self, AuditEntry, Change};
use domain::validate::Check;
use store::entity::{audit_log, auth_session, job, practitioner, user};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_practitioners))
        .routes(routes!(approve_practitioner))
        .routes(routes!(reject_practitioner))
        .routes(routes!(suspend_practitioner))
        .routes(routes!(suspend_user))
        .routes(routes!(reactivate_user))
        .routes(routes!(list_audit))
        .routes(routes!(list_jobs))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PractitionerQueueQuery {
    /// Review state to list (default `pending`).
    pub status: Option<Verification>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// Practitioner applications and profiles by review state, oldest first.
#[utoipa::path(get, path = "/api/v1/admin/practitioners", tag = "admin", params(PractitionerQueueQuery),
    responses((status = 200, body = Page<PractitionerPrivate>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_practitioners(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<PractitionerQueueQuery>,
) -> ApiResult<ApiJson<Page<PractitionerPrivate>>> {
    let limit = page_limit(q.limit)?;
    let status = q.status.unwrap_or(Verification::Pending);
    let mut query = practitioner::Entity::find()
        .filter(practitioner::Column::VerificationStatus.eq(status.as_str()));
    if let Some(raw) = q.cursor.as_deref() {
        let after: Uuid = decode_cursor(raw)?;
        query = query.filter(practitioner::Column::Id.gt(after));
    }
    let rows = query
        .order_by_asc(practitioner::Column::Id)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        |r| PractitionerPrivate::from(&r),
    )))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Shown to the practitioner or user; required for reject and suspend.
    pub reason: Option<String>,
}

fn snapshot(p: &practitioner::Model) -> serde_json::Value {
    json!({"verification_status": p.verification_status, "availability_status": p.availability_status, "status_reason": p.status_reason})
}

async fn review(
    app: &AppState,
    admin: &AdminUser,
    meta: &ClientMeta,
    id: Uuid,
    to: Verification,
    reason: Option<String>,
) -> ApiResult<PractitionerPrivate> {
    let allowed_from: &[Verification] = match to {
        Verification::Approved => &[
            Verification::Pending,
            Verification::Rejected,
            Verification::Suspended,
        ],
        Verification::Rejected => &[Verification::Pending],
        Verification::Suspended => &[Verification::Approved],
        Verification::Pending => &[],
    };
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    // Locked (PostgreSQL) so two admins cannot both pass the transition check.
    let row = practitioner::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Practitioner"))?;
    if to == Verification::Approved {
        let owner = user::Entity::find_by_id(row.user_id).one(&txn).await?;
        if owner.is_none_or(|u| u.status != AccountStatus::Active.as_str()) {
            return Err(ApiError::conflict(
                "account_not_active",
                "The practitioner's account is suspended or deleted",
            ));
        }
    }
    if !allowed_from
        .iter()
        .any(|s| s.as_str() == row.verification_status)
    {
        return Err(ApiError::conflict(
            "invalid_transition",
            format!(
                "A {} practitioner cannot become {}",
                row.verification_status,
                to.as_str()
            ),
        ));
    }
    let before = snapshot(&row);
    let user_id = row.user_id;
    let mut m = row.into_active_model();
    m.verification_status = Set(to.as_str().to_owned());
    m.status_reason = Set(reason);
    m.updated_at = Set(now);
    if to == Verification::Approved {
        m.approved_at = Set(Some(now));
    } else {
        m.availability_status = Set(Availability::Offline.as_str().to_owned());
    }
    let row = m.update(&txn).await?;
    refresh_card(&txn, row.id).await?;
    // The practitioner role follows approval, so role extractors need no extra lookup.
    let role = if to == Verification::Approved {
        Role::Practitioner
    } else {
        Role::Client
    };
    user::Entity::update_many()
        .col_expr(user::Column::Role, Expr::value(role.as_str()))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::Role.ne(Role::Admin.as_str()))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &admin.0.actor(meta),
        Change {
            action: match to {
                Verification::Approved => "practitioner.approve",
                Verification::Rejected => "practitioner.reject",
                _ => "practitioner.suspend",
            },
            target_type: "practitioner",
            target_id: id.to_string(),
            before: Some(before),
            after: Some(snapshot(&row)),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((&row).into())
}

fn required_reason(reason: Option<String>) -> ApiResult<String> {
    let mut c = Check::new();
    let r = c.text("reason", reason.as_deref().unwrap_or_default(), 1, 1000);
    c.finish()?;
    Ok(r)
}

/// Approve a practitioner; they appear in discovery and get the practitioner role.
#[utoipa::path(post, path = "/api/v1/admin/practitioners/{id}/approve", tag = "admin",
    params(("id" = Uuid, Path)), request_body(content = Option<Reason>),
    responses((status = 200, body = PractitionerPrivate), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn approve_practitioner(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<PractitionerPrivate>> {
    Ok(ApiJson(
        review(&app, &admin, &meta, id, Verification::Approved, None).await?,
    ))
}

/// Reject a pending application.
#[utoipa::path(post, path = "/api/v1/admin/practitioners/{id}/reject", tag = "admin",
    params(("id" = Uuid, Path)), request_body = Reason,
    responses((status = 200, body = PractitionerPrivate), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn reject_practitioner(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<ApiJson<PractitionerPrivate>> {
    let reason = required_reason(body.reason)?;
    Ok(ApiJson(
        review(
            &app,
            &admin,
            &meta,
            id,
            Verification::Rejected,
            Some(reason),
        )
        .await?,
    ))
}

/// Suspend an approved practitioner; they leave discovery and go offline.
#[utoipa::path(post, path = "/api/v1/admin/practitioners/{id}/suspend", tag = "admin",
    params(("id" = Uuid, Path)), request_body = Reason,
    responses((status = 200, body = PractitionerPrivate), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn suspend_practitioner(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<ApiJson<PractitionerPrivate>> {
    let reason = required_reason(body.reason)?;
    Ok(ApiJson(
        review(
            &app,
            &admin,
            &meta,
            id,
            Verification::Suspended,
            Some(reason),
        )
        .await?,
    ))
}

async fn set_user_status(
    app: &AppState,
    admin: &AdminUser,
    meta: &ClientMeta,
    id: Uuid,
    to: AccountStatus,
    reason: Option<String>,
) -> ApiResult<UserView> {
    if id == admin.0.id {
        return Err(ApiError::conflict(
            "cannot_change_self",
            "Admins cannot change their own status",
        ));
    }
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let row = user::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))?;
    if row.status == AccountStatus::Deleted.as_str() {
        return Err(ApiError::conflict(
            "invalid_transition",
            "A deleted account cannot change status",
        ));
    }
    let before = json!({"status": row.status});
    let mut m = row.into_active_model();
    m.status = Set(to.as_str().to_owned());
    m.updated_at = Set(now);
    let row = m.update(&txn).await?;
    if to != AccountStatus::Active {
        // A suspended account leaves discovery; reactivating does not list it again until
        // an admin approves the profile anew.
        practitioner::Entity::update_many()
            .col_expr(
                practitioner::Column::VerificationStatus,
                Expr::value(Verification::Suspended.as_str()),
            )
            .col_expr(
                practitioner::Column::AvailabilityStatus,
                Expr::value(Availability::Offline.as_str()),
            )
            .col_expr(
                practitioner::Column::StatusReason,
                Expr::value("account_suspended"),
            )
            .col_expr(practitioner::Column::UpdatedAt, Expr::value(now))
            .filter(practitioner::Column::UserId.eq(id))
            .filter(practitioner::Column::VerificationStatus.eq(Verification::Approved.as_str()))
            .exec(&txn)
            .await?;
        if let Some(p) = practitioner::Entity::find()
            .filter(practitioner::Column::UserId.eq(id))
            .one(&txn)
            .await?
        {
            refresh_card(&txn, p.id).await?;
        }
        // A suspended account keeps no live session.
        auth_session::Entity::update_many()
            .col_expr(auth_session::Column::RevokedAt, Expr::value(now))
            .col_expr(
                auth_session::Column::RevokedReason,
                Expr::value("account_suspended"),
            )
            .filter(auth_session::Column::UserId.eq(id))
            .filter(auth_session::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
    }
    audit::record(
        &txn,
        &admin.0.actor(meta),
        Change {
            action: if to == AccountStatus::Active {
                "user.reactivate"
            } else {
                "user.suspend"
            },
            target_type: "user",
            target_id: id.to_string(),
            before: Some(before),
            after: Some(json!({"status": row.status, "reason": reason})),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row.into())
}

/// Suspend an account: it can do nothing and all its sessions end.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/suspend", tag = "admin",
    params(("id" = Uuid, Path)), request_body = Reason,
    responses((status = 200, body = UserView), (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 409, description = "Admins cannot change their own status (`cannot_change_self`)", body = Problem)),
    security(("bearer" = [])))]
async fn suspend_user(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<ApiJson<UserView>> {
    let reason = required_reason(body.reason)?;
    Ok(ApiJson(
        set_user_status(
            &app,
            &admin,
            &meta,
            id,
            AccountStatus::Suspended,
            Some(reason),
        )
        .await?,
    ))
}

/// Reactivate a suspended account.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/reactivate", tag = "admin",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserView), (status = 404, body = Problem),
        (status = 409, description = "Admins cannot change their own status (`cannot_change_self`)", body = Problem)),
    security(("bearer" = [])))]
async fn reactivate_user(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<UserView>> {
    Ok(ApiJson(
        set_user_status(&app, &admin, &meta, id, AccountStatus::Active, None).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/admin/audit-logs", tag = "admin", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_audit(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<ApiJson<Page<AuditEntry>>> {
    let limit = page_limit(q.limit)?;
    let mut c = Check::new();
    let target_type = q
        .target_type
        .as_deref()
        .map(|v| c.text("target_type", v, 1, 100));
    let target_id = q
        .target_id
        .as_deref()
        .map(|v| c.text("target_id", v, 1, 100));
    let action = q.action.as_deref().map(|v| c.text("action", v, 1, 100));
    c.finish()?;
    let mut query = audit_log::Entity::find();
    if let Some(t) = target_type {
        query = query.filter(audit_log::Column::TargetType.eq(t));
    }
    if let Some(t) = target_id {
        query = query.filter(audit_log::Column::TargetId.eq(t));
    }
    if let Some(a) = q.actor_id {
        query = query.filter(audit_log::Column::ActorId.eq(a));
    }
    if let Some(a) = action {
        query = query.filter(audit_log::Column::Action.eq(a));
    }
    if let Some(raw) = q.cursor.as_deref() {
        // Ids are UUID v7, so id order is time order.
        let before: Uuid = decode_cursor(raw)?;
        query = query.filter(audit_log::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(audit_log::Column::Id)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        AuditEntry::from,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    /// `pending`, `running`, `done` or `dead` (default `dead`).
    pub status: Option<String>,
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: chrono::DateTime<chrono::Utc>,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Background jobs by state; `dead` ones are the dead letters.
#[utoipa::path(get, path = "/api/v1/admin/jobs", tag = "admin", params(JobsQuery),
    responses((status = 200, body = Vec<JobView>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_jobs(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<JobsQuery>,
) -> ApiResult<ApiJson<Vec<JobView>>> {
    let limit = page_limit(q.limit)?;
    let status = match q.status.as_deref() {
        None => JobStatus::Dead,
        Some(s) => s.parse::<JobStatus>().map_err(|_| {
            ApiError::field(
                "status",
                "invalid_choice",
                "must be pending, running, done or dead",
            )
        })?,
    };
    let rows = job::Entity::find()
        .filter(Condition::all().add(job::Column::Status.eq(status)))
        .order_by_desc(job::Column::UpdatedAt)
        .limit(limit)
        .all(&app.db)
        .await?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|j| JobView {
                id: j.id,
                kind: j.kind,
                status: j.status,
                attempts: j.attempts,
                max_attempts: j.max_attempts,
                run_at: j.run_at,
                last_error: j.last_error,
                created_at: j.created_at,
            })
            .collect(),
    ))
}
