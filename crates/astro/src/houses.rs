//! Ascendant, midheaven and house cusps (whole sign, equal, Placidus) from local
//! apparent sidereal time, latitude and the true obliquity.

use serde::{Deserialize, Serialize};

use crate::error::{AstroError, Result};
use crate::math::norm_deg;

/// House systems offered to astrologers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HouseSystem {
    /// Each sign is one house, the rising sign is the first (Vedic default).
    #[default]
    WholeSign,
    /// 30° houses starting at the ascendant degree.
    Equal,
    /// Placidus semi-arc trisection (undefined inside the polar circles for some times).
    Placidus,
}

/// Angles and cusps, all tropical ecliptic longitudes in degrees.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Houses {
    pub ascendant: f64,
    pub midheaven: f64,
    /// Right ascension of the meridian (local apparent sidereal time), degrees.
    pub armc: f64,
    /// Cusps of houses 1..=12.
    pub cusps: [f64; 12],
}

/// Ecliptic longitude of the point with right ascension `ra` (both radians).
fn ecliptic_from_ra(ra: f64, eps: f64) -> f64 {
    ra.sin().atan2(ra.cos() * eps.cos())
}

/// Ascendant and MC (degrees) for ARMC, latitude and obliquity (all degrees).
pub fn angles(armc_deg: f64, latitude_deg: f64, obliquity_deg: f64) -> (f64, f64) {
    let armc = armc_deg.to_radians();
    let eps = obliquity_deg.to_radians();
    let phi = latitude_deg.to_radians();
    let mc = norm_deg(ecliptic_from_ra(armc, eps).to_degrees());
    let asc = armc
        .cos()
        .atan2(-(armc.sin() * eps.cos() + phi.tan() * eps.sin()));
    (norm_deg(asc.to_degrees()), mc)
}

/// Computes angles and cusps. `armc_deg` is local apparent sidereal time in degrees.
pub fn houses(
    system: HouseSystem,
    armc_deg: f64,
    latitude_deg: f64,
    obliquity_deg: f64,
) -> Result<Houses> {
    if !latitude_deg.is_finite() || latitude_deg.abs() > 90.0 {
        return Err(AstroError::LatitudeOutOfRange(latitude_deg));
    }
    // tan(±90°) is infinite: the ascendant is undefined at the poles themselves.
    if latitude_deg.abs() > 89.999_999 {
        return Err(AstroError::HousesUndefined {
            system: "any",
            latitude: latitude_deg,
        });
    }
    let (ascendant, midheaven) = angles(armc_deg, latitude_deg, obliquity_deg);
    let cusps = match system {
        HouseSystem::WholeSign => {
            let first = (ascendant / 30.0).floor() * 30.0;
            std::array::from_fn(|i| norm_deg(first + 30.0 * i as f64))
        }
        HouseSystem::Equal => std::array::from_fn(|i| norm_deg(ascendant + 30.0 * i as f64)),
        HouseSystem::Placidus => {
            placidus(armc_deg, latitude_deg, obliquity_deg, ascendant, midheaven)?
        }
    };
    Ok(Houses {
        ascendant,
        midheaven,
        armc: norm_deg(armc_deg),
        cusps,
    })
}

/// Placidus: cusp 11/12 lie a third/two thirds of their diurnal semi-arc east of the
/// meridian, cusps 3/2 a third/two thirds of their nocturnal semi-arc from the lower
/// meridian. Each is found by fixed-point iteration on the declination of the cusp.
fn placidus(
    armc_deg: f64,
    latitude_deg: f64,
    obliquity_deg: f64,
    asc: f64,
    mc: f64,
) -> Result<[f64; 12]> {
    let eps = obliquity_deg.to_radians();
    let tan_phi = latitude_deg.to_radians().tan();
    let armc = armc_deg.to_radians();
    let undefined = AstroError::HousesUndefined {
        system: "placidus",
        latitude: latitude_deg,
    };
    // (fraction of semi-arc, is diurnal)
    // Right ascension the cusp should have, given a trial right ascension `ra`.
    let image = |ra: f64, fraction: f64, diurnal: bool| -> Result<f64> {
        let lon = ecliptic_from_ra(ra, eps);
        let dec = (eps.sin() * lon.sin()).asin();
        let x = tan_phi * dec.tan();
        if x.abs() >= 1.0 {
            return Err(undefined.clone());
        }
        let ascensional_difference = x.asin();
        Ok(if diurnal {
            armc + fraction * (std::f64::consts::FRAC_PI_2 + ascensional_difference)
        } else {
            armc + std::f64::consts::PI
                - fraction * (std::f64::consts::FRAC_PI_2 - ascensional_difference)
        })
    };
    // Secant iteration on g(ra) = image(ra) − ra; plain fixed-point iteration converges
    // slowly at high latitudes.
    let solve = |fraction: f64, diurnal: bool| -> Result<f64> {
        let mut x0 = if diurnal {
            armc + fraction * std::f64::consts::FRAC_PI_2
        } else {
            armc + std::f64::consts::PI - fraction * std::f64::consts::FRAC_PI_2
        };
        let mut g0 = image(x0, fraction, diurnal)? - x0;
        let mut x1 = x0 + g0;
        for _ in 0..60 {
            let g1 = image(x1, fraction, diurnal)? - x1;
            if g1.abs() < 1e-13 || g1 == g0 {
                return Ok(norm_deg(ecliptic_from_ra(x1, eps).to_degrees()));
            }
            let x2 = x1 - g1 * (x1 - x0) / (g1 - g0);
            (x0, g0, x1) = (x1, g1, x2);
        }
        Err(undefined.clone())
    };
    let c11 = solve(1.0 / 3.0, true)?;
    let c12 = solve(2.0 / 3.0, true)?;
    let c2 = solve(2.0 / 3.0, false)?;
    let c3 = solve(1.0 / 3.0, false)?;
    let opposite = |x: f64| norm_deg(x + 180.0);
    Ok([
        asc,
        c2,
        c3,
        opposite(mc),
        opposite(c11),
        opposite(c12),
        opposite(asc),
        opposite(c2),
        opposite(c3),
        mc,
        c11,
        c12,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equator_at_aries_rising() {
        // ARMC 0 at the equator: MC = 0° Aries, ascendant = 90° (Cancer 0°).
        let h = houses(HouseSystem::Equal, 0.0, 0.0, 23.44).unwrap();
        assert!(h.midheaven.abs() < 1e-9 || (h.midheaven - 360.0).abs() < 1e-9);
        assert!((h.ascendant - 90.0).abs() < 1e-9);
    }

    #[test]
    fn placidus_fails_cleanly_in_the_arctic() {
        let err = houses(HouseSystem::Placidus, 100.0, 75.0, 23.44);
        assert!(matches!(err, Err(AstroError::HousesUndefined { .. })));
        assert!(houses(HouseSystem::WholeSign, 100.0, 75.0, 23.44).is_ok());
        assert!(houses(HouseSystem::Equal, 0.0, 91.0, 23.44).is_err());
    }

    #[test]
    fn whole_sign_cusps_start_at_sign_of_ascendant() {
        let h = houses(HouseSystem::WholeSign, 45.0, 28.6, 23.44).unwrap();
        assert_eq!(h.cusps[0], (h.ascendant / 30.0).floor() * 30.0);
    }
}
