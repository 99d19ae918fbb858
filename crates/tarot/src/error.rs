//! Error type for the crate.
//!
//! Owns [`TarotError`], the single typed error returned by every fallible
//! operation, so callers (HTTP handlers, job runners) can map each variant to
//! a precise client or server error without parsing strings.

use std::fmt;

/// Everything that can go wrong when validating input, drawing or auditing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TarotError {
    /// Reversal probability was NaN or outside `0.0..=1.0`.
    InvalidReversalProbability(f64),
    /// Seed hex string was not exactly 64 hex digits.
    InvalidSeedHex(String),
    /// A spread id string did not name a known spread.
    UnknownSpread(String),
    /// A reading refers to a deck this build does not ship.
    UnknownDeck(String),
    /// A reading was produced by a draw algorithm this build does not implement.
    UnknownAlgorithm(String),
    /// The operating system could not provide entropy for a fresh seed.
    Entropy(String),
    /// Re-deriving a reading from its seed did not reproduce the stored cards.
    /// The payload says what differed (e.g. `position 3`, `yes_no`).
    AuditMismatch(String),
}

impl fmt::Display for TarotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidReversalProbability(p) => {
                write!(f, "reversal probability must be within 0.0..=1.0, got {p}")
            }
            Self::InvalidSeedHex(why) => write!(f, "invalid seed hex: {why}"),
            Self::UnknownSpread(s) => write!(f, "unknown spread: {s:?}"),
            Self::UnknownDeck(s) => write!(f, "unknown deck: {s:?}"),
            Self::UnknownAlgorithm(s) => write!(f, "unknown draw algorithm: {s:?}"),
            Self::Entropy(why) => write!(f, "OS entropy unavailable: {why}"),
            Self::AuditMismatch(what) => {
                write!(f, "reading does not match its re-derivation: {what}")
            }
        }
    }
}

impl std::error::Error for TarotError {}
