//! Drawing readings.
//!
//! Owns the draw algorithm, [`ReversalProbability`], and the [`Reading`] /
//! [`DrawnCard`] records it produces, plus re-derivation for audit.
//!
//! # Algorithm (`ALGORITHM_ID` = `chacha20-fy-lemire-v1`)
//!
//! 1. Key ChaCha20 (20 rounds, `rand_chacha::ChaCha20Rng`, stream 0, block
//!    counter 0) with the 32-byte seed. Every random value is one `u64` taken
//!    from that keystream (two consecutive little-endian 32-bit words, low
//!    word first).
//! 2. Start from the identity permutation of deck indices `0..78`
//!    ([`crate::DECK`] order).
//! 3. For each spread position `i` in order (`0..k`):
//!    - `j = i + uniform_below(78 - i)`, then swap slots `i` and `j`
//!      (a partial Fisher–Yates shuffle, so no card can appear twice);
//!    - draw one more `u64` `r`; the card is reversed iff
//!      `r < floor(p * 2^64)` (compared in `u128`, so `p = 1.0` gives the
//!      threshold `2^64` and is always reversed).
//! 4. Slot `i` holds the card for position `i`.
//!
//! `uniform_below(n)` is Lemire's multiply-and-reject method: take `x`,
//! form the 128-bit product `x * n`; if its low 64 bits are below
//! `2^64 mod n` reject and retry, otherwise return the high 64 bits. This is
//! exactly uniform on `0..n` (no modulo bias).
//!
//! The reversal `u64` is consumed even when `p` is 0 or 1 so that the card
//! sequence for a seed never depends on `p`: changing only the reversal
//! probability flips orientations, never which cards appear.
//! Because `p * 2^64` is an exact power-of-two scaling of an `f64`, the
//! realised probability is exactly `floor(p * 2^64) / 2^64`.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::card::Card;
use crate::deck::{DECK, DECK_ID, DECK_SIZE, card_by_id};
use crate::error::TarotError;
use crate::seed::Seed;
use crate::spread::SpreadId;
use crate::yes_no::{YesNoAnswer, yes_no};

/// Identifier of the draw algorithm described in this module, recorded in
/// every reading. Any change to RNG consumption must bump it.
pub const ALGORITHM_ID: &str = "chacha20-fy-lemire-v1";

/// Validated probability (`0.0..=1.0`) that a drawn card is reversed.
/// Serialises as a plain number; deserialising re-validates it.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct ReversalProbability(f64);

impl ReversalProbability {
    /// Cards are never reversed.
    pub const NEVER: Self = Self(0.0);
    /// Even odds.
    pub const HALF: Self = Self(0.5);
    /// Cards are always reversed.
    pub const ALWAYS: Self = Self(1.0);

    /// Validate `p`; NaN and values outside `0.0..=1.0` are rejected.
    pub fn new(p: f64) -> Result<Self, TarotError> {
        // `contains` is false for NaN, so NaN is rejected here too.
        if (0.0..=1.0).contains(&p) {
            Ok(Self(p))
        } else {
            Err(TarotError::InvalidReversalProbability(p))
        }
    }

    /// The probability as given.
    pub const fn get(self) -> f64 {
        self.0
    }

    /// `floor(p * 2^64)`: a card is reversed iff its uniform `u64` is below
    /// this. `u128` because `p = 1.0` needs the value `2^64`.
    pub fn threshold(self) -> u128 {
        // Multiplying by 2^64 only changes the exponent, so it is exact;
        // the float-to-int `as` then truncates toward zero (= floor, p >= 0).
        (self.0 * 18_446_744_073_709_551_616.0) as u128
    }
}

impl TryFrom<f64> for ReversalProbability {
    type Error = TarotError;

    fn try_from(p: f64) -> Result<Self, Self::Error> {
        Self::new(p)
    }
}

impl From<ReversalProbability> for f64 {
    fn from(p: ReversalProbability) -> f64 {
        p.0
    }
}

/// One drawn card in its position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawnCard {
    /// Zero-based position index in the spread.
    pub position: usize,
    /// Position name, copied from the spread for self-contained records.
    pub position_name: String,
    /// Stable card id (see [`Card::id`]).
    pub card_id: String,
    /// Whether the card came up reversed.
    pub reversed: bool,
}

impl DrawnCard {
    /// The card definition, if this build's deck knows the id.
    pub fn card(&self) -> Option<&'static Card> {
        card_by_id(&self.card_id)
    }
}

/// A complete, self-describing reading. Everything needed to re-derive it is
/// inside: `(seed, spread, deck, algorithm, reversal_probability)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Which spread was laid out.
    pub spread: SpreadId,
    /// Deck order/membership id ([`DECK_ID`]).
    pub deck: String,
    /// Draw algorithm id ([`ALGORITHM_ID`]).
    pub algorithm: String,
    /// Seed, serialised as 64 lowercase hex digits.
    pub seed: Seed,
    /// Reversal probability used.
    pub reversal_probability: ReversalProbability,
    /// One entry per spread position, in position order.
    pub cards: Vec<DrawnCard>,
    /// Present only for [`SpreadId::YesNo`]: the rule applied to the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yes_no: Option<YesNoAnswer>,
}

impl Reading {
    /// Seed as hex (convenience for APIs that store it as text).
    pub fn seed_hex(&self) -> String {
        self.seed.to_hex()
    }

