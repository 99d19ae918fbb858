//! Admin endpoints: the event catalog, templates (list, read, edit with validation, reset
//! to the default, preview), the delivery queue with its dead letters (and a retry), and
//! what the sandbox providers "sent" (the demo's mail catcher).
//! Every change is audited in the same transaction.

use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::status::DeliveryStatus;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{Category, Channel, events};
use crate::app::AppState;
use crate::auth::AdminUser;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::http::{
    ApiJson, ApiPath, ApiQuery, ClientMeta, Page, decode_cursor, encode_cursor, page_limit,
};
use domain::audit::{self, Change};
use domain::notifications::templates::{self, DEFAULT_LOCALE, Rendered, TemplateSource};
use store::entity::{notification_queue as queue, notification_template as tpl};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events))
        .routes(routes!(list_templates))
        .routes(routes!(get_template, put_template, reset_template))
        .routes(routes!(preview_template))
        .routes(routes!(list_deliveries))
        .routes(routes!(retry_delivery))
        .routes(routes!(sandbox_outbox))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub name: String,
    pub category: Category,
    pub channels: Vec<Channel>,
    /// Sent at once even in quiet hours.
    pub urgent: bool,
    pub required_keys: Vec<String>,
    pub optional_keys: Vec<String>,
    /// Example data (every key), what previews use by default.
    #[schema(value_type = Object)]
    pub sample: serde_json::Value,
}

