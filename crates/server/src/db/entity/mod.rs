//! SeaORM entities: one struct per table, the same model on SQLite and PostgreSQL.
//! Enumerated columns are stored as text; their Rust enums live with the feature that owns them.

pub mod audit_log;
pub mod auth_session;
pub mod birth_chart_cache;
pub mod birth_detail;
pub mod credit_package;
pub mod daily_horoscope;
pub mod favorite;
pub mod idempotency_key;
pub mod job;
pub mod ledger_account;
pub mod ledger_hold;
pub mod ledger_transfer;
pub mod otp_code;
pub mod payment_order;
pub mod payout;
pub mod payout_account;
pub mod practitioner;
pub mod practitioner_language;
pub mod practitioner_specialization;
pub mod promo_code;
pub mod promo_redemption;
pub mod reading_session;
pub mod refresh_token;
pub mod refund;
pub mod tarot_deck;
pub mod tarot_spread;
pub mod tarot_spread_position;
pub mod user;
pub mod wallet;
pub mod wallet_transaction;
pub mod webhook_event;
