//! Panchang for a civil date and place: sunrise, sunset, vara, tithi, nakshatra, yoga and
//! karana at sunrise, each with the UT Julian day on which it ends.
//!
//! Conventions: sunrise/sunset is when the Sun's centre is at a geometric (airless)
//! geocentric altitude of −50′ (34′ mean horizontal refraction + 16′ mean semi-diameter;
//! Meeus ch. 15 / USNO). The day's elements are those in force at sunrise; vara is the
//! weekday of the civil date and lasts until the next sunrise. Nakshatra and yoga use the
//! chosen ayanamsa; tithi and karana depend only on Moon − Sun.

use serde::Serialize;

use crate::ayanamsa::Ayanamsa;
use crate::error::{AstroError, Result};
use crate::math::{diff_deg, norm_deg};
use crate::positions::{Body, Snapshot};
use crate::time::{check_range, julian_day, tt_from_ut, weekday};
use crate::vedic::{NAKSHATRA_NAMES, NAKSHATRA_SPAN};

/// Sidereal rate of the Earth's rotation, degrees per UT day.
const EARTH_ROTATION_DEG_PER_DAY: f64 = 360.985_647_366_29;
/// Altitude of the Sun's centre at rise/set, degrees.
const SUNRISE_ALTITUDE: f64 = -50.0 / 60.0;

/// Input of [`panchang`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PanchangRequest {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    /// Degrees north.
    pub latitude: f64,
    /// Degrees east.
    pub longitude: f64,
    /// Civil time zone offset from UTC in hours (e.g. 5.5 for IST).
    pub utc_offset_hours: f64,
    pub ayanamsa: Ayanamsa,
}

/// One limb of the panchang.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Element {
    /// 0-based index within its cycle (tithi 0..30, nakshatra/yoga 0..27, karana 0..60,
    /// vara 0 = Sunday).
    pub index: usize,
    pub name: &'static str,
    /// UT Julian day when it ends.
    pub end_jd: f64,
}

/// Panchang of one civil day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Panchang {
    pub sunrise_jd: f64,
    pub sunset_jd: f64,
    pub next_sunrise_jd: f64,
    pub vara: Element,
    pub tithi: Element,
    pub nakshatra: Element,
    pub yoga: Element,
    pub karana: Element,
}

const VARA_NAMES: [&str; 7] = [
    "Ravivara",
    "Somavara",
    "Mangalavara",
    "Budhavara",
    "Guruvara",
    "Shukravara",
    "Shanivara",
];
const TITHI_NAMES: [&str; 15] = [
    "Pratipada",
    "Dwitiya",
    "Tritiya",
    "Chaturthi",
    "Panchami",
    "Shashthi",
    "Saptami",
    "Ashtami",
    "Navami",
    "Dashami",
    "Ekadashi",
    "Dwadashi",
    "Trayodashi",
    "Chaturdashi",
    "Purnima",
];
const YOGA_NAMES: [&str; 27] = [
    "Vishkambha",
    "Priti",
    "Ayushman",
    "Saubhagya",
    "Shobhana",
    "Atiganda",
    "Sukarma",
    "Dhriti",
    "Shula",
    "Ganda",
    "Vriddhi",
    "Dhruva",
    "Vyaghata",
    "Harshana",
    "Vajra",
    "Siddhi",
    "Vyatipata",
    "Variyana",
    "Parigha",
    "Shiva",
    "Siddha",
    "Sadhya",
    "Shubha",
    "Shukla",
    "Brahma",
    "Indra",
    "Vaidhriti",
];
const MOVABLE_KARANAS: [&str; 7] = [
    "Bava", "Balava", "Kaulava", "Taitila", "Garaja", "Vanija", "Vishti",
];

fn tithi_name(index: usize) -> &'static str {
    match index {
        14 => "Purnima",
        29 => "Amavasya",
        i => TITHI_NAMES[i % 15],
    }
}

fn karana_name(index: usize) -> &'static str {
    match index {
        0 => "Kimstughna",
        57 => "Shakuni",
        58 => "Chatushpada",
        59 => "Naga",
        i => MOVABLE_KARANAS[(i - 1) % 7],
    }
}

