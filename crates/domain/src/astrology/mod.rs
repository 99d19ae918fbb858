//! Astrology over HTTP: turns a person's local birth data (civil date, clock time, IANA
//! zone, place) into the `astro` crate's inputs, and its results into API views with ISO
//! times. Owns the birth-chart cache; the routes live in [`routes`], admins' daily
//! horoscopes in [`horoscopes`]. All astronomy is in the `astro` crate.

use astro::chart::{GrahaPosition, Point};
use astro::guna_milan::{MangalDosha, MoonPlacement, guna_milan, mangal_dosha_of};
use astro::vedic::{Graha, Rasi, SiderealPlacement};
use astro::{AstroError, Chart, ChartRequest, HouseSystem, Instant, NodeKind};
use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Tz;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, FieldError, Result};
use crate::validate::Check;
use store::entity::{birth_chart_cache, birth_detail};

/// Bumped whenever a chart view's content changes for the same inputs, so cached charts
/// made by an older engine are not served.
pub const ENGINE_VERSION: &str = concat!("astro-", env!("CARGO_PKG_VERSION"), "-view1");

/// Unix epoch as a Julian day.
const UNIX_EPOCH_JD: f64 = 2_440_587.5;

/// Where and when someone was born, as they would type it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BirthInput {
    /// Local civil date of birth, `YYYY-MM-DD` (1800-01-01 … 2100-12-30).
    #[schema(example = "1990-05-17")]
    pub date: String,
    /// Local clock time, `HH:MM` or `HH:MM:SS`. Omit when unknown: the chart is then cast
    /// for 12:00 and the ascendant, houses and dasha dates are approximate.
    #[schema(example = "14:30")]
    pub time: Option<String>,
    /// IANA zone of the birth place, e.g. `Asia/Kolkata`. Historic offsets (including
    /// local mean time before standard time) come from the zone's history.
    #[schema(example = "Asia/Kolkata")]
    pub time_zone: String,
    /// Degrees north, −90 … 90.
    #[schema(example = 19.076)]
    pub latitude: f64,
    /// Degrees east, −180 … 180.
    #[schema(example = 72.8777)]
    pub longitude: f64,
    pub place_name: Option<String>,
}

/// Sidereal zodiac.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AyanamsaName {
    #[default]
    Lahiri,
    Raman,
    Krishnamurti,
}

/// House division.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HouseSystemName {
    #[default]
    WholeSign,
    Equal,
    Placidus,
}

/// Which lunar node stands for Rahu.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeName {
    #[default]
    Mean,
    True,
}

/// How to cast: every field has the Vedic default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChartSettings {
    #[serde(default)]
    pub ayanamsa: AyanamsaName,
    #[serde(default)]
    pub house_system: HouseSystemName,
    #[serde(default)]
    pub node: NodeName,
}

impl ChartSettings {
    pub fn ayanamsa(self) -> astro::Ayanamsa {
        match self.ayanamsa {
            AyanamsaName::Lahiri => astro::Ayanamsa::Lahiri,
            AyanamsaName::Raman => astro::Ayanamsa::Raman,
            AyanamsaName::Krishnamurti => astro::Ayanamsa::Krishnamurti,
        }
    }
    fn house_system(self) -> HouseSystem {
        match self.house_system {
            HouseSystemName::WholeSign => HouseSystem::WholeSign,
            HouseSystemName::Equal => HouseSystem::Equal,
            HouseSystemName::Placidus => HouseSystem::Placidus,
        }
    }
    fn node(self) -> NodeKind {
        match self.node {
            NodeName::Mean => NodeKind::Mean,
            NodeName::True => NodeKind::True,
        }
    }
}

/// A birth resolved to one UTC instant and a validated place.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedBirth {
    pub local: NaiveDateTime,
    pub utc: DateTime<Utc>,
    pub utc_offset_seconds: i32,
    pub zone: Tz,
    pub time_known: bool,
    pub latitude: f64,
    pub longitude: f64,
    pub place_name: Option<String>,
    pub warnings: Vec<String>,
}

