//! Spread definitions: position counts, indices, names and id round-trips.

use std::collections::HashSet;

use tarot::{SpreadId, TarotError, spreads};

#[test]
fn position_counts() {
    let counts: Vec<_> = SpreadId::ALL
        .iter()
        .map(|s| (*s, s.spread().len()))
        .collect();
    assert_eq!(
        counts,
        [
            (SpreadId::Single, 1),
            (SpreadId::ThreeCard, 3),
            (SpreadId::CelticCross, 10),
            (SpreadId::Relationship, 7),
            (SpreadId::YesNo, 1),
        ]
    );
}

#[test]
fn positions_are_well_formed() {
    for spread in spreads() {
        assert!(!spread.is_empty());
        assert!(!spread.name.is_empty() && !spread.description.is_empty());
        let mut names = HashSet::new();
        for (i, p) in spread.positions.iter().enumerate() {
            assert_eq!(p.index, i, "{:?}", spread.id);
            assert!(!p.name.is_empty() && !p.description.is_empty());
            assert!(
                names.insert(p.name),
                "duplicate position name in {:?}",
                spread.id
            );
        }
    }
    let three: Vec<_> = SpreadId::ThreeCard
        .spread()
        .positions
        .iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(three, ["Past", "Present", "Future"]);
}

#[test]
fn spread_ids_round_trip() {
    for id in SpreadId::ALL {
        assert_eq!(id.spread().id, id);
        assert_eq!(id.as_str().parse::<SpreadId>(), Ok(id));
        assert_eq!(id.to_string(), id.as_str());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", id.as_str()));
        assert_eq!(serde_json::from_str::<SpreadId>(&json).unwrap(), id);
    }
    assert_eq!(
        "tree-of-life".parse::<SpreadId>(),
        Err(TarotError::UnknownSpread("tree-of-life".into()))
    );
}
