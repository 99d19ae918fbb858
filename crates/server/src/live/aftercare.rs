//! Around and after a session: Agora RTC tokens for call and video sessions (logged in
//! `agora_usage_logs`), reviews (client only, after a completed session, once; practitioner
//! reply; admin hide) with the practitioner's rating kept in the same transaction, tips from
//! the wallet, and the practitioner's private notes and shared summary.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{AdminUser, AuthUser, PractitionerUser, Role};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{
    ApiJson, ApiPath, ApiQuery, ClientMeta, Page, decode_cursor, encode_cursor, page_limit,
};
use crate::idempotency::{IdempotencyKey, fingerprint};
use domain::audit::{self, Change};
use domain::ledger::MAX_AMOUNT;
use domain::live::engine::Status;
use domain::validate::Check;
use providers::agora::{RtcRole, RtcTokenRequest, RtcUser, build_rtc_token};
use store::entity::{agora_usage_log, consultation, consultation_note, practitioner, review};
use store::money::Bps;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rtc_token))
        .routes(routes!(create_review))
        .routes(routes!(reply_review))
        .routes(routes!(hide_review))
        .routes(routes!(practitioner_reviews))
        .routes(routes!(send_tip))
        .routes(routes!(get_notes, put_notes))
}

/// Agora credentials: the configured project, or a sandbox pair made once per process.
pub struct RtcKeys {
    pub app_id: String,
    pub certificate: String,
    pub sandbox: bool,
}

impl RtcKeys {
    pub fn from_config(cfg: &domain::config::Config) -> Self {
        use secrecy::ExposeSecret;
        match (&cfg.agora_app_id, &cfg.agora_app_certificate) {
            (Some(id), Some(cert)) => Self {
                app_id: id.clone(),
                certificate: cert.expose_secret().to_owned(),
                sandbox: false,
            },
            _ => Self {
                app_id: Uuid::new_v4().simple().to_string(),
                certificate: Uuid::new_v4().simple().to_string(),
                sandbox: true,
            },
        }
    }
}

