//! The one-call birth chart: validated input → every graha (tropical and sidereal),
//! ascendant, 12 cusps, nakshatras, navamsa and the Vimshottari timeline, as one
//! serde-serialisable value.

use serde::{Deserialize, Serialize};

use crate::ayanamsa::Ayanamsa;
use crate::dasha::{Vimshottari, vimshottari};
use crate::error::{AstroError, Result};
use crate::houses::{HouseSystem, Houses, houses};
use crate::math::norm_deg;
use crate::positions::{Body, Snapshot};
use crate::time::{check_range, delta_t_seconds, julian_day};
use crate::vedic::SiderealPlacement;

/// When the chart is cast (always UT/UTC).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Instant {
    /// Julian day in UT.
    JulianDay(f64),
    /// Gregorian calendar date and time in UTC.
    Utc {
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: f64,
    },
}

impl Instant {
    /// UT Julian day, validating the calendar fields.
    pub fn julian_day(self) -> Result<f64> {
        match self {
            Instant::JulianDay(jd) => Ok(jd),
            Instant::Utc {
                year,
                month,
                day,
                hour,
                minute,
                second,
            } => julian_day(year, month, day, hour, minute, second),
        }
    }
}

/// Which lunar node stands for Rahu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    #[default]
    Mean,
    True,
}

/// Input of [`full_chart`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChartRequest {
    pub instant: Instant,
    /// Geographic latitude, degrees north positive.
    pub latitude: f64,
    /// Geographic longitude, degrees east positive.
    pub longitude: f64,
    #[serde(default)]
    pub ayanamsa: Ayanamsa,
    #[serde(default)]
    pub house_system: HouseSystem,
    #[serde(default)]
    pub node: NodeKind,
}

/// Chart points in output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Point {
    Sun,
    Moon,
    Mars,
    Mercury,
    Jupiter,
    Venus,
    Saturn,
    Rahu,
    Ketu,
    Uranus,
    Neptune,
    Pluto,
}

/// One graha in the chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrahaPosition {
    pub point: Point,
    /// Apparent tropical ecliptic longitude of date, degrees.
    pub tropical_longitude: f64,
    /// Ecliptic latitude, degrees.
    pub latitude: f64,
    /// Longitude speed, degrees/day.
    pub speed: f64,
    pub retrograde: bool,
    /// Sidereal sign, nakshatra, pada, D9 …
    pub sidereal: SiderealPlacement,
    /// House (1..=12) in the requested system.
    pub house: u8,
}

/// Output of [`full_chart`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    pub jd_ut: f64,
    pub jd_tt: f64,
    pub delta_t_seconds: f64,
    pub ayanamsa: Ayanamsa,
    /// True ayanamsa (with nutation) subtracted from tropical longitudes, degrees.
    pub ayanamsa_degrees: f64,
    pub house_system: HouseSystem,
    pub grahas: Vec<GrahaPosition>,
    pub ascendant: SiderealPlacement,
    /// Sidereal midheaven, degrees.
    pub midheaven: f64,
    /// Sidereal cusps of houses 1..=12, degrees.
    pub cusps: [f64; 12],
    pub dasha: Vimshottari,
}

fn validate_place(latitude: f64, longitude: f64) -> Result<()> {
    if !latitude.is_finite() || latitude.abs() > 90.0 {
        return Err(AstroError::LatitudeOutOfRange(latitude));
    }
    if !longitude.is_finite() || longitude.abs() > 180.0 {
        return Err(AstroError::LongitudeOutOfRange(longitude));
    }
    Ok(())
}

/// Tropical houses for a UT instant and place (ARMC from apparent sidereal time).
pub fn tropical_houses(
    snapshot: &Snapshot,
    jd_ut: f64,
    latitude: f64,
    longitude: f64,
    system: HouseSystem,
) -> Result<Houses> {
    let o = &snapshot.orientation;
    let armc = o.gast(jd_ut, snapshot.jd_tt).to_degrees() + longitude;
    houses(system, armc, latitude, o.true_obliquity.to_degrees())
}

/// House number (1..=12) of a longitude given the 12 cusps (same zodiac).
fn house_of(longitude: f64, cusps: &[f64; 12]) -> u8 {
    for i in 0..12 {
        let start = cusps[i];
        let width = norm_deg(cusps[(i + 1) % 12] - start);
        if norm_deg(longitude - start) < width {
            return i as u8 + 1;
        }
    }
    1
}

