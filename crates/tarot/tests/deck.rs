//! Deck integrity: 78 unique cards, correct structure, genuine text.

use std::collections::HashSet;

use tarot::{Arcana, DECK, DECK_SIZE, Suit, card_by_id, deck};

const RANK_SLUGS: [&str; 14] = [
    "ace", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "page",
    "knight", "queen", "king",
];
const RANK_NAMES: [&str; 14] = [
    "Ace", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Page",
    "Knight", "Queen", "King",
];

#[test]
fn has_78_cards_22_major_56_minor() {
    assert_eq!(DECK.len(), 78);
    assert_eq!(DECK_SIZE, 78);
    assert_eq!(
        DECK.iter().filter(|c| c.arcana == Arcana::Major).count(),
        22
    );
    assert_eq!(
        DECK.iter().filter(|c| c.arcana == Arcana::Minor).count(),
        56
    );
    for suit in Suit::ALL {
        assert_eq!(DECK.iter().filter(|c| c.suit == Some(suit)).count(), 14);
    }
}

#[test]
fn ids_and_names_are_unique() {
    let ids: HashSet<_> = DECK.iter().map(|c| c.id).collect();
    let names: HashSet<_> = DECK.iter().map(|c| c.name).collect();
    assert_eq!(ids.len(), 78);
    assert_eq!(names.len(), 78);
}

#[test]
fn canonical_order_and_id_scheme() {
    // The draw algorithm indexes this array, so its order is part of the
    // audit contract; pin it down exactly.
    for (i, card) in DECK.iter().take(22).enumerate() {
        assert_eq!(card.arcana, Arcana::Major);
        assert_eq!(card.suit, None);
        assert_eq!(usize::from(card.number), i);
        let prefix = format!("major-{i:02}-");
        assert!(card.id.starts_with(&prefix), "{}", card.id);
        let slug: String = card
            .name
            .to_lowercase()
            .chars()
            .map(|ch| if ch == ' ' { '-' } else { ch })
            .collect();
        assert_eq!(&card.id[prefix.len()..], slug);
    }
    for (s, suit) in Suit::ALL.into_iter().enumerate() {
        for r in 0..14 {
            let card = &DECK[22 + s * 14 + r];
            assert_eq!(card.arcana, Arcana::Minor);
            assert_eq!(card.suit, Some(suit));
            assert_eq!(usize::from(card.number), r + 1);
            assert_eq!(card.id, format!("{}-{}", suit.slug(), RANK_SLUGS[r]));
            let suit_name = format!("{suit:?}");
            assert_eq!(card.name, format!("{} of {}", RANK_NAMES[r], suit_name));
        }
    }
    assert_eq!(DECK[0].id, "major-00-the-fool");
    assert_eq!(
        card_by_id("cups-queen").map(|c| c.name),
        Some("Queen of Cups")
    );
}

#[test]
fn every_card_has_genuine_distinct_text() {
    let mut upright = HashSet::new();
    let mut reversed = HashSet::new();
    let mut up_kw_sets = HashSet::new();
    let mut rev_kw_sets = HashSet::new();
    for c in deck() {
        assert!(!c.name.trim().is_empty(), "{}", c.id);
        assert!(c.upright.len() >= 30, "{} upright too short", c.id);
        assert!(c.reversed.len() >= 30, "{} reversed too short", c.id);
        assert_ne!(c.upright, c.reversed, "{}", c.id);
        assert!(c.upright_keywords.len() >= 3, "{}", c.id);
        assert!(c.reversed_keywords.len() >= 3, "{}", c.id);
        for kw in c.upright_keywords.iter().chain(c.reversed_keywords) {
            assert!(!kw.trim().is_empty(), "{}", c.id);
        }
        // No keyword listed as both upright and reversed meaning for one card.
        for kw in c.upright_keywords {
            assert!(!c.reversed_keywords.contains(kw), "{}: {kw}", c.id);
        }
        assert!(
            upright.insert(c.upright),
            "duplicate upright text: {}",
            c.id
        );
        assert!(
            reversed.insert(c.reversed),
            "duplicate reversed text: {}",
            c.id
        );
        assert!(
            up_kw_sets.insert(c.upright_keywords),
            "dup keywords: {}",
            c.id
        );
        assert!(
            rev_kw_sets.insert(c.reversed_keywords),
            "dup keywords: {}",
            c.id
        );
        assert_eq!(c.keywords(false), c.upright_keywords);
        assert_eq!(c.meaning(true), c.reversed);
    }
}

#[test]
fn lookup_by_id() {
    for c in deck() {
        assert_eq!(card_by_id(c.id), Some(c));
    }
    assert_eq!(card_by_id("cups-eleven"), None);
    assert_eq!(card_by_id(""), None);
}