async fn participant(app: &AppState, auth: &AuthUser, id: Uuid) -> ApiResult<consultation::Model> {
    consultation::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|c| c.client_id == auth.id || c.practitioner_user_id == auth.id)
        .ok_or_else(|| ApiError::not_found("Consultation"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RtcTokenView {
    pub app_id: String,
    pub channel: String,
    /// This participant's numeric uid in the channel (client 1, practitioner 2).
    pub uid: u32,
    /// AccessToken2 (`007…`).
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// True when no Agora project is configured: the token has the real format, signed by
    /// a throwaway key, so Agora will refuse it.
    pub sandbox: bool,
}

/// How long this session's next RTC token may live: what the client's wallet covers now,
/// plus the grace window, within `agora_token_ttl_secs` (see `billing::rtc_token_ttl`).
async fn rtc_ttl(app: &AppState, c: &consultation::Model, now: DateTime<Utc>) -> ApiResult<u32> {
    let cap = app.config.agora_token_ttl_secs.clamp(60, 86_400);
    let available = domain::live::engine::available_balance(
        &app.db,
        c.client_id,
        domain::live::engine::currency_of(c)?,
    )
    .await?;
    let billed = u32::try_from(c.minutes_billed).unwrap_or(0);
    // Wall time since the start overstates the session's clock after an outage (outages
    // are not billed), so the paid rest is, if anything, short: the safe side for a token.
    let elapsed = c.started_at.map_or(0, |s| (now - s).num_seconds());
    let paid_secs_left = i64::from(billed) * 60 - elapsed;
    Ok(domain::live::billing::rtc_token_ttl(
        domain::live::engine::terms_of(c)?,
        billed,
        paid_secs_left,
        available,
        app.config.live_grace_secs,
        cap,
    ))
}

/// A token to join the session's voice/video channel. It lives as long as the client's
/// wallet pays for plus the grace window (`live_grace_secs`), at most
/// `agora_token_ttl_secs`; ask again while the session lasts (a top-up lengthens the next
/// one). Only for active call and video sessions.
#[utoipa::path(post, path = "/api/v1/consultations/{id}/rtc-token", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = RtcTokenView), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn rtc_token(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<RtcTokenView>> {
    let c = participant(&app, &auth, id).await?;
    if c.channel == "chat" {
        return Err(ApiError::conflict(
            "not_a_call",
            "Chat sessions have no voice or video channel",
        ));
    }
    if c.status != Status::Active.as_str() {
        return Err(ApiError::conflict(
            "consultation_not_active",
            "Tokens are issued only while the session is active",
        ));
    }
    let now = app.clock.now();
    let ttl = rtc_ttl(&app, &c, now).await?;
    let uid = if c.client_id == auth.id { 1 } else { 2 };
    let channel = format!("cs-{}", c.id.simple());
    let salt: u32 = rand::random_range(1..u32::MAX);
    let token = build_rtc_token(&RtcTokenRequest {
        app_id: &app.rtc.app_id,
        app_certificate: &app.rtc.certificate,
        channel: &channel,
        user: RtcUser::Uid(uid),
        role: RtcRole::Publisher,
        token_expire_secs: ttl,
        privilege_expire_secs: ttl,
        issued_at: u32::try_from(now.timestamp()).unwrap_or(0),
        salt,
    })
    .map_err(|e| ApiError::internal(anyhow::anyhow!("building the RTC token: {e}")))?;
    let expires_at = now + Duration::seconds(i64::from(ttl));
    let txn = store::begin_write(&app.db).await?;
    agora_usage_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        consultation_id: Set(c.id),
        user_id: Set(auth.id),
        channel_name: Set(channel.clone()),
        rtc_uid: Set(i64::from(uid)),
        role: Set("publisher".to_owned()),
        issued_at: Set(now),
        expires_at: Set(expires_at),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(ApiJson(RtcTokenView {
        app_id: app.rtc.app_id.clone(),
        channel,
        uid,
        token,
        expires_at,
        sandbox: app.rtc.sandbox,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub practitioner_id: Uuid,
    pub rating: i32,
    pub text: String,
    pub public: bool,
    /// From a client who paid money for at least one minute of the consultation. Only
    /// verified reviews count in the practitioner's rating.
    pub verified: bool,
    pub reply: Option<String>,
    pub replied_at: Option<DateTime<Utc>>,
    pub hidden: bool,
    pub created_at: DateTime<Utc>,
}

impl From<review::Model> for ReviewView {
    fn from(r: review::Model) -> Self {
        Self {
            id: r.id,
            consultation_id: r.consultation_id,
            practitioner_id: r.practitioner_id,
            rating: r.rating,
            text: r.text,
            public: r.public,
            verified: r.verified,
            reply: r.reply,
            replied_at: r.replied_at,
            hidden: r.hidden,
            created_at: r.created_at,
        }
    }
}

/// Recomputes a practitioner's rating from their visible, verified reviews, in the caller's
/// transaction, and refreshes the listing card. A review of a session the client paid
/// nothing for (free minutes, a promo worth the whole rate) is kept and shown but does not
/// count: otherwise throwaway accounts with free first minutes could rate anyone.
async fn refresh_rating<C: ConnectionTrait>(conn: &C, practitioner_id: Uuid) -> ApiResult<()> {
    let visible = review::Entity::find()
        .filter(review::Column::PractitionerId.eq(practitioner_id))
        .filter(review::Column::Hidden.eq(false))
        .filter(review::Column::Verified.eq(true))
        .all(conn)
        .await?;
    let count = visible.len() as i64;
    let sum: i64 = visible.iter().map(|r| i64::from(r.rating)).sum();
    // Average × 100, rounded half up, in integers.
    let avg_centi = if count == 0 {
        0
    } else {
        (sum * 200 + count) / (2 * count)
    };
    practitioner::Entity::update_many()
        .col_expr(
            practitioner::Column::RatingAvgCenti,
            Expr::value(avg_centi as i32),
        )
        .col_expr(practitioner::Column::RatingCount, Expr::value(count as i32))
        .filter(practitioner::Column::Id.eq(practitioner_id))
        .exec(conn)
        .await?;
    crate::practitioners::refresh_card(conn, practitioner_id).await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// 1 … 5.
    pub rating: i32,
    #[serde(default)]
    pub text: String,
    /// Shown on the practitioner's profile (default true).
    pub public: Option<bool>,
}

/// Review a completed consultation (its client, once).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/review", tag = "consultations",
    params(("id" = Uuid, Path)), request_body = ReviewBody,
    responses((status = 201, body = ReviewView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_review(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> ApiResult<(StatusCode, ApiJson<ReviewView>)> {
    let mut c = Check::new();
    c.range("rating", body.rating, 1, 5);
    let text = if body.text.trim().is_empty() {
        String::new()
    } else {
        c.text("text", &body.text, 1, 2_000)
    };
    c.finish()?;
    let cons = participant(&app, &auth, id).await?;
    if cons.client_id != auth.id {
        return Err(ApiError::forbidden(
            "not_the_client",
            "Only the client of a consultation can review it",
        ));
    }
    if cons.status != Status::Ended.as_str() {
        return Err(ApiError::conflict(
            "consultation_not_completed",
            "A consultation can be reviewed once it has ended",
        ));
    }
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let row = review::ActiveModel {
        id: Set(Uuid::now_v7()),
        consultation_id: Set(cons.id),
        client_id: Set(auth.id),
        practitioner_id: Set(cons.practitioner_id),
        rating: Set(body.rating),
        text: Set(text),
        public: Set(body.public.unwrap_or(true)),
        // Paid for: money left the client's wallet for at least one minute.
        verified: Set(cons.amount_charged > 0),
        reply: Set(None),
        replied_at: Set(None),
        hidden: Set(false),
        hidden_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(domain::error::conflict_on_unique(
        "already_reviewed",
        "This consultation has a review",
    ))?;
    refresh_rating(&txn, cons.practitioner_id).await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(row.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    pub text: String,
}

/// Reply to a review of me (replaces an earlier reply).
#[utoipa::path(post, path = "/api/v1/reviews/{id}/reply", tag = "consultations",
    params(("id" = Uuid, Path)), request_body = ReplyBody,
    responses((status = 200, body = ReviewView), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn reply_review(
    State(app): State<AppState>,
    p: PractitionerUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> ApiResult<ApiJson<ReviewView>> {
    let mut c = Check::new();
    let text = c.text("text", &body.text, 1, 2_000);
    c.finish()?;
    let me = crate::practitioners::profile::find_by_user(&app, p.0.id).await?;
    let r = review::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|r| r.practitioner_id == me.id)
        .ok_or_else(|| ApiError::not_found("Review"))?;
    let now = app.clock.now();
    let mut m: review::ActiveModel = r.into();
    m.reply = Set(Some(text));
    m.replied_at = Set(Some(now));
    m.updated_at = Set(now);
    let txn = store::begin_write(&app.db).await?;
    let r = m.update(&txn).await?;
    txn.commit().await?;
    Ok(ApiJson(r.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HideBody {
    pub hidden: bool,
    pub reason: Option<String>,
}

/// Hide a review from the profile and the rating, or show it again (admin, audited).
#[utoipa::path(post, path = "/api/v1/admin/reviews/{id}/visibility", tag = "admin",
    params(("id" = Uuid, Path)), request_body = HideBody,
    responses((status = 200, body = ReviewView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn hide_review(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<HideBody>,
) -> ApiResult<ApiJson<ReviewView>> {
    let mut c = Check::new();
    let reason = c.opt_text("reason", body.reason.as_deref(), 500);
    c.finish()?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let r = review::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Review"))?;
    let before = r.hidden;
    let practitioner_id = r.practitioner_id;
    let mut m: review::ActiveModel = r.into();
    m.hidden = Set(body.hidden);
    m.hidden_reason = Set(if body.hidden { reason.clone() } else { None });
    m.updated_at = Set(now);
    let r = m.update(&txn).await?;
    refresh_rating(&txn, practitioner_id).await?;
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: if body.hidden {
                "review.hide"
            } else {
                "review.show"
            },
            target_type: "review",
            target_id: id.to_string(),
            before: Some(json!({"hidden": before})),
            after: Some(json!({"hidden": body.hidden, "reason": reason})),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(ApiJson(r.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReviewsQuery {
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// A practitioner's public reviews, newest first.
#[utoipa::path(get, path = "/api/v1/practitioners/{id}/reviews", tag = "practitioners",
    params(("id" = Uuid, Path), ReviewsQuery),
    responses((status = 200, body = Page<ReviewView>), (status = 422, body = Problem)))]
async fn practitioner_reviews(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ReviewsQuery>,
) -> ApiResult<ApiJson<Page<ReviewView>>> {
    let limit = page_limit(q.limit)?;
    let mut query = review::Entity::find()
        .filter(review::Column::PractitionerId.eq(id))
        .filter(review::Column::Public.eq(true))
        .filter(review::Column::Hidden.eq(false));
    if let Some(raw) = q.cursor.as_deref() {
        let before: Uuid = decode_cursor(raw)?;
        query = query.filter(review::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(review::Column::Id)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        ReviewView::from,
    )))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TipBody {
    /// Minor units.
    pub amount: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TipView {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub amount: i64,
    /// The platform's fee out of `amount`.
    pub platform_fee: i64,
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

/// Tip the practitioner of an ended consultation from my wallet (`Idempotency-Key`).
#[utoipa::path(post, path = "/api/v1/consultations/{id}/tip", tag = "consultations",
    params(("id" = Uuid, Path)), request_body = TipBody,
    responses((status = 201, body = TipView), (status = 402, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn send_tip(
    State(app): State<AppState>,
    auth: AuthUser,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<TipBody>,
) -> ApiResult<Response> {
    let mut c = Check::new();
    c.range("amount", body.amount, 1, MAX_AMOUNT);
    c.finish()?;
    let fp = fingerprint("POST", &format!("/api/v1/consultations/{id}/tip"), &body);
    if let Some(r) = key.replay(&app.db, auth.id, &fp).await? {
        return Ok(r);
    }
    let cons = participant(&app, &auth, id).await?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let row = domain::live::tips::send(
        &txn,
        Bps::new(app.config.tip_fee_bps).map_err(|m| ApiError::internal(anyhow::anyhow!(m)))?,
        auth.id,
        &cons,
        body.amount,
        &key.0,
        now,
    )
    .await?;
    let view = TipView {
        id: row.id,
        consultation_id: row.consultation_id,
        amount: row.amount,
        platform_fee: row.platform_fee,
        currency: row.currency,
        created_at: row.created_at,
    };
    let res = key
        .save(&txn, auth.id, &fp, StatusCode::CREATED, &view, now)
        .await?;
    txn.commit().await?;
    Ok(res)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotesBody {
    /// Only the practitioner sees these.
    #[serde(default)]
    pub private_notes: String,
    /// Shared with the client.
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotesView {
    /// Absent for the client.
    pub private_notes: Option<String>,
    pub summary: String,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The practitioner's notes (private) and summary (shared with the client).
#[utoipa::path(get, path = "/api/v1/consultations/{id}/notes", tag = "consultations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = NotesView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_notes(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<NotesView>> {
    let c = participant(&app, &auth, id).await?;
    let notes = consultation_note::Entity::find_by_id(c.id)
        .one(&app.db)
        .await?;
    let is_practitioner = c.practitioner_user_id == auth.id && auth.role == Role::Practitioner;
    Ok(ApiJson(NotesView {
        private_notes: is_practitioner.then(|| {
            notes
                .as_ref()
                .map(|n| n.private_notes.clone())
                .unwrap_or_default()
        }),
        summary: notes
            .as_ref()
            .map(|n| n.summary.clone())
            .unwrap_or_default(),
        updated_at: notes.map(|n| n.updated_at),
    }))
}

/// Write my notes and summary for one of my consultations.
#[utoipa::path(put, path = "/api/v1/consultations/{id}/notes", tag = "consultations",
    params(("id" = Uuid, Path)), request_body = NotesBody,
    responses((status = 200, body = NotesView), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn put_notes(
    State(app): State<AppState>,
    p: PractitionerUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NotesBody>,
) -> ApiResult<ApiJson<NotesView>> {
    let mut c = Check::new();
    let private_notes = if body.private_notes.trim().is_empty() {
        String::new()
    } else {
        c.text("private_notes", &body.private_notes, 1, 10_000)
    };
    let summary = if body.summary.trim().is_empty() {
        String::new()
    } else {
        c.text("summary", &body.summary, 1, 5_000)
    };
    c.finish()?;
    let cons = participant(&app, &p.0, id).await?;
    if cons.practitioner_user_id != p.0.id {
        return Err(ApiError::not_found("Consultation"));
    }
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    consultation_note::Entity::insert(consultation_note::ActiveModel {
        consultation_id: Set(cons.id),
        private_notes: Set(private_notes.clone()),
        summary: Set(summary.clone()),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(consultation_note::Column::ConsultationId)
            .update_columns([
                consultation_note::Column::PrivateNotes,
                consultation_note::Column::Summary,
                consultation_note::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(ApiJson(NotesView {
        private_notes: Some(private_notes),
        summary,
        updated_at: Some(now),
    }))
}
