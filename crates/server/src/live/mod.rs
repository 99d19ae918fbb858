//! Live consultations: the per-minute billing arithmetic ([`billing`]), the session state
//! machine and its worker ([`engine`]), participant events ([`events`]), the HTTP routes
//! ([`routes`]) and Agora RTC token minting ([`agora`]). See docs/live.md.

pub mod agora;
pub mod billing;
pub mod engine;
pub mod events;
pub mod routes;
