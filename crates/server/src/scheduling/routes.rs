//! HTTP for what can be booked: service types (admins manage them), a practitioner's
//! services, their working hours, and the free slots of a service shown in the booker's zone.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ServiceChannel;
use crate::app::AppState;
use crate::auth::{AdminUser, PractitionerUser};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiPath, ApiQuery, ClientMeta};
use domain::audit::{self, Change};
use domain::ledger::MAX_AMOUNT;
use domain::scheduling::slots::{self, DAY_MINUTES, Range};
use domain::validate::Check;
use store::entity::{
    availability_override, blocked_date, practitioner, practitioner_availability,
    practitioner_schedule, service, service_type,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_service_types))
        .routes(routes!(create_service_type))
        .routes(routes!(update_service_type))
        .routes(routes!(my_services, create_service))
        .routes(routes!(update_service))
        .routes(routes!(practitioner_services))
        .routes(routes!(get_service))
        .routes(routes!(get_availability, put_availability))
        .routes(routes!(service_slots))
}

// ---- service types -------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceTypeView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub active: bool,
    pub sort_order: i32,
}

impl From<service_type::Model> for ServiceTypeView {
    fn from(t: service_type::Model) -> Self {
        Self {
            id: t.id,
            slug: t.slug,
            name: t.name,
            description: t.description,
            active: t.active,
            sort_order: t.sort_order,
        }
    }
}

/// The kinds of service practitioners can offer (active ones).
#[utoipa::path(get, path = "/api/v1/service-types", tag = "appointments",
    responses((status = 200, body = Vec<ServiceTypeView>)))]