impl ResolvedBirth {
    /// The stable text the cache key is made from: the UTC instant to the second, the place
    /// to a millionth of a degree (about 0.1 m), and the settings.
    fn canonical(&self, settings: ChartSettings) -> String {
        format!(
            "{}|{}|{:.6}|{:.6}|{:?}|{:?}|{:?}",
            self.utc.format("%Y-%m-%dT%H:%M:%SZ"),
            self.time_known,
            self.latitude,
            self.longitude,
            settings.ayanamsa,
            settings.house_system,
            settings.node,
        )
    }

    fn request(&self, settings: ChartSettings) -> ChartRequest {
        ChartRequest {
            instant: Instant::Utc {
                year: self.utc.year(),
                month: self.utc.month(),
                day: self.utc.day(),
                hour: self.utc.hour(),
                minute: self.utc.minute(),
                second: f64::from(self.utc.second()),
            },
            latitude: self.latitude,
            longitude: self.longitude,
            ayanamsa: settings.ayanamsa(),
            house_system: settings.house_system(),
            node: settings.node(),
        }
    }
}

/// `±HH:MM` for an offset in seconds (local mean time offsets are rounded to the minute
/// for display only; computation uses the exact offset).
fn format_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = (seconds.abs() + 30) / 60;
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

pub fn parse_zone(c: &mut Check, field: &str, raw: &str) -> Option<Tz> {
    match raw.trim().parse::<Tz>() {
        Ok(z) => Some(z),
        Err(_) => {
            c.fail(
                field,
                "unknown_time_zone",
                "is not an IANA time zone name (for example Asia/Kolkata)",
            );
            None
        }
    }
}

/// The first and last civil dates the embedded ephemeris covers in every zone.
fn supported_dates() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(1800, 1, 2).unwrap_or_default(),
        NaiveDate::from_ymd_opt(2100, 12, 30).unwrap_or_default(),
    )
}

pub fn parse_date(c: &mut Check, field: &str, raw: &str) -> Option<NaiveDate> {
    let Ok(date) = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") else {
        c.fail(
            field,
            "invalid_date",
            "is not a calendar date in the form YYYY-MM-DD",
        );
        return None;
    };
    let (first, last) = supported_dates();
    if date < first || date > last {
        c.fail(
            field,
            "out_of_range",
            format!("must be between {first} and {last}"),
        );
        return None;
    }
    Some(date)
}

fn parse_time(c: &mut Check, field: &str, raw: &str) -> Option<NaiveTime> {
    let raw = raw.trim();
    match NaiveTime::parse_from_str(raw, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M"))
    {
        // chrono accepts a leap second as 60; a birth time never needs one.
        Ok(t) if t.nanosecond() < 1_000_000_000 => Some(t),
        _ => {
            c.fail(
                field,
                "invalid_time",
                "is not a clock time in the form HH:MM or HH:MM:SS",
            );
            None
        }
    }
}

pub fn check_place(c: &mut Check, prefix: &str, latitude: f64, longitude: f64) {
    c.ensure(
        latitude.is_finite() && (-90.0..=90.0).contains(&latitude),
        &format!("{prefix}latitude"),
        "out_of_range",
        "must be between -90 and 90",
    );
    c.ensure(
        longitude.is_finite() && (-180.0..=180.0).contains(&longitude),
        &format!("{prefix}longitude"),
        "out_of_range",
        "must be between -180 and 180",
    );
}

/// Local date and time in a zone → the UTC instant. A time skipped by a daylight-saving
/// change is refused (it never happened there); a repeated one takes the earlier offset,
/// as most birth records do, and says so in a warning.
fn local_to_utc(
    c: &mut Check,
    field: &str,
    zone: Tz,
    local: NaiveDateTime,
) -> Option<(DateTime<Utc>, i32, Option<String>)> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => Some((
            t.with_timezone(&Utc),
            t.offset().fix().local_minus_utc(),
            None,
        )),
        LocalResult::Ambiguous(early, _) => Some((
            early.with_timezone(&Utc),
            early.offset().fix().local_minus_utc(),
            Some(format!(
                "{local} happened twice in {zone} (clocks went back); the earlier one was used"
            )),
        )),
        LocalResult::None => {
            c.fail(
                field,
                "nonexistent_local_time",
                format!("{local} did not exist in {zone}: clocks moved forward over it"),
            );
            None
        }
    }
}

