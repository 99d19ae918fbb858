//! Sidereal attributes of a longitude: rasi (sign), degree in sign, nakshatra, pada,
//! nakshatra lord and navamsa (D9) sign; plus the graha and sign vocabularies.

use serde::{Deserialize, Serialize};

use crate::math::norm_deg;

/// Width of one nakshatra, degrees (360/27 = 13°20′).
pub const NAKSHATRA_SPAN: f64 = 360.0 / 27.0;
/// Width of one pada / navamsa, degrees (3°20′).
pub const PADA_SPAN: f64 = 360.0 / 108.0;

/// The nine grahas of Jyotish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Graha {
    Sun,
    Moon,
    Mars,
    Mercury,
    Jupiter,
    Venus,
    Saturn,
    Rahu,
    Ketu,
}

/// Vimshottari order of nakshatra lords, starting with Ashwini's lord.
pub const VIMSHOTTARI_ORDER: [Graha; 9] = [
    Graha::Ketu,
    Graha::Venus,
    Graha::Sun,
    Graha::Moon,
    Graha::Mars,
    Graha::Rahu,
    Graha::Jupiter,
    Graha::Saturn,
    Graha::Mercury,
];

/// The twelve signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rasi {
    Aries,
    Taurus,
    Gemini,
    Cancer,
    Leo,
    Virgo,
    Libra,
    Scorpio,
    Sagittarius,
    Capricorn,
    Aquarius,
    Pisces,
}

impl Rasi {
    pub const ALL: [Rasi; 12] = [
        Rasi::Aries,
        Rasi::Taurus,
        Rasi::Gemini,
        Rasi::Cancer,
        Rasi::Leo,
        Rasi::Virgo,
        Rasi::Libra,
        Rasi::Scorpio,
        Rasi::Sagittarius,
        Rasi::Capricorn,
        Rasi::Aquarius,
        Rasi::Pisces,
    ];

    /// Sign from a 0-based index (taken modulo 12).
    pub fn from_index(index: usize) -> Rasi {
        Rasi::ALL[index % 12]
    }

    /// 0-based index, Aries = 0.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Sign containing a sidereal longitude.
    pub fn of_longitude(longitude: f64) -> Rasi {
        Rasi::from_index((norm_deg(longitude) / 30.0) as usize)
    }

    /// Traditional ruler of the sign.
    pub fn lord(self) -> Graha {
        use Graha::*;
        [
            Mars, Venus, Mercury, Moon, Sun, Mercury, Venus, Mars, Jupiter, Saturn, Saturn, Jupiter,
        ][self.index()]
    }
}

/// Nakshatra names, Ashwini first.
pub const NAKSHATRA_NAMES: [&str; 27] = [
    "Ashwini",
    "Bharani",
    "Krittika",
    "Rohini",
    "Mrigashira",
    "Ardra",
    "Punarvasu",
    "Pushya",
    "Ashlesha",
    "Magha",
    "Purva Phalguni",
    "Uttara Phalguni",
    "Hasta",
    "Chitra",
    "Swati",
    "Vishakha",
    "Anuradha",
    "Jyeshtha",
    "Mula",
    "Purva Ashadha",
    "Uttara Ashadha",
    "Shravana",
    "Dhanishta",
    "Shatabhisha",
    "Purva Bhadrapada",
    "Uttara Bhadrapada",
    "Revati",
];

/// Everything Jyotish reads off one sidereal longitude.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiderealPlacement {
    /// Sidereal longitude, degrees 0..360.
    pub longitude: f64,
    pub sign: Rasi,
    /// Degrees within the sign, 0..30.
    pub degree_in_sign: f64,
    /// 0-based nakshatra index (0 = Ashwini).
    pub nakshatra_index: usize,
    pub nakshatra: &'static str,
    /// 1..=4.
    pub pada: u8,
    pub nakshatra_lord: Graha,
    /// Navamsa (D9) sign.
    pub navamsa: Rasi,
}

impl SiderealPlacement {
    /// Attributes of a sidereal longitude in degrees.
    pub fn from_longitude(longitude: f64) -> Self {
        let longitude = norm_deg(longitude);
        let sign = Rasi::of_longitude(longitude);
        let pada_index = ((longitude / PADA_SPAN) as usize).min(107);
        let nakshatra_index = pada_index / 4;
        Self {
            longitude,
            sign,
            degree_in_sign: longitude - 30.0 * sign.index() as f64,
            nakshatra_index,
            nakshatra: NAKSHATRA_NAMES[nakshatra_index],
            pada: (pada_index % 4) as u8 + 1,
            nakshatra_lord: VIMSHOTTARI_ORDER[nakshatra_index % 9],
            // Each navamsa is 3°20′; counting them from 0° Aries and wrapping every twelve
            // reproduces the classical movable/fixed/dual starting-sign rule.
            navamsa: Rasi::from_index(pada_index % 12),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nakshatra_boundaries() {
        let p = SiderealPlacement::from_longitude(0.0);
        assert_eq!(
            (p.nakshatra, p.pada, p.nakshatra_lord),
            ("Ashwini", 1, Graha::Ketu)
        );
        let p = SiderealPlacement::from_longitude(359.999);
        assert_eq!(
            (p.nakshatra, p.pada, p.nakshatra_lord),
            ("Revati", 4, Graha::Mercury)
        );
        let p = SiderealPlacement::from_longitude(13.0 + 1.0 / 3.0 + 1e-9);
        assert_eq!(p.nakshatra, "Bharani");
    }

    #[test]
    fn navamsa_follows_classical_rule() {
        // Taurus (fixed) starts from Capricorn, Gemini (dual) from Libra.
        assert_eq!(
            SiderealPlacement::from_longitude(30.1).navamsa,
            Rasi::Capricorn
        );
        assert_eq!(SiderealPlacement::from_longitude(60.1).navamsa, Rasi::Libra);
        assert_eq!(
            SiderealPlacement::from_longitude(90.1).navamsa,
            Rasi::Cancer
        );
        assert_eq!(
            SiderealPlacement::from_longitude(29.9).navamsa,
            Rasi::Sagittarius
        );
    }
}
