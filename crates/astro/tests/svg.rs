//! Chart drawings read back as XML: every label must sit, by id *and* by geometry, in the
//! cell or at the angle the layout rules give it — the geometry here is written from the
//! layout conventions, not taken from the renderer.

use astro::chart::{Chart, Point};
use astro::math::{diff_deg, norm_deg};
use astro::svg::{SvgOptions, aspects, north_indian, south_indian, western_wheel};
use astro::{Ayanamsa, ChartRequest, HouseSystem, Instant, NodeKind, full_chart};
use roxmltree::{Document, Node};

fn request(
    (year, month, day, hour, minute): (i32, u32, u32, u32, u32),
    latitude: f64,
    longitude: f64,
    house_system: HouseSystem,
) -> ChartRequest {
    ChartRequest {
        instant: Instant::Utc {
            year,
            month,
            day,
            hour,
            minute,
            second: 0.0,
        },
        latitude,
        longitude,
        ayanamsa: Ayanamsa::Lahiri,
        house_system,
        node: NodeKind::Mean,
    }
}

/// New Delhi, 17 May 1990 10:00 IST: Cancer rising, Saturn retrograde, bodies in eight signs.
fn delhi(house_system: HouseSystem) -> Chart {
    full_chart(&request(
        (1990, 5, 17, 4, 30),
        28.6139,
        77.209,
        house_system,
    ))
    .unwrap()
}

/// London, 4 February 1962, the great stellium: eight grahas in sidereal Capricorn.
fn stellium() -> Chart {
    full_chart(&request(
        (1962, 2, 4, 5, 0),
        51.5,
        -0.12,
        HouseSystem::Placidus,
    ))
    .unwrap()
}

const SLUGS: [(Point, &str, &str); 12] = [
    (Point::Sun, "sun", "Su"),
    (Point::Moon, "moon", "Mo"),
    (Point::Mars, "mars", "Ma"),
    (Point::Mercury, "mercury", "Me"),
    (Point::Jupiter, "jupiter", "Ju"),
    (Point::Venus, "venus", "Ve"),
    (Point::Saturn, "saturn", "Sa"),
    (Point::Rahu, "rahu", "Ra"),
    (Point::Ketu, "ketu", "Ke"),
    (Point::Uranus, "uranus", "Ur"),
    (Point::Neptune, "neptune", "Ne"),
    (Point::Pluto, "pluto", "Pl"),
];
const SIGNS: [&str; 12] = [
    "aries",
    "taurus",
    "gemini",
    "cancer",
    "leo",
    "virgo",
    "libra",
    "scorpio",
    "sagittarius",
    "capricorn",
    "aquarius",
    "pisces",
];

fn slug(p: Point) -> &'static str {
    SLUGS.iter().find(|s| s.0 == p).unwrap().1
}

fn short(p: Point) -> &'static str {
    SLUGS.iter().find(|s| s.0 == p).unwrap().2
}

fn is_outer(p: Point) -> bool {
    matches!(p, Point::Uranus | Point::Neptune | Point::Pluto)
}

fn parse(svg: &str) -> Document<'_> {
    Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{svg}"))
}

fn attr(n: Node, name: &str) -> f64 {
    n.attribute(name)
        .unwrap_or_else(|| panic!("{name} missing on {n:?}"))
        .parse()
        .unwrap()
}

fn by_id<'a, 'i>(doc: &'a Document<'i>, id: &str) -> Node<'a, 'i> {
    let found: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("id") == Some(id))
        .collect();
    assert_eq!(found.len(), 1, "id {id} must occur exactly once");
    found[0]
}

/// Visual centre of a `<text>` (the renderer puts the baseline 0.36 em below it).
fn text_centre(n: Node) -> (f64, f64) {
    (attr(n, "x"), attr(n, "y") - 0.36 * attr(n, "font-size"))
}

fn text_of<'a>(n: Node<'a, '_>) -> &'a str {
    n.text().unwrap_or("")
}

fn texts_with<'a, 'i>(root: Node<'a, 'i>, class: &str) -> Vec<Node<'a, 'i>> {
    root.descendants()
        .filter(|n| {
            n.has_tag_name("text")
                && n.attribute("class")
                    .is_some_and(|c| c.split(' ').any(|c| c == class))
        })
        .collect()
}

fn frame(doc: &Document) -> (f64, f64, f64) {
    let f = by_id(doc, "frame");
    let side = attr(f, "width");
    assert_eq!(side, attr(f, "height"));
    (attr(f, "x"), attr(f, "y"), side)
}

