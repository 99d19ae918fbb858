//! Augur: one server for consultation marketplaces. `app::Application` is what `main` runs
//! and what the tests start on port 0.

pub mod accounts;
pub mod admin;
pub mod app;
pub mod astrology;
pub mod auth;
pub mod console;
pub mod demo;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod live;
pub mod notifications;
pub mod payments;
pub mod payouts;
pub mod practitioners;
pub mod problem_docs;
pub mod promos;
pub mod ratelimit;
pub mod readings;
pub mod scheduling;
pub mod telemetry;
pub mod wallet;
