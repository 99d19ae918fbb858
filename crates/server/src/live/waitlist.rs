//! HTTP routes of the waitlist for a busy practitioner; the rules are in
//! `domain::live::waitlist`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiResult, Problem};
use crate::http::{ApiJson, ApiPath};
use domain::live::waitlist::{self, WaitlistView};
use domain::practitioners::Channel;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(join))
        .routes(routes!(my_place, leave))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinBody {
    pub channel: Channel,
}

/// Join a busy practitioner's waitlist. The wallet must cover the minimum a request would
/// need (402 `insufficient_funds`), and a client waits in one line at a time (409
/// `waitlist_elsewhere`).
#[utoipa::path(post, path = "/api/v1/practitioners/{id}/waitlist", operation_id = "join_waitlist", tag = "consultations",
    params(("id" = Uuid, Path)), request_body = JoinBody,
    responses((status = 201, body = WaitlistView),
        (status = 402, description = "`insufficient_funds`: the wallet does not cover the minimum to start", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`practitioner_offline`, `not_busy`, `already_waiting` or `waitlist_elsewhere`", body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn join(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<JoinBody>,
) -> ApiResult<(StatusCode, ApiJson<WaitlistView>)> {
    let v = waitlist::join(&app, auth.id, id, body.channel).await?;
    Ok((StatusCode::CREATED, ApiJson(v)))
}

/// My place on a practitioner's waitlist.
#[utoipa::path(get, path = "/api/v1/practitioners/{id}/waitlist/me", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WaitlistView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn my_place(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<WaitlistView>> {
    Ok(ApiJson(waitlist::my_place(&app, auth.id, id).await?))
}

/// Leave the waitlist (an offer I hold passes to the next in line).
#[utoipa::path(delete, path = "/api/v1/practitioners/{id}/waitlist/me", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn leave(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    waitlist::leave(&app, auth.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
