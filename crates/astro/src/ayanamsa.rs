//! Ayanamsa (sidereal zodiac offset): Lahiri (default), Raman and Krishnamurti.
//!
//! Each system is defined by its value at a reference epoch t₀. The value at t is t₀'s
//! value plus the precession of the equinox between t₀ and t, measured as the longitude
//! of the mean equinox of t on the mean ecliptic of t₀ (IAU 2006 precession). The "true"
//! ayanamsa adds the nutation in longitude so that sidereal longitudes = apparent
//! tropical longitudes − true ayanamsa carry no nutation.

use serde::{Deserialize, Serialize};

use crate::frames::ecliptic_matrix;
use crate::math::{mat_mul, spherical};
use crate::time::centuries_tt;

/// Supported sidereal zodiacs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ayanamsa {
    /// Chitrapaksha / Lahiri, as adopted by the Indian Calendar Reform Committee.
    #[default]
    Lahiri,
    /// B. V. Raman.
    Raman,
    /// K. S. Krishnamurti (KP).
    Krishnamurti,
}

impl Ayanamsa {
    /// (reference epoch as TT Julian day, ayanamsa at that epoch in degrees).
    ///
    /// Lahiri: 23°15′00.658″ on 1956-03-21 0h (Indian Astronomical Ephemeris) reduced by
    /// 16.769″ to the IAU 2006 precession/nutation-free convention used by Swiss
    /// Ephemeris, i.e. 23.245524743°. Raman and Krishnamurti: values at 1900-01-00.5.
    ///
    /// The last element is a convention offset (arcseconds): Swiss Ephemeris, the de
    /// facto reference implementation of these systems, reduces the published epoch
    /// values through its own precession conventions, which leaves a constant shift of
    /// +0.1304″ (Lahiri) and −0.8277″ (Raman, Krishnamurti) relative to applying IAU 2006
    /// precession to the published values. The shifts were measured against the test
    /// fixtures (constant to ±0.001″ over 1800–2100) and are applied so charts agree with
    /// the values astrologers see in other software.
    fn definition(self) -> (f64, f64, f64) {
        match self {
            Ayanamsa::Lahiri => (2_435_553.5, 23.250_182_778 - 0.004_658_035, 0.1304),
            Ayanamsa::Raman => (2_415_020.0, 360.0 - 338.985_56, -0.8277),
            Ayanamsa::Krishnamurti => (2_415_020.0, 360.0 - 337.636_111, -0.8277),
        }
    }

    /// Mean ayanamsa (degrees) at TT Julian day `jd_tt`.
    pub fn mean_degrees(self, jd_tt: f64) -> f64 {
        let (t0, value0, offset_arcsec) = self.definition();
        // Mean equinox of date (x axis of its mean ecliptic frame) expressed in the mean
        // ecliptic frame of t₀: row 0 of M(t₀)·M(t)ᵀ.
        let at_t0 = ecliptic_matrix(centuries_tt(t0), 0.0);
        let at_t = ecliptic_matrix(centuries_tt(jd_tt), 0.0);
        let m = mat_mul(&at_t0, &transpose(&at_t));
        let (lon, _) = spherical([m[0][0], m[1][0], m[2][0]]);
        let mut shift = lon.to_degrees();
        if shift > 180.0 {
            shift -= 360.0;
        }
        value0 - shift + offset_arcsec / 3600.0
    }

    /// True ayanamsa (mean + nutation in longitude), degrees.
    pub fn true_degrees(self, jd_tt: f64, dpsi_rad: f64) -> f64 {
        self.mean_degrees(jd_tt) + dpsi_rad.to_degrees()
    }
}

fn transpose(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    [
        [m[0][0], m[1][0], m[2][0]],
        [m[0][1], m[1][1], m[2][1]],
        [m[0][2], m[1][2], m[2][2]],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lahiri_at_epoch_and_rate() {
        let a0 = Ayanamsa::Lahiri.mean_degrees(2_435_553.5);
        assert!((a0 - 23.245_524_743 - 0.1304 / 3600.0).abs() < 1e-9);
        let a1 = Ayanamsa::Lahiri.mean_degrees(2_435_553.5 + 36_525.0);
        // ≈ 50.29″ per year.
        assert!(
            ((a1 - a0) * 36.0 - 50.29).abs() < 0.05,
            "{}",
            (a1 - a0) * 36.0
        );
    }
}
