//! Appointments over HTTP: services, working hours and slots ([`routes`]) and bookings
//! ([`booking_routes`]). The rules are `domain::scheduling`.

pub mod booking_routes;
pub mod routes;

// What the routes build on; `crate::scheduling::X` names the domain item X.
pub use domain::scheduling::*;
