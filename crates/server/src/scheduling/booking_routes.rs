//! HTTP for bookings: quote, book (with `Idempotency-Key`), list and read, and every step
//! of a booking's life; admins list and resolve disputed ones. Steps that move money take
//! an `Idempotency-Key` too, so a retried request gets the first answer back.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ServiceChannel;
use crate::app::AppState;
use crate::auth::{AdminUser, AuthUser, Role};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{
    ApiJson, ApiPath, ApiQuery, ClientMeta, Page, decode_cursor, encode_cursor, page_limit,
};
use crate::idempotency::{IdempotencyKey, fingerprint};
use domain::audit::{self, Change};
use domain::scheduling::bookings::{self, NewBooking, Resolution};
use domain::validate::Check;
use store::WriteTxn;
use store::entity::booking;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(quote))
        .routes(routes!(create_booking, my_bookings))
        .routes(routes!(get_booking))
        .routes(routes!(confirm))
        .routes(routes!(decline))
        .routes(routes!(cancel))
        .routes(routes!(reschedule))
        .routes(routes!(accept_reschedule))
        .routes(routes!(decline_reschedule))
        .routes(routes!(join))
        .routes(routes!(complete))
        .routes(routes!(no_show))
        .routes(routes!(admin_bookings))
        .routes(routes!(admin_resolve))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingView {
    pub id: Uuid,
    /// Human-readable, e.g. `BK7Q2M9XK4TA`.
    pub reference: String,
    pub service_id: Uuid,
    pub practitioner_id: Uuid,
    pub client_id: Uuid,
    pub channel: ServiceChannel,
    /// requested | confirmed | declined | expired | cancelled | completed |
    /// client_no_show | practitioner_no_show
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The start in the booker's zone.
    #[schema(value_type = String)]
    pub starts_at_local: DateTime<FixedOffset>,
    pub time_zone: String,
    pub price: i64,
    pub discount: i64,
    /// What the client pays (held until the booking closes).
    pub amount: i64,
    pub currency: String,
    pub promo_code: Option<String>,
    pub client_notes: String,
    /// The practitioner must answer by then, or the request expires.
    pub respond_by: DateTime<Utc>,
    pub reschedule_count: i32,
    /// A new start the practitioner proposed; the client accepts or declines it at
    /// `/reschedule/accept` or `/reschedule/decline`.
    pub proposed_starts_at: Option<DateTime<Utc>>,
    pub cancelled_by: Option<String>,
    pub cancel_reason: Option<String>,
    /// Paid to the practitioner and platform when the booking closed.
    pub captured: i64,
    /// Returned to the client when it closed.
    pub refunded: i64,
    pub client_joined_at: Option<DateTime<Utc>>,
    pub practitioner_joined_at: Option<DateTime<Utc>>,
    /// The session opened when both sides joined (online appointments).
    pub consultation_id: Option<Uuid>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<booking::Model> for BookingView {
    fn from(b: booking::Model) -> Self {
        let tz: Tz = b.time_zone.parse().unwrap_or(Tz::UTC);
        Self {
            id: b.id,
            reference: b.reference,
            service_id: b.service_id,
            practitioner_id: b.practitioner_id,
            client_id: b.client_id,
            channel: ServiceChannel::parse(&b.channel).unwrap_or(ServiceChannel::Chat),
            status: b.status,
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            starts_at_local: b.starts_at.with_timezone(&tz).fixed_offset(),
            time_zone: b.time_zone,
            price: b.price,
            discount: b.discount,
            amount: b.amount,
            currency: b.currency,
            promo_code: b.promo_code,
            client_notes: b.client_notes,
            respond_by: b.respond_by,
            reschedule_count: b.reschedule_count,
            proposed_starts_at: b.proposed_starts_at,
            cancelled_by: b.cancelled_by,
            cancel_reason: b.cancel_reason,
            captured: b.captured,
            refunded: b.refunded,
            client_joined_at: b.client_joined_at,
            practitioner_joined_at: b.practitioner_joined_at,
            consultation_id: b.consultation_id,
            confirmed_at: b.confirmed_at,
            closed_at: b.closed_at,
            created_at: b.created_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteBody {
    pub service_id: Uuid,
    pub promo_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteView {
    pub price: i64,
    pub discount: i64,
    pub amount: i64,
    pub currency: String,
    pub promo_code: Option<String>,
    /// Why the code gives nothing, when it does not apply.
    #[schema(value_type = Option<String>)]
    pub refusal: Option<crate::promos::rules::Refusal>,
}

fn promo_of(code: &Option<String>) -> Option<&str> {
    code.as_deref().map(str::trim).filter(|c| !c.is_empty())
}

/// What a service would cost me, with a promo code.
#[utoipa::path(post, path = "/api/v1/bookings/quote", tag = "appointments",
    request_body = QuoteBody,
    responses((status = 200, body = QuoteView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn quote(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<QuoteBody>,
) -> ApiResult<ApiJson<QuoteView>> {
    let (s, _) = bookings::bookable_service(&app.db, body.service_id).await?;
    let q = crate::promos::quote(
        &app.db,
        auth.id,
        promo_of(&body.promo_code),
        s.price_minor,
        &s.currency,
        crate::promos::rules::Context::Appointment,
        app.clock.now(),
    )
    .await?;
    Ok(ApiJson(QuoteView {
        price: q.price,
        discount: q.discount,
        amount: q.final_amount,
        currency: q.currency,
        promo_code: q.code,
        refusal: q.refusal,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingBody {
    pub service_id: Uuid,
    /// One of the service's slots, with any offset (e.g. as `/slots` gave it).
    #[schema(value_type = String)]
    pub start: DateTime<FixedOffset>,
    /// My IANA zone for messages (default: my profile's).
    pub time_zone: Option<String>,
    pub promo_code: Option<String>,
    #[serde(default)]
    pub notes: String,
}

/// Book a slot. The price (after the promo code) is held on my wallet until the booking
/// closes; the practitioner confirms or declines.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "appointments",
    request_body = BookingBody,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = BookingView), (status = 402, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn create_booking(
    State(app): State<AppState>,
    auth: AuthUser,
    key: IdempotencyKey,
    ApiJson(body): ApiJson<BookingBody>,
) -> ApiResult<Response> {
    if auth.role == Role::Admin {
        return Err(ApiError::forbidden(
            "forbidden",
            "Admin accounts cannot book appointments",
        ));
    }
    let mut c = Check::new();
    let zone = c.time_zone(
        "time_zone",
        body.time_zone.as_deref().unwrap_or(&auth.user.time_zone),
    );
    let notes = c.text("notes", &body.notes, 0, 2000);
    c.finish()?;
    let fp = fingerprint("POST", "/api/v1/bookings", &body);
    if let Some(r) = key.replay(&app.db, auth.id, &fp).await? {
        return Ok(r);
    }
    let now = app.clock.now();
    let txn = store::begin_write(&app.db).await?;
    let b = bookings::book(
        &app,
        &txn,
        NewBooking {
            client: auth.id,
            service_id: body.service_id,
            starts_at: body.start.with_timezone(&Utc),
            time_zone: zone.unwrap_or(Tz::UTC),
            promo_code: promo_of(&body.promo_code),
            notes,
            key: &key.0,
        },
        now,
    )
    .await?;
    let res = key
        .save(
            &txn,
            auth.id,
            &fp,
            StatusCode::CREATED,
            &BookingView::from(b),
            now,
        )
        .await?;
    txn.commit().await?;
    Ok(res)
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingRole {
    Client,
    Practitioner,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BookingsQuery {
    /// Only the bookings I made (client) or that were made with me (practitioner).
    #[param(inline)]
    pub role: Option<BookingRole>,
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// My bookings, as client or practitioner, newest first.
#[utoipa::path(get, path = "/api/v1/bookings", tag = "appointments", params(BookingsQuery),
    responses((status = 200, body = Page<BookingView>), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn my_bookings(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<BookingsQuery>,
) -> ApiResult<ApiJson<Page<BookingView>>> {
    let limit = page_limit(q.limit)?;
    let mine = match q.role {
        Some(BookingRole::Client) => Condition::all().add(booking::Column::ClientId.eq(auth.id)),
        Some(BookingRole::Practitioner) => {
            Condition::all().add(booking::Column::PractitionerUserId.eq(auth.id))
        }
        None => Condition::any()
            .add(booking::Column::ClientId.eq(auth.id))
            .add(booking::Column::PractitionerUserId.eq(auth.id)),
    };
    page(
        &app,
        booking::Entity::find().filter(mine),
        q.status,
        q.cursor,
        limit,
    )
    .await
}

async fn page(
    app: &AppState,
    mut query: sea_orm::Select<booking::Entity>,
    status: Option<String>,
    cursor: Option<String>,
    limit: u64,
) -> ApiResult<ApiJson<Page<BookingView>>> {
    if let Some(s) = status {
        query = query.filter(booking::Column::Status.eq(s));
    }
    if let Some(raw) = cursor.as_deref() {
        let before: Uuid = decode_cursor(raw)?;
        query = query.filter(booking::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(booking::Column::Id)
        .limit(limit + 1)
        .all(&app.db)
        .await?;
    Ok(ApiJson(Page::from_rows(
        rows,
        limit,
        |r| encode_cursor(&r.id),
        BookingView::from,
    )))
}

/// One booking (its client, its practitioner, admins).
#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "appointments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = BookingView), (status = 404, body = Problem)),
    security(("bearer" = [])))]
async fn get_booking(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<BookingView>> {
    let b = booking::Entity::find_by_id(id)
        .one(&app.db)
        .await?
        .filter(|b| b.client_id == auth.id || b.practitioner_user_id == auth.id || auth.is_admin())
        .ok_or_else(bookings::not_found)?;
    Ok(ApiJson(b.into()))
}

/// Accept a booking request (the practitioner).
#[utoipa::path(post, path = "/api/v1/bookings/{id}/confirm", tag = "appointments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = BookingView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn confirm(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<BookingView>> {
    Ok(ApiJson(bookings::confirm(&app, auth.id, id).await?.into()))
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: Option<String>,
}

/// Runs a money-moving step once per `Idempotency-Key`: a retry gets the first answer.
async fn keyed<F>(
    app: &AppState,
    auth: &AuthUser,
    key: IdempotencyKey,
    path: String,
    body: &impl Serialize,
    step: F,
) -> ApiResult<Response>
where
    F: for<'t> AsyncFnOnce(&'t WriteTxn) -> domain::error::Result<booking::Model>,
{
    let fp = fingerprint("POST", &path, body);
    if let Some(r) = key.replay(&app.db, auth.id, &fp).await? {
        return Ok(r);
    }
    let txn = store::begin_write(&app.db).await?;
    let b = step(&txn).await?;
    let res = key
        .save(
            &txn,
            auth.id,
            &fp,
            StatusCode::OK,
            &BookingView::from(b),
            app.clock.now(),
        )
        .await?;
    txn.commit().await?;
    Ok(res)
}

fn reason_of(c: &mut Check, body: &ReasonBody) -> Option<String> {
    c.opt_text("reason", body.reason.as_deref(), 500)
}

/// Turn a booking request down (the practitioner); the client's hold is released.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/decline", operation_id = "decline_booking", tag = "appointments",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = ReasonBody,
    responses((status = 200, body = BookingView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn decline(
    State(app): State<AppState>,
    auth: AuthUser,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Response> {
    let mut c = Check::new();
    let reason = reason_of(&mut c, &body);
    c.finish()?;
    let path = format!("/api/v1/bookings/{id}/decline");
    keyed(&app, &auth, key, path, &body, async |txn| {
        bookings::decline(&app, txn, auth.id, id, reason).await
    })
    .await
}

/// Cancel before the start. A client gets everything back up to
/// `booking_full_refund_hours` before, `booking_late_refund_bps` of it later; a
/// practitioner cancelling refunds the client in full.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/cancel", operation_id = "cancel_booking", tag = "appointments",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = ReasonBody,
    responses((status = 200, body = BookingView), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn cancel(
    State(app): State<AppState>,
    auth: AuthUser,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Response> {
    let mut c = Check::new();
    let reason = reason_of(&mut c, &body);
    c.finish()?;
    let path = format!("/api/v1/bookings/{id}/cancel");
    keyed(&app, &auth, key, path, &body, async |txn| {
        bookings::cancel(&app, txn, auth.id, id, reason).await
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleBody {
    /// Another free slot of the same service.
    #[schema(value_type = String)]
    pub start: DateTime<FixedOffset>,
}

/// Move the booking to another free slot (the client), or propose the move to the client
/// (the practitioner: `proposed_starts_at` is set and the booking stays until the client
/// answers). Allowed until `booking_reschedule_min_hours` before the start,
/// `booking_max_reschedules` times; a proposal's new start must be that far away too.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/reschedule", tag = "appointments",
    params(("id" = Uuid, Path)), request_body = RescheduleBody,
    responses((status = 200, body = BookingView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn reschedule(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RescheduleBody>,
) -> ApiResult<ApiJson<BookingView>> {
    let b = bookings::reschedule(&app, auth.id, id, body.start.with_timezone(&Utc)).await?;
    Ok(ApiJson(b.into()))
}

/// Accept the practitioner's proposed time (the client): the booking moves, if the slot is
/// still free.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/reschedule/accept", tag = "appointments",
    operation_id = "accept_booking_reschedule",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = BookingView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn accept_reschedule(
    State(app): State<AppState>,
    auth: AuthUser,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    answer_reschedule(&app, &auth, key, id, true).await
}

/// Decline the practitioner's proposed time (the client): the booking is cancelled and
/// everything comes back.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/reschedule/decline", tag = "appointments",
    operation_id = "decline_booking_reschedule",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = BookingView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn decline_reschedule(
    State(app): State<AppState>,
    auth: AuthUser,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    answer_reschedule(&app, &auth, key, id, false).await
}

/// The client's answer to a proposed move, under its `Idempotency-Key`.
async fn answer_reschedule(
    app: &AppState,
    auth: &AuthUser,
    key: IdempotencyKey,
    id: Uuid,
    accept: bool,
) -> ApiResult<Response> {
    let answer = if accept { "accept" } else { "decline" };
    let path = format!("/api/v1/bookings/{id}/reschedule/{answer}");
    keyed(app, auth, key, path, &json!({}), async |txn| {
        bookings::answer_proposal(app, txn, auth.id, id, accept).await
    })
    .await
}

/// Arrive for an online appointment (from `booking_join_early_minutes` before the start).
/// When both sides are in, the session opens: `consultation_id` names it.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/join", operation_id = "join_booking", tag = "appointments",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = BookingView), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn join(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<BookingView>> {
    Ok(ApiJson(bookings::join(&app, auth.id, id).await?.into()))
}

/// Mark an in-person appointment as held (the practitioner, once it has ended); they are
/// paid.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/complete", tag = "appointments",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = BookingView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn complete(
    State(app): State<AppState>,
    auth: AuthUser,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let path = format!("/api/v1/bookings/{id}/complete");
    keyed(&app, &auth, key, path, &json!({}), async |txn| {
        bookings::complete(&app, txn, auth.id, id).await
    })
    .await
}

/// Report that the other side did not come (from `booking_no_show_grace_minutes` after the
/// start). Client absent: the practitioner is paid. Practitioner absent: the client gets
/// everything back and the practitioner's no-show count goes up.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/no-show", tag = "appointments",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 200, body = BookingView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn no_show(
    State(app): State<AppState>,
    auth: AuthUser,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let path = format!("/api/v1/bookings/{id}/no-show");
    keyed(&app, &auth, key, path, &json!({}), async |txn| {
        bookings::report_no_show(&app, txn, auth.id, id).await
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminBookingsQuery {
    pub status: Option<String>,
    pub practitioner_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// Every booking, newest first (admin).
#[utoipa::path(get, path = "/api/v1/admin/bookings", tag = "appointments",
    params(AdminBookingsQuery),
    responses((status = 200, body = Page<BookingView>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
async fn admin_bookings(
    State(app): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<AdminBookingsQuery>,
) -> ApiResult<ApiJson<Page<BookingView>>> {
    let limit = page_limit(q.limit)?;
    let mut query = booking::Entity::find();
    if let Some(p) = q.practitioner_id {
        query = query.filter(booking::Column::PractitionerId.eq(p));
    }
    if let Some(c) = q.client_id {
        query = query.filter(booking::Column::ClientId.eq(c));
    }
    page(&app, query, q.status, q.cursor, limit).await
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    #[schema(value_type = String)]
    pub outcome: Resolution,
    pub note: String,
}

/// Settle a disputed booking (admin): completed, either no-show, or refunded in full.
/// Audited.
#[utoipa::path(post, path = "/api/v1/admin/bookings/{id}/resolve", tag = "appointments",
    params(("id" = Uuid, Path), ("Idempotency-Key" = String, Header)),
    request_body = ResolveBody,
    responses((status = 200, body = BookingView), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn admin_resolve(
    State(app): State<AppState>,
    admin: AdminUser,
    meta: ClientMeta,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> ApiResult<Response> {
    let mut c = Check::new();
    let note = c.text("note", &body.note, 1, 1000);
    c.finish()?;
    let path = format!("/api/v1/admin/bookings/{id}/resolve");
    let auth = admin.0.clone();
    keyed(&app, &auth, key, path, &body, async |txn| {
        let b = bookings::resolve(&app, txn, id, body.outcome).await?;
        audit::record(
            txn,
            &admin.0.actor(&meta),
            Change {
                action: "booking.resolve",
                target_type: "booking",
                target_id: b.id.to_string(),
                before: None,
                after: Some(json!({"status": b.status, "captured": b.captured,
                    "refunded": b.refunded, "note": note})),
            },
            app.clock.now(),
        )
        .await?;
        Ok(b)
    })
    .await
}
