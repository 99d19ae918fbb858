//! Ashtakoota guna milan (36-point marriage compatibility from the two Moons) and the
//! mangal (kuja) dosha check.
//!
//! Conventions (North-Indian/Parashari tables as printed in common almanacs; see README):
//! koota scores are computed raw, without regional dosha-cancellation (parihara) rules.
//! "bride"/"groom" follow the classical asymmetric rules for varna, tara and gana.

use serde::Serialize;

use crate::vedic::{Graha, PADA_SPAN, Rasi};

/// The Moon placement used for matching.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MoonPlacement {
    /// Sidereal longitude of the Moon, degrees.
    pub longitude: f64,
}

impl MoonPlacement {
    /// Placement at the middle of a pada (0..108, 0 = Ashwini pada 1).
    pub fn from_pada(pada_index: usize) -> Self {
        Self {
            longitude: (pada_index as f64 + 0.5) * PADA_SPAN,
        }
    }
    fn nakshatra(self) -> usize {
        ((crate::math::norm_deg(self.longitude) / (360.0 / 27.0)) as usize).min(26)
    }
    fn sign(self) -> Rasi {
        Rasi::of_longitude(self.longitude)
    }
    fn degree_in_sign(self) -> f64 {
        crate::math::norm_deg(self.longitude) % 30.0
    }
}

/// Points of each koota.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GunaMilan {
    pub varna: f64,
    pub vashya: f64,
    pub tara: f64,
    pub yoni: f64,
    pub graha_maitri: f64,
    pub gana: f64,
    pub bhakoot: f64,
    pub nadi: f64,
    pub total: f64,
}

