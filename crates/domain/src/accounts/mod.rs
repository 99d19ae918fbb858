//! Accounts as the business sees them: the single-use emailed links ([`tokens`]).

pub mod tokens;
