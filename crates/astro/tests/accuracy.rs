//! Compares the crate against Swiss Ephemeris fixtures (tools/gen_fixtures.py) and
//! asserts the accuracy targets. Run with `--nocapture` to see the worst-case table.

use astro::{Ayanamsa, Body, Snapshot};
use serde_json::Value;

fn fixtures() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/charts.json"
    ))
    .expect("fixtures present");
    serde_json::from_str(&text).expect("valid json")
}

fn arcsec(a: f64, b: f64) -> f64 {
    astro::math::diff_deg(a, b).abs() * 3600.0
}

const NAMES: [(&str, Body); 12] = [
    ("sun", Body::Sun),
    ("moon", Body::Moon),
    ("mercury", Body::Mercury),
    ("venus", Body::Venus),
    ("mars", Body::Mars),
    ("jupiter", Body::Jupiter),
    ("saturn", Body::Saturn),
    ("uranus", Body::Uranus),
    ("neptune", Body::Neptune),
    ("pluto", Body::Pluto),
    ("mean_node", Body::MeanNode),
    ("true_node", Body::TrueNode),
];

#[test]
fn positions_match_swiss_ephemeris() {
    let data = fixtures();
    let cases = data["cases"].as_array().unwrap();
    let mut worst = vec![(0.0f64, 0.0f64, 0.0f64, 0.0f64); NAMES.len()];
    let mut worst_ayan = [0.0f64; 3];
    let mut worst_ayan_mean = [0.0f64; 3];
    for case in cases {
        let jd_ut = case["jd_ut"].as_f64().unwrap();
        let jd_tt = jd_ut + case["delta_t_s"].as_f64().unwrap() / 86_400.0;
        let snap = Snapshot::new(jd_tt);
        for (i, (name, body)) in NAMES.iter().enumerate() {
            let r = case["bodies"][name].as_array().unwrap();
            let p = snap.position(*body);
            let dlon = arcsec(p.longitude, r[0].as_f64().unwrap());
            let dlat = (p.latitude - r[1].as_f64().unwrap()).abs() * 3600.0;
            let dspeed = (p.speed - r[2].as_f64().unwrap()).abs();
            let w = &mut worst[i];
            if dlon > w.0 {
                w.0 = dlon;
                w.3 = jd_ut;
            }
            w.1 = w.1.max(dlat);
            w.2 = w.2.max(dspeed);
        }
        for (i, (name, ayan)) in [
            ("lahiri", Ayanamsa::Lahiri),
            ("raman", Ayanamsa::Raman),
            ("krishnamurti", Ayanamsa::Krishnamurti),
        ]
        .iter()
        .enumerate()
        {
            let t = ayan.true_degrees(jd_tt, snap.orientation.dpsi);
            let m = ayan.mean_degrees(jd_tt);
            worst_ayan[i] =
                worst_ayan[i].max(arcsec(t, case["ayanamsa_true"][name].as_f64().unwrap()));
            worst_ayan_mean[i] =
                worst_ayan_mean[i].max(arcsec(m, case["ayanamsa_mean"][name].as_f64().unwrap()));
        }
    }
    println!(
        "{:10} {:>10} {:>10} {:>12}  worst-at-jd",
        "body", "lon″", "lat″", "speed°/d"
    );
    for (i, (name, _)) in NAMES.iter().enumerate() {
        let w = worst[i];
        println!(
            "{name:10} {:10.4} {:10.4} {:12.7}  {:.3}",
            w.0, w.1, w.2, w.3
        );
    }
    println!("ayanamsa true  lahiri/raman/kp: {:?}", worst_ayan);
    println!("ayanamsa mean  lahiri/raman/kp: {:?}", worst_ayan_mean);
    // Targets: Sun–Saturn and Moon ≤ 1″ (stretch 0.2″); true node ≤ 5″; ayanamsa ≤ 0.01″.
    for (i, (name, _)) in NAMES.iter().enumerate().take(7) {
        assert!(
            worst[i].0 <= 0.2 && worst[i].1 <= 0.2,
            "{name}: {:?}",
            worst[i]
        );
    }
    // Outer planets: DE440 vs DE431 differ by up to ~0.7″ before 1900 (Pluto most).
    for i in 7..10 {
        assert!(worst[i].0 <= 1.0, "{}: {:?}", NAMES[i].0, worst[i]);
    }
    // Mean node: Moshier's DE404-fitted mean elements (residual is the nutation model).
    assert!(worst[10].0 <= 0.01, "mean node {:?}", worst[10]);
    assert!(worst[11].0 <= 5.0, "true node {:?}", worst[11]);
    for w in worst_ayan {
        assert!(w <= 0.01, "ayanamsa {w}");
    }
}