/// The events the platform sends, with the data their templates may use.
#[utoipa::path(get, path = "/api/v1/admin/notification-events", tag = "admin",
    responses((status = 200, body = Vec<EventView>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_events(_admin: AdminUser) -> ApiJson<Vec<EventView>> {
    ApiJson(
        events::EVENTS
            .iter()
            .map(|e| EventView {
                name: e.name.to_owned(),
                category: e.category,
                channels: e.channels.to_vec(),
                urgent: e.urgent,
                required_keys: e.required.iter().map(|k| (*k).to_owned()).collect(),
                optional_keys: e.optional.iter().map(|k| (*k).to_owned()).collect(),
                sample: e.sample(),
            })
            .collect(),
    )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub event: String,
    pub channel: String,
    pub locale: String,
    pub subject: Option<String>,
    pub body: String,
    pub html: Option<String>,
    /// Edited by an admin (start-up leaves it alone; DELETE resets it).
    pub customized: bool,
    pub updated_by: Option<Uuid>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<tpl::Model> for TemplateView {
    fn from(m: tpl::Model) -> Self {
        Self {
            event: m.event,
            channel: m.channel,
            locale: m.locale,
            subject: m.subject,
            body: m.body,
            html: m.html,
            customized: m.customized,
            updated_by: m.updated_by,
            updated_at: m.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TemplatesQuery {
    pub event: Option<String>,
    pub channel: Option<String>,
    pub locale: Option<String>,
}

/// Notification templates, by event, channel and locale.
#[utoipa::path(get, path = "/api/v1/admin/notification-templates", tag = "admin",
    params(TemplatesQuery),
    responses((status = 200, body = Vec<TemplateView>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_templates(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<TemplatesQuery>,
) -> ApiResult<ApiJson<Vec<TemplateView>>> {
    let mut cond = Condition::all();
    if let Some(e) = q.event {
        cond = cond.add(tpl::Column::Event.eq(e));
    }
    if let Some(c) = q.channel {
        cond = cond.add(tpl::Column::Channel.eq(c));
    }
    if let Some(l) = q.locale {
        cond = cond.add(tpl::Column::Locale.eq(l));
    }
    let rows = tpl::Entity::find()
        .filter(cond)
        .order_by_asc(tpl::Column::Event)
        .order_by_asc(tpl::Column::Channel)
        .order_by_asc(tpl::Column::Locale)
        .all(&app.db)
        .await?;
    Ok(ApiJson(rows.into_iter().map(TemplateView::from).collect()))
}

/// The path's (event, channel, locale), checked.
fn key(
    event: &str,
    channel: &str,
    locale: &str,
) -> ApiResult<(&'static events::EventDef, Channel, String)> {
    let def = events::find(event).ok_or_else(|| ApiError::not_found("Event"))?;
    let channel = Channel::parse(channel).ok_or_else(|| ApiError::not_found("Channel"))?;
    let locale = locale.trim().to_lowercase();
    let ok = (2..=16).contains(&locale.len())
        && locale
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(ApiError::field(
            "locale",
            "invalid_locale",
            "must be a language tag such as en or hi-IN",
        ));
    }
    Ok((def, channel, locale))
}

async fn find_row(
    app: &AppState,
    event: &str,
    channel: Channel,
    locale: &str,
) -> ApiResult<Option<tpl::Model>> {
    Ok(tpl::Entity::find()
        .filter(tpl::Column::Event.eq(event))
        .filter(tpl::Column::Channel.eq(channel.as_str()))
        .filter(tpl::Column::Locale.eq(locale))
        .one(&app.db)
        .await?)
}

/// One template.
#[utoipa::path(get, path = "/api/v1/admin/notification-templates/{event}/{channel}/{locale}", tag = "admin",
    params(("event" = String, Path), ("channel" = String, Path), ("locale" = String, Path)),
    responses((status = 200, body = TemplateView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_template(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiPath((event, channel, locale)): ApiPath<(String, String, String)>,
) -> ApiResult<ApiJson<TemplateView>> {
    let (def, channel, locale) = key(&event, &channel, &locale)?;
    find_row(&app, def.name, channel, &locale)
        .await?
        .map(|r| ApiJson(r.into()))
        .ok_or_else(|| ApiError::not_found("Template"))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    /// Email subject, in-app or push title (minijinja); absent for SMS.
    pub subject: Option<String>,
    /// Text body (minijinja).
    pub body: String,
    /// Email only: an HTML body, rendered with HTML escaping.
    pub html: Option<String>,
}

impl From<TemplateBody> for TemplateSource {
    fn from(b: TemplateBody) -> Self {
        Self {
            subject: b.subject.filter(|s| !s.trim().is_empty()),
            body: b.body,
            html: b.html.filter(|s| !s.trim().is_empty()),
        }
    }
}

fn invalid_template(e: templates::RenderError) -> ApiError {
    let mut err = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_template",
        format!("The template does not render: {e}"),
    );
    err.fields = vec![FieldError::new(e.part, "invalid_template", e.to_string())];
    err
}

/// Change a template (or add a locale). It must render with the event's sample data, with
/// and without its optional keys; otherwise 422 `invalid_template` names the part and line.
#[utoipa::path(put, path = "/api/v1/admin/notification-templates/{event}/{channel}/{locale}", tag = "admin",
    params(("event" = String, Path), ("channel" = String, Path), ("locale" = String, Path)),
    request_body = TemplateBody,
    responses((status = 200, body = TemplateView), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn put_template(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath((event, channel, locale)): ApiPath<(String, String, String)>,
    ApiJson(body): ApiJson<TemplateBody>,
) -> ApiResult<ApiJson<TemplateView>> {
    let (def, channel, locale) = key(&event, &channel, &locale)?;
    if body.body.len() > 20_000 || body.html.as_ref().is_some_and(|h| h.len() > 100_000) {
        return Err(ApiError::field("body", "too_long", "is too long"));
    }
    let source = TemplateSource::from(body);
    templates::validate(def, channel, &source).map_err(invalid_template)?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let existing = tpl::Entity::find()
        .filter(tpl::Column::Event.eq(def.name))
        .filter(tpl::Column::Channel.eq(channel.as_str()))
        .filter(tpl::Column::Locale.eq(locale.as_str()))
        .one(&txn)
        .await?;
    let before = existing
        .as_ref()
        .map(|r| json!({"subject": r.subject, "body": r.body, "html": r.html, "customized": r.customized}));
    let row = match existing {
        Some(r) => {
            let mut m = r.into_active_model();
            m.subject = Set(source.subject.clone());
            m.body = Set(source.body.clone());
            m.html = Set(source.html.clone());
            m.customized = Set(true);
            m.updated_by = Set(Some(admin.0.id));
            m.updated_at = Set(now);
            m.update(&txn).await?
        }
        None => {
            tpl::ActiveModel {
                id: Set(Uuid::now_v7()),
                event: Set(def.name.to_owned()),
                channel: Set(channel.as_str().to_owned()),
                locale: Set(locale.clone()),
                subject: Set(source.subject.clone()),
                body: Set(source.body.clone()),
                html: Set(source.html.clone()),
                customized: Set(true),
                updated_by: Set(Some(admin.0.id)),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?
        }
    };
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "notification_template.update",
            target_type: "notification_template",
            target_id: format!("{}/{}/{}", def.name, channel.as_str(), locale),
            before,
            after: Some(json!({"subject": row.subject, "body": row.body, "html": row.html})),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(ApiJson(row.into()))
}

/// Reset a template to the built-in default (a locale without a default is removed).
#[utoipa::path(delete, path = "/api/v1/admin/notification-templates/{event}/{channel}/{locale}", tag = "admin",
    params(("event" = String, Path), ("channel" = String, Path), ("locale" = String, Path)),
    responses((status = 200, body = TemplateView), (status = 204), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn reset_template(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath((event, channel, locale)): ApiPath<(String, String, String)>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let (def, channel, locale) = key(&event, &channel, &locale)?;
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let existing = tpl::Entity::find()
        .filter(tpl::Column::Event.eq(def.name))
        .filter(tpl::Column::Channel.eq(channel.as_str()))
        .filter(tpl::Column::Locale.eq(locale.as_str()))
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Template"))?;
    let before = json!({"subject": existing.subject, "body": existing.body, "html": existing.html, "customized": existing.customized});
    let target_id = format!("{}/{}/{}", def.name, channel.as_str(), locale);
    let response = if locale == DEFAULT_LOCALE {
        let default = TemplateSource::from(def.template(channel));
        let mut m = existing.into_active_model();
        m.subject = Set(default.subject);
        m.body = Set(default.body);
        m.html = Set(default.html);
        m.customized = Set(false);
        m.updated_by = Set(Some(admin.0.id));
        m.updated_at = Set(now);
        let row = m.update(&txn).await?;
        ApiJson(TemplateView::from(row)).into_response()
    } else {
        tpl::Entity::delete_by_id(existing.id).exec(&txn).await?;
        StatusCode::NO_CONTENT.into_response()
    };
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "notification_template.reset",
            target_type: "notification_template",
            target_id,
            before: Some(before),
            after: None,
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(response)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// A draft to render; absent = the stored template.
    pub template: Option<TemplateBody>,
    /// The event data; absent = the event's sample.
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    /// The recipient's first name in the preview.
    pub name: Option<String>,
}

/// Render a template (the stored one or a draft) with sample or given data, without
/// sending anything.
#[utoipa::path(post, path = "/api/v1/admin/notification-templates/{event}/{channel}/{locale}/preview", tag = "admin",
    params(("event" = String, Path), ("channel" = String, Path), ("locale" = String, Path)),
    request_body = PreviewRequest,
    responses((status = 200, body = Rendered), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn preview_template(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiPath((event, channel, locale)): ApiPath<(String, String, String)>,
    ApiJson(body): ApiJson<PreviewRequest>,
) -> ApiResult<ApiJson<Rendered>> {
    let (def, channel, locale) = key(&event, &channel, &locale)?;
    let source = match body.template {
        Some(t) => TemplateSource::from(t),
        None => templates::load(&app.db, def.name, channel, &locale)
            .await?
            .unwrap_or_else(|| def.template(channel).into()),
    };
    let data = match body.data {
        Some(d @ serde_json::Value::Object(_)) => d,
        Some(_) => {
            return Err(ApiError::field("data", "invalid_type", "must be an object"));
        }
        None => def.sample(),
    };
    let mut ctx = templates::base_context(&data, body.name.as_deref().unwrap_or("Asha"), channel);
    if channel == Channel::Email
        && let serde_json::Value::Object(map) = &mut ctx
        && map.get("unsubscribe_url").is_some_and(|v| v == "")
        && !def.category.locked()
    {
        map.insert(
            "unsubscribe_url".into(),
            format!(
                "{}/api/v1/notifications/unsubscribe?token=preview",
                app.public_url()
            )
            .into(),
        );
    }
    let rendered = templates::render(&source, &ctx).map_err(invalid_template)?;
    Ok(ApiJson(rendered))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// `pending`, `retrying`, `sent`, `skipped` or `dead` (default `dead`: the dead letters).
    pub status: Option<String>,
    pub channel: Option<String>,
    pub user_id: Option<Uuid>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    pub notification_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub event: String,
    pub category: String,
    pub channel: String,
    pub recipient: Option<String>,
    pub status: String,
    pub job_id: Option<Uuid>,
    pub attempts: i32,
    pub run_at: chrono::DateTime<chrono::Utc>,
    pub last_error: Option<String>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<queue::Model> for DeliveryView {
    fn from(q: queue::Model) -> Self {
        Self {
            id: q.id,
            notification_id: q.notification_id,
            user_id: q.user_id,
            event: q.event,
            category: q.category,
            channel: q.channel,
            recipient: q.recipient,
            status: q.status,
            job_id: q.job_id,
            attempts: q.attempts,
            run_at: q.run_at,
            last_error: q.last_error,
            sent_at: q.sent_at,
            created_at: q.created_at,
            updated_at: q.updated_at,
        }
    }
}

/// Notification deliveries by state, newest first; `dead` ones are the dead letters.
#[utoipa::path(get, path = "/api/v1/admin/notification-deliveries", tag = "admin",
    params(DeliveriesQuery),
    responses((status = 200, body = Page<DeliveryView>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn list_deliveries(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> ApiResult<ApiJson<Page<DeliveryView>>> {
    let limit = page_limit(q.limit)?;
    let status = match q.status.as_deref() {
        None => DeliveryStatus::Dead,
        Some(s) => s.parse::<DeliveryStatus>().map_err(|_| {
            ApiError::field(
                "status",
                "invalid_choice",
                "must be pending, retrying, sent, skipped or dead",
            )
        })?,
    };
    let mut query = queue::Entity::find().filter(queue::Column::Status.eq(status));
    if let Some(c) = q.channel {
        query = query.filter(queue::Column::Channel.eq(c));
    }
    if let Some(u) = q.user_id {
        query = query.filter(queue::Column::UserId.eq(u));
    }
    if let Some(raw) = q.cursor.as_deref() {
        let before: Uuid = decode_cursor(raw)?;
        query = query.filter(queue::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(queue::Column::Id)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        DeliveryView::from,
    )))
}

/// Try a dead delivery again (after fixing the provider or the template): a new job with
/// fresh attempts. Sign-in codes are not kept after they die, so they cannot be retried.
#[utoipa::path(post, path = "/api/v1/admin/notification-deliveries/{id}/retry", tag = "admin",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = DeliveryView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn retry_delivery(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<DeliveryView>> {
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let row = queue::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Delivery"))?;
    if row.status != DeliveryStatus::Dead.as_str() {
        return Err(ApiError::conflict(
            "invalid_transition",
            format!(
                "Only dead deliveries are retried; this one is {}",
                row.status
            ),
        ));
    }
    if events::find(&row.event).is_some_and(|d| d.secret) {
        return Err(ApiError::conflict(
            "delivery_expired",
            "A secret message is not kept once it dies; the user asks again",
        ));
    }
    let job_id = domain::jobs::enqueue(
        &txn,
        now,
        super::DELIVER,
        json!({"delivery_id": row.id}),
        now,
        super::MAX_ATTEMPTS,
    )
    .await?;
    queue::Entity::update_many()
        .col_expr(
            queue::Column::Status,
            Expr::value(DeliveryStatus::Pending.as_str()),
        )
        .col_expr(queue::Column::JobId, Expr::value(job_id))
        .col_expr(queue::Column::Attempts, Expr::value(0))
        .col_expr(queue::Column::RunAt, Expr::value(now))
        .col_expr(queue::Column::UpdatedAt, Expr::value(now))
        .filter(queue::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "notification_delivery.retry",
            target_type: "notification_delivery",
            target_id: row.id.to_string(),
            before: Some(json!({"status": row.status, "last_error": row.last_error})),
            after: Some(json!({"status": "pending", "job_id": job_id})),
        },
        now,
    )
    .await?;
    let updated = queue::Entity::find_by_id(row.id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Delivery"))?;
    txn.commit().await?;
    app.job_wakeup.notify_one();
    Ok(ApiJson(updated.into()))
}

/// One message a sandbox provider kept instead of sending.
#[derive(Debug, Serialize, ToSchema)]
pub struct SandboxMessage {
    /// email | sms | push
    pub channel: &'static str,
    /// Address, phone number or device token.
    pub to: String,
    /// Email subject or push title; absent for SMS.
    pub subject: Option<String>,
    pub body: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only messages to this address, number or token.
    pub to: Option<String>,
}

/// What the sandbox email, SMS and push providers kept instead of sending, by channel
/// (email, SMS, push) and newest first within each, at most 200 a channel: how the demo
/// shows its messages. A channel that uses a real provider has
/// nothing here.
#[utoipa::path(get, path = "/api/v1/admin/sandbox/outbox", tag = "admin",
    params(OutboxQuery),
    responses((status = 200, body = Vec<SandboxMessage>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn sandbox_outbox(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> ApiResult<ApiJson<Vec<SandboxMessage>>> {
    let mut all: Vec<SandboxMessage> = Vec::new();
    if let Some(email) = &app.sandbox_email {
        all.extend(
            email
                .sent()
                .into_iter()
                .rev()
                .take(200)
                .map(|m| SandboxMessage {
                    channel: "email",
                    to: m.to,
                    subject: Some(m.subject),
                    body: m.text,
                }),
        );
    }
    if let Some(sms) = &app.sandbox_sms {
        all.extend(
            sms.sent()
                .into_iter()
                .rev()
                .take(200)
                .map(|m| SandboxMessage {
                    channel: "sms",
                    to: m.to,
                    subject: None,
                    body: m.body,
                }),
        );
    }
    if let Some(push) = &app.sandbox_push {
        all.extend(
            push.sent()
                .into_iter()
                .rev()
                .take(200)
                .map(|m| SandboxMessage {
                    channel: "push",
                    to: m.token,
                    subject: Some(m.title),
                    body: m.body,
                }),
        );
    }
    if let Some(to) = q.to.as_deref() {
        all.retain(|m| m.to == to);
    }
    Ok(ApiJson(all))
}
