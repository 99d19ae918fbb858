//! Live consultations. So far: the per-minute billing arithmetic ([`billing`]) and Agora
//! RTC token minting ([`agora`]); the session engine, presence and realtime transport build
//! on them (see docs/live.md).

pub mod agora;
pub mod billing;
