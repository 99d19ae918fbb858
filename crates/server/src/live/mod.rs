//! Live consultations: the per-minute billing arithmetic ([`billing`]), the session state
//! machine and its worker ([`engine`]), participant events ([`events`]), chat ([`chat`],
//! with the contact [`guard`]), the realtime socket ([`ws`]), the HTTP routes ([`routes`])
//! and Agora RTC token minting ([`agora`]). See docs/live.md.

pub mod agora;
pub mod billing;
pub mod chat;
pub mod engine;
pub mod events;
pub mod guard;
pub mod routes;
pub mod ws;
