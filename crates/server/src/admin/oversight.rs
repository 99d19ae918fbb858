//! What an operator oversees beyond the review queue: one practitioner with their
//! commission (and the override, audited), every consultation, and every review hidden
//! or shown. The console's admin pages read these.

use axum::extract::State;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{
    ApiJson, ApiPath, ApiQuery, ClientMeta, Page, TimeOrder, encode_cursor, page_limit,
};
use crate::live::aftercare::ReviewView;
use crate::live::routes::ConsultationView;
use crate::practitioners::PractitionerPrivate;
use domain::audit::{self, Change};
use domain::payouts::commission_for;
use store::entity::{consultation, practitioner, review};
use store::status::ConsultationStatus;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(admin_practitioner))
        .routes(routes!(set_commission))
        .routes(routes!(admin_consultations))
        .routes(routes!(admin_reviews))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminPractitionerView {
    #[serde(flatten)]
    pub practitioner: PractitionerPrivate,
    /// This practitioner's own rate, basis points; absent when the platform's applies.
    pub commission_override_bps: Option<i32>,
    /// The rate their next session or appointment is charged.
    pub commission_bps: u16,
}

fn view(app: &AppState, p: &practitioner::Model) -> AdminPractitionerView {
    AdminPractitionerView {
        practitioner: p.into(),
        commission_override_bps: p.commission_bps,
        commission_bps: commission_for(app.config.commission_bps, p.commission_bps).get(),
    }
}

/// One practitioner's private profile and commission.
#[utoipa::path(get, path = "/api/v1/admin/practitioners/{id}", tag = "admin", params(("id" = Uuid, Path)),
    responses((status = 200, body = AdminPractitionerView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn admin_practitioner(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<AdminPractitionerView>> {
    let p = practitioner::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Practitioner"))?;
    Ok(ApiJson(view(&app, &p)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommissionBody {
    /// 0 … 10000 basis points (2000 = 20 %); `null` returns them to the platform's rate.
    pub commission_bps: Option<i32>,
}

/// Give a practitioner their own commission rate, or return them to the platform's.
/// Sessions already running keep the rate they started with. Audited.
#[utoipa::path(put, path = "/api/v1/admin/practitioners/{id}/commission", tag = "admin",
    params(("id" = Uuid, Path)), request_body = CommissionBody,
    responses((status = 200, body = AdminPractitionerView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn set_commission(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<CommissionBody>,
) -> ApiResult<ApiJson<AdminPractitionerView>> {
    if body
        .commission_bps
        .is_some_and(|bps| !(0..=10_000).contains(&bps))
    {
        return Err(ApiError::field(
            "commission_bps",
            "out_of_range",
            "must be between 0 and 10000 basis points",
        ));
    }
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let row = practitioner::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Practitioner"))?;
    let before = row.commission_bps;
    let mut m = row.into_active_model();
    m.commission_bps = Set(body.commission_bps);
    m.updated_at = Set(now);
    let row = m.update(&txn).await?;
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "practitioner.commission",
            target_type: "practitioner",
            target_id: id.to_string(),
            before: Some(json!({"commission_bps": before})),
            after: Some(json!({"commission_bps": row.commission_bps})),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(ApiJson(view(&app, &row)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdminConsultationsQuery {
    /// `newest` first (default) or `oldest` first.
    #[param(inline)]
    pub sort: Option<TimeOrder>,
    /// `requested`, `active`, `ended`, `declined`, `missed` or `cancelled`.
    pub status: Option<String>,
    pub client_id: Option<Uuid>,
    /// The practitioner's profile id.
    pub practitioner_id: Option<Uuid>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// Every consultation, newest first: the live ones, and ended ones for disputes (each
/// one's transcript is at `/api/v1/consultations/{id}/transcript`).
#[utoipa::path(get, path = "/api/v1/admin/consultations", tag = "admin", params(AdminConsultationsQuery),
    responses((status = 200, body = Page<ConsultationView>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn admin_consultations(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<AdminConsultationsQuery>,
) -> ApiResult<ApiJson<Page<ConsultationView>>> {
    let limit = page_limit(q.limit)?;
    let mut query = consultation::Entity::find();
    if let Some(status) = q.status.as_deref() {
        let status: ConsultationStatus = status.parse().map_err(|_| {
            ApiError::field(
                "status",
                "invalid_choice",
                "must be requested, active, ended, declined, missed or cancelled",
            )
        })?;
        query = query.filter(consultation::Column::Status.eq(status));
    }
    if let Some(client) = q.client_id {
        query = query.filter(consultation::Column::ClientId.eq(client));
    }
    if let Some(practitioner) = q.practitioner_id {
        query = query.filter(consultation::Column::PractitionerId.eq(practitioner));
    }
    let query =
        q.sort
            .unwrap_or_default()
            .page(query, consultation::Column::Id, q.cursor.as_deref())?;
    let rows = query.limit(limit + 1).all(&app.db).await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        ConsultationView::from,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdminReviewsQuery {
    /// `newest` first (default) or `oldest` first.
    #[param(inline)]
    pub sort: Option<TimeOrder>,
    /// Only hidden (`true`) or only shown (`false`) reviews.
    pub hidden: Option<bool>,
    /// The practitioner's profile id.
    pub practitioner_id: Option<Uuid>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// Every review, private and hidden ones included, newest first.
#[utoipa::path(get, path = "/api/v1/admin/reviews", tag = "admin", params(AdminReviewsQuery),
    responses((status = 200, body = Page<ReviewView>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn admin_reviews(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<AdminReviewsQuery>,
) -> ApiResult<ApiJson<Page<ReviewView>>> {
    let limit = page_limit(q.limit)?;
    let mut query = review::Entity::find();
    if let Some(hidden) = q.hidden {
        query = query.filter(review::Column::Hidden.eq(hidden));
    }
    if let Some(practitioner) = q.practitioner_id {
        query = query.filter(review::Column::PractitionerId.eq(practitioner));
    }
    let query = q
        .sort
        .unwrap_or_default()
        .page(query, review::Column::Id, q.cursor.as_deref())?;
    let rows = query.limit(limit + 1).all(&app.db).await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        ReviewView::from,
    )))
}
