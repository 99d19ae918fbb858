//! Card model.
//!
//! Owns the types that describe a single tarot card ([`Card`], [`Arcana`],
//! [`Suit`], [`Polarity`]). The actual 78 cards live in [`crate::deck`](mod@crate::deck); this
//! module only defines their shape so the data file stays pure data.

use serde::{Deserialize, Serialize};

/// Major or minor arcana.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arcana {
    /// The 22 trump cards, numbered 0 (The Fool) to 21 (The World).
    Major,
    /// The 56 suited cards.
    Minor,
}

/// The four minor-arcana suits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suit {
    /// Fire: drive, ambition, creativity.
    Wands,
    /// Water: feelings, relationships, intuition.
    Cups,
    /// Air: thought, conflict, truth.
    Swords,
    /// Earth: work, money, body, home.
    Pentacles,
}

impl Suit {
    /// All suits in deck order.
    pub const ALL: [Suit; 4] = [Suit::Wands, Suit::Cups, Suit::Swords, Suit::Pentacles];

    /// Lowercase slug used as the id prefix (`"cups"`).
    pub const fn slug(self) -> &'static str {
        match self {
            Suit::Wands => "wands",
            Suit::Cups => "cups",
            Suit::Swords => "swords",
            Suit::Pentacles => "pentacles",
        }
    }
}

/// The overall tone of a card, used by the yes/no rule
/// (see [`crate::yes_no`](mod@crate::yes_no)). It is an editorial judgement recorded as data so the
/// rule stays a simple, auditable table instead of a hidden list of exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    /// Broadly encouraging.
    Positive,
    /// Ambiguous, pausing or two-sided.
    Neutral,
    /// Broadly difficult or warning.
    Negative,
}

/// One card of the deck. All text is original to this crate.
///
/// `number` is 0..=21 for the major arcana; for the minor arcana it is
/// 1 (ace) ..= 10, then 11 page, 12 knight, 13 queen, 14 king.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Card {
    /// Stable slug, e.g. `major-00-the-fool` or `cups-queen`. Never changes
    /// once published because stored readings refer to it.
    pub id: &'static str,
    /// Display name, e.g. `Queen of Cups`.
    pub name: &'static str,
    /// Major or minor.
    pub arcana: Arcana,
    /// Suit for minor cards, `None` for majors.
    pub suit: Option<Suit>,
    /// See the type-level docs for the numbering scheme.
    pub number: u8,
    /// Tone used by the yes/no rule.
    pub polarity: Polarity,
    /// Keywords when the card is upright.
    pub upright_keywords: &'static [&'static str],
    /// Keywords when the card is reversed.
    pub reversed_keywords: &'static [&'static str],
    /// One- or two-sentence upright meaning.
    pub upright: &'static str,
    /// One- or two-sentence reversed meaning.
    pub reversed: &'static str,
}

impl Card {
    /// Keywords for the given orientation.
    pub fn keywords(&self, reversed: bool) -> &'static [&'static str] {
        if reversed {
            self.reversed_keywords
        } else {
            self.upright_keywords
        }
    }

    /// Meaning for the given orientation.
    pub fn meaning(&self, reversed: bool) -> &'static str {
        if reversed {
            self.reversed
        } else {
            self.upright
        }
    }
}
