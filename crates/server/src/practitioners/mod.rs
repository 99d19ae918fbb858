//! Practitioners over HTTP: discovery ([`discovery`]), favorites ([`favorites`]) and
//! profiles ([`profile`]). The shared types are `domain::practitioners`.

pub mod discovery;
pub mod favorites;
pub mod profile;

// What the routes build on; `crate::practitioners::X` names the domain item X.
pub use domain::practitioners::*;
