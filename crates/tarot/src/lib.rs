//! # tarot
//!
//! Tarot engine for Augur: the 78-card deck with original keyword and
//! meaning text, named spreads, and auditable card draws.
//!
//! Draws use ChaCha20 keyed by a 32-byte [`Seed`]. When the caller supplies
//! no seed one is taken from OS entropy, and the seed is always returned in
//! the [`Reading`], so any reading can be re-derived from
//! `(seed, spread, deck, reversal probability)` and checked with
//! [`Reading::verify`].
//!
//! Module map:
//! - [`card`]: the card data model;
//! - [`deck`](mod@deck): the 78 cards and lookups;
//! - [`spread`]: spread layouts and positions;
//! - [`seed`]: seeds, hex form, OS entropy;
//! - [`draw`](mod@draw): the draw algorithm and the `Reading` record;
//! - [`yes_no`](mod@yes_no): the yes/no rule;
//! - [`error`]: the crate's error type.
//!
//! ```
//! use tarot::{draw, Seed, SpreadId};
//!
//! let seed = Seed::from_hex(&"ab".repeat(32)).unwrap();
//! let reading = draw(SpreadId::ThreeCard, Some(seed), 0.25).unwrap();
//! assert_eq!(reading.cards.len(), 3);
//! reading.verify().unwrap();
//! ```

#![forbid(unsafe_code)]

pub mod card;
pub mod deck;
pub mod draw;
pub mod error;
pub mod seed;
pub mod spread;
pub mod yes_no;

pub use card::{Arcana, Card, Polarity, Suit};
pub use deck::{DECK, DECK_ID, DECK_SIZE, card_by_id, deck};
pub use draw::{ALGORITHM_ID, DrawnCard, Reading, ReversalProbability, draw, draw_seeded};
pub use error::TarotError;
pub use seed::{SEED_LEN, Seed};
pub use spread::{Position, Spread, SpreadId, spreads};
pub use yes_no::{YesNoAnswer, yes_no};
