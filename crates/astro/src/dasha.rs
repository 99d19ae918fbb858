//! Vimshottari dasha: mahadasha, antardasha and pratyantardasha periods from the Moon's
//! sidereal longitude at birth.
//!
//! Convention: a dasha year is 365.25 days (Julian year; the most common choice in
//! software). The balance of the first mahadasha is the unelapsed fraction of the Moon's
//! nakshatra times the lord's years.

use serde::Serialize;

use crate::vedic::{Graha, NAKSHATRA_SPAN, VIMSHOTTARI_ORDER};

/// Days in one dasha year.
pub const DASHA_YEAR_DAYS: f64 = 365.25;
const TOTAL_YEARS: f64 = 120.0;

/// Years of each lord's mahadasha.
pub fn dasha_years(lord: Graha) -> f64 {
    match lord {
        Graha::Ketu => 7.0,
        Graha::Venus => 20.0,
        Graha::Sun => 6.0,
        Graha::Moon => 10.0,
        Graha::Mars => 7.0,
        Graha::Rahu => 18.0,
        Graha::Jupiter => 16.0,
        Graha::Saturn => 19.0,
        Graha::Mercury => 17.0,
    }
}

/// One period; times are UT Julian days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashaPeriod {
    pub lord: Graha,
    pub start_jd: f64,
    pub end_jd: f64,
}

/// Full three-level timeline around a birth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vimshottari {
    /// The nine mahadashas starting with the one running at birth (its start precedes
    /// birth by the elapsed portion).
    pub mahadashas: Vec<DashaPeriod>,
    /// Antardashas of the mahadasha running at birth.
    pub antardashas: Vec<DashaPeriod>,
    /// Pratyantardashas of the antardasha running at birth.
    pub pratyantardashas: Vec<DashaPeriod>,
}

fn order_index(lord: Graha) -> usize {
    VIMSHOTTARI_ORDER
        .iter()
        .position(|g| *g == lord)
        .unwrap_or(0)
}

/// Splits a period of `lord` into its nine sub-periods in Vimshottari proportion.
pub fn sub_periods(period: &DashaPeriod) -> Vec<DashaPeriod> {
    let length = period.end_jd - period.start_jd;
    let first = order_index(period.lord);
    let mut start = period.start_jd;
    (0..9)
        .map(|k| {
            let lord = VIMSHOTTARI_ORDER[(first + k) % 9];
            let end = start + length * dasha_years(lord) / TOTAL_YEARS;
            let p = DashaPeriod {
                lord,
                start_jd: start,
                end_jd: end,
            };
            start = end;
            p
        })
        .collect()
}

/// Vimshottari timeline for a birth at `birth_jd` (UT) with Moon at sidereal `moon_lon`.
pub fn vimshottari(birth_jd: f64, moon_lon: f64) -> Vimshottari {
    let lon = crate::math::norm_deg(moon_lon);
    let nakshatra = ((lon / NAKSHATRA_SPAN) as usize).min(26);
    let elapsed = (lon - nakshatra as f64 * NAKSHATRA_SPAN) / NAKSHATRA_SPAN;
    let first = nakshatra % 9;
    let first_years = dasha_years(VIMSHOTTARI_ORDER[first]);
    let mut start = birth_jd - elapsed * first_years * DASHA_YEAR_DAYS;
    let mahadashas: Vec<DashaPeriod> = (0..9)
        .map(|k| {
            let lord = VIMSHOTTARI_ORDER[(first + k) % 9];
            let end = start + dasha_years(lord) * DASHA_YEAR_DAYS;
            let p = DashaPeriod {
                lord,
                start_jd: start,
                end_jd: end,
            };
            start = end;
            p
        })
        .collect();
    let antardashas = sub_periods(&mahadashas[0]);
    let running = antardashas
        .iter()
        .find(|p| p.start_jd <= birth_jd && birth_jd < p.end_jd)
        .unwrap_or(&antardashas[8]);
    let pratyantardashas = sub_periods(running);
    Vimshottari {
        mahadashas,
        antardashas,
        pratyantardashas,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moon_at_start_of_ashwini_gives_full_ketu() {
        let v = vimshottari(2_451_545.0, 0.0);
        assert_eq!(v.mahadashas[0].lord, Graha::Ketu);
        assert!((v.mahadashas[0].start_jd - 2_451_545.0).abs() < 1e-9);
        let total: f64 = v.mahadashas.iter().map(|p| p.end_jd - p.start_jd).sum();
        assert!((total - 120.0 * DASHA_YEAR_DAYS).abs() < 1e-6);
    }

    #[test]
    fn half_way_through_rohini_leaves_half_of_moon() {
        let v = vimshottari(0.0, 3.5 * NAKSHATRA_SPAN);
        assert_eq!(v.mahadashas[0].lord, Graha::Moon);
        assert!((v.mahadashas[0].end_jd - 5.0 * DASHA_YEAR_DAYS).abs() < 1e-6);
        assert_eq!(v.antardashas[0].lord, Graha::Moon);
        assert_eq!(v.antardashas[1].lord, Graha::Mars);
        assert!((v.antardashas.last().unwrap().end_jd - v.mahadashas[0].end_jd).abs() < 1e-6);
    }
}
