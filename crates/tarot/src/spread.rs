//! Spreads: named layouts of positions.
//!
//! Owns [`SpreadId`] (the stable, serialisable name of a layout) and the
//! static [`Spread`] definitions with their [`Position`]s. The number of
//! positions fixes how many cards a draw takes; position order is the order in
//! which cards are drawn, so it is part of the audit contract just like the
//! deck order.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::TarotError;

/// Stable identifier of a spread. Serialised in kebab-case (`"celtic-cross"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpreadId {
    /// One card.
    Single,
    /// Past, present, future.
    ThreeCard,
    /// Ten-card Celtic Cross.
    CelticCross,
    /// Seven-card relationship spread.
    Relationship,
    /// One card answered with yes / no / maybe (see [`crate::yes_no`](mod@crate::yes_no)).
    YesNo,
}

impl SpreadId {
    /// Every spread, in a fixed order.
    pub const ALL: [SpreadId; 5] = [
        SpreadId::Single,
        SpreadId::ThreeCard,
        SpreadId::CelticCross,
        SpreadId::Relationship,
        SpreadId::YesNo,
    ];

    /// The kebab-case id string, identical to the serde form.
    pub const fn as_str(self) -> &'static str {
        match self {
            SpreadId::Single => "single",
            SpreadId::ThreeCard => "three-card",
            SpreadId::CelticCross => "celtic-cross",
            SpreadId::Relationship => "relationship",
            SpreadId::YesNo => "yes-no",
        }
    }

    /// The static definition of this spread.
    pub const fn spread(self) -> &'static Spread {
        match self {
            SpreadId::Single => &SINGLE,
            SpreadId::ThreeCard => &THREE_CARD,
            SpreadId::CelticCross => &CELTIC_CROSS,
            SpreadId::Relationship => &RELATIONSHIP,
            SpreadId::YesNo => &YES_NO,
        }
    }
}

impl fmt::Display for SpreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SpreadId {
    type Err = TarotError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SpreadId::ALL
            .into_iter()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| TarotError::UnknownSpread(s.to_owned()))
    }
}

/// One slot in a spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    /// Zero-based index; equals the slot's place in [`Spread::positions`] and
    /// the order in which its card is drawn.
    pub index: usize,
    /// Short name shown to the user, e.g. `Past`.
    pub name: &'static str,
    /// One-line explanation of what the slot represents.
    pub description: &'static str,
}

/// A layout of positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Spread {
    /// Stable id.
    pub id: SpreadId,
    /// Display name.
    pub name: &'static str,
    /// One-line description of when to use it.
    pub description: &'static str,
    /// Positions in draw order.
    pub positions: &'static [Position],
}

impl Spread {
    /// Number of cards this spread draws.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Always false: every spread has at least one position. Present so the
    /// type follows the `len`/`is_empty` convention.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }
}

/// All spread definitions, in [`SpreadId::ALL`] order.
pub fn spreads() -> [&'static Spread; 5] {
    SpreadId::ALL.map(SpreadId::spread)
}

const fn pos(index: usize, name: &'static str, description: &'static str) -> Position {
    Position {
        index,
        name,
        description,
    }
}

static SINGLE: Spread = Spread {
    id: SpreadId::Single,
    name: "Single Card",
    description: "One card for a quick focus or daily guidance.",
    positions: &[pos(
        0,
        "Focus",
        "The main message or energy around the question.",
    )],
};

static THREE_CARD: Spread = Spread {
    id: SpreadId::ThreeCard,
    name: "Past, Present, Future",
    description: "A simple timeline showing how a situation is developing.",
    positions: &[
        pos(0, "Past", "What led here; influences that are fading."),
        pos(1, "Present", "Where things stand now."),
        pos(2, "Future", "The likely direction if nothing changes."),
    ],
};

static CELTIC_CROSS: Spread = Spread {
    id: SpreadId::CelticCross,
    name: "Celtic Cross",
    description: "A ten-card in-depth look at a situation, its causes and its likely outcome.",
    positions: &[
        pos(0, "Present", "The heart of the matter as it stands now."),
        pos(
            1,
            "Challenge",
            "What crosses the situation: the immediate obstacle or tension.",
        ),
        pos(
            2,
            "Foundation",
            "The root cause or underlying basis of the situation.",
        ),
        pos(
            3,
            "Recent Past",
            "Events that are just passing out of influence.",
        ),
        pos(
            4,
            "Conscious Aim",
            "What the querent hopes for or is consciously working toward.",
        ),
        pos(5, "Near Future", "What is likely to arrive soon."),
        pos(
            6,
            "Self",
            "The querent's own attitude and part in the situation.",
        ),
        pos(7, "Environment", "Other people and outside forces at work."),
        pos(
            8,
            "Hopes and Fears",
            "What the querent secretly hopes for or dreads.",
        ),
        pos(
            9,
            "Outcome",
            "Where things are heading if the current course holds.",
        ),
    ],
};

static RELATIONSHIP: Spread = Spread {
    id: SpreadId::Relationship,
    name: "Relationship",
    description: "Seven cards on two people, what binds them and where they are going.",
    positions: &[
        pos(0, "You", "How you are showing up in the relationship."),
        pos(1, "Partner", "How the other person is showing up."),
        pos(2, "The Bond", "What connects the two of you right now."),
        pos(
            3,
            "Strengths",
            "What supports and nourishes the relationship.",
        ),
        pos(4, "Challenges", "What strains it or needs attention."),
        pos(5, "Advice", "What would help the relationship grow."),
        pos(6, "Direction", "Where the relationship is heading."),
    ],
};

static YES_NO: Spread = Spread {
    id: SpreadId::YesNo,
    name: "Yes or No",
    description: "One card answering a closed question with yes, no or maybe.",
    positions: &[pos(
        0,
        "Answer",
        "The card whose tone and orientation decide yes, no or maybe.",
    )],
};
