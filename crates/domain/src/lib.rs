//! The business: ledger and wallets, payments and refunds, live consultations (engine,
//! billing, chat, waitlist), scheduling, promos, payouts, notifications and the astrology
//! services. Each feature folder owns its rules and its writes; every money movement is a
//! function here. Services take `&Services` (or less) and return `error::Error`; nothing
//! here knows HTTP. See docs/architecture.md.

pub mod accounts;
pub mod astrology;
pub mod audit;
pub mod auth;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod jobs;
pub mod ledger;
pub mod live;
pub mod metrics;
pub mod notifications;
pub mod outbox;
pub mod payments;
pub mod payouts;
pub mod practitioners;
pub mod promos;
pub mod request;
pub mod scheduling;
pub mod services;
pub mod sms;
pub mod validate;
pub mod wallet;

pub use services::Services;
