//! The yes/no rule.
//!
//! Owns [`YesNoAnswer`] and [`yes_no`], the single documented mapping from a
//! card plus its orientation to an answer. Each card carries an editorial
//! [`Polarity`]; the rule is then this table:
//!
//! | polarity   | upright | reversed |
//! |------------|---------|----------|
//! | `Positive` | Yes     | No       |
//! | `Neutral`  | Maybe   | Maybe    |
//! | `Negative` | No      | Maybe    |
//!
//! Why: a reversed encouraging card reads as the good thing being blocked
//! (no); a neutral card is a pause or a two-sided situation (maybe) either way;
//! a reversed difficult card is the difficulty easing, which is not yet a yes
//! (maybe). Keeping the rule a table over data makes it trivially auditable.

use serde::{Deserialize, Serialize};

use crate::card::{Card, Polarity};

/// Answer of a yes/no reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum YesNoAnswer {
    /// Yes.
    Yes,
    /// No.
    No,
    /// Unclear, conditional, or not yet.
    Maybe,
}

/// Apply the documented yes/no rule (see module docs).
pub fn yes_no(card: &Card, reversed: bool) -> YesNoAnswer {
    match (card.polarity, reversed) {
        (Polarity::Positive, false) => YesNoAnswer::Yes,
        (Polarity::Positive, true) => YesNoAnswer::No,
        (Polarity::Neutral, _) => YesNoAnswer::Maybe,
        (Polarity::Negative, false) => YesNoAnswer::No,
        (Polarity::Negative, true) => YesNoAnswer::Maybe,
    }
}