/// Apparent Sun, Moon and true ayanamsa at a UT instant.
struct Luminaries {
    sun: f64,
    moon: f64,
    sun_speed: f64,
    moon_speed: f64,
    ayanamsa: f64,
}

fn luminaries(jd_ut: f64, ayanamsa: Ayanamsa) -> Luminaries {
    let jd_tt = tt_from_ut(jd_ut);
    let snap = Snapshot::new(jd_tt);
    let sun = snap.position(Body::Sun);
    let moon = snap.position(Body::Moon);
    Luminaries {
        sun: sun.longitude,
        moon: moon.longitude,
        sun_speed: sun.speed,
        moon_speed: moon.speed,
        ayanamsa: ayanamsa.true_degrees(jd_tt, snap.orientation.dpsi),
    }
}

/// Hour angle and declination machinery for the Sun at `jd_ut`: returns (hour angle of
/// the Sun in degrees, declination in radians).
fn sun_hour_angle(jd_ut: f64, longitude: f64) -> (f64, f64) {
    let jd_tt = tt_from_ut(jd_ut);
    let snap = Snapshot::new(jd_tt);
    let sun = snap.position(Body::Sun);
    let eps = snap.orientation.true_obliquity;
    let (lam, beta) = (sun.longitude.to_radians(), sun.latitude.to_radians());
    let ra = (lam.sin() * eps.cos() - beta.tan() * eps.sin()).atan2(lam.cos());
    let dec = (beta.sin() * eps.cos() + beta.cos() * eps.sin() * lam.sin()).asin();
    let last = snap.orientation.gast(jd_ut, jd_tt).to_degrees() + longitude;
    (norm_deg(last - ra.to_degrees()), dec)
}

/// First sunrise (`rising`) or sunset after `after_jd`.
fn sun_event(after_jd: f64, latitude: f64, longitude: f64, rising: bool) -> Result<f64> {
    let phi = latitude.to_radians();
    let mut guess = after_jd + 0.5;
    for _attempt in 0..3 {
        let mut t = guess;
        for _ in 0..12 {
            let (h, dec) = sun_hour_angle(t, longitude);
            let cos_h0 = (SUNRISE_ALTITUDE.to_radians().sin() - phi.sin() * dec.sin())
                / (phi.cos() * dec.cos());
            if !cos_h0.is_finite() || cos_h0.abs() > 1.0 {
                return Err(AstroError::NoSunriseOrSunset);
            }
            let h0 = cos_h0.acos().to_degrees();
            let target = if rising { -h0 } else { h0 };
            let dt = diff_deg(target, h) / EARTH_ROTATION_DEG_PER_DAY;
            t += dt;
            if dt.abs() < 1e-8 {
                break;
            }
        }
        if t >= after_jd {
            return Ok(t);
        }
        guess = t + 1.0;
    }
    Err(AstroError::NoSunriseOrSunset)
}

/// Time after `start` when `value` (degrees, increasing at about `rate` deg/day) next
/// reaches a multiple of `step`; returns (index of the current step, end time).
fn step_end(
    start: f64,
    step: f64,
    value: impl Fn(&Luminaries) -> (f64, f64),
    ayanamsa: Ayanamsa,
) -> (usize, f64) {
    let l0 = luminaries(start, ayanamsa);
    let (v0, rate0) = value(&l0);
    let index = (norm_deg(v0) / step) as usize;
    let target = (index as f64 + 1.0) * step;
    let mut t = start + norm_deg(target - v0) / rate0.max(1e-3);
    for _ in 0..30 {
        let l = luminaries(t, ayanamsa);
        let (v, rate) = value(&l);
        let gap = diff_deg(target, v);
        t += gap / rate.max(1e-3);
        if gap.abs() < 1e-9 {
            break;
        }
    }
    (index, t)
}