/// Validates a [`BirthInput`]; errors are reported under `prefix` (`"bride."`, …).
pub fn resolve_birth(c: &mut Check, prefix: &str, input: &BirthInput) -> Option<ResolvedBirth> {
    let f = |name: &str| format!("{prefix}{name}");
    let date = parse_date(c, &f("date"), &input.date);
    let time = match &input.time {
        Some(raw) => parse_time(c, &f("time"), raw).map(Some),
        None => Some(None),
    };
    let zone = parse_zone(c, &f("time_zone"), &input.time_zone);
    check_place(c, prefix, input.latitude, input.longitude);
    let place_name = c.opt_text(&f("place_name"), input.place_name.as_deref(), 200);
    let (date, time, zone) = (date?, time?, zone?);
    let time_known = time.is_some();
    let local = date.and_time(time.unwrap_or(NaiveTime::from_hms_opt(12, 0, 0)?));
    let (utc, offset, ambiguity) = local_to_utc(c, &f("time"), zone, local)?;
    let mut warnings: Vec<String> = ambiguity.into_iter().collect();
    if !time_known {
        warnings.push(
            "birth time unknown: cast for 12:00 local time; the ascendant, houses and dasha \
             dates are approximate"
                .to_owned(),
        );
    }
    Some(ResolvedBirth {
        local,
        utc,
        utc_offset_seconds: offset,
        zone,
        time_known,
        latitude: input.latitude,
        longitude: input.longitude,
        place_name,
        warnings,
    })
}

/// Stored birth details → the same resolved form as typed input.
pub fn resolve_stored(b: &birth_detail::Model) -> Result<ResolvedBirth> {
    let input = BirthInput {
        date: b.birth_date.format("%Y-%m-%d").to_string(),
        time: b.birth_time.map(|t| t.format("%H:%M:%S").to_string()),
        time_zone: b.time_zone.clone(),
        latitude: b.latitude,
        longitude: b.longitude,
        place_name: Some(b.place_name.clone()),
    };
    let mut c = Check::new();
    let resolved = resolve_birth(&mut c, "birth_details.", &input);
    c.finish()?;
    resolved.ok_or_else(|| Error::internal(anyhow::anyhow!("birth details did not resolve")))
}

/// Maps the engine's refusal to the field a client would correct.
pub fn astro_error(prefix: &str, err: AstroError) -> Error {
    let f = |name: &str| format!("{prefix}{name}");
    match err {
        AstroError::HousesUndefined { system, latitude } => {
            Error::validation(vec![FieldError::new(
                "house_system",
                "houses_undefined",
                format!(
                    "{system} houses cannot be drawn at latitude {latitude} at this time \
                     (part of the ecliptic never rises); use whole_sign or equal"
                ),
            )])
        }
        AstroError::OutOfRange { .. } | AstroError::InvalidDate(_) => Error::field(
            &f("date"),
            "out_of_range",
            "the instant is outside 1800-01-01 … 2100-12-31 UT",
        ),
        AstroError::LatitudeOutOfRange(_) => {
            Error::field(&f("latitude"), "out_of_range", "must be between -90 and 90")
        }
        AstroError::LongitudeOutOfRange(_) => Error::field(
            &f("longitude"),
            "out_of_range",
            "must be between -180 and 180",
        ),
        AstroError::NoSunriseOrSunset => Error::field(
            "date",
            "no_sunrise",
            "the Sun does not rise or set on this day at this place (polar day or night)",
        ),
        AstroError::NotFinite(what) => {
            Error::field(&f(what), "not_finite", "must be a finite number")
        }
    }
}

pub fn cast(prefix: &str, birth: &ResolvedBirth, settings: ChartSettings) -> Result<astro::Chart> {
    astro::full_chart(&birth.request(settings)).map_err(|e| astro_error(prefix, e))
}