async fn list_service_types(
    State(app): State<AppState>,
) -> ApiResult<ApiJson<Vec<ServiceTypeView>>> {
    let rows = service_type::Entity::find()
        .filter(service_type::Column::Active.eq(true))
        .order_by_asc(service_type::Column::SortOrder)
        .order_by_asc(service_type::Column::Name)
        .all(&app.db)
        .await?;
    Ok(ApiJson(rows.into_iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceTypeBody {
    /// Lower-case letters, digits and dashes.
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub sort_order: i32,
}

fn check_slug(c: &mut Check, slug: &str) {
    c.ensure(
        !slug.is_empty()
            && slug.len() <= 60
            && slug
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'),
        "slug",
        "invalid_slug",
        "must be 1–60 lower-case letters, digits or dashes",
    );
}

/// Add a service type (admin).
#[utoipa::path(post, path = "/api/v1/admin/service-types", tag = "appointments",
    request_body = ServiceTypeBody,
    responses((status = 201, body = ServiceTypeView), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_service_type(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiJson(body): ApiJson<ServiceTypeBody>,
) -> ApiResult<(StatusCode, ApiJson<ServiceTypeView>)> {
    let mut c = Check::new();
    check_slug(&mut c, &body.slug);
    let name = c.text("name", &body.name, 1, 120);
    let description = c.text("description", &body.description, 0, 2000);
    c.finish()?;
    let now = app.clock.now();
    // The shared write transaction: on SQLite a deferred one can fail with "database is
    // locked" while another writer holds the lock (a 500 found by schemathesis).
    let txn = store::begin_write(&app.db).await?;
    let row = service_type::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(body.slug.clone()),
        name: Set(name),
        description: Set(description),
        active: Set(true),
        sort_order: Set(body.sort_order),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| match crate::error::unique_violation(&e) {
        Some(_) => ApiError::conflict("slug_taken", "A service type with this slug exists"),
        None => e.into(),
    })?;
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "service_type.create",
            target_type: "service_type",
            target_id: row.id.to_string(),
            before: None,
            after: Some(json!({"slug": row.slug, "name": row.name})),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(row.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceTypePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub active: Option<bool>,
    pub sort_order: Option<i32>,
}

/// Rename, describe, reorder or switch off a service type (admin).
#[utoipa::path(patch, path = "/api/v1/admin/service-types/{id}", tag = "appointments",
    params(("id" = Uuid, Path)), request_body = ServiceTypePatch,
    responses((status = 200, body = ServiceTypeView), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_service_type(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ServiceTypePatch>,
) -> ApiResult<ApiJson<ServiceTypeView>> {
    let mut c = Check::new();
    let name = body.name.as_deref().map(|n| c.text("name", n, 1, 120));
    let description = body
        .description
        .as_deref()
        .map(|d| c.text("description", d, 0, 2000));
    c.finish()?;
    let now = app.clock.now();
    // The shared write transaction: on SQLite a deferred one can fail with "database is
    // locked" while another writer holds the lock (a 500 found by schemathesis).
    let txn = store::begin_write(&app.db).await?;
    let before = service_type::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Service type"))?;
    let mut m: service_type::ActiveModel = before.clone().into();
    if let Some(n) = name {
        m.name = Set(n);
    }
    if let Some(d) = description {
        m.description = Set(d);
    }
    if let Some(a) = body.active {
        m.active = Set(a);
    }
    if let Some(o) = body.sort_order {
        m.sort_order = Set(o);
    }
    let row = m.update(&txn).await?;
    audit::record(
        &txn,
        &admin.0.actor(&meta),
        Change {
            action: "service_type.update",
            target_type: "service_type",
            target_id: row.id.to_string(),
            before: Some(json!({"name": before.name, "active": before.active})),
            after: Some(json!({"name": row.name, "active": row.active})),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(ApiJson(row.into()))
}

// ---- services ------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceView {
    pub id: Uuid,
    pub practitioner_id: Uuid,
    pub service_type_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub channel: ServiceChannel,
    pub duration_minutes: i32,
    /// Fixed price, minor units of `currency`.
    pub price: i64,
    pub currency: String,
    pub active: bool,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub min_notice_minutes: i32,
    pub slot_interval_minutes: i32,
    pub booking_window_days: i32,
    pub max_per_day: Option<i32>,
    pub max_per_week: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<service::Model> for ServiceView {
    fn from(s: service::Model) -> Self {
        Self {
            id: s.id,
            practitioner_id: s.practitioner_id,
            service_type_id: s.service_type_id,
            name: s.name,
            description: s.description,
            channel: ServiceChannel::parse(&s.channel).unwrap_or(ServiceChannel::Chat),
            duration_minutes: s.duration_minutes,
            price: s.price_minor,
            currency: s.currency,
            active: s.active,
            buffer_before_minutes: s.buffer_before_minutes,
            buffer_after_minutes: s.buffer_after_minutes,
            min_notice_minutes: s.min_notice_minutes,
            slot_interval_minutes: s.slot_interval_minutes,
            booking_window_days: s.booking_window_days,
            max_per_day: s.max_per_day,
            max_per_week: s.max_per_week,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A service as a practitioner describes it. Omitted rules take sensible defaults: slots
/// every `duration_minutes`, no buffers, 60 minutes' notice, 60 days ahead, no limits.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceBody {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub service_type_id: Option<Uuid>,
    pub channel: ServiceChannel,
    pub duration_minutes: i32,
    /// Minor units of the practitioner's currency.
    pub price: i64,
    pub active: Option<bool>,
    pub buffer_before_minutes: Option<i32>,
    pub buffer_after_minutes: Option<i32>,
    pub min_notice_minutes: Option<i32>,
    pub slot_interval_minutes: Option<i32>,
    pub booking_window_days: Option<i32>,
    pub max_per_day: Option<i32>,
    pub max_per_week: Option<i32>,
}

/// Checks a service's numbers; the same rules for creating and changing one.
fn check_service(c: &mut Check, s: &service::Model) {
    c.range("duration_minutes", s.duration_minutes, 5, 480);
    c.range("price", s.price_minor, 0, MAX_AMOUNT);
    c.range("buffer_before_minutes", s.buffer_before_minutes, 0, 240);
    c.range("buffer_after_minutes", s.buffer_after_minutes, 0, 240);
    c.range("min_notice_minutes", s.min_notice_minutes, 0, 60 * 24 * 30);
    c.range("slot_interval_minutes", s.slot_interval_minutes, 5, 480);
    c.range("booking_window_days", s.booking_window_days, 1, 365);
    if let Some(m) = s.max_per_day {
        c.range("max_per_day", m, 1, 100);
    }
    if let Some(m) = s.max_per_week {
        c.range("max_per_week", m, 1, 500);
    }
}

async fn my_practitioner(app: &AppState, user: Uuid) -> ApiResult<practitioner::Model> {
    practitioner::Entity::find()
        .filter(practitioner::Column::UserId.eq(user))
        .one(&app.db)
        .await?
        .ok_or_else(|| ApiError::not_found("Practitioner profile"))
}

async fn check_service_type(app: &AppState, c: &mut Check, id: Option<Uuid>) -> ApiResult<()> {
    if let Some(id) = id {
        let known = service_type::Entity::find_by_id(id)
            .one(&app.db)
            .await?
            .is_some_and(|t| t.active);
        c.ensure(
            known,
            "service_type_id",
            "unknown_service_type",
            "is not an active service type",
        );
    }
    Ok(())
}

/// My services, active or not.
#[utoipa::path(get, path = "/api/v1/practitioners/me/services", tag = "appointments",
    responses((status = 200, body = Vec<ServiceView>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn my_services(
    State(app): State<AppState>,
    user: PractitionerUser,
) -> ApiResult<ApiJson<Vec<ServiceView>>> {
    let p = my_practitioner(&app, user.0.id).await?;
    let rows = service::Entity::find()
        .filter(service::Column::PractitionerId.eq(p.id))
        .order_by_asc(service::Column::Id)
        .all(&app.db)
        .await?;
    Ok(ApiJson(rows.into_iter().map(Into::into).collect()))
}

/// Publish a service. Its price is in the practitioner's currency.
#[utoipa::path(post, path = "/api/v1/practitioners/me/services", tag = "appointments",
    request_body = ServiceBody,
    responses((status = 201, body = ServiceView), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_service(
    State(app): State<AppState>,
    user: PractitionerUser,
    ApiJson(body): ApiJson<ServiceBody>,
) -> ApiResult<(StatusCode, ApiJson<ServiceView>)> {
    let p = my_practitioner(&app, user.0.id).await?;
    let now = app.clock.now();
    let mut c = Check::new();
    let name = c.text("name", &body.name, 1, 120);
    let description = c.text("description", &body.description, 0, 4000);
    check_service_type(&app, &mut c, body.service_type_id).await?;
    let row = service::Model {
        id: Uuid::now_v7(),
        practitioner_id: p.id,
        service_type_id: body.service_type_id,
        name,
        description,
        channel: body.channel.as_str().to_owned(),
        duration_minutes: body.duration_minutes,
        price_minor: body.price,
        currency: p.currency.clone(),
        active: body.active.unwrap_or(true),
        buffer_before_minutes: body.buffer_before_minutes.unwrap_or(0),
        buffer_after_minutes: body.buffer_after_minutes.unwrap_or(0),
        min_notice_minutes: body.min_notice_minutes.unwrap_or(60),
        slot_interval_minutes: body.slot_interval_minutes.unwrap_or(body.duration_minutes),
        booking_window_days: body.booking_window_days.unwrap_or(60),
        max_per_day: body.max_per_day,
        max_per_week: body.max_per_week,
        created_at: now,
        updated_at: now,
    };
    check_service(&mut c, &row);
    c.finish()?;
    let row = service::ActiveModel::from(row).insert(&app.db).await?;
    Ok((StatusCode::CREATED, ApiJson(row.into())))
}

/// Change a service. Existing bookings keep the terms they were made with.
#[utoipa::path(put, path = "/api/v1/practitioners/me/services/{id}", tag = "appointments",
    params(("id" = Uuid, Path)), request_body = ServiceBody,
    responses((status = 200, body = ServiceView), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn update_service(
    State(app): State<AppState>,
    user: PractitionerUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ServiceBody>,
) -> ApiResult<ApiJson<ServiceView>> {
    let p = my_practitioner(&app, user.0.id).await?;
    let existing = service::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|s| s.practitioner_id == p.id)
        .ok_or_else(|| ApiError::not_found("Service"))?;
    let mut c = Check::new();
    let name = c.text("name", &body.name, 1, 120);
    let description = c.text("description", &body.description, 0, 4000);
    check_service_type(&app, &mut c, body.service_type_id).await?;
    let row = service::Model {
        name,
        description,
        service_type_id: body.service_type_id,
        channel: body.channel.as_str().to_owned(),
        duration_minutes: body.duration_minutes,
        price_minor: body.price,
        active: body.active.unwrap_or(existing.active),
        buffer_before_minutes: body.buffer_before_minutes.unwrap_or(0),
        buffer_after_minutes: body.buffer_after_minutes.unwrap_or(0),
        min_notice_minutes: body.min_notice_minutes.unwrap_or(60),
        slot_interval_minutes: body.slot_interval_minutes.unwrap_or(body.duration_minutes),
        booking_window_days: body.booking_window_days.unwrap_or(60),
        max_per_day: body.max_per_day,
        max_per_week: body.max_per_week,
        updated_at: app.clock.now(),
        ..existing
    };
    check_service(&mut c, &row);
    c.finish()?;
    let mut m: service::ActiveModel = row.into();
    // Every column may have changed; write them all.
    m = m.reset_all();
    let row = m.update(&app.db).await?;
    Ok(ApiJson(row.into()))
}

/// A practitioner's active services.
#[utoipa::path(get, path = "/api/v1/practitioners/{id}/services", tag = "appointments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<ServiceView>), (status = 404, body = Problem)))]
async fn practitioner_services(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<Vec<ServiceView>>> {
    practitioner::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|p| p.verification_status == "approved")
        .ok_or_else(|| ApiError::not_found("Practitioner"))?;
    let rows = service::Entity::find()
        .filter(service::Column::PractitionerId.eq(id))
        .filter(service::Column::Active.eq(true))
        .order_by_asc(service::Column::Id)
        .all(&app.db)
        .await?;
    Ok(ApiJson(rows.into_iter().map(Into::into).collect()))
}

/// One bookable service.
#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "appointments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ServiceView), (status = 404, body = Problem)))]
async fn get_service(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ServiceView>> {
    let (s, _) = domain::scheduling::bookings::bookable_service(&app.db, id).await?;
    Ok(ApiJson(s.into()))
}

// ---- working hours -------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

/// Wall-clock hours on a weekday, `HH:MM`; `end` may be `24:00`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHours {
    pub weekday: Weekday,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    pub start: String,
    pub end: String,
}

/// A date with other hours than its weekday; no hours means closed that day.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DateOverride {
    pub date: NaiveDate,
    #[serde(default)]
    pub hours: Vec<Hours>,
}

/// Days off, both dates included.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockedDates {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub reason: Option<String>,
}

/// When a practitioner can be booked, in their IANA zone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    pub time_zone: String,
    #[serde(default)]
    pub weekly: Vec<WeeklyHours>,
    /// Taken out of the hours every week, e.g. lunch.
    #[serde(default)]
    pub breaks: Vec<WeeklyHours>,
    #[serde(default)]
    pub overrides: Vec<DateOverride>,
    #[serde(default)]
    pub blocked: Vec<BlockedDates>,
}

fn parse_minute(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    let total = h * 60 + m;
    (m < 60 && total <= DAY_MINUTES).then_some(total)
}

fn format_minute(m: i32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Parses one range, recording a field error when it is not `start < end` within a day.
fn check_range(c: &mut Check, field: &str, start: &str, end: &str) -> Option<Range> {
    match (parse_minute(start), parse_minute(end)) {
        (Some(a), Some(b)) => {
            let r = Range::new(a, b);
            c.ensure(
                r.is_some(),
                field,
                "invalid_range",
                "start must be before end",
            );
            r
        }
        _ => {
            c.fail(
                field,
                "invalid_time",
                "times are HH:MM between 00:00 and 24:00",
            );
            None
        }
    }
}

/// Ranges of one day must not overlap.
fn check_disjoint(c: &mut Check, field: &str, ranges: &mut [Range]) {
    ranges.sort_by_key(|r| r.start);
    let overlap = ranges.windows(2).any(|w| w[1].start < w[0].end);
    c.ensure(
        !overlap,
        field,
        "overlapping_hours",
        "hours of one day must not overlap",
    );
}

/// My working hours, breaks, date overrides and days off.
#[utoipa::path(get, path = "/api/v1/practitioners/me/availability", tag = "appointments",
    responses((status = 200, body = Availability), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn get_availability(
    State(app): State<AppState>,
    user: PractitionerUser,
) -> ApiResult<ApiJson<Availability>> {
    let p = my_practitioner(&app, user.0.id).await?;
    let zone = practitioner_schedule::Entity::find_by_id(p.id)
        .one(&app.db)
        .await?
        .map(|s| s.time_zone)
        .unwrap_or_else(|| user.0.user.time_zone.clone());
    let mut weekly = Vec::new();
    let mut breaks = Vec::new();
    for a in practitioner_availability::Entity::find()
        .filter(practitioner_availability::Column::PractitionerId.eq(p.id))
        .order_by_asc(practitioner_availability::Column::Weekday)
        .order_by_asc(practitioner_availability::Column::StartMinute)
        .all(&app.db)
        .await?
    {
        let h = WeeklyHours {
            weekday: WEEKDAYS[usize::try_from(a.weekday).unwrap_or(0).min(6)],
            start: format_minute(a.start_minute),
            end: format_minute(a.end_minute),
        };
        if a.kind == "break" {
            breaks.push(h);
        } else {
            weekly.push(h);
        }
    }
    let mut overrides: Vec<DateOverride> = Vec::new();
    for o in availability_override::Entity::find()
        .filter(availability_override::Column::PractitionerId.eq(p.id))
        .order_by_asc(availability_override::Column::Date)
        .order_by_asc(availability_override::Column::StartMinute)
        .all(&app.db)
        .await?
    {
        if overrides.last().is_none_or(|d| d.date != o.date) {
            overrides.push(DateOverride {
                date: o.date,
                hours: Vec::new(),
            });
        }
        if o.end_minute > o.start_minute
            && let Some(day) = overrides.last_mut()
        {
            day.hours.push(Hours {
                start: format_minute(o.start_minute),
                end: format_minute(o.end_minute),
            });
        }
    }
    let blocked = blocked_date::Entity::find()
        .filter(blocked_date::Column::PractitionerId.eq(p.id))
        .order_by_asc(blocked_date::Column::StartDate)
        .all(&app.db)
        .await?
        .into_iter()
        .map(|b| BlockedDates {
            start_date: b.start_date,
            end_date: b.end_date,
            reason: b.reason,
        })
        .collect();
    Ok(ApiJson(Availability {
        time_zone: zone,
        weekly,
        breaks,
        overrides,
        blocked,
    }))
}

/// Replace my working hours as a whole. Existing bookings stay; only new slots change.
#[utoipa::path(put, path = "/api/v1/practitioners/me/availability", tag = "appointments",
    request_body = Availability,
    responses((status = 200, body = Availability), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn put_availability(
    State(app): State<AppState>,
    user: PractitionerUser,
    ApiJson(body): ApiJson<Availability>,
) -> ApiResult<ApiJson<Availability>> {
    let p = my_practitioner(&app, user.0.id).await?;
    let mut c = Check::new();
    let zone = c.time_zone("time_zone", &body.time_zone);
    c.ensure(
        body.weekly.len() <= 70,
        "weekly",
        "too_many",
        "at most 70 ranges",
    );
    c.ensure(
        body.breaks.len() <= 70,
        "breaks",
        "too_many",
        "at most 70 ranges",
    );
    c.ensure(
        body.overrides.len() <= 400,
        "overrides",
        "too_many",
        "at most 400 dates",
    );
    c.ensure(
        body.blocked.len() <= 200,
        "blocked",
        "too_many",
        "at most 200 ranges",
    );
    let mut rows: Vec<(String, usize, Range)> = Vec::new();
    for (kind, list) in [("hours", &body.weekly), ("break", &body.breaks)] {
        let field = if kind == "hours" { "weekly" } else { "breaks" };
        let mut per_day: [Vec<Range>; 7] = Default::default();
        for (i, h) in list.iter().enumerate() {
            let day = WEEKDAYS.iter().position(|d| *d == h.weekday).unwrap_or(0);
            if let Some(r) = check_range(&mut c, &format!("{field}[{i}]"), &h.start, &h.end) {
                per_day[day].push(r);
                rows.push((kind.to_owned(), day, r));
            }
        }
        for day in per_day.iter_mut() {
            check_disjoint(&mut c, field, day);
        }
    }
    let mut override_rows: Vec<(NaiveDate, Option<Range>)> = Vec::new();
    let mut seen_dates = std::collections::HashSet::new();
    for (i, o) in body.overrides.iter().enumerate() {
        c.ensure(
            seen_dates.insert(o.date),
            &format!("overrides[{i}].date"),
            "duplicate_date",
            "each date once",
        );
        let mut day = Vec::new();
        for (j, h) in o.hours.iter().enumerate() {
            if let Some(r) = check_range(
                &mut c,
                &format!("overrides[{i}].hours[{j}]"),
                &h.start,
                &h.end,
            ) {
                day.push(r);
                override_rows.push((o.date, Some(r)));
            }
        }
        check_disjoint(&mut c, &format!("overrides[{i}].hours"), &mut day);
        if o.hours.is_empty() {
            override_rows.push((o.date, None));
        }
    }
    for (i, b) in body.blocked.iter().enumerate() {
        c.ensure(
            b.start_date <= b.end_date,
            &format!("blocked[{i}]"),
            "invalid_range",
            "start_date must not be after end_date",
        );
        if let Some(r) = &b.reason {
            c.text(&format!("blocked[{i}].reason"), r, 0, 200);
        }
    }
    c.finish()?;
    let zone = zone.unwrap_or(Tz::UTC);
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    // Upsert the schedule row (keeping its version: it is also the booking lock).
    match practitioner_schedule::Entity::find_by_id(p.id)
        .one(&txn)
        .await?
    {
        Some(s) => {
            let mut m: practitioner_schedule::ActiveModel = s.into();
            m.time_zone = Set(zone.name().to_owned());
            m.updated_at = Set(now);
            m.update(&txn).await?;
        }
        None => {
            practitioner_schedule::ActiveModel {
                practitioner_id: Set(p.id),
                time_zone: Set(zone.name().to_owned()),
                version: Set(0),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
    }
    practitioner_availability::Entity::delete_many()
        .filter(practitioner_availability::Column::PractitionerId.eq(p.id))
        .exec(&txn)
        .await?;
    availability_override::Entity::delete_many()
        .filter(availability_override::Column::PractitionerId.eq(p.id))
        .exec(&txn)
        .await?;
    blocked_date::Entity::delete_many()
        .filter(blocked_date::Column::PractitionerId.eq(p.id))
        .exec(&txn)
        .await?;
    for (kind, day, r) in rows {
        practitioner_availability::ActiveModel {
            id: Set(Uuid::now_v7()),
            practitioner_id: Set(p.id),
            kind: Set(kind),
            weekday: Set(day as i32),
            start_minute: Set(i32::from(r.start)),
            end_minute: Set(i32::from(r.end)),
        }
        .insert(&txn)
        .await?;
    }
    for (date, r) in override_rows {
        // A closed date is stored as an empty 0–0 range.
        let (a, b) = r.map_or((0, 0), |r| (i32::from(r.start), i32::from(r.end)));
        availability_override::ActiveModel {
            id: Set(Uuid::now_v7()),
            practitioner_id: Set(p.id),
            date: Set(date),
            start_minute: Set(a),
            end_minute: Set(b),
        }
        .insert(&txn)
        .await?;
    }
    for b in &body.blocked {
        blocked_date::ActiveModel {
            id: Set(Uuid::now_v7()),
            practitioner_id: Set(p.id),
            start_date: Set(b.start_date),
            end_date: Set(b.end_date),
            reason: Set(b.reason.as_ref().map(|r| r.trim().to_owned())),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    get_availability(State(app), user).await
}

// ---- slots ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SlotsQuery {
    /// First day, in the booker's zone (default: today there).
    pub from: Option<NaiveDate>,
    /// How many days, 1–31 (default 7).
    pub days: Option<i64>,
    /// The booker's IANA zone (default: the practitioner's).
    pub time_zone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotView {
    /// In the booker's zone, with its offset.
    #[schema(value_type = String)]
    pub start: DateTime<FixedOffset>,
    #[schema(value_type = String)]
    pub end: DateTime<FixedOffset>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotDay {
    /// A date in the booker's zone.
    pub date: NaiveDate,
    pub slots: Vec<SlotView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotsView {
    pub service_id: Uuid,
    pub time_zone: String,
    pub practitioner_time_zone: String,
    pub duration_minutes: i32,
    pub days: Vec<SlotDay>,
}

/// Free start times of a service, day by day in the booker's zone.
#[utoipa::path(get, path = "/api/v1/services/{id}/slots", tag = "appointments",
    params(("id" = Uuid, Path), SlotsQuery),
    responses((status = 200, body = SlotsView), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn service_slots(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<SlotsQuery>,
) -> ApiResult<ApiJson<SlotsView>> {
    let (s, p) = domain::scheduling::bookings::bookable_service(&app.db, id).await?;
    let schedule = super::schedule_of(&app.db, p.id).await?;
    let practitioner_zone = schedule.as_ref().map_or(Tz::UTC, |s| s.zone);
    let mut c = Check::new();
    let zone = match q.time_zone.as_deref() {
        Some(z) => c.time_zone("time_zone", z).unwrap_or(Tz::UTC),
        None => practitioner_zone,
    };
    let days = q.days.unwrap_or(7);
    c.range("days", days, 1, 31);
    c.finish()?;
    let now = app.clock.now();
    let first = q
        .from
        .unwrap_or_else(|| now.with_timezone(&zone).date_naive());
    let day_start = |d: NaiveDate| slots::resolve_local(zone, d, 0);
    let from = day_start(first);
    let to = day_start(first + Duration::days(days));
    let found = match &schedule {
        Some(schedule) => {
            let busy = super::busy_near(&app.db, p.id, from, to, None, now).await?;
            let counted = super::counted_near(&app.db, s.id, from, to, None).await?;
            slots::slots(
                schedule,
                &super::rules_of(&s),
                &busy,
                &counted,
                now,
                from,
                to,
            )
        }
        None => Vec::new(),
    };
    let mut out: Vec<SlotDay> = (0..days)
        .map(|i| SlotDay {
            date: first + Duration::days(i),
            slots: Vec::new(),
        })
        .collect();
    for slot in found {
        let start = slot.start.with_timezone(&zone);
        let date = start.date_naive();
        if let Some(day) = out.iter_mut().find(|d| d.date == date) {
            day.slots.push(SlotView {
                start: start.fixed_offset(),
                end: slot.end.with_timezone(&zone).fixed_offset(),
            });
        }
    }
    Ok(ApiJson(SlotsView {
        service_id: s.id,
        time_zone: zone.name().to_owned(),
        practitioner_time_zone: practitioner_zone.name().to_owned(),
        duration_minutes: s.duration_minutes,
        days: out,
    }))
}