#[test]
fn delta_t_matches_swiss_ephemeris() {
    let data = fixtures();
    let mut worst = (0.0f64, 0.0);
    let mut worst_late = (0.0f64, 0.0);
    for case in data["cases"].as_array().unwrap() {
        let jd_ut = case["jd_ut"].as_f64().unwrap();
        let year = 2000.0 + (jd_ut - 2_451_545.0) / 365.25;
        if year > 2025.0 {
            continue;
        }
        let d = (astro::time::delta_t_seconds(jd_ut) - case["delta_t_s"].as_f64().unwrap()).abs();
        // Swiss Ephemeris 2.10.03 (2022) uses its 2022 prediction from mid-2024 on; the
        // crate uses IERS measured values, which came out 0.11–0.16 s larger.
        let slot = if year > 2024.5 {
            &mut worst_late
        } else {
            &mut worst
        };
        if d > slot.0 {
            *slot = (d, year);
        }
    }
    println!(
        "ΔT worst 1800–2024.5: {:.4} s at {:.2}; 2024.5–2025: {:.4} s at {:.2}",
        worst.0, worst.1, worst_late.0, worst_late.1
    );
    assert!(worst.0 <= 0.1, "{worst:?}");
    assert!(worst_late.0 <= 0.2, "{worst_late:?}");
}

#[test]
fn houses_match_swiss_ephemeris() {
    let data = fixtures();
    let (mut asc, mut mc, mut cusp, mut gast) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let (mut late_asc, mut late_gast) = (0.0f64, 0.0f64);
    for case in data["cases"].as_array().unwrap() {
        let jd_ut = case["jd_ut"].as_f64().unwrap();
        // After 2050 Swiss Ephemeris switches to its own long-term sidereal-time model,
        // offset by ≈ 1.9″ (0.13 s) from IAU 2006 GMST; tracked separately.
        let late = jd_ut > 2_469_807.5;
        let lat = case["lat"].as_f64().unwrap();
        let lon = case["lon"].as_f64().unwrap();
        let snap = Snapshot::new(astro::time::tt_from_ut(jd_ut));
        let h = astro::chart::tropical_houses(&snap, jd_ut, lat, lon, astro::HouseSystem::Placidus)
            .unwrap();
        let g = snap.orientation.gast(jd_ut, snap.jd_tt).to_degrees();
        let g_err = arcsec(g, case["gast_hours"].as_f64().unwrap() * 15.0);
        if late {
            late_asc = late_asc.max(arcsec(h.ascendant, case["asc"].as_f64().unwrap()));
            late_gast = late_gast.max(g_err);
            continue;
        }
        gast = gast.max(g_err);
        asc = asc.max(arcsec(h.ascendant, case["asc"].as_f64().unwrap()));
        mc = mc.max(arcsec(h.midheaven, case["mc"].as_f64().unwrap()));
        for (i, c) in case["placidus"].as_array().unwrap().iter().enumerate() {
            cusp = cusp.max(arcsec(h.cusps[i], c.as_f64().unwrap()));
        }
    }
    println!("worst 1800–2050: asc {asc:.4}″ mc {mc:.4}″ placidus cusp {cusp:.4}″ GAST {gast:.4}″");
    println!(
        "worst 2050–2100 (SE long-term sidereal time): asc {late_asc:.4}″ GAST {late_gast:.4}″"
    );
    assert!(late_gast <= 2.5);
    assert!(
        asc <= 1.0 && mc <= 1.0 && cusp <= 1.0,
        "asc {asc} mc {mc} cusp {cusp}"
    );
}

