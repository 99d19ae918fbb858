//! Notifications over HTTP: the inbox ([`inbox`]), preferences, quiet hours and
//! unsubscribe links ([`preferences`]), push devices ([`devices`]) and the admin endpoints
//! ([`admin`]). What is sent and how it is delivered is `domain::notifications`.

pub mod admin;
pub mod devices;
pub mod inbox;
pub mod preferences;

// What the routes build on; `crate::notifications::X` names the domain item X.
pub use domain::notifications::*;