/// Computes the panchang of a civil date at a place.
pub fn panchang(request: &PanchangRequest) -> Result<Panchang> {
    let PanchangRequest {
        year,
        month,
        day,
        latitude,
        longitude,
        utc_offset_hours,
        ayanamsa,
    } = *request;
    if !latitude.is_finite() || latitude.abs() > 90.0 {
        return Err(AstroError::LatitudeOutOfRange(latitude));
    }
    if !longitude.is_finite() || longitude.abs() > 180.0 {
        return Err(AstroError::LongitudeOutOfRange(longitude));
    }
    if !utc_offset_hours.is_finite() || utc_offset_hours.abs() > 14.0 {
        return Err(AstroError::InvalidDate(format!(
            "UTC offset {utc_offset_hours}"
        )));
    }
    let local_midnight = julian_day(year, month, day, 0, 0, 0.0)? - utc_offset_hours / 24.0;
    check_range(local_midnight)?;
    check_range(local_midnight + 3.0)?;
    let sunrise = sun_event(local_midnight, latitude, longitude, true)?;
    let sunset = sun_event(sunrise, latitude, longitude, false)?;
    let next_sunrise = sun_event(sunrise + 0.01, latitude, longitude, true)?;
    let vara_index = weekday(local_midnight + utc_offset_hours / 24.0) as usize;

    let elongation = |l: &Luminaries| (norm_deg(l.moon - l.sun), l.moon_speed - l.sun_speed);
    let (tithi, tithi_end) = step_end(sunrise, 12.0, elongation, ayanamsa);
    let (karana, karana_end) = step_end(sunrise, 6.0, elongation, ayanamsa);
    let moon_sidereal = |l: &Luminaries| (norm_deg(l.moon - l.ayanamsa), l.moon_speed);
    let (nakshatra, nakshatra_end) = step_end(sunrise, NAKSHATRA_SPAN, moon_sidereal, ayanamsa);
    let yoga_sum = |l: &Luminaries| {
        (
            norm_deg(l.moon + l.sun - 2.0 * l.ayanamsa),
            l.moon_speed + l.sun_speed,
        )
    };
    let (yoga, yoga_end) = step_end(sunrise, NAKSHATRA_SPAN, yoga_sum, ayanamsa);

    Ok(Panchang {
        sunrise_jd: sunrise,
        sunset_jd: sunset,
        next_sunrise_jd: next_sunrise,
        vara: Element {
            index: vara_index,
            name: VARA_NAMES[vara_index],
            end_jd: next_sunrise,
        },
        tithi: Element {
            index: tithi,
            name: tithi_name(tithi),
            end_jd: tithi_end,
        },
        nakshatra: Element {
            index: nakshatra,
            name: NAKSHATRA_NAMES[nakshatra],
            end_jd: nakshatra_end,
        },
        yoga: Element {
            index: yoga,
            name: YOGA_NAMES[yoga],
            end_jd: yoga_end,
        },
        karana: Element {
            index: karana,
            name: karana_name(karana),
            end_jd: karana_end,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn karana_cycle_names() {
        assert_eq!(karana_name(0), "Kimstughna");
        assert_eq!(karana_name(1), "Bava");
        assert_eq!(karana_name(7), "Vishti");
        assert_eq!(karana_name(8), "Bava");
        assert_eq!(karana_name(56), "Vishti");
        assert_eq!(karana_name(59), "Naga");
        assert_eq!(tithi_name(29), "Amavasya");
    }

    #[test]
    fn polar_night_is_an_error() {
        let req = PanchangRequest {
            year: 2020,
            month: 12,
            day: 21,
            latitude: 80.0,
            longitude: 15.0,
            utc_offset_hours: 1.0,
            ayanamsa: Ayanamsa::Lahiri,
        };
        assert_eq!(panchang(&req), Err(AstroError::NoSunriseOrSunset));
    }

    #[test]
    fn delhi_day_is_sane() {
        let req = PanchangRequest {
            year: 2024,
            month: 1,
            day: 15,
            latitude: 28.6139,
            longitude: 77.209,
            utc_offset_hours: 5.5,
            ayanamsa: Ayanamsa::Lahiri,
        };
        let p = panchang(&req).unwrap();
        assert!(p.sunrise_jd < p.sunset_jd && p.sunset_jd < p.next_sunrise_jd);
        assert_eq!(p.vara.name, "Somavara"); // 2024-01-15 was a Monday
        assert!(p.tithi.end_jd > p.sunrise_jd);
    }
}
