//! Live consultations: the per-minute billing arithmetic ([`billing`]), the session state
//! machine and its worker ([`engine`]), participant events ([`events`]), chat ([`chat`],
//! with the contact [`guard`]), the realtime socket ([`ws`]), the liveness it records
//! ([`liveness`]) and the sign-ins behind it ([`sessions`]), the service outages cut out of
//! billing ([`outages`]), the HTTP routes ([`routes`]),
//! Agora RTC token minting ([`agora`]), what comes after a session ([`aftercare`]) and
//! sessions opened by booked appointments ([`booked`]). See docs/live.md.

pub mod aftercare;
pub mod attachments;
pub(crate) mod bill_batch;
pub mod billing;
pub mod booked;
pub mod chat;
pub mod chat_batch;
pub mod engine;
pub mod events;
pub mod liveness;
pub mod outages;
pub mod routes;
pub mod sessions;
pub mod waitlist;
pub mod ws;
