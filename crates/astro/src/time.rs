//! Time scales: civil UTC calendar ↔ Julian day, ΔT (TT − UT1), Earth rotation angle and
//! Greenwich mean sidereal time.
//!
//! UTC is treated as UT1 (|UT1 − UTC| < 0.9 s), which is the astrological convention and
//! what Swiss Ephemeris does with a UT input.

use crate::delta_t_table::{DELTA_T_FIRST_YEAR, DELTA_T_YEARLY};
use crate::error::{AstroError, Result};

/// Julian day of J2000.0 (2000-01-01 12:00 TT).
pub const J2000: f64 = 2_451_545.0;
/// Days per Julian century.
pub const DAYS_PER_CENTURY: f64 = 36_525.0;
/// First supported instant: 1800-01-01 00:00 UT.
pub const JD_UT_MIN: f64 = 2_378_496.5;
/// End (exclusive) of the supported range: 2101-01-01 00:00 UT.
pub const JD_UT_MAX: f64 = 2_488_434.5;

/// Checks that a UT Julian day lies in the supported 1800–2100 range.
pub fn check_range(jd_ut: f64) -> Result<()> {
    if !jd_ut.is_finite() {
        return Err(AstroError::NotFinite("julian day"));
    }
    if !(JD_UT_MIN..JD_UT_MAX).contains(&jd_ut) {
        return Err(AstroError::OutOfRange { jd_ut });
    }
    Ok(())
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in a Gregorian month.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm, exact in
/// integers so calendar round trips never drift).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

/// Julian day (UT) of a Gregorian calendar date and time of day.
///
/// `second` may be 60.x to allow a leap second. Every field is validated; impossible
/// dates give [`AstroError::InvalidDate`].
pub fn julian_day(
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: f64,
) -> Result<f64> {
    if !(1..=12).contains(&month) {
        return Err(AstroError::InvalidDate(format!("month {month}")));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(AstroError::InvalidDate(format!(
            "{year:04}-{month:02}-{day:02}"
        )));
    }
    if hour > 23 || minute > 59 || !second.is_finite() || !(0.0..61.0).contains(&second) {
        return Err(AstroError::InvalidDate(format!(
            "time {hour:02}:{minute:02}:{second}"
        )));
    }
    let days = days_from_civil(year, month, day) as f64;
    let day_fraction = (f64::from(hour) * 3600.0 + f64::from(minute) * 60.0 + second) / 86_400.0;
    Ok(days + 2_440_587.5 + day_fraction)
}

/// Gregorian calendar date of a Julian day plus the fraction of that day elapsed since 0h.
pub fn calendar_date(jd: f64) -> (i32, u32, u32, f64) {
    let shifted = jd - 2_440_587.5;
    let days = shifted.floor();
    let (y, m, d) = civil_from_days(days as i64);
    (y, m, d, shifted - days)
}

/// Day of the week of the civil date containing `jd` (0 = Sunday … 6 = Saturday).
pub fn weekday(jd: f64) -> u32 {
    // JD 2440587.5 (1970-01-01) was a Thursday.
    ((jd - 2_440_587.5).floor() as i64 + 4).rem_euclid(7) as u32
}

/// Long-term parabola of Morrison & Stephenson (2004), ΔT ≈ 32 s·((y − 1820)/100)²
/// (+ constant); only its shape is used, for extrapolation.
fn parabola(year: f64) -> f64 {
    let u = (year - 1820.0) / 100.0;
    32.0 * u * u
}

fn parabola_slope(year: f64) -> f64 {
    0.0064 * (year - 1820.0)
}

/// ΔT = TT − UT1 in seconds for a UT Julian day.
///
/// Inside the table (1800 … last IERS year) a 4-point cubic through the yearly values is
/// used. Beyond the last entry the series continues with zero initial slope (the Earth's
/// rotation rate is currently close to the atomic second) and bends with the long-term
/// tidal-braking curvature of Morrison & Stephenson (2004): ΔT(y) = ΔT_last +
/// P(y) − P(y_last) − P′(y_last)(y − y_last), P(y) = 32 s·((y−1820)/100)². This gives
/// ≈ 87 s in 2100 (Swiss Ephemeris: ≈ 93 s; any prediction is uncertain by tens of
/// seconds). Before 1800 the mirror-image rule is used (only for search margins).
pub fn delta_t_seconds(jd_ut: f64) -> f64 {
    let year = 2000.0 + (jd_ut - J2000) / 365.25;
    let first = f64::from(DELTA_T_FIRST_YEAR);
    let n = DELTA_T_YEARLY.len();
    let last = first + (n - 1) as f64;
    if year >= last {
        let dy = year - last;
        return DELTA_T_YEARLY[n - 1] + parabola(year) - parabola(last) - parabola_slope(last) * dy;
    }
    if year < first {
        let dy = year - first;
        return DELTA_T_YEARLY[0] + parabola(year) - parabola(first) - parabola_slope(first) * dy;
    }
    let x = year - first;
    let i = (x.floor() as usize).clamp(1, n - 3);
    let u = x - i as f64; // position relative to point i, points at -1, 0, 1, 2
    let (p0, p1, p2, p3) = (
        DELTA_T_YEARLY[i - 1],
        DELTA_T_YEARLY[i],
        DELTA_T_YEARLY[i + 1],
        DELTA_T_YEARLY[i + 2],
    );
    // Lagrange cubic through (-1,p0) (0,p1) (1,p2) (2,p3).
    -p0 * u * (u - 1.0) * (u - 2.0) / 6.0 + p1 * (u + 1.0) * (u - 1.0) * (u - 2.0) / 2.0
        - p2 * (u + 1.0) * u * (u - 2.0) / 2.0
        + p3 * (u + 1.0) * u * (u - 1.0) / 6.0
}

/// Terrestrial Time Julian day for a UT Julian day.
pub fn tt_from_ut(jd_ut: f64) -> f64 {
    jd_ut + delta_t_seconds(jd_ut) / 86_400.0
}

/// Julian centuries of TT since J2000.0.
pub fn centuries_tt(jd_tt: f64) -> f64 {
    (jd_tt - J2000) / DAYS_PER_CENTURY
}

/// Earth rotation angle (IAU 2000) in radians, 0..2π.
pub fn earth_rotation_angle(jd_ut: f64) -> f64 {
    // Split the day count so the large integer part does not eat precision.
    let du = jd_ut - J2000;
    let fraction = du.rem_euclid(1.0);
    let turns = fraction + 0.779_057_273_264_0 + 0.002_737_811_911_354_48 * du;
    turns.rem_euclid(1.0) * std::f64::consts::TAU
}

/// Greenwich mean sidereal time (IAU 2006, consistent with the ERA), radians 0..2π.
pub fn gmst(jd_ut: f64, jd_tt: f64) -> f64 {
    let t = centuries_tt(jd_tt);
    let arcsec = 0.014_506
        + t * (4_612.156_534
            + t * (1.391_581_7
                + t * (-0.000_000_44 + t * (-0.000_029_956 + t * -0.000_000_036_8))));
    (earth_rotation_angle(jd_ut) + arcsec * crate::math::ARCSEC).rem_euclid(std::f64::consts::TAU)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn julian_day_known_values() {
        assert_eq!(julian_day(2000, 1, 1, 12, 0, 0.0).unwrap(), 2_451_545.0);
        assert_eq!(julian_day(1800, 1, 1, 0, 0, 0.0).unwrap(), JD_UT_MIN);
        assert_eq!(julian_day(2101, 1, 1, 0, 0, 0.0).unwrap(), JD_UT_MAX);
        assert!((julian_day(1957, 10, 4, 19, 26, 24.0).unwrap() - 2_436_116.31).abs() < 1e-8);
    }

    #[test]
    fn impossible_dates_are_rejected() {
        assert!(julian_day(2023, 2, 29, 0, 0, 0.0).is_err());
        assert!(julian_day(1900, 2, 29, 0, 0, 0.0).is_err());
        assert!(julian_day(2000, 2, 29, 0, 0, 0.0).is_ok());
        assert!(julian_day(2000, 13, 1, 0, 0, 0.0).is_err());
        assert!(julian_day(2000, 1, 1, 24, 0, 0.0).is_err());
        assert!(julian_day(2000, 1, 1, 0, 0, f64::NAN).is_err());
    }

    #[test]
    fn calendar_round_trip_and_weekday() {
        let jd = julian_day(1987, 6, 19, 12, 0, 0.0).unwrap();
        let (y, m, d, f) = calendar_date(jd);
        assert_eq!((y, m, d), (1987, 6, 19));
        assert!((f - 0.5).abs() < 1e-12);
        assert_eq!(weekday(jd), 5); // a Friday
        assert_eq!(weekday(J2000), 6); // a Saturday
    }

    #[test]
    fn delta_t_published_values() {
        // IERS/almanac values on 1 January.
        let at = |y: i32| delta_t_seconds(julian_day(y, 1, 1, 0, 0, 0.0).unwrap());
        assert!((at(2000) - 63.83).abs() < 0.05);
        assert!((at(1900) - (-1.98)).abs() < 0.1);
        assert!((at(1973) - 43.37).abs() < 0.05);
        let late = at(2100);
        assert!(late > 70.0 && late < 120.0, "{late}");
    }

    #[test]
    fn gmst_at_j2000() {
        // GMST at 2000-01-01 12h UT1 is 18h41m50.548s (Astronomical Almanac).
        let hours = gmst(J2000, J2000 + 64.0 / 86400.0).to_degrees() / 15.0;
        assert!(
            (hours - (18.0 + 41.0 / 60.0 + 50.548 / 3600.0)).abs() < 1e-6,
            "{hours}"
        );
    }
}