/// Strictly inside a convex polygon (either winding).
fn inside(poly: &[(f64, f64)], p: (f64, f64)) -> bool {
    let n = poly.len();
    let crosses: Vec<f64> = (0..n)
        .map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % n]);
            (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0)
        })
        .collect();
    crosses.iter().all(|&c| c > 0.0) || crosses.iter().all(|&c| c < 0.0)
}

/// The North Indian cell of house `h` (1-based) in quarters of the square: house 1 the top
/// diamond, then counter-clockwise — 2 top-left triangle, 3 left-upper, 4 left diamond,
/// 5 left-lower, 6 bottom-left, 7 bottom diamond, 8 bottom-right, 9 right-lower, 10 right
/// diamond, 11 right-upper, 12 top-right.
fn north_cell(h: usize, (x0, y0, side): (f64, f64, f64)) -> Vec<(f64, f64)> {
    let q: &[(f64, f64)] = match h {
        1 => &[(2., 0.), (3., 1.), (2., 2.), (1., 1.)],
        2 => &[(0., 0.), (2., 0.), (1., 1.)],
        3 => &[(0., 0.), (1., 1.), (0., 2.)],
        4 => &[(0., 2.), (1., 1.), (2., 2.), (1., 3.)],
        5 => &[(0., 2.), (1., 3.), (0., 4.)],
        6 => &[(0., 4.), (1., 3.), (2., 4.)],
        7 => &[(1., 3.), (2., 2.), (3., 3.), (2., 4.)],
        8 => &[(2., 4.), (3., 3.), (4., 4.)],
        9 => &[(4., 4.), (3., 3.), (4., 2.)],
        10 => &[(4., 2.), (3., 3.), (2., 2.), (3., 1.)],
        11 => &[(4., 2.), (3., 1.), (4., 0.)],
        12 => &[(4., 0.), (3., 1.), (2., 0.)],
        _ => unreachable!(),
    };
    q.iter()
        .map(|&(a, b)| (x0 + side * a / 4.0, y0 + side * b / 4.0))
        .collect()
}

/// South Indian cell of a sign (0 = Aries) as a square: Pisces top-left, Aries, Taurus,
/// Gemini along the top, Cancer and Leo down the right, Virgo … Sagittarius right to left
/// along the bottom, Capricorn and Aquarius up the left.
fn south_cell(sign: usize, (x0, y0, side): (f64, f64, f64)) -> Vec<(f64, f64)> {
    let (c, r) = match SIGNS[sign] {
        "pisces" => (0., 0.),
        "aries" => (1., 0.),
        "taurus" => (2., 0.),
        "gemini" => (3., 0.),
        "cancer" => (3., 1.),
        "leo" => (3., 2.),
        "virgo" => (3., 3.),
        "libra" => (2., 3.),
        "scorpio" => (1., 3.),
        "sagittarius" => (0., 3.),
        "capricorn" => (0., 2.),
        "aquarius" => (0., 1.),
        _ => unreachable!(),
    };
    let q = side / 4.0;
    let (x, y) = (x0 + c * q, y0 + r * q);
    vec![(x, y), (x + q, y), (x + q, y + q), (x, y + q)]
}

fn expected_label(chart: &Chart, p: Point) -> String {
    let g = chart.grahas.iter().find(|g| g.point == p).unwrap();
    let mut s = format!("{} {}°", short(p), g.sidereal.degree_in_sign.floor() as u32);
    if g.retrograde && !matches!(p, Point::Rahu | Point::Ketu) {
        s.push_str(" (R)");
    }
    s
}

