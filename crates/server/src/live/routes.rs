//! `/api/v1/consultations…` (request, accept, decline, cancel, heartbeat, end, read, list,
//! summary) and `/api/v1/practitioners/me/presence…` (go online or offline, heartbeat).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{AuthUser, PractitionerUser, Role};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, ApiQuery, Page, decode_cursor, encode_cursor, page_limit};
use crate::practitioners::Channel;
use domain::live::engine::{self, NewRequest};
use store::entity::{consultation, consultation_minute, practitioner, practitioner_presence};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_consultation, my_consultations))
        .routes(routes!(get_consultation))
        .routes(routes!(accept))
        .routes(routes!(decline))
        .routes(routes!(cancel))
        .routes(routes!(heartbeat))
        .routes(routes!(end))
        .routes(routes!(summary))
        .routes(routes!(set_presence, get_presence))
        .routes(routes!(presence_heartbeat))
        .routes(routes!(super::ws::upgrade))
        .routes(routes!(list_messages, post_message))
        .routes(routes!(transcript))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationView {
    pub id: Uuid,
    /// Human reference, `CS…`.
    pub reference: String,
    pub client_id: Uuid,
    pub practitioner_id: Uuid,
    pub channel: String,
    /// `requested`, `active`, `ended`, `declined`, `missed` or `cancelled`.
    pub status: String,
    pub currency: String,
    /// Price of one minute, minor units, fixed at the request.
    pub rate: i64,
    pub free_minutes: i32,
    pub promo_code: Option<String>,
    /// Taken off each paid minute while the promo code's budget lasts.
    pub discount_per_minute: i64,
    /// The most the promo code takes off the whole session; then the full rate applies.
    pub discount_budget: i64,
    pub requested_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    pub minutes_billed: i32,
    pub amount_charged: i64,
}