/// UT Julian day → UTC instant, to the millisecond.
pub fn jd_to_utc(jd: f64) -> DateTime<Utc> {
    let millis = ((jd - UNIX_EPOCH_JD) * 86_400_000.0).round() as i64;
    DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default()
}

fn graha_name(g: Graha) -> &'static str {
    match g {
        Graha::Sun => "sun",
        Graha::Moon => "moon",
        Graha::Mars => "mars",
        Graha::Mercury => "mercury",
        Graha::Jupiter => "jupiter",
        Graha::Venus => "venus",
        Graha::Saturn => "saturn",
        Graha::Rahu => "rahu",
        Graha::Ketu => "ketu",
    }
}

pub fn sign_name(r: Rasi) -> &'static str {
    SIGNS[r.index()]
}

/// Sign slugs, Aries first (the same order as `Rasi::index`).
pub const SIGNS: [&str; 12] = [
    "aries",
    "taurus",
    "gemini",
    "cancer",
    "leo",
    "virgo",
    "libra",
    "scorpio",
    "sagittarius",
    "capricorn",
    "aquarius",
    "pisces",
];

fn point_name(p: Point) -> &'static str {
    match p {
        Point::Sun => "sun",
        Point::Moon => "moon",
        Point::Mars => "mars",
        Point::Mercury => "mercury",
        Point::Jupiter => "jupiter",
        Point::Venus => "venus",
        Point::Saturn => "saturn",
        Point::Rahu => "rahu",
        Point::Ketu => "ketu",
        Point::Uranus => "uranus",
        Point::Neptune => "neptune",
        Point::Pluto => "pluto",
    }
}

/// What Jyotish reads off one sidereal longitude.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlacementView {
    /// Sidereal longitude, degrees 0 … 360.
    pub longitude: f64,
    pub sign: String,
    /// Degrees within the sign, 0 … 30.
    pub degree_in_sign: f64,
    /// `DD°MM′SS″` within the sign.
    pub dms: String,
    pub nakshatra: String,
    /// 1 … 4.
    pub pada: u8,
    pub nakshatra_lord: String,
    /// Navamsa (D9) sign.
    pub navamsa: String,
}

fn dms(degrees: f64) -> String {
    let total = (degrees * 3600.0).round() as i64;
    format!(
        "{:02}°{:02}′{:02}″",
        total / 3600,
        (total / 60) % 60,
        total % 60
    )
}