#[test]
fn documents_are_standalone_svg_with_short_numbers() {
    let chart = delhi(HouseSystem::Placidus);
    let opts = SvgOptions {
        size: 300,
        include_outer: true,
        ..SvgOptions::default()
    };
    for svg in [
        north_indian(&chart, &opts),
        south_indian(&chart, &opts),
        western_wheel(&chart, &opts),
    ] {
        let doc = parse(&svg);
        let root = doc.root_element();
        assert!(root.has_tag_name(("http://www.w3.org/2000/svg", "svg")));
        assert_eq!(root.attribute("viewBox"), Some("0 0 480 480"));
        assert_eq!(root.attribute("width"), Some("300"));
        assert_eq!(root.attribute("height"), Some("300"));
        for n in doc.descendants().filter(|n| n.is_element()) {
            let tag = n.tag_name().name();
            assert!(
                !["script", "image", "foreignObject", "style", "use", "a"].contains(&tag),
                "{tag}"
            );
            for a in n.attributes() {
                assert!(!a.name().contains("href") && !a.name().starts_with("on"));
                assert!(!a.value().contains("url("), "{}", a.value());
                if !a.name().starts_with("data-") && !["id", "class"].contains(&a.name()) {
                    for number in a
                        .value()
                        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
                    {
                        let decimals = number.split_once('.').map_or(0, |(_, d)| d.len());
                        assert!(decimals <= 2, "{}={}", a.name(), a.value());
                    }
                }
            }
        }
        assert!(!svg.contains("http://") || svg.matches("http://").count() == 1);
    }
}

#[test]
fn north_indian_puts_each_graha_in_its_whole_sign_house() {
    // Placidus on purpose: the diamond is a whole-sign chart whatever the cusps say.
    for chart in [
        delhi(HouseSystem::Placidus),
        delhi(HouseSystem::WholeSign),
        stellium(),
    ] {
        let svg = north_indian(
            &chart,
            &SvgOptions {
                include_outer: true,
                ..SvgOptions::default()
            },
        );
        let doc = parse(&svg);
        let square = frame(&doc);
        let asc = chart.ascendant.sign.index();
        for h in 1..=12usize {
            let group = by_id(&doc, &format!("house-{h}"));
            let sign = (asc + h - 1) % 12;
            let cell = north_cell(h, square);
            assert_eq!(group.attribute("data-sign"), Some(SIGNS[sign]));
            let numbers = texts_with(group, "sign-number");
            assert_eq!(numbers.len(), 1);
            assert_eq!(text_of(numbers[0]), (sign + 1).to_string(), "house {h}");
            assert!(
                inside(&cell, text_centre(numbers[0])),
                "number of house {h}"
            );
            // …in the cell's corner that points at the centre of the chart.
            let centre = (square.0 + square.2 / 2.0, square.1 + square.2 / 2.0);
            let d = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).hypot(a.1 - b.1);
            let inner = cell
                .iter()
                .copied()
                .min_by(|a, b| d(*a, centre).total_cmp(&d(*b, centre)))
                .unwrap();
            let at = text_centre(numbers[0]);
            assert!(
                cell.iter().all(|v| d(at, inner) <= d(at, *v)),
                "number of house {h} not by the inner corner"
            );
            let mut found: Vec<&str> = Vec::new();
            for t in texts_with(group, "graha") {
                let p = chart
                    .grahas
                    .iter()
                    .find(|g| Some(slug(g.point)) == t.attribute("data-point"))
                    .unwrap();
                assert_eq!(p.sidereal.sign.index(), sign, "{:?} in house {h}", p.point);
                assert_eq!(text_of(t), expected_label(&chart, p.point));
                assert!(
                    inside(&cell, text_centre(t)),
                    "{:?} drawn outside house {h}",
                    p.point
                );
                found.push(slug(p.point));
            }
            let expected: Vec<&str> = chart
                .grahas
                .iter()
                .filter(|g| g.sidereal.sign.index() == sign)
                .map(|g| slug(g.point))
                .collect();
            assert_eq!(found, expected, "house {h}");
        }
    }
}

#[test]
fn north_indian_marks_the_ascendant_in_the_top_diamond() {
    let chart = delhi(HouseSystem::WholeSign);
    assert_eq!(chart.ascendant.sign.index(), 3, "Cancer rising");
    let svg = north_indian(&chart, &SvgOptions::default());
    let doc = parse(&svg);
    let marks = texts_with(doc.root(), "asc");
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].parent().unwrap().attribute("id"), Some("house-1"));
    assert_eq!(
        text_of(marks[0]),
        format!("Asc {}°", chart.ascendant.degree_in_sign.floor())
    );
    assert!(inside(&north_cell(1, frame(&doc)), text_centre(marks[0])));
    // Cancer rising: house 1 shows 4, house 4 (left diamond) Libra = 7, house 10 Aries = 1.
    let number = |h: usize| {
        text_of(texts_with(by_id(&doc, &format!("house-{h}")), "sign-number")[0]).to_string()
    };
    assert_eq!(
        (number(1), number(4), number(7), number(10)),
        ("4".into(), "7".into(), "10".into(), "1".into())
    );
}

