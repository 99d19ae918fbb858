//! Astrology over HTTP: birth charts (JSON and SVG), dasha, compatibility, panchang
//! ([`routes`]), admins' daily horoscopes ([`horoscopes`]) and the command line ([`cli`]).
//! The conversions and the chart cache are `domain::astrology`; the astronomy is `astro`.

pub mod cli;
pub mod horoscopes;
pub mod routes;

// What the routes build on; `crate::astrology::X` names the domain item X.
pub use domain::astrology::*;