#[test]
fn nakshatra_sign_pada_and_dasha_match() {
    use astro::vedic::SiderealPlacement;
    let data = fixtures();
    let (mut compared, mut near_boundary) = (0usize, 0usize);
    let mut worst_dasha_days = 0.0f64;
    for case in data["cases"].as_array().unwrap() {
        let jd_ut = case["jd_ut"].as_f64().unwrap();
        let jd_tt = jd_ut + case["delta_t_s"].as_f64().unwrap() / 86_400.0;
        let snap = Snapshot::new(jd_tt);
        let ours_ayan = Ayanamsa::Lahiri.true_degrees(jd_tt, snap.orientation.dpsi);
        let ref_ayan = case["ayanamsa_true"]["lahiri"].as_f64().unwrap();
        for (name, body) in NAMES.iter().take(7).chain(NAMES.iter().skip(10)) {
            let ours =
                SiderealPlacement::from_longitude(snap.position(*body).longitude - ours_ayan);
            let ref_lon = case["bodies"][name][0].as_f64().unwrap() - ref_ayan;
            let reference = SiderealPlacement::from_longitude(ref_lon);
            // Skip only when the reference sits within 1″ of a 3°20′ boundary, where
            // either answer is within the stated accuracy.
            let to_boundary = (astro::math::norm_deg(ref_lon) % (360.0 / 108.0))
                .min(360.0 / 108.0 - astro::math::norm_deg(ref_lon) % (360.0 / 108.0));
            if to_boundary * 3600.0 < 1.0 {
                near_boundary += 1;
                continue;
            }
            compared += 1;
            assert_eq!(
                (
                    ours.sign,
                    ours.nakshatra_index,
                    ours.pada,
                    ours.navamsa,
                    ours.nakshatra_lord
                ),
                (
                    reference.sign,
                    reference.nakshatra_index,
                    reference.pada,
                    reference.navamsa,
                    reference.nakshatra_lord
                ),
                "{name} at {jd_ut}"
            );
        }
        // Dasha from the crate's Moon at the reference ΔT: after 2025 both ΔT values are
        // predictions, and 1 s of ΔT is 0.55″ of Moon ≈ 2 h of a Venus dasha boundary.
        let moon = astro::math::norm_deg(snap.position(Body::Moon).longitude - ours_ayan);
        let v = astro::dasha::vimshottari(jd_ut, moon);
        // If birth falls within minutes of an antardasha boundary the running antardasha
        // (hence the pratyantardasha list) legitimately depends on sub-arcsecond detail.
        let near_antar_edge = v
            .antardashas
            .iter()
            .any(|p| (p.start_jd - jd_ut).abs() < 0.05);
        let levels: &[(&str, &Vec<astro::dasha::DashaPeriod>)] = if near_antar_edge {
            &[("maha", &v.mahadashas), ("antar", &v.antardashas)]
        } else {
            &[
                ("maha", &v.mahadashas),
                ("antar", &v.antardashas),
                ("pratyantar", &v.pratyantardashas),
            ]
        };
        for (level, ours) in levels.iter().copied() {
            for (p, r) in ours.iter().zip(case["dasha"][level].as_array().unwrap()) {
                let r = r.as_array().unwrap();
                let lord = serde_json::to_value(p.lord).unwrap();
                assert_eq!(
                    lord.as_str().unwrap(),
                    r[0].as_str().unwrap(),
                    "{level} at {jd_ut}"
                );
                worst_dasha_days =
                    worst_dasha_days.max((p.start_jd - r[1].as_f64().unwrap()).abs());
                worst_dasha_days = worst_dasha_days.max((p.end_jd - r[2].as_f64().unwrap()).abs());
            }
        }
    }
    println!(
        "placements compared {compared}, skipped near boundary {near_boundary}; dasha worst {:.2} min",
        worst_dasha_days * 1440.0
    );
    // 1″ of lunar longitude moves a Venus dasha boundary by ≈ 3.6 h; 0.03″ by ≈ 7 min.
    assert!(worst_dasha_days * 1440.0 <= 60.0);
}
