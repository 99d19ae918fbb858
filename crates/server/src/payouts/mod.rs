//! Payouts over HTTP ([`routes`]); the rules are `domain::payouts`.

pub mod routes;

// What the routes build on; `crate::payouts::X` names the domain item X.
pub use domain::payouts::*;