#[test]
fn south_indian_puts_grahas_and_ascendant_in_fixed_sign_cells() {
    for chart in [delhi(HouseSystem::WholeSign), stellium()] {
        let svg = south_indian(
            &chart,
            &SvgOptions {
                include_outer: true,
                ..SvgOptions::default()
            },
        );
        let doc = parse(&svg);
        let square = frame(&doc);
        let asc = chart.ascendant.sign.index();
        for (sign, name) in SIGNS.iter().enumerate() {
            let group = by_id(&doc, &format!("sign-{name}"));
            let cell = south_cell(sign, square);
            assert_eq!(
                group.attribute("data-house"),
                Some(((sign + 12 - asc) % 12 + 1).to_string().as_str())
            );
            let mut found: Vec<&str> = Vec::new();
            for t in texts_with(group, "graha") {
                let p = chart
                    .grahas
                    .iter()
                    .find(|g| Some(slug(g.point)) == t.attribute("data-point"))
                    .unwrap();
                assert_eq!(p.sidereal.sign.index(), sign, "{:?}", p.point);
                assert_eq!(text_of(t), expected_label(&chart, p.point));
                assert!(
                    inside(&cell, text_centre(t)),
                    "{:?} outside {name}",
                    p.point
                );
                found.push(slug(p.point));
            }
            let expected: Vec<&str> = chart
                .grahas
                .iter()
                .filter(|g| g.sidereal.sign.index() == sign)
                .map(|g| slug(g.point))
                .collect();
            assert_eq!(found, expected, "{name}");
            let asc_texts = texts_with(group, "asc");
            let asc_lines: Vec<_> = group
                .children()
                .filter(|n| n.attribute("class") == Some("asc-mark"))
                .collect();
            if sign == asc {
                assert_eq!((asc_texts.len(), asc_lines.len()), (1, 1), "{name}");
                assert!(inside(&cell, text_centre(asc_texts[0])));
                let l = asc_lines[0];
                // A diagonal across the cell's top-left corner.
                let (a, b) = (
                    (attr(l, "x1"), attr(l, "y1")),
                    (attr(l, "x2"), attr(l, "y2")),
                );
                assert!((a.0 - cell[0].0).abs() < 0.01 && (b.1 - cell[0].1).abs() < 0.01);
                assert!(a.1 > cell[0].1 && b.0 > cell[0].0);
            } else {
                assert_eq!((asc_texts.len(), asc_lines.len()), (0, 0), "{name}");
            }
        }
    }
}

/// Screen angle (degrees, counter-clockwise from 3 o'clock) of a point seen from the centre.
fn screen_angle(centre: (f64, f64), p: (f64, f64)) -> f64 {
    norm_deg((-(p.1 - centre.1)).atan2(p.0 - centre.0).to_degrees())
}

/// Where a tropical longitude belongs on the wheel: ascendant at 9 o'clock, zodiac
/// counter-clockwise.
fn wheel_angle(chart: &Chart, tropical: f64) -> f64 {
    let asc = chart.ascendant.longitude + chart.ayanamsa_degrees;
    norm_deg(180.0 + tropical - asc)
}

fn assert_angle(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        diff_deg(actual, expected).abs() <= tolerance,
        "{what}: at {actual:.3}°, expected {expected:.3}°"
    );
}