    /// Re-derive the reading from its own inputs and check that it matches.
    ///
    /// Errors with [`TarotError::UnknownDeck`] / [`TarotError::UnknownAlgorithm`]
    /// if the record was made with a deck or algorithm this build does not
    /// implement, or [`TarotError::AuditMismatch`] if anything differs.
    pub fn verify(&self) -> Result<(), TarotError> {
        if self.deck != DECK_ID {
            return Err(TarotError::UnknownDeck(self.deck.clone()));
        }
        if self.algorithm != ALGORITHM_ID {
            return Err(TarotError::UnknownAlgorithm(self.algorithm.clone()));
        }
        let expected = draw_seeded(self.spread, self.seed, self.reversal_probability);
        if self.cards.len() != expected.cards.len() {
            return Err(TarotError::AuditMismatch(format!(
                "{} cards recorded, spread has {}",
                self.cards.len(),
                expected.cards.len()
            )));
        }
        if let Some((i, _)) = self
            .cards
            .iter()
            .zip(&expected.cards)
            .enumerate()
            .find(|(_, (got, want))| got != want)
        {
            return Err(TarotError::AuditMismatch(format!("position {i}")));
        }
        if self.yes_no != expected.yes_no {
            return Err(TarotError::AuditMismatch("yes_no".to_owned()));
        }
        Ok(())
    }
}

/// Draw a reading. With `seed: None` a fresh seed is taken from OS entropy;
/// either way the seed used is returned inside the [`Reading`].
///
/// Errors: [`TarotError::InvalidReversalProbability`] for `p` outside
/// `0.0..=1.0` or NaN; [`TarotError::Entropy`] if the OS RNG fails.
pub fn draw(
    spread: SpreadId,
    seed: Option<Seed>,
    reversal_probability: f64,
) -> Result<Reading, TarotError> {
    // Validate before touching entropy so bad input never costs a syscall.
    let p = ReversalProbability::new(reversal_probability)?;
    let seed = match seed {
        Some(s) => s,
        None => Seed::from_os_entropy()?,
    };
    Ok(draw_seeded(spread, seed, p))
}

/// Deterministic core: the same inputs always give the same reading.
pub fn draw_seeded(spread: SpreadId, seed: Seed, reversal: ReversalProbability) -> Reading {
    let positions = spread.spread().positions;
    let mut rng = ChaCha20Rng::from_seed(*seed.as_bytes());
    let threshold = reversal.threshold();

    // Indices fit in u8 (78 < 256); a fixed array avoids allocating per draw.
    let mut order: [u8; DECK_SIZE] = std::array::from_fn(|i| i as u8);
    let mut cards = Vec::with_capacity(positions.len());
    for (i, position) in positions.iter().enumerate() {
        let remaining = (DECK_SIZE - i) as u64;
        let j = i + uniform_below(&mut rng, remaining) as usize;
        order.swap(i, j);
        let reversed = u128::from(rng.next_u64()) < threshold;
        let card = &DECK[usize::from(order[i])];
        cards.push(DrawnCard {
            position: position.index,
            position_name: position.name.to_owned(),
            card_id: card.id.to_owned(),
            reversed,
        });
    }

    let yes_no = match spread {
        SpreadId::YesNo => cards
            .first()
            .map(|c| yes_no(&DECK[usize::from(order[0])], c.reversed)),
        _ => None,
    };

    Reading {
        spread,
        deck: DECK_ID.to_owned(),
        algorithm: ALGORITHM_ID.to_owned(),
        seed,
        reversal_probability: reversal,
        cards,
        yes_no,
    }
}

/// Uniform integer in `0..n` (n > 0) by Lemire's multiply-and-reject method.
///
/// Of the 2^64 possible `x`, exactly `2^64 mod n` are rejected, leaving a
/// multiple of `n` inputs spread evenly over the outputs, hence no bias.
pub(crate) fn uniform_below<R: Rng + ?Sized>(rng: &mut R, n: u64) -> u64 {
    debug_assert!(n > 0, "uniform_below(0) is meaningless");
    // 2^64 mod n, computed without 128-bit division: (2^64 - n) mod n.
    let reject_below = n.wrapping_neg() % n;
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(n);
        if (m as u64) >= reject_below {
            return (m >> 64) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds fixed values so rejection can be exercised deterministically.
    struct Scripted(Vec<u64>);

    impl rand_chacha::rand_core::TryRng for Scripted {
        type Error = std::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(self.try_next_u64()? as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(self.0.remove(0))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for b in dst {
                *b = self.try_next_u64()? as u8;
            }
            Ok(())
        }
    }

    #[test]
    fn uniform_below_rejects_the_biased_zone() {
        // n = 3: 2^64 mod 3 = 1, so x = 0 (low product bits 0 < 1) is rejected
        // and the next value is used.
        let mut rng = Scripted(vec![0, u64::MAX]);
        assert_eq!(uniform_below(&mut rng, 3), 2);
        assert!(rng.0.is_empty());
    }

    #[test]
    fn uniform_below_maps_extremes() {
        let mut rng = Scripted(vec![1 << 63, u64::MAX, 5]);
        assert_eq!(uniform_below(&mut rng, 2), 1);
        assert_eq!(uniform_below(&mut rng, 78), 77);
        assert_eq!(uniform_below(&mut rng, 1), 0);
    }

    #[test]
    fn threshold_edges() {
        assert_eq!(ReversalProbability::NEVER.threshold(), 0);
        assert_eq!(ReversalProbability::HALF.threshold(), 1u128 << 63);
        assert_eq!(ReversalProbability::ALWAYS.threshold(), 1u128 << 64);
        assert!(u128::from(u64::MAX) < ReversalProbability::ALWAYS.threshold());
    }
}