impl From<&SiderealPlacement> for PlacementView {
    fn from(p: &SiderealPlacement) -> Self {
        Self {
            longitude: p.longitude,
            sign: sign_name(p.sign).to_owned(),
            degree_in_sign: p.degree_in_sign,
            dms: dms(p.degree_in_sign),
            nakshatra: p.nakshatra.to_owned(),
            pada: p.pada,
            nakshatra_lord: graha_name(p.nakshatra_lord).to_owned(),
            navamsa: sign_name(p.navamsa).to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanetView {
    /// `sun` … `ketu`, then `uranus`, `neptune`, `pluto`.
    pub name: String,
    #[serde(flatten)]
    pub placement: PlacementView,
    /// Apparent tropical longitude of date, degrees.
    pub tropical_longitude: f64,
    /// Ecliptic latitude, degrees.
    pub latitude: f64,
    /// Degrees per day; negative when retrograde.
    pub speed: f64,
    pub retrograde: bool,
    /// 1 … 12 in the chosen house system.
    pub house: u8,
}

impl From<&GrahaPosition> for PlanetView {
    fn from(g: &GrahaPosition) -> Self {
        Self {
            name: point_name(g.point).to_owned(),
            placement: (&g.sidereal).into(),
            tropical_longitude: g.tropical_longitude,
            latitude: g.latitude,
            speed: g.speed,
            retrograde: g.retrograde,
            house: g.house,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HouseView {
    pub number: u8,
    /// Sidereal longitude of the cusp, degrees.
    pub cusp: f64,
    pub sign: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DoshaView {
    pub present: bool,
    pub from_lagna: bool,
    pub from_moon: bool,
    pub mars_house_from_lagna: u8,
    pub mars_house_from_moon: u8,
}

impl From<MangalDosha> for DoshaView {
    fn from(d: MangalDosha) -> Self {
        Self {
            present: d.present(),
            from_lagna: d.from_lagna,
            from_moon: d.from_moon,
            mars_house_from_lagna: d.mars_house_from_lagna,
            mars_house_from_moon: d.mars_house_from_moon,
        }
    }
}

/// The birth as the engine understood it: check this first when a chart looks wrong.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BirthEcho {
    /// Local date and time as cast, `YYYY-MM-DDTHH:MM:SS`.
    pub local: String,
    pub utc: DateTime<Utc>,
    /// Offset in force at that moment, `±HH:MM`.
    pub utc_offset: String,
    pub time_zone: String,
    pub time_known: bool,
    pub latitude: f64,
    pub longitude: f64,
    pub place_name: Option<String>,
}

impl From<&ResolvedBirth> for BirthEcho {
    fn from(b: &ResolvedBirth) -> Self {
        Self {
            local: b.local.format("%Y-%m-%dT%H:%M:%S").to_string(),
            utc: b.utc,
            utc_offset: format_offset(b.utc_offset_seconds),
            time_zone: b.zone.name().to_owned(),
            time_known: b.time_known,
            latitude: b.latitude,
            longitude: b.longitude,
            place_name: b.place_name.clone(),
        }
    }
}

/// A birth chart (kundli).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChartView {
    pub birth: BirthEcho,
    pub settings: ChartSettings,
    pub julian_day_ut: f64,
    /// TT − UT, seconds.
    pub delta_t_seconds: f64,
    pub ayanamsa_degrees: f64,
    pub ascendant: PlacementView,
    /// Sidereal midheaven, degrees.
    pub midheaven: f64,
    pub houses: Vec<HouseView>,
    pub planets: Vec<PlanetView>,
    pub mangal_dosha: DoshaView,
    /// The Vimshottari mahadasha running at birth, and its balance then in years.
    pub birth_dasha: DashaBalance,
    pub warnings: Vec<String>,
    pub engine_version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DashaBalance {
    pub lord: String,
    pub balance_years: f64,
}

pub fn chart_view(birth: &ResolvedBirth, settings: ChartSettings, chart: &Chart) -> ChartView {
    let first = &chart.dasha.mahadashas[0];
    ChartView {
        birth: birth.into(),
        settings,
        julian_day_ut: chart.jd_ut,
        delta_t_seconds: chart.delta_t_seconds,
        ayanamsa_degrees: chart.ayanamsa_degrees,
        ascendant: (&chart.ascendant).into(),
        midheaven: chart.midheaven,
        houses: chart
            .cusps
            .iter()
            .enumerate()
            .map(|(i, &cusp)| HouseView {
                number: i as u8 + 1,
                cusp,
                sign: sign_name(Rasi::of_longitude(cusp)).to_owned(),
            })
            .collect(),
        planets: chart.grahas.iter().map(PlanetView::from).collect(),
        mangal_dosha: mangal_dosha_of(chart).into(),
        birth_dasha: DashaBalance {
            lord: graha_name(first.lord).to_owned(),
            balance_years: (first.end_jd - chart.jd_ut) / astro::dasha::DASHA_YEAR_DAYS,
        },
        warnings: birth.warnings.clone(),
        engine_version: ENGINE_VERSION.to_owned(),
    }
}

/// The cached chart view for stored birth details, cast and stored on a miss. Reads never
/// write, so a popular chart costs one primary-key lookup.
pub async fn cached_chart_view(
    db: &impl ConnectionTrait,
    keys: &crate::auth::token::Keys,
    birth: &ResolvedBirth,
    settings: ChartSettings,
    now: DateTime<Utc>,
) -> Result<ChartView> {
    let key = cache_key(keys, birth, settings);
    if let Some(row) = birth_chart_cache::Entity::find_by_id(key.clone())
        .one(db)
        .await?
        && let Ok(view) = serde_json::from_str::<ChartView>(&row.chart)
    {
        return Ok(view);
    }
    let chart = cast("birth_details.", birth, settings)?;
    let view = chart_view(birth, settings, &chart);
    let stored = birth_chart_cache::ActiveModel {
        cache_key: Set(key),
        engine_version: Set(ENGINE_VERSION.to_owned()),
        chart: Set(serde_json::to_string(&view).map_err(|e| Error::internal(e.into()))?),
        created_at: Set(now),
    };
    // Two first views of one chart race to fill the same key; the loser's row is equal.
    if let Err(e) = stored.insert(db).await
        && crate::error::unique_violation(&e).is_none()
    {
        return Err(e.into());
    }
    Ok(view)
}

/// HMAC of the canonical inputs: the cache holds no readable birth data, and the row of a
/// deleted account's chart can still be found and removed.
pub fn cache_key(
    keys: &crate::auth::token::Keys,
    birth: &ResolvedBirth,
    settings: ChartSettings,
) -> String {
    keys.keyed_hash(&["birth-chart", ENGINE_VERSION, &birth.canonical(settings)])
}

/// Removes every cached chart of these birth details (all settings), for when the details
/// change or the account is erased.
pub async fn forget_cached_charts(
    db: &impl ConnectionTrait,
    keys: &crate::auth::token::Keys,
    details: &birth_detail::Model,
) -> Result<()> {
    let Ok(birth) = resolve_stored(details) else {
        return Ok(());
    };
    let mut keys_to_drop = Vec::with_capacity(18);
    for ayanamsa in [
        AyanamsaName::Lahiri,
        AyanamsaName::Raman,
        AyanamsaName::Krishnamurti,
    ] {
        for house_system in [
            HouseSystemName::WholeSign,
            HouseSystemName::Equal,
            HouseSystemName::Placidus,
        ] {
            for node in [NodeName::Mean, NodeName::True] {
                keys_to_drop.push(cache_key(
                    keys,
                    &birth,
                    ChartSettings {
                        ayanamsa,
                        house_system,
                        node,
                    },
                ));
            }
        }
    }
    use sea_orm::{ColumnTrait, QueryFilter};
    birth_chart_cache::Entity::delete_many()
        .filter(birth_chart_cache::Column::CacheKey.is_in(keys_to_drop))
        .exec(db)
        .await?;
    Ok(())
}

/// One koota's score.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KootaView {
    pub name: &'static str,
    pub points: f64,
    pub max: f64,
    /// What the koota compares.
    pub about: &'static str,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartnerView {
    pub birth: BirthEcho,
    pub moon: PlacementView,
    pub ascendant: PlacementView,
    pub mangal_dosha: DoshaView,
}

/// Ashtakoota guna milan between two births.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompatibilityView {
    pub bride: PartnerView,
    pub groom: PartnerView,
    pub kootas: Vec<KootaView>,
    pub total: f64,
    pub max: f64,
    /// `excellent` (≥ 33), `good` (≥ 25), `average` (≥ 18) or `not_recommended`.
    pub rating: &'static str,
    pub verdict: String,
    /// Regional conventions followed.
    pub conventions: &'static str,
}

fn moon_of(chart: &Chart) -> &GrahaPosition {
    chart
        .grahas
        .iter()
        .find(|g| g.point == Point::Moon)
        .unwrap_or(&chart.grahas[1])
}

pub fn compatibility_view(
    bride: (&ResolvedBirth, &Chart),
    groom: (&ResolvedBirth, &Chart),
) -> CompatibilityView {
    let (b_moon, g_moon) = (moon_of(bride.1), moon_of(groom.1));
    let m = guna_milan(
        MoonPlacement {
            longitude: b_moon.sidereal.longitude,
        },
        MoonPlacement {
            longitude: g_moon.sidereal.longitude,
        },
    );
    let kootas = vec![
        KootaView {
            name: "varna",
            points: m.varna,
            max: 1.0,
            about: "spiritual temperament of the Moon signs",
        },
        KootaView {
            name: "vashya",
            points: m.vashya,
            max: 2.0,
            about: "mutual attraction and influence",
        },
        KootaView {
            name: "tara",
            points: m.tara,
            max: 3.0,
            about: "birth-star counts from each other (fortune)",
        },
        KootaView {
            name: "yoni",
            points: m.yoni,
            max: 4.0,
            about: "physical and instinctive compatibility",
        },
        KootaView {
            name: "graha_maitri",
            points: m.graha_maitri,
            max: 5.0,
            about: "friendship of the Moon-sign lords",
        },
        KootaView {
            name: "gana",
            points: m.gana,
            max: 6.0,
            about: "nature: deva, manushya, rakshasa",
        },
        KootaView {
            name: "bhakoot",
            points: m.bhakoot,
            max: 7.0,
            about: "relative position of the Moon signs (family welfare)",
        },
        KootaView {
            name: "nadi",
            points: m.nadi,
            max: 8.0,
            about: "constitution and progeny",
        },
    ];
    let rating = match m.total {
        t if t >= 33.0 => "excellent",
        t if t >= 25.0 => "good",
        t if t >= 18.0 => "average",
        _ => "not_recommended",
    };
    let (bd, gd) = (mangal_dosha_of(bride.1), mangal_dosha_of(groom.1));
    let mut verdict = format!(
        "{} of 36 gunas match: {}.",
        m.total,
        match rating {
            "excellent" => "an excellent match",
            "good" => "a good match",
            "average" => "an acceptable match",
            _ => "fewer than the 18 gunas usually required",
        }
    );
    if m.nadi == 0.0 {
        verdict.push_str(" Nadi dosha: both Moons are in the same nadi.");
    }
    if m.bhakoot == 0.0 {
        verdict.push_str(" Bhakoot dosha: the Moon signs sit 2/12, 5/9 or 6/8 from each other.");
    }
    verdict.push_str(match (bd.present(), gd.present()) {
        (true, true) => " Both charts are manglik, which is traditionally held to cancel out.",
        (false, false) => " Neither chart is manglik.",
        _ => " Only one chart is manglik: traditionally a concern to look at with an astrologer.",
    });
    let partner = |birth: &ResolvedBirth, chart: &Chart, moon: &GrahaPosition, d| PartnerView {
        birth: birth.into(),
        moon: (&moon.sidereal).into(),
        ascendant: (&chart.ascendant).into(),
        mangal_dosha: DoshaView::from(d),
    };
    CompatibilityView {
        bride: partner(bride.0, bride.1, b_moon, bd),
        groom: partner(groom.0, groom.1, g_moon, gd),
        kootas,
        total: m.total,
        max: 36.0,
        rating,
        verdict,
        conventions: "North Indian (Parashari) ashtakoota tables; raw scores without regional \
                      cancellation (parihara) rules; mangal dosha from lagna and Moon, houses \
                      1, 2, 4, 7, 8, 12",
    }
}

/// One Vimshottari period with its sub-periods (down to the requested depth).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DashaPeriodView {
    pub lord: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub periods: Vec<DashaPeriodView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DashaView {
    pub birth: BirthEcho,
    pub moon: PlacementView,
    /// Mahadashas, each with antardashas (depth ≥ 2) and pratyantardashas (depth 3).
    pub mahadashas: Vec<DashaPeriodView>,
    /// Lords running at `at` (mahadasha, antardasha, pratyantardasha).
    pub current: Vec<DashaPeriodView>,
    pub at: DateTime<Utc>,
    pub warnings: Vec<String>,
}

fn period_view(p: &astro::dasha::DashaPeriod, depth: u8) -> DashaPeriodView {
    DashaPeriodView {
        lord: graha_name(p.lord).to_owned(),
        start: jd_to_utc(p.start_jd),
        end: jd_to_utc(p.end_jd),
        periods: if depth > 1 {
            astro::dasha::sub_periods(p)
                .iter()
                .map(|s| period_view(s, depth - 1))
                .collect()
        } else {
            Vec::new()
        },
    }
}

/// The 120-year Vimshottari timeline from the chart's Moon; `current` walks down three
/// levels at `at`.
pub fn dasha_view(birth: &ResolvedBirth, chart: &Chart, depth: u8, at: DateTime<Utc>) -> DashaView {
    let at_jd = at.timestamp_millis() as f64 / 86_400_000.0 + UNIX_EPOCH_JD;
    let mut current = Vec::new();
    let mut level: Vec<astro::dasha::DashaPeriod> = chart.dasha.mahadashas.clone();
    for _ in 0..3 {
        let Some(p) = level
            .iter()
            .find(|p| p.start_jd <= at_jd && at_jd < p.end_jd)
            .cloned()
        else {
            break;
        };
        current.push(period_view(&p, 1));
        level = astro::dasha::sub_periods(&p);
    }
    DashaView {
        birth: birth.into(),
        moon: (&moon_of(chart).sidereal).into(),
        mahadashas: chart
            .dasha
            .mahadashas
            .iter()
            .map(|p| period_view(p, depth))
            .collect(),
        current,
        at,
        warnings: birth.warnings.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(date: &str, time: Option<&str>, zone: &str) -> BirthInput {
        BirthInput {
            date: date.into(),
            time: time.map(Into::into),
            time_zone: zone.into(),
            latitude: 19.0,
            longitude: 72.8,
            place_name: None,
        }
    }

    #[test]
    fn local_time_resolves_through_the_zone_history() {
        let mut c = Check::new();
        let b = resolve_birth(
            &mut c,
            "",
            &input("1990-05-17", Some("14:30"), "Asia/Kolkata"),
        )
        .unwrap();
        assert_eq!(b.utc.to_rfc3339(), "1990-05-17T09:00:00+00:00");
        assert_eq!(format_offset(b.utc_offset_seconds), "+05:30");
        // Before standard time the zone's local mean time applies (+05:53:28 in Kolkata).
        let b = resolve_birth(
            &mut c,
            "",
            &input("1850-01-01", Some("12:00"), "Asia/Kolkata"),
        )
        .unwrap();
        assert_eq!(b.utc_offset_seconds, 5 * 3600 + 53 * 60 + 28);
        assert!(c.finish().is_ok());
    }

    #[test]
    fn daylight_saving_gap_is_refused_and_overlap_warned() {
        let mut c = Check::new();
        // 2021-03-14 02:30 never happened in New York.
        assert!(
            resolve_birth(
                &mut c,
                "",
                &input("2021-03-14", Some("02:30"), "America/New_York")
            )
            .is_none()
        );
        let err = c.finish().unwrap_err();
        assert!(format!("{:?}", err).contains("nonexistent_local_time"));
        let mut c = Check::new();
        let b = resolve_birth(
            &mut c,
            "",
            &input("2021-11-07", Some("01:30"), "America/New_York"),
        )
        .unwrap();
        assert_eq!(b.utc.to_rfc3339(), "2021-11-07T05:30:00+00:00");
        assert_eq!(b.warnings.len(), 1);
    }

    #[test]
    fn bad_fields_are_all_reported() {
        let mut c = Check::new();
        let mut i = input("1990-02-30", Some("25:00"), "Mars/Olympus");
        i.latitude = 91.0;
        assert!(resolve_birth(&mut c, "x.", &i).is_none());
        let text = format!("{:?}", c.finish().unwrap_err());
        for code in [
            "x.date",
            "x.time",
            "x.time_zone",
            "x.latitude",
            "invalid_date",
            "invalid_time",
            "unknown_time_zone",
        ] {
            assert!(text.contains(code), "{code} missing from {text}");
        }
    }

    #[test]
    fn julian_days_convert_to_utc() {
        assert_eq!(
            jd_to_utc(2_451_545.0).to_rfc3339(),
            "2000-01-01T12:00:00+00:00"
        );
        assert_eq!(dms(12.5), "12°30′00″");
        assert_eq!(format_offset(-(3 * 3600 + 30 * 60)), "-03:30");
    }
}
