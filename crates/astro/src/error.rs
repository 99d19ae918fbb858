//! Typed errors for every fallible entry point of the crate.

use std::fmt;

/// Everything that can go wrong when asking for a chart, a panchang or a position.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum AstroError {
    /// Latitude outside −90..=90 degrees (or not finite).
    LatitudeOutOfRange(f64),
    /// Longitude outside −180..=180 degrees (or not finite).
    LongitudeOutOfRange(f64),
    /// A calendar date/time that does not exist (e.g. 31 February, hour 25).
    InvalidDate(String),
    /// Instant outside the embedded ephemeris (1800-01-01 .. 2100-12-31 UT).
    OutOfRange { jd_ut: f64 },
    /// The house system cannot be constructed at this latitude/time
    /// (Placidus: some cusp points are circumpolar).
    HousesUndefined { system: &'static str, latitude: f64 },
    /// The Sun does not rise or set on that day at that place (polar day/night).
    NoSunriseOrSunset,
    /// Input was NaN or infinite.
    NotFinite(&'static str),
}

impl fmt::Display for AstroError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LatitudeOutOfRange(v) => write!(f, "latitude {v} outside -90..=90"),
            Self::LongitudeOutOfRange(v) => write!(f, "longitude {v} outside -180..=180"),
            Self::InvalidDate(s) => write!(f, "invalid date: {s}"),
            Self::OutOfRange { jd_ut } => {
                write!(
                    f,
                    "JD {jd_ut} outside the supported range 1800-01-01..2100-12-31"
                )
            }
            Self::HousesUndefined { system, latitude } => {
                write!(f, "{system} houses are undefined at latitude {latitude}")
            }
            Self::NoSunriseOrSunset => write!(f, "the Sun does not rise or set on this day"),
            Self::NotFinite(what) => write!(f, "{what} is not a finite number"),
        }
    }
}

impl std::error::Error for AstroError {}

/// Crate-wide result alias.
pub type Result<T> = std::result::Result<T, AstroError>;
