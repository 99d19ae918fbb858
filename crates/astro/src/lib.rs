//! `astro`: pure astronomy and Vedic astrology calculations for Augur.
//!
//! Owns everything numeric about a chart, and drawing one, and nothing else (no IO, no
//! clocks, no network): time scales ([`time`]), an embedded JPL DE440-derived ephemeris
//! ([`ephemeris`]), Earth orientation ([`frames`]), apparent planetary positions
//! ([`positions`]), ayanamsas ([`ayanamsa`]), houses ([`houses`]), nakshatra/sign/navamsa
//! attributes ([`vedic`]), Vimshottari dasha ([`dasha`]), ashtakoota guna milan
//! ([`guna_milan`]), panchang ([`panchang`]), the one-call [`chart::full_chart`] and the
//! chart drawn as SVG ([`svg`]).
#![forbid(unsafe_code)]

pub mod ayanamsa;
pub mod chart;
pub mod dasha;
pub mod ephemeris;
pub mod error;
pub mod frames;
pub mod guna_milan;
pub mod houses;
pub mod math;
pub mod panchang;
pub mod positions;
pub mod svg;
pub mod time;
pub mod vedic;

mod delta_t_table;

pub use ayanamsa::Ayanamsa;
pub use chart::{Chart, ChartRequest, Instant, NodeKind, full_chart};
pub use error::{AstroError, Result};
pub use houses::HouseSystem;
pub use positions::{Body, EclipticPosition, Snapshot};