/// Varna rank of a Moon sign: water 3 (Brahmin), fire 2 (Kshatriya), earth 1 (Vaishya),
/// air 0 (Shudra).
fn varna(sign: Rasi) -> u8 {
    [2, 1, 0, 3][sign.index() % 4]
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Vashya {
    Chatushpada,
    Manava,
    Jalachara,
    Vanachara,
    Keeta,
}

fn vashya(m: MoonPlacement) -> Vashya {
    use Vashya::*;
    let first_half = m.degree_in_sign() < 15.0;
    match m.sign() {
        Rasi::Aries | Rasi::Taurus => Chatushpada,
        Rasi::Gemini | Rasi::Virgo | Rasi::Libra | Rasi::Aquarius => Manava,
        Rasi::Cancer | Rasi::Pisces => Jalachara,
        Rasi::Leo => Vanachara,
        Rasi::Scorpio => Keeta,
        Rasi::Sagittarius => {
            if first_half {
                Manava
            } else {
                Chatushpada
            }
        }
        Rasi::Capricorn => {
            if first_half {
                Chatushpada
            } else {
                Jalachara
            }
        }
    }
}

/// Vashya points, symmetric table indexed by [`Vashya`] order.
const VASHYA_POINTS: [[f64; 5]; 5] = [
    [2.0, 1.0, 1.0, 0.5, 1.0],
    [1.0, 2.0, 0.5, 0.0, 1.0],
    [1.0, 0.5, 2.0, 1.0, 1.0],
    [0.5, 0.0, 1.0, 2.0, 0.0],
    [1.0, 1.0, 1.0, 0.0, 2.0],
];

/// Yoni animal of each nakshatra: 0 horse, 1 elephant, 2 sheep, 3 serpent, 4 dog, 5 cat,
/// 6 rat, 7 cow, 8 buffalo, 9 tiger, 10 deer, 11 monkey, 12 mongoose, 13 lion.
const YONI: [usize; 27] = [
    0, 1, 2, 3, 3, 4, 5, 2, 5, 6, 6, 7, 8, 9, 8, 9, 10, 10, 4, 11, 12, 11, 13, 0, 13, 7, 1,
];

/// Yoni points (symmetric; sworn enemies score 0).
const YONI_POINTS: [[u8; 14]; 14] = [
    [4, 2, 2, 3, 2, 2, 2, 1, 0, 1, 3, 3, 2, 1],
    [2, 4, 3, 3, 2, 2, 2, 2, 3, 1, 2, 3, 2, 0],
    [2, 3, 4, 2, 1, 2, 1, 3, 3, 1, 2, 0, 3, 1],
    [3, 3, 2, 4, 2, 1, 1, 1, 1, 2, 2, 2, 0, 2],
    [2, 2, 1, 2, 4, 2, 1, 2, 2, 1, 0, 2, 1, 1],
    [2, 2, 2, 1, 2, 4, 0, 2, 2, 1, 3, 3, 2, 1],
    [2, 2, 1, 1, 1, 0, 4, 2, 2, 2, 2, 2, 1, 2],
    [1, 2, 3, 1, 2, 2, 2, 4, 3, 0, 3, 2, 2, 1],
    [0, 3, 3, 1, 2, 2, 2, 3, 4, 1, 2, 2, 2, 1],
    [1, 1, 1, 2, 1, 1, 2, 0, 1, 4, 1, 1, 2, 1],
    [3, 2, 2, 2, 0, 3, 2, 3, 2, 1, 4, 2, 2, 1],
    [3, 3, 0, 2, 2, 3, 2, 2, 2, 1, 2, 4, 3, 2],
    [2, 2, 3, 0, 1, 2, 1, 2, 2, 2, 2, 3, 4, 2],
    [1, 0, 1, 2, 1, 1, 2, 1, 1, 1, 1, 2, 2, 4],
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Relation {
    Friend,
    Neutral,
    Enemy,
}

/// Natural (naisargika) relationship of `of` towards `towards` (Brihat Parashara).
fn natural_relation(of: Graha, towards: Graha) -> Relation {
    use Graha::*;
    use Relation::*;
    let (friends, enemies): (&[Graha], &[Graha]) = match of {
        Sun => (&[Moon, Mars, Jupiter], &[Venus, Saturn]),
        Moon => (&[Sun, Mercury], &[]),
        Mars => (&[Sun, Moon, Jupiter], &[Mercury]),
        Mercury => (&[Sun, Venus], &[Moon]),
        Jupiter => (&[Sun, Moon, Mars], &[Mercury, Venus]),
        Venus => (&[Mercury, Saturn], &[Sun, Moon]),
        Saturn => (&[Mercury, Venus], &[Sun, Moon, Mars]),
        Rahu | Ketu => (&[], &[]),
    };
    if of == towards || friends.contains(&towards) {
        Friend
    } else if enemies.contains(&towards) {
        Enemy
    } else {
        Neutral
    }
}

fn graha_maitri(a: Graha, b: Graha) -> f64 {
    use Relation::*;
    match (natural_relation(a, b), natural_relation(b, a)) {
        (Friend, Friend) => 5.0,
        (Friend, Neutral) | (Neutral, Friend) => 4.0,
        (Neutral, Neutral) => 3.0,
        (Friend, Enemy) | (Enemy, Friend) => 1.0,
        (Neutral, Enemy) | (Enemy, Neutral) => 0.5,
        (Enemy, Enemy) => 0.0,
    }
}

/// Gana: 0 Deva, 1 Manushya, 2 Rakshasa.
const GANA: [usize; 27] = [
    0, 1, 2, 1, 0, 1, 0, 0, 2, 2, 1, 1, 0, 2, 0, 2, 0, 2, 2, 1, 1, 0, 2, 2, 1, 1, 0,
];
/// Gana points [bride gana][groom gana].
const GANA_POINTS: [[f64; 3]; 3] = [[6.0, 5.0, 1.0], [6.0, 6.0, 0.0], [0.0, 0.0, 6.0]];

/// Nadi: 0 Adi, 1 Madhya, 2 Antya, repeating Adi-Madhya-Antya-Antya-Madhya-Adi.
fn nadi(nakshatra: usize) -> u8 {
    [0, 1, 2, 2, 1, 0][nakshatra % 6]
}

/// Inclusive count from `from` to `to` in a cycle of `n` (1..=n).
fn count(from: usize, to: usize, n: usize) -> usize {
    (to + n - from) % n + 1
}

/// Scores the eight kootas for a bride and groom Moon.
pub fn guna_milan(bride: MoonPlacement, groom: MoonPlacement) -> GunaMilan {
    let (bn, gn) = (bride.nakshatra(), groom.nakshatra());
    let (bs, gs) = (bride.sign(), groom.sign());
    let varna_points = if varna(gs) >= varna(bs) { 1.0 } else { 0.0 };
    let vashya_points = VASHYA_POINTS[vashya(groom) as usize][vashya(bride) as usize];
    let tara_good = |from: usize, to: usize| !matches!(count(from, to, 27) % 9, 3 | 5 | 7);
    let tara_points =
        1.5 * (f64::from(u8::from(tara_good(bn, gn))) + f64::from(u8::from(tara_good(gn, bn))));
    let yoni_points = f64::from(YONI_POINTS[YONI[bn]][YONI[gn]]);
    let maitri = graha_maitri(bs.lord(), gs.lord());
    let gana_points = GANA_POINTS[GANA[bn]][GANA[gn]];
    let bhakoot_points = match count(bs.index(), gs.index(), 12) {
        2 | 12 | 5 | 9 | 6 | 8 => 0.0,
        _ => 7.0,
    };
    let nadi_points = if nadi(bn) == nadi(gn) { 0.0 } else { 8.0 };
    let total = varna_points
        + vashya_points
        + tara_points
        + yoni_points
        + maitri
        + gana_points
        + bhakoot_points
        + nadi_points;
    GunaMilan {
        varna: varna_points,
        vashya: vashya_points,
        tara: tara_points,
        yoni: yoni_points,
        graha_maitri: maitri,
        gana: gana_points,
        bhakoot: bhakoot_points,
        nadi: nadi_points,
        total,
    }
}

/// Totals for every (bride pada, groom pada) pair, 108×108, row = bride.
pub fn pada_pair_totals() -> Vec<[f64; 108]> {
    (0..108)
        .map(|b| {
            std::array::from_fn(|g| {
                guna_milan(MoonPlacement::from_pada(b), MoonPlacement::from_pada(g)).total
            })
        })
        .collect()
}

/// Mangal dosha of one chart: Mars in house 1, 2, 4, 7, 8 or 12 counted (whole signs)
/// from the ascendant and/or from the Moon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MangalDosha {
    pub mars_house_from_lagna: u8,
    pub mars_house_from_moon: u8,
    pub from_lagna: bool,
    pub from_moon: bool,
}

impl MangalDosha {
    /// True when either reference shows the dosha.
    pub fn present(&self) -> bool {
        self.from_lagna || self.from_moon
    }
}

/// Mangal dosha from sidereal longitudes of Mars, the Moon and the ascendant.
pub fn mangal_dosha(mars: f64, moon: f64, ascendant: f64) -> MangalDosha {
    let house_from = |reference: f64| {
        count(
            Rasi::of_longitude(reference).index(),
            Rasi::of_longitude(mars).index(),
            12,
        ) as u8
    };
    let afflicted = |h: u8| matches!(h, 1 | 2 | 4 | 7 | 8 | 12);
    let (l, m) = (house_from(ascendant), house_from(moon));
    MangalDosha {
        mars_house_from_lagna: l,
        mars_house_from_moon: m,
        from_lagna: afflicted(l),
        from_moon: afflicted(m),
    }
}

/// Mangal dosha of a full chart.
pub fn mangal_dosha_of(chart: &crate::chart::Chart) -> MangalDosha {
    use crate::chart::Point;
    let lon = |p: Point| {
        chart
            .grahas
            .iter()
            .find(|g| g.point == p)
            .map_or(0.0, |g| g.sidereal.longitude)
    };
    mangal_dosha(
        lon(Point::Mars),
        lon(Point::Moon),
        chart.ascendant.longitude,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_symmetric_and_total_is_bounded() {
        for (i, row) in YONI_POINTS.iter().enumerate() {
            for (j, points) in row.iter().enumerate() {
                assert_eq!(*points, YONI_POINTS[j][i]);
            }
        }
        for row in pada_pair_totals() {
            assert!(row.iter().all(|t| (0.0..=36.0).contains(t)));
        }
    }

    #[test]
    fn same_pada_scores_28_with_nadi_dosha() {
        let m = guna_milan(MoonPlacement::from_pada(0), MoonPlacement::from_pada(0));
        assert_eq!(m.nadi, 0.0);
        assert_eq!(m.total, 28.0);
    }

    #[test]
    fn maitri_matches_classical_table() {
        use Graha::*;
        assert_eq!(graha_maitri(Sun, Moon), 5.0);
        assert_eq!(graha_maitri(Moon, Mercury), 1.0);
        assert_eq!(graha_maitri(Mars, Venus), 3.0);
        assert_eq!(graha_maitri(Sun, Saturn), 0.0);
        assert_eq!(graha_maitri(Mercury, Saturn), 4.0);
    }

    #[test]
    fn mangal_dosha_houses() {
        // Mars in the 7th sign from a Aries lagna.
        let d = mangal_dosha(185.0, 95.0, 10.0);
        assert_eq!(d.mars_house_from_lagna, 7);
        assert!(d.from_lagna);
        assert_eq!(d.mars_house_from_moon, 4);
        assert!(d.present());
        assert!(!mangal_dosha(70.0, 10.0, 10.0).from_lagna);
    }
}
