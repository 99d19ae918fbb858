//! Promo codes over HTTP ([`routes`]); the rules and `quote` are `domain::promos`.

pub mod routes;

// What the routes build on; `crate::promos::X` names the domain item X.
pub use domain::promos::*;