#[test]
fn western_wheel_puts_everything_at_its_tropical_longitude() {
    for chart in [
        delhi(HouseSystem::Placidus),
        delhi(HouseSystem::WholeSign),
        stellium(),
    ] {
        for title in [None, Some("Wheel".to_string())] {
            let opts = SvgOptions {
                include_outer: true,
                title,
                ..SvgOptions::default()
            };
            let svg = western_wheel(&chart, &opts);
            let doc = parse(&svg);
            let ring = by_id(&doc, "house-ring");
            let centre = (attr(ring, "cx"), attr(ring, "cy"));
            let ay = chart.ayanamsa_degrees;

            // Ascendant on the left, horizontal; MC where its longitude says.
            let axis = by_id(&doc, "axis-asc");
            let (x1, y1, x2, y2) = (
                attr(axis, "x1"),
                attr(axis, "y1"),
                attr(axis, "x2"),
                attr(axis, "y2"),
            );
            assert!(
                x2 < x1
                    && x1 < centre.0
                    && (y1 - centre.1).abs() < 0.01
                    && (y2 - centre.1).abs() < 0.01
            );
            assert!(attr(by_id(&doc, "label-asc"), "x") < centre.0);
            let mc = by_id(&doc, "axis-mc");
            assert_angle(
                screen_angle(centre, (attr(mc, "x2"), attr(mc, "y2"))),
                wheel_angle(&chart, chart.midheaven + ay),
                0.05,
                "MC",
            );

            for (k, name) in SIGNS.iter().enumerate() {
                let label = texts_with(by_id(&doc, &format!("sign-{name}")), "sign-label")[0];
                assert_angle(
                    screen_angle(centre, text_centre(label)),
                    wheel_angle(&chart, 30.0 * k as f64 + 15.0),
                    0.5,
                    name,
                );
            }

            let cusps: Vec<_> = doc
                .descendants()
                .filter(|n| n.attribute("class") == Some("cusp"))
                .collect();
            assert_eq!(cusps.len(), 12);
            for (i, l) in cusps.iter().enumerate() {
                assert_eq!(
                    l.attribute("data-house"),
                    Some((i + 1).to_string().as_str())
                );
                assert_angle(
                    screen_angle(centre, (attr(*l, "x2"), attr(*l, "y2"))),
                    wheel_angle(&chart, chart.cusps[i] + ay),
                    0.05,
                    "cusp",
                );
            }

            for g in &chart.grahas {
                let group = by_id(&doc, &format!("planet-{}", slug(g.point)));
                let tick = group
                    .children()
                    .find(|n| n.attribute("class") == Some("tick"))
                    .unwrap();
                let expected = wheel_angle(&chart, g.tropical_longitude);
                for end in [("x1", "y1"), ("x2", "y2")] {
                    assert_angle(
                        screen_angle(centre, (attr(tick, end.0), attr(tick, end.1))),
                        expected,
                        0.05,
                        slug(g.point),
                    );
                }
                // The label may be pushed aside (a stellium spreads over tens of degrees),
                // but stays near its body.
                let label = texts_with(group, "graha")[0];
                assert_angle(
                    screen_angle(centre, text_centre(label)),
                    expected,
                    40.0,
                    slug(g.point),
                );
                let degree = texts_with(group, "degree")[0];
                assert_eq!(
                    text_of(degree),
                    format!("{}°", (norm_deg(g.tropical_longitude) % 30.0).floor())
                );
            }
        }
    }
}

#[test]
fn western_wheel_labels_keep_the_order_of_their_bodies() {
    let chart = stellium();
    let svg = western_wheel(
        &chart,
        &SvgOptions {
            include_outer: true,
            ..SvgOptions::default()
        },
    );
    let doc = parse(&svg);
    let centre = {
        let ring = by_id(&doc, "house-ring");
        (attr(ring, "cx"), attr(ring, "cy"))
    };
    let label_angle = |p: Point| {
        let group = by_id(&doc, &format!("planet-{}", slug(p)));
        screen_angle(centre, text_centre(texts_with(group, "graha")[0]))
    };
    for a in &chart.grahas {
        for b in &chart.grahas {
            let exact = diff_deg(a.tropical_longitude, b.tropical_longitude);
            if a.point != b.point && exact.abs() < 60.0 && exact != 0.0 {
                let shown = diff_deg(label_angle(a.point), label_angle(b.point));
                assert_eq!(
                    shown > 0.0,
                    exact > 0.0,
                    "{:?} and {:?} labels swapped",
                    a.point,
                    b.point
                );
            }
        }
    }
}

#[test]
fn western_wheel_labels_do_not_collide_in_a_stellium() {
    let chart = stellium();
    for glyphs in [true, false] {
        let svg = western_wheel(
            &chart,
            &SvgOptions {
                include_outer: true,
                glyphs,
                ..SvgOptions::default()
            },
        );
        let doc = parse(&svg);
        for class in ["graha", "degree"] {
            let labels: Vec<(f64, f64)> = texts_with(doc.root(), class)
                .into_iter()
                .map(text_centre)
                .collect();
            assert_eq!(labels.len(), 12);
            for (i, a) in labels.iter().enumerate() {
                for b in &labels[i + 1..] {
                    let d = (a.0 - b.0).hypot(a.1 - b.1);
                    assert!(d >= 16.0, "{class} labels {d:.1} px apart");
                }
            }
        }
    }
}