/// Casts a complete sidereal chart.
pub fn full_chart(request: &ChartRequest) -> Result<Chart> {
    validate_place(request.latitude, request.longitude)?;
    let jd_ut = request.instant.julian_day()?;
    check_range(jd_ut)?;
    let delta_t = delta_t_seconds(jd_ut);
    let jd_tt = jd_ut + delta_t / 86_400.0;
    let snapshot = Snapshot::new(jd_tt);
    let ayanamsa_degrees = request
        .ayanamsa
        .true_degrees(jd_tt, snapshot.orientation.dpsi);
    let tropical = tropical_houses(
        &snapshot,
        jd_ut,
        request.latitude,
        request.longitude,
        request.house_system,
    )?;
    let sidereal = |lon: f64| norm_deg(lon - ayanamsa_degrees);
    let cusps = tropical.cusps.map(sidereal);
    let cusps = if request.house_system == HouseSystem::WholeSign {
        // Whole-sign houses are whole *sidereal* signs.
        let first = (sidereal(tropical.ascendant) / 30.0).floor() * 30.0;
        std::array::from_fn(|i| norm_deg(first + 30.0 * i as f64))
    } else {
        cusps
    };
    let node_body = match request.node {
        NodeKind::Mean => Body::MeanNode,
        NodeKind::True => Body::TrueNode,
    };
    let points = [
        (Point::Sun, Body::Sun),
        (Point::Moon, Body::Moon),
        (Point::Mars, Body::Mars),
        (Point::Mercury, Body::Mercury),
        (Point::Jupiter, Body::Jupiter),
        (Point::Venus, Body::Venus),
        (Point::Saturn, Body::Saturn),
        (Point::Rahu, node_body),
        (Point::Uranus, Body::Uranus),
        (Point::Neptune, Body::Neptune),
        (Point::Pluto, Body::Pluto),
    ];
    let mut grahas = Vec::with_capacity(12);
    let mut moon_sidereal = 0.0;
    for (point, body) in points {
        let p = snapshot.position(body);
        let placement = SiderealPlacement::from_longitude(sidereal(p.longitude));
        if point == Point::Moon {
            moon_sidereal = placement.longitude;
        }
        let house = house_of(placement.longitude, &cusps);
        grahas.push(GrahaPosition {
            point,
            tropical_longitude: p.longitude,
            latitude: p.latitude,
            speed: p.speed,
            retrograde: p.is_retrograde(),
            sidereal: placement,
            house,
        });
        if point == Point::Rahu {
            let ketu_tropical = norm_deg(p.longitude + 180.0);
            let placement = SiderealPlacement::from_longitude(sidereal(ketu_tropical));
            let house = house_of(placement.longitude, &cusps);
            grahas.push(GrahaPosition {
                point: Point::Ketu,
                tropical_longitude: ketu_tropical,
                latitude: 0.0,
                speed: p.speed,
                retrograde: p.is_retrograde(),
                sidereal: placement,
                house,
            });
        }
    }
    Ok(Chart {
        jd_ut,
        jd_tt,
        delta_t_seconds: delta_t,
        ayanamsa: request.ayanamsa,
        ayanamsa_degrees,
        house_system: request.house_system,
        grahas,
        ascendant: SiderealPlacement::from_longitude(sidereal(tropical.ascendant)),
        midheaven: sidereal(tropical.midheaven),
        cusps,
        dasha: vimshottari(jd_ut, moon_sidereal),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(instant: Instant, latitude: f64, longitude: f64) -> ChartRequest {
        ChartRequest {
            instant,
            latitude,
            longitude,
            ayanamsa: Ayanamsa::Lahiri,
            house_system: HouseSystem::Placidus,
            node: NodeKind::Mean,
        }
    }

    #[test]
    fn invalid_inputs_are_typed_errors() {
        let ok = Instant::Utc {
            year: 1990,
            month: 5,
            day: 17,
            hour: 4,
            minute: 30,
            second: 0.0,
        };
        assert!(matches!(
            full_chart(&request(ok, 95.0, 0.0)),
            Err(AstroError::LatitudeOutOfRange(_))
        ));
        assert!(matches!(
            full_chart(&request(ok, 0.0, 181.0)),
            Err(AstroError::LongitudeOutOfRange(_))
        ));
        assert!(matches!(
            full_chart(&request(ok, f64::NAN, 0.0)),
            Err(AstroError::LatitudeOutOfRange(_))
        ));
        let feb30 = Instant::Utc {
            year: 1990,
            month: 2,
            day: 30,
            hour: 0,
            minute: 0,
            second: 0.0,
        };
        assert!(matches!(
            full_chart(&request(feb30, 0.0, 0.0)),
            Err(AstroError::InvalidDate(_))
        ));
        let old = Instant::Utc {
            year: 1799,
            month: 12,
            day: 31,
            hour: 23,
            minute: 0,
            second: 0.0,
        };
        assert!(matches!(
            full_chart(&request(old, 0.0, 0.0)),
            Err(AstroError::OutOfRange { .. })
        ));
        assert!(matches!(
            full_chart(&request(Instant::JulianDay(f64::INFINITY), 0.0, 0.0)),
            Err(AstroError::NotFinite(_))
        ));
        assert!(matches!(
            full_chart(&request(ok, 80.0, 0.0)),
            Err(AstroError::HousesUndefined { .. })
        ));
    }

    #[test]
    fn chart_is_complete_and_finite() {
        let instant = Instant::Utc {
            year: 1990,
            month: 5,
            day: 17,
            hour: 4,
            minute: 30,
            second: 0.0,
        };
        let chart = full_chart(&request(instant, 28.6139, 77.209)).unwrap();
        assert_eq!(chart.grahas.len(), 12);
        assert!(
            chart
                .grahas
                .iter()
                .all(|g| g.tropical_longitude.is_finite() && (1..=12).contains(&g.house))
        );
        let rahu = &chart.grahas[7];
        let ketu = &chart.grahas[8];
        assert_eq!((rahu.point, ketu.point), (Point::Rahu, Point::Ketu));
        assert!((norm_deg(ketu.sidereal.longitude - rahu.sidereal.longitude) - 180.0).abs() < 1e-9);
        assert!(chart.cusps.iter().all(|c| c.is_finite()));
    }
}