impl From<consultation::Model> for ConsultationView {
    fn from(c: consultation::Model) -> Self {
        Self {
            id: c.id,
            reference: c.reference,
            client_id: c.client_id,
            practitioner_id: c.practitioner_id,
            channel: c.channel,
            status: c.status,
            currency: c.currency,
            rate: c.rate_minor,
            free_minutes: c.free_minutes,
            promo_code: c.promo_code,
            discount_per_minute: c.discount_per_minute,
            discount_budget: c.discount_budget,
            requested_at: c.requested_at,
            respond_by: c.respond_by,
            started_at: c.started_at,
            ended_at: c.ended_at,
            end_reason: c.end_reason,
            minutes_billed: c.minutes_billed,
            amount_charged: c.amount_charged,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationRequest {
    pub practitioner_id: Uuid,
    pub channel: Channel,
    pub promo_code: Option<String>,
}

/// Ask a practitioner for a chat, call or video session. The wallet must cover the minimum
/// minutes at the channel's rate (after free minutes and the promo code).
#[utoipa::path(post, path = "/api/v1/consultations", tag = "consultations",
    request_body = ConsultationRequest,
    responses((status = 201, body = ConsultationView), (status = 402, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn request_consultation(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<ConsultationRequest>,
) -> ApiResult<(StatusCode, ApiJson<ConsultationView>)> {
    if auth.role == Role::Admin {
        return Err(ApiError::forbidden(
            "forbidden",
            "Admin accounts cannot book consultations",
        ));
    }
    let code = body
        .promo_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let c = engine::request(
        &app,
        NewRequest {
            client: auth.id,
            practitioner_id: body.practitioner_id,
            channel: body.channel,
            promo_code: code,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(c.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// My consultations (as client or practitioner), newest first.
#[utoipa::path(get, path = "/api/v1/consultations", tag = "consultations", params(ListQuery),
    responses((status = 200, body = Page<ConsultationView>), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn my_consultations(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<ApiJson<Page<ConsultationView>>> {
    let limit = page_limit(q.limit)?;
    let mut query = consultation::Entity::find().filter(
        sea_orm::Condition::any()
            .add(consultation::Column::ClientId.eq(auth.id))
            .add(consultation::Column::PractitionerUserId.eq(auth.id)),
    );
    if let Some(raw) = q.cursor.as_deref() {
        let before: Uuid = decode_cursor(raw)?;
        query = query.filter(consultation::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(consultation::Column::Id)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        ConsultationView::from,
    )))
}

async fn visible(app: &AppState, auth: &AuthUser, id: Uuid) -> ApiResult<consultation::Model> {
    consultation::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|c| {
            c.client_id == auth.id || c.practitioner_user_id == auth.id || auth.role == Role::Admin
        })
        .ok_or_else(|| ApiError::not_found("Consultation"))
}

/// One consultation (its participants and admins).
#[utoipa::path(get, path = "/api/v1/consultations/{id}", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConsultationView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_consultation(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ConsultationView>> {
    Ok(ApiJson(visible(&app, &auth, id).await?.into()))
}

/// Accept a request: the session starts now.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/accept", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConsultationView), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn accept(
    State(app): State<AppState>,
    p: PractitionerUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ConsultationView>> {
    Ok(ApiJson(engine::accept(&app, p.0.id, id).await?.into()))
}

/// Decline a request.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/decline", operation_id = "decline_consultation", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConsultationView), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn decline(
    State(app): State<AppState>,
    p: PractitionerUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ConsultationView>> {
    Ok(ApiJson(
        engine::refuse(&app, p.0.id, id, true).await?.into(),
    ))
}

/// Withdraw my request before it is answered.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/cancel", operation_id = "cancel_consultation", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConsultationView), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn cancel(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ConsultationView>> {
    Ok(ApiJson(
        engine::refuse(&app, auth.id, id, false).await?.into(),
    ))
}

/// I am still here (either participant; the WebSocket does this by itself).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/heartbeat", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConsultationView), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn heartbeat(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ConsultationView>> {
    Ok(ApiJson(engine::heartbeat(&app, auth.id, id).await?.into()))
}

/// End the session now (either participant); the minutes owed are settled.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/end", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ConsultationView), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn end(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ConsultationView>> {
    Ok(ApiJson(engine::end(&app, auth.id, id).await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MinuteView {
    /// 1-based.
    pub minute: i32,
    pub free: bool,
    pub client_paid: i64,
    pub discount: i64,
    pub charged_at: DateTime<Utc>,
}

/// A session's receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    pub consultation: ConsultationView,
    /// Seconds from start to end (or to now while active).
    pub duration_secs: i64,
    pub free_minutes_used: i32,
    pub discount_total: i64,
    /// What the practitioner earned (their own and admins' view only).
    pub practitioner_earned: Option<i64>,
    pub minutes: Vec<MinuteView>,
}

/// Duration, free minutes, discount and each charged minute.
#[utoipa::path(get, path = "/api/v1/consultations/{id}/summary", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SummaryView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn summary(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<SummaryView>> {
    let c = visible(&app, &auth, id).await?;
    let minutes = consultation_minute::Entity::find()
        .filter(consultation_minute::Column::ConsultationId.eq(id))
        .order_by_asc(consultation_minute::Column::MinuteIndex)
        .all(&app.db)
        .await?;
    let duration_secs = match (c.started_at, c.ended_at) {
        (Some(s), Some(e)) => (e - s).num_seconds(),
        (Some(s), None) => (app.clock.now() - s).num_seconds(),
        _ => 0,
    };
    let sees_earnings = auth.id == c.practitioner_user_id || auth.role == Role::Admin;
    Ok(ApiJson(SummaryView {
        duration_secs,
        free_minutes_used: c.free_minutes_used,
        discount_total: c.discount_total,
        practitioner_earned: sees_earnings
            .then(|| minutes.iter().map(|m| m.practitioner_earned).sum()),
        minutes: minutes
            .into_iter()
            .map(|m| MinuteView {
                minute: m.minute_index + 1,
                free: m.free,
                client_paid: m.client_paid,
                discount: m.discount,
                charged_at: m.charged_at,
            })
            .collect(),
        consultation: c.into(),
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Offline,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceBody {
    pub status: PresenceStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceView {
    /// `online`, `busy` or `offline`, as listed.
    pub availability: String,
    pub active_sessions: i32,
    pub max_concurrent_sessions: i32,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    /// Send a heartbeat before this, or be taken offline.
    pub heartbeat_due_by: Option<DateTime<Utc>>,
}

async fn my_practitioner(app: &AppState, user: Uuid) -> ApiResult<practitioner::Model> {
    practitioner::Entity::find()
        .filter(practitioner::Column::UserId.eq(user))
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Practitioner profile"))
}

async fn presence_view(app: &AppState, p_id: Uuid) -> ApiResult<PresenceView> {
    let p = practitioner::Entity::find_by_id(p_id)
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Practitioner profile"))?;
    let presence = practitioner_presence::Entity::find_by_id(p_id)
        .one(&app.db)
        .await?;
    Ok(PresenceView {
        availability: p.availability_status,
        active_sessions: presence.as_ref().map_or(0, |x| x.active_sessions),
        max_concurrent_sessions: p.max_concurrent_sessions,
        last_heartbeat_at: presence.as_ref().map(|x| x.last_heartbeat_at),
        heartbeat_due_by: presence
            .filter(|x| x.online)
            .map(|x| x.last_heartbeat_at + Duration::seconds(app.config.presence_timeout_secs)),
    })
}

/// Go online (take requests) or offline.
#[utoipa::path(put, path = "/api/v1/practitioners/me/presence", tag = "consultations",
    request_body = PresenceBody,
    responses((status = 200, body = PresenceView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn set_presence(
    State(app): State<AppState>,
    p: PractitionerUser,
    ApiJson(body): ApiJson<PresenceBody>,
) -> ApiResult<ApiJson<PresenceView>> {
    let me = my_practitioner(&app, p.0.id).await?;
    let now = app.clock.now();
    let online = body.status == PresenceStatus::Online;
    let txn = store::begin_write(&app.db).await?;
    practitioner_presence::Entity::insert(practitioner_presence::ActiveModel {
        practitioner_id: Set(me.id),
        online: Set(online),
        last_heartbeat_at: Set(now),
        active_sessions: Set(0),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(practitioner_presence::Column::PractitionerId)
            .update_columns([
                practitioner_presence::Column::Online,
                practitioner_presence::Column::LastHeartbeatAt,
                practitioner_presence::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    engine::refresh_availability(&txn, me.id).await?;
    txn.commit().await?;
    Ok(ApiJson(presence_view(&app, me.id).await?))
}

/// My presence as the listing shows it.
#[utoipa::path(get, path = "/api/v1/practitioners/me/presence", tag = "consultations",
    responses((status = 200, body = PresenceView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_presence(
    State(app): State<AppState>,
    p: PractitionerUser,
) -> ApiResult<ApiJson<PresenceView>> {
    let me = my_practitioner(&app, p.0.id).await?;
    Ok(ApiJson(presence_view(&app, me.id).await?))
}

/// Keep me online (send at least every `presence_timeout_secs`).
#[utoipa::path(post, path = "/api/v1/practitioners/me/presence/heartbeat", tag = "consultations",
    responses((status = 200, body = PresenceView), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn presence_heartbeat(
    State(app): State<AppState>,
    p: PractitionerUser,
) -> ApiResult<ApiJson<PresenceView>> {
    let me = my_practitioner(&app, p.0.id).await?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let res = practitioner_presence::Entity::update_many()
        .col_expr(
            practitioner_presence::Column::LastHeartbeatAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(practitioner_presence::Column::PractitionerId.eq(me.id))
        .filter(practitioner_presence::Column::Online.eq(true))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    if res.rows_affected != 1 {
        return Err(ApiError::conflict(
            "not_online",
            "You are offline; go online first (PUT /api/v1/practitioners/me/presence)",
        ));
    }
    Ok(ApiJson(presence_view(&app, me.id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Messages after this id, oldest first (for catching up).
    pub after: Option<Uuid>,
    /// The page just before this id, oldest first (for scrolling back).
    pub before: Option<Uuid>,
    /// 1 … 100 (default 20).
    pub limit: Option<u64>,
}

/// Chat history of a consultation (participants and admins).
#[utoipa::path(get, path = "/api/v1/consultations/{id}/messages", tag = "consultations",
    params(("id" = Uuid, Path), MessagesQuery),
    responses((status = 200, body = Vec<domain::live::chat::MessageView>), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn list_messages(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<MessagesQuery>,
) -> ApiResult<ApiJson<Vec<domain::live::chat::MessageView>>> {
    if q.after.is_some() && q.before.is_some() {
        return Err(ApiError::field(
            "before",
            "invalid_range",
            "use either after or before",
        ));
    }
    let limit = page_limit(q.limit)?;
    domain::live::chat::participant_view(&app, auth.id, auth.role, id).await?;
    Ok(ApiJson(
        domain::live::chat::history(&app, id, q.after, q.before, limit).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// Your id for this message: sending it again stores it once.
    pub client_id: String,
    pub text: String,
}

/// Send a chat message without a socket (the socket's `message` frame does the same).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/messages", tag = "consultations",
    params(("id" = Uuid, Path)), request_body = NewMessage,
    responses((status = 201, body = domain::live::chat::MessageView),
        (status = 200, description = "Already stored (same client_id)", body = domain::live::chat::MessageView),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn post_message(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NewMessage>,
) -> ApiResult<(StatusCode, ApiJson<domain::live::chat::MessageView>)> {
    let (m, new) =
        domain::live::chat::send(&app, auth.id, id, Some(body.client_id.trim()), &body.text)
            .await?;
    Ok((
        if new {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        ApiJson(m),
    ))
}

/// The whole conversation as plain text, for either participant to keep.
#[utoipa::path(get, path = "/api/v1/consultations/{id}/transcript", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/plain", body = String),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn transcript(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let c = domain::live::chat::participant_view(&app, auth.id, auth.role, id).await?;
    let names = store::entity::user::Entity::find()
        .filter(store::entity::user::Column::Id.is_in([c.client_id, c.practitioner_user_id]))
        .all(&app.db)
        .await?;
    let name_of = |id: Option<Uuid>| match id {
        None => "Augur".to_owned(),
        Some(id) => names
            .iter()
            .find(|u| u.id == id)
            .map(|u| {
                format!("{} {}", u.first_name, u.last_name)
                    .trim()
                    .to_owned()
            })
            .unwrap_or_else(|| "Unknown".to_owned()),
    };
    let mut out = format!(
        "Consultation {} ({})\nStarted: {}\nEnded: {}\n\n",
        c.reference,
        c.channel,
        c.started_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "-".into()),
        c.ended_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "-".into()),
    );
    let mut after = None;
    loop {
        let page = domain::live::chat::history(&app, id, after, None, 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for m in &page {
            out.push_str(&format!(
                "[{}] {}: {}\n",
                m.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                name_of(m.sender_id),
                m.body
            ));
        }
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        out,
    )
        .into_response())
}