#[test]
fn north_indian_crowded_cell_labels_do_not_overlap() {
    let chart = stellium();
    let svg = north_indian(&chart, &SvgOptions::default());
    let doc = parse(&svg);
    let crowded = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("house"))
        .max_by_key(|g| texts_with(*g, "graha").len())
        .unwrap();
    let labels = texts_with(crowded, "graha");
    assert!(labels.len() >= 7, "the 1962 stellium shares one sign");
    let font = attr(labels[0], "font-size");
    assert!(font >= 7.0);
    for (i, a) in labels.iter().enumerate() {
        for b in &labels[i + 1..] {
            let (pa, pb) = (text_centre(*a), text_centre(*b));
            // Different rows, or columns at least as far apart as the text is wide
            // (≥ 0.5 em per character in any sans-serif).
            let width =
                0.5 * font * (text_of(*a).chars().count() + text_of(*b).chars().count()) as f64
                    / 2.0;
            assert!(
                (pa.1 - pb.1).abs() >= font || (pa.0 - pb.0).abs() >= width,
                "{} and {} overlap",
                text_of(*a),
                text_of(*b)
            );
        }
    }
}

#[test]
fn every_body_appears_exactly_once() {
    let chart = delhi(HouseSystem::Placidus);
    for include_outer in [false, true] {
        let opts = SvgOptions {
            include_outer,
            ..SvgOptions::default()
        };
        for svg in [
            north_indian(&chart, &opts),
            south_indian(&chart, &opts),
            western_wheel(&chart, &opts),
        ] {
            let doc = parse(&svg);
            let labels = texts_with(doc.root(), "graha");
            for (p, slug, _) in SLUGS {
                let n = labels
                    .iter()
                    .filter(|t| t.attribute("data-point") == Some(slug))
                    .count();
                assert_eq!(n, usize::from(include_outer || !is_outer(p)), "{slug}");
            }
            assert_eq!(labels.len(), if include_outer { 12 } else { 9 });
        }
    }
}

#[test]
fn retrograde_bodies_are_marked() {
    let chart = delhi(HouseSystem::WholeSign);
    let saturn = chart
        .grahas
        .iter()
        .find(|g| g.point == Point::Saturn)
        .unwrap();
    assert!(saturn.retrograde, "Saturn was retrograde in May 1990");
    let opts = SvgOptions {
        include_outer: true,
        ..SvgOptions::default()
    };
    let doc_svg = north_indian(&chart, &opts);
    let doc = parse(&doc_svg);
    for t in texts_with(doc.root(), "graha") {
        let g = chart
            .grahas
            .iter()
            .find(|g| Some(slug(g.point)) == t.attribute("data-point"))
            .unwrap();
        let marked = g.retrograde && !matches!(g.point, Point::Rahu | Point::Ketu);
        assert_eq!(text_of(t).ends_with(" (R)"), marked, "{:?}", g.point);
    }
    let wheel = western_wheel(&chart, &opts);
    let doc = parse(&wheel);
    for g in &chart.grahas {
        let group = by_id(&doc, &format!("planet-{}", slug(g.point)));
        let marked = g.retrograde && !matches!(g.point, Point::Rahu | Point::Ketu);
        let marks = texts_with(group, "retrograde");
        assert_eq!(marks.len(), usize::from(marked), "{:?}", g.point);
        if marked {
            assert_eq!(text_of(marks[0]), "℞");
        }
    }
}

#[test]
fn aspect_lines_match_the_aspects() {
    let chart = delhi(HouseSystem::Placidus);
    let found = aspects(&chart, true);
    assert!(!found.is_empty());
    for a in &found {
        let la = chart
            .grahas
            .iter()
            .find(|g| g.point == a.a)
            .unwrap()
            .tropical_longitude;
        let lb = chart
            .grahas
            .iter()
            .find(|g| g.point == a.b)
            .unwrap()
            .tropical_longitude;
        let sep = diff_deg(la, lb).abs();
        assert!((sep - a.kind.angle()).abs() <= a.kind.orb());
        assert!((a.orb - (sep - a.kind.angle()).abs()).abs() < 1e-9);
        assert!(
            !matches!(a.a, Point::Rahu | Point::Ketu) && !matches!(a.b, Point::Rahu | Point::Ketu)
        );
    }
    let svg = western_wheel(
        &chart,
        &SvgOptions {
            include_outer: true,
            ..SvgOptions::default()
        },
    );
    let doc = parse(&svg);
    let ring = by_id(&doc, "aspect-ring");
    let centre = (attr(ring, "cx"), attr(ring, "cy"));
    let lines: Vec<_> = by_id(&doc, "aspects")
        .children()
        .filter(|n| n.is_element())
        .collect();
    assert_eq!(lines.len(), found.len());
    for (line, a) in lines.iter().zip(&found) {
        assert_eq!(line.attribute("data-a"), Some(slug(a.a)));
        assert_eq!(line.attribute("data-b"), Some(slug(a.b)));
        let la = chart
            .grahas
            .iter()
            .find(|g| g.point == a.a)
            .unwrap()
            .tropical_longitude;
        assert_angle(
            screen_angle(centre, (attr(*line, "x1"), attr(*line, "y1"))),
            wheel_angle(&chart, la),
            0.05,
            "aspect end",
        );
    }
    let without = western_wheel(
        &chart,
        &SvgOptions {
            aspects: false,
            ..SvgOptions::default()
        },
    );
    assert!(!without.contains("class=\"aspect"));
}

