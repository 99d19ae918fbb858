//! `/api/v1/astrology/…` (charts, dasha, compatibility and panchang for given data; public,
//! limited per client IP) and `/api/v1/me/chart…`, `/api/v1/me/dasha` (from my stored
//! birth details, cached).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveTime, Offset, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    AyanamsaName, BirthInput, ChartSettings, ChartView, CompatibilityView, DashaView,
    HouseSystemName, NodeName, ResolvedBirth, cached_chart_view, cast, chart_view,
    compatibility_view, dasha_view, jd_to_utc, resolve_birth, resolve_stored,
};
use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{ApiJson, ApiQuery, ClientMeta};
use domain::validate::Check;
use sea_orm::EntityTrait;
use store::entity::birth_detail;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(chart_for_input))
        .routes(routes!(chart_svg_for_input))
        .routes(routes!(dasha_for_input))
        .routes(routes!(compatibility))
        .routes(routes!(panchang))
        .routes(routes!(my_chart))
        .routes(routes!(my_chart_svg))
        .routes(routes!(my_dasha))
}

/// Public computations cost CPU, not money; a per-IP budget keeps one client from using
/// the server as a free batch service.
async fn limit_ip(app: &AppState, meta: &ClientMeta) -> ApiResult<()> {
    let key = format!("astro:{}", meta.limit_key());
    app.limiter
        .hit(
            &key,
            app.config.astrology_limit_per_ip,
            app.config.rate_limit_window_secs,
            app.clock.now(),
        )
        .await
        .map_err(ApiError::rate_limited)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartRequestBody {
    pub birth: BirthInput,
    #[serde(default)]
    pub settings: ChartSettings,
}

fn resolve_one(input: &BirthInput) -> ApiResult<ResolvedBirth> {
    let mut c = Check::new();
    let birth = resolve_birth(&mut c, "birth.", input);
    c.finish()?;
    birth.ok_or_else(|| ApiError::internal(anyhow::anyhow!("unresolved birth without errors")))
}

/// Cast a birth chart (kundli) for given birth data.
#[utoipa::path(post, path = "/api/v1/astrology/charts", tag = "astrology",
    request_body = ChartRequestBody,
    responses((status = 200, body = ChartView), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
async fn chart_for_input(
    State(app): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<ChartRequestBody>,
) -> ApiResult<ApiJson<ChartView>> {
    limit_ip(&app, &meta).await?;
    let birth = resolve_one(&body.birth)?;
    let chart = cast("birth.", &birth, body.settings)?;
    Ok(ApiJson(chart_view(&birth, body.settings, &chart)))
}

/// Chart drawing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChartStyle {
    /// Diamond chart, houses fixed, signs numbered.
    #[default]
    NorthIndian,
    /// 4×4 grid, signs fixed, Pisces top left.
    SouthIndian,
    /// Circular wheel in the tropical zodiac with house cusps and aspects.
    Western,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SvgQuery {
    #[serde(default)]
    pub style: ChartStyle,
    /// Also draw Uranus, Neptune and Pluto (always drawn on the western wheel).
    #[serde(default)]
    pub outer_planets: bool,
}

fn svg_response(chart: &astro::Chart, title: Option<String>, q: &SvgQuery) -> Response {
    let style = q.style;
    let opts = astro::svg::SvgOptions {
        title,
        include_outer: q.outer_planets || matches!(style, ChartStyle::Western),
        ..astro::svg::SvgOptions::default()
    };
    let svg = match style {
        ChartStyle::NorthIndian => astro::svg::north_indian(chart, &opts),
        ChartStyle::SouthIndian => astro::svg::south_indian(chart, &opts),
        ChartStyle::Western => astro::svg::western_wheel(chart, &opts),
    };
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            // The document is ours and static, but it may embed a user's place name:
            // forbid scripts should it ever be opened as a page.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        svg,
    )
        .into_response()
}

pub(crate) fn chart_title(birth: &ResolvedBirth) -> String {
    let place = birth.place_name.as_deref().unwrap_or("");
    let when = if birth.time_known {
        birth.local.format("%Y-%m-%d %H:%M").to_string()
    } else {
        birth.local.format("%Y-%m-%d (time unknown)").to_string()
    };
    if place.is_empty() {
        when
    } else {
        format!("{when} · {place}")
    }
}

/// Draw a birth chart for given birth data as SVG.
#[utoipa::path(post, path = "/api/v1/astrology/charts/svg", tag = "astrology",
    params(SvgQuery), request_body = ChartRequestBody,
    responses((status = 200, content_type = "image/svg+xml", body = String),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
async fn chart_svg_for_input(
    State(app): State<AppState>,
    meta: ClientMeta,
    ApiQuery(q): ApiQuery<SvgQuery>,
    ApiJson(body): ApiJson<ChartRequestBody>,
) -> ApiResult<Response> {
    limit_ip(&app, &meta).await?;
    let birth = resolve_one(&body.birth)?;
    let chart = cast("birth.", &birth, body.settings)?;
    Ok(svg_response(&chart, Some(chart_title(&birth)), &q))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DashaRequestBody {
    pub birth: BirthInput,
    /// Only the ayanamsa matters for dasha (it places the Moon in its nakshatra).
    #[serde(default)]
    pub settings: ChartSettings,
    /// 1 = mahadashas, 2 = with antardashas (default), 3 = with pratyantardashas.
    pub depth: Option<u8>,
    /// Instant for `current` (default: now).
    pub at: Option<DateTime<Utc>>,
}

fn check_depth(depth: Option<u8>) -> ApiResult<u8> {
    match depth.unwrap_or(2) {
        d @ 1..=3 => Ok(d),
        _ => Err(ApiError::field(
            "depth",
            "out_of_range",
            "must be between 1 and 3",
        )),
    }
}

/// Vimshottari dasha timeline for given birth data.
#[utoipa::path(post, path = "/api/v1/astrology/dasha", tag = "astrology",
    request_body = DashaRequestBody,
    responses((status = 200, body = DashaView), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
async fn dasha_for_input(
    State(app): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<DashaRequestBody>,
) -> ApiResult<ApiJson<DashaView>> {
    limit_ip(&app, &meta).await?;
    let depth = check_depth(body.depth)?;
    let birth = resolve_one(&body.birth)?;
    // Dasha needs no houses: whole-sign always casts, even where Placidus would not.
    let settings = ChartSettings {
        house_system: HouseSystemName::WholeSign,
        ..body.settings
    };
    let chart = cast("birth.", &birth, settings)?;
    Ok(ApiJson(dasha_view(
        &birth,
        &chart,
        depth,
        body.at.unwrap_or_else(|| app.clock.now()),
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompatibilityRequest {
    pub bride: BirthInput,
    pub groom: BirthInput,
    #[serde(default)]
    pub ayanamsa: AyanamsaName,
}

/// Ashtakoota guna milan (36 points) and mangal dosha for two births.
#[utoipa::path(post, path = "/api/v1/astrology/compatibility", tag = "astrology",
    request_body = CompatibilityRequest,
    responses((status = 200, body = CompatibilityView), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
async fn compatibility(
    State(app): State<AppState>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<CompatibilityRequest>,
) -> ApiResult<ApiJson<CompatibilityView>> {
    limit_ip(&app, &meta).await?;
    let mut c = Check::new();
    let bride = resolve_birth(&mut c, "bride.", &body.bride);
    let groom = resolve_birth(&mut c, "groom.", &body.groom);
    c.finish()?;
    let (Some(bride), Some(groom)) = (bride, groom) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "unresolved birth without errors"
        )));
    };
    let settings = ChartSettings {
        ayanamsa: body.ayanamsa,
        house_system: HouseSystemName::WholeSign,
        node: NodeName::Mean,
    };
    let bride_chart = cast("bride.", &bride, settings)?;
    let groom_chart = cast("groom.", &groom, settings)?;
    Ok(ApiJson(compatibility_view(
        (&bride, &bride_chart),
        (&groom, &groom_chart),
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PanchangQuery {
    /// Civil date, `YYYY-MM-DD`.
    pub date: String,
    /// IANA zone of the place, e.g. `Asia/Kolkata`.
    pub time_zone: String,
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    #[param(inline)]
    pub ayanamsa: AyanamsaName,
}

/// One limb of the panchang and when it ends (local time of the place).
#[derive(Debug, Serialize, ToSchema)]
pub struct LimbView {
    pub index: usize,
    pub name: &'static str,
    pub ends_at: String,
}

/// The five limbs of a day in force at sunrise, with sunrise and sunset.
#[derive(Debug, Serialize, ToSchema)]
pub struct PanchangView {
    pub date: String,
    pub time_zone: String,
    pub latitude: f64,
    pub longitude: f64,
    pub ayanamsa: AyanamsaName,
    pub sunrise: String,
    pub sunset: String,
    pub next_sunrise: String,
    pub vara: LimbView,
    pub tithi: LimbView,
    /// `shukla` (waxing) or `krishna` (waning).
    pub paksha: &'static str,
    pub nakshatra: LimbView,
    pub yoga: LimbView,
    pub karana: LimbView,
}

/// Panchang (vara, tithi, nakshatra, yoga, karana, sunrise, sunset) for a date and place.
#[utoipa::path(get, path = "/api/v1/astrology/panchang", tag = "astrology",
    params(PanchangQuery),
    responses((status = 200, body = PanchangView), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
async fn panchang(
    State(app): State<AppState>,
    meta: ClientMeta,
    ApiQuery(q): ApiQuery<PanchangQuery>,
) -> ApiResult<ApiJson<PanchangView>> {
    limit_ip(&app, &meta).await?;
    let mut c = Check::new();
    let date = super::parse_date(&mut c, "date", &q.date);
    let zone = super::parse_zone(&mut c, "time_zone", &q.time_zone);
    super::check_place(&mut c, "", q.latitude, q.longitude);
    c.finish()?;
    let (Some(date), Some(zone)) = (date, zone) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "unchecked panchang input"
        )));
    };
    // The day's civil offset, read at local noon (never inside a DST change).
    let noon = date.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default());
    let offset_seconds = zone
        .from_local_datetime(&noon)
        .earliest()
        .map(|t| t.offset().fix().local_minus_utc())
        .unwrap_or_else(|| zone.offset_from_utc_datetime(&noon).fix().local_minus_utc());
    let settings = ChartSettings {
        ayanamsa: q.ayanamsa,
        ..ChartSettings::default()
    };
    let p = astro::panchang::panchang(&astro::panchang::PanchangRequest {
        year: chrono::Datelike::year(&date),
        month: chrono::Datelike::month(&date),
        day: chrono::Datelike::day(&date),
        latitude: q.latitude,
        longitude: q.longitude,
        utc_offset_hours: f64::from(offset_seconds) / 3600.0,
        ayanamsa: settings.ayanamsa(),
    })
    .map_err(|e| super::astro_error("", e))?;
    let local = |jd: f64| {
        jd_to_utc(jd)
            .with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    };
    let limb = |e: &astro::panchang::Element| LimbView {
        index: e.index,
        name: e.name,
        ends_at: local(e.end_jd),
    };
    Ok(ApiJson(PanchangView {
        date: date.to_string(),
        time_zone: zone.name().to_owned(),
        latitude: q.latitude,
        longitude: q.longitude,
        ayanamsa: q.ayanamsa,
        sunrise: local(p.sunrise_jd),
        sunset: local(p.sunset_jd),
        next_sunrise: local(p.next_sunrise_jd),
        vara: limb(&p.vara),
        paksha: if p.tithi.index < 15 {
            "shukla"
        } else {
            "krishna"
        },
        tithi: limb(&p.tithi),
        nakshatra: limb(&p.nakshatra),
        yoga: limb(&p.yoga),
        karana: limb(&p.karana),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SettingsQuery {
    #[serde(default)]
    #[param(inline)]
    pub ayanamsa: AyanamsaName,
    #[serde(default)]
    #[param(inline)]
    pub house_system: HouseSystemName,
    #[serde(default)]
    #[param(inline)]
    pub node: NodeName,
}

impl SettingsQuery {
    fn settings(&self) -> ChartSettings {
        ChartSettings {
            ayanamsa: self.ayanamsa,
            house_system: self.house_system,
            node: self.node,
        }
    }
}

async fn my_birth(app: &AppState, auth: &AuthUser) -> ApiResult<ResolvedBirth> {
    let row = birth_detail::Entity::find_by_id(auth.id)
        .one(&app.db)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "birth_details_missing",
                "Add your birth details (PUT /api/v1/me/birth-details) to see your chart",
            )
        })?;
    Ok(resolve_stored(&row)?)
}

/// My birth chart, from my stored birth details.
#[utoipa::path(get, path = "/api/v1/me/chart", tag = "astrology", params(SettingsQuery),
    responses((status = 200, body = ChartView), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn my_chart(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<SettingsQuery>,
) -> ApiResult<ApiJson<ChartView>> {
    let birth = my_birth(&app, &auth).await?;
    Ok(ApiJson(
        cached_chart_view(&app.db, &app.keys, &birth, q.settings(), app.clock.now()).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MySvgQuery {
    #[serde(default)]
    #[param(inline)]
    pub style: ChartStyle,
    #[serde(default)]
    pub outer_planets: bool,
    #[serde(default)]
    #[param(inline)]
    pub ayanamsa: AyanamsaName,
    #[serde(default)]
    #[param(inline)]
    pub house_system: HouseSystemName,
    #[serde(default)]
    #[param(inline)]
    pub node: NodeName,
}

/// My birth chart as SVG.
#[utoipa::path(get, path = "/api/v1/me/chart/svg", tag = "astrology", params(MySvgQuery),
    responses((status = 200, content_type = "image/svg+xml", body = String),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn my_chart_svg(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<MySvgQuery>,
) -> ApiResult<Response> {
    let birth = my_birth(&app, &auth).await?;
    let settings = ChartSettings {
        ayanamsa: q.ayanamsa,
        house_system: q.house_system,
        node: q.node,
    };
    let chart = cast("birth_details.", &birth, settings)?;
    Ok(svg_response(
        &chart,
        Some(chart_title(&birth)),
        &SvgQuery {
            style: q.style,
            outer_planets: q.outer_planets,
        },
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MyDashaQuery {
    /// 1 … 3 (default 2).
    pub depth: Option<u8>,
    /// Instant for `current` (default: now).
    pub at: Option<DateTime<Utc>>,
    #[serde(default)]
    #[param(inline)]
    pub ayanamsa: AyanamsaName,
}

/// My Vimshottari dasha timeline and the periods running now.
#[utoipa::path(get, path = "/api/v1/me/dasha", tag = "astrology", params(MyDashaQuery),
    responses((status = 200, body = DashaView), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn my_dasha(
    State(app): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<MyDashaQuery>,
) -> ApiResult<ApiJson<DashaView>> {
    let depth = check_depth(q.depth)?;
    let birth = my_birth(&app, &auth).await?;
    let settings = ChartSettings {
        ayanamsa: q.ayanamsa,
        ..ChartSettings::default()
    };
    let chart = cast("birth_details.", &birth, settings)?;
    Ok(ApiJson(dasha_view(
        &birth,
        &chart,
        depth,
        q.at.unwrap_or_else(|| app.clock.now()),
    )))
}
