//! Payments over HTTP: top-ups and gateway webhooks ([`routes`]), credit packages
//! ([`packages`]), admins' refunds ([`refunds`]) and the sandbox checkout page
//! ([`sandbox`]). The gateways and the rules are `domain::payments`.

pub mod packages;
pub mod refunds;
pub mod routes;
pub mod sandbox;

// What the routes build on; `crate::payments::X` names the domain item X.
pub use domain::payments::*;