#[test]
fn titles_and_theme_values_are_escaped() {
    let chart = delhi(HouseSystem::WholeSign);
    let title = "<script>alert('x')</script> & \"Ravi\"\u{1}";
    let mut opts = SvgOptions {
        title: Some(title.to_string()),
        ..SvgOptions::default()
    };
    opts.theme.accent = "red\"/><script>x</script>".to_string();
    for svg in [
        north_indian(&chart, &opts),
        south_indian(&chart, &opts),
        western_wheel(&chart, &opts),
    ] {
        assert!(!svg.contains("<script"), "{svg}");
        assert!(
            svg.contains(
                "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;Ravi&quot;"
            )
        );
        let doc = parse(&svg);
        assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
        let shown = texts_with(doc.root(), "title");
        assert_eq!(shown.len(), 1);
        // The control character XML cannot carry is dropped, the rest survives verbatim
        // (a wrapped title is one <text> with a <tspan> per line, broken at spaces).
        assert_eq!(all_text(shown[0]), title.trim_end_matches('\u{1}'));
        let accessible = doc
            .root_element()
            .children()
            .find(|n| n.has_tag_name("title"))
            .unwrap();
        assert!(text_of(accessible).ends_with(title.trim_end_matches('\u{1}')));
    }
}

/// A `<text>`'s lines joined by spaces.
fn all_text(n: Node) -> String {
    n.descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn long_titles_wrap_or_shrink_to_stay_legible() {
    let chart = delhi(HouseSystem::WholeSign);
    let title = "Consultation chart for Shrimati Ananya Venkataraman, Bengaluru";
    let opts = SvgOptions {
        title: Some(title.into()),
        ..SvgOptions::default()
    };
    // The South Indian centre is narrow: two lines, still a readable size.
    let svg = south_indian(&chart, &opts);
    let doc = parse(&svg);
    let shown = texts_with(doc.root(), "title")[0];
    assert_eq!(shown.children().filter(|n| n.is_element()).count(), 2);
    assert!(attr(shown, "font-size") >= 10.0);
    assert_eq!(all_text(shown), title);
    // Across the top of the others it fits on one line.
    let svg = north_indian(&chart, &opts);
    let doc = parse(&svg);
    assert_eq!(all_text(texts_with(doc.root(), "title")[0]), title);
    // An absurd title is cut rather than shrunk to nothing.
    let huge = "x".repeat(500);
    for svg in [
        north_indian(
            &chart,
            &SvgOptions {
                title: Some(huge.clone()),
                ..SvgOptions::default()
            },
        ),
        south_indian(
            &chart,
            &SvgOptions {
                title: Some(huge.clone()),
                ..SvgOptions::default()
            },
        ),
    ] {
        let doc = parse(&svg);
        let shown = texts_with(doc.root(), "title")[0];
        assert!(attr(shown, "font-size") >= 7.0);
        let text = all_text(shown);
        assert!(text.ends_with('…') && text.chars().count() < 120, "{text}");
    }
}

#[test]
fn rendering_is_deterministic() {
    let opts = SvgOptions {
        title: Some("Same".into()),
        include_outer: true,
        ..SvgOptions::default()
    };
    let (a, b) = (stellium(), stellium());
    for f in [north_indian, south_indian, western_wheel] {
        let first = f(&a, &opts);
        assert_eq!(first, f(&b, &opts));
        assert_eq!(first, f(&a, &opts));
    }
}
