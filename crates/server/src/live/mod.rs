//! Live consultations over HTTP and WebSocket: the routes ([`routes`]), the realtime socket
//! ([`ws`]) and the sign-ins behind it ([`sessions`]), chat attachments ([`attachments`]),
//! the waitlist ([`waitlist`]) and what comes after a session ([`aftercare`]). The state
//! machine, billing, chat and liveness are `domain::live`. See docs/live.md.

pub mod aftercare;
pub mod attachments;
pub mod routes;
pub mod sessions;
pub mod waitlist;
pub mod ws;

// What the routes build on; `crate::live::X` names the domain item X.
pub use domain::live::*;
