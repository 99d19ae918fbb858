//! Live consultations: the per-minute billing arithmetic ([`billing`]), the session state
//! machine and its worker ([`engine`], batched in [`bill_batch`]), participant events
//! ([`events`]), chat ([`chat`], written in groups by [`chat_batch`]), the liveness sockets
//! record ([`liveness`]), the service outages cut out of billing ([`outages`]), the
//! waitlist for a busy practitioner ([`waitlist`]) and sessions opened by booked
//! appointments ([`booked`]). See docs/live.md.

pub mod bill_batch;
pub mod billing;
pub mod booked;
pub mod chat;
pub mod chat_batch;
pub mod engine;
pub mod events;
pub mod liveness;
pub mod outages;
pub mod tips;
pub mod waitlist;
