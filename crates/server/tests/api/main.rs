//! Black-box tests: the real server on port 0, real HTTP, a fresh database per test.
//! Every test runs on SQLite and, when `AUGUR_TEST_POSTGRES_URL` is set, on PostgreSQL.

mod helpers;

mod accounts;
mod admin;
mod appointments;
mod astrology;
mod auth;
mod browser;
mod console;
mod conventions;
mod crash;
mod discovery;
mod gateways;
mod jobs;
mod ledger_batch;
mod live;
mod live_limits;
mod multinode;
mod notifications;
mod otp;
mod payouts;
mod profiles;
mod promos;
mod ratelimit;
mod realtime;
mod tarot;
mod topups;
mod wallet;
mod webdriver;
