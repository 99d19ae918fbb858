//! Statistical checks of the draw: card uniformity (chi-square) and reversal
//! frequency (binomial bound).
//!
//! Seeds are derived from a counter, so every run sees the same samples and
//! the tests cannot flake; the thresholds are still set so that a correct
//! algorithm would fail with probability about 1e-6 on a fresh random sample,
//! while a biased one (modulo bias on a few cards, an off-by-one in
//! Fisher–Yates, a skewed reversal threshold) fails by a wide margin.

use std::collections::HashMap;

use tarot::{DECK, DECK_SIZE, ReversalProbability, Seed, SpreadId, draw_seeded};

/// Chi-square critical value for 77 degrees of freedom at upper-tail
/// p = 1e-6 (computed from the regularised upper incomplete gamma function:
/// Q(38.5, 150.95 / 2) = 1.0e-6).
const CHI2_CRIT_DF77_P1E6: f64 = 150.95;

fn seed(tag: u8, n: u64) -> Seed {
    let mut b = [tag; 32];
    b[..8].copy_from_slice(&n.to_le_bytes());
    Seed::from_bytes(b)
}

fn index_of() -> HashMap<&'static str, usize> {
    DECK.iter().enumerate().map(|(i, c)| (c.id, i)).collect()
}

fn chi_square(counts: &[u64; DECK_SIZE], total: u64) -> f64 {
    let expected = total as f64 / DECK_SIZE as f64;
    counts
        .iter()
        .map(|&c| {
            let d = c as f64 - expected;
            d * d / expected
        })
        .sum()
}

/// Counts of the card at `position` over `n` readings of `spread`.
fn position_counts(spread: SpreadId, position: usize, n: u64, tag: u8) -> [u64; DECK_SIZE] {
    let idx = index_of();
    let mut counts = [0u64; DECK_SIZE];
    for i in 0..n {
        let r = draw_seeded(spread, seed(tag, i), ReversalProbability::HALF);
        counts[idx[r.cards[position].card_id.as_str()]] += 1;
    }
    counts
}

#[test]
fn single_card_draws_are_uniform() {
    let n = 78_000; // 1000 expected per card
    let counts = position_counts(SpreadId::Single, 0, n, 0xa1);
    let chi2 = chi_square(&counts, n);
    eprintln!("chi-square = {chi2:.2} (critical {CHI2_CRIT_DF77_P1E6})");
    assert!(
        chi2 < CHI2_CRIT_DF77_P1E6,
        "chi-square {chi2:.2} >= {CHI2_CRIT_DF77_P1E6}"
    );
    assert!(counts.iter().all(|&c| c > 0));
}

#[test]
fn last_celtic_cross_position_is_uniform() {
    // The 10th card depends on nine earlier swaps; uniformity here catches
    // shuffle bugs that position 0 alone would miss.
    let n = 39_000; // 500 expected per card
    let counts = position_counts(SpreadId::CelticCross, 9, n, 0xb2);
    let chi2 = chi_square(&counts, n);
    eprintln!("chi-square = {chi2:.2} (critical {CHI2_CRIT_DF77_P1E6})");
    assert!(
        chi2 < CHI2_CRIT_DF77_P1E6,
        "chi-square {chi2:.2} >= {CHI2_CRIT_DF77_P1E6}"
    );
}

/// |k - n p| must stay within 5.5 standard deviations: a two-sided normal
/// tail of about 4e-8, so a correct implementation essentially never fails.
fn assert_binomial(k: u64, n: u64, p: f64) {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    let z = (k as f64 - mean) / sd;
    assert!(z.abs() < 5.5, "k={k} n={n} p={p}: z={z:.2}");
}

#[test]
fn reversal_frequency_matches_probability() {
    for (tag, p) in [(0xc1, 0.5), (0xc2, 0.25), (0xc3, 0.9)] {
        let prob = ReversalProbability::new(p).unwrap();
        let (mut k, mut n) = (0u64, 0u64);
        for i in 0..5_000 {
            let r = draw_seeded(SpreadId::CelticCross, seed(tag, i), prob);
            k += r.cards.iter().filter(|c| c.reversed).count() as u64;
            n += r.cards.len() as u64;
        }
        eprintln!("p = {p}: {k} reversed of {n}");
        assert_binomial(k, n, p);
    }
}
