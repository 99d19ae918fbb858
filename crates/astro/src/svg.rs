//! Chart drawings: a [`Chart`] as a standalone SVG document in the three layouts people
//! recognise — the North Indian diamond ([`north_indian`]), the South Indian grid
//! ([`south_indian`]) and the western tropical wheel ([`western_wheel`]).
//!
//! Owns the drawing and nothing else: cell and wheel geometry, fitting labels into cells,
//! spreading crowded wheel labels apart, the wheel's major aspects ([`aspects`]) and XML
//! escaping. Like the rest of the crate it is pure: no IO, no clock, no fonts, images or
//! scripts embedded or linked (text uses the viewer's sans-serif font), and the same chart
//! and options always give the same bytes.
//!
//! Every document draws in a fixed 480×480 user space (`viewBox="0 0 480 480"`); `size`
//! only sets `width`/`height`, so the layout — and therefore the fit of every label — does
//! not depend on the pixel size. Elements a client may want to find carry stable ids and
//! classes: `house-N` (North Indian cells), `sign-<name>` (South Indian cells and the
//! wheel's zodiac ring), `planet-<name>` (wheel bodies), `class="graha"` with
//! `data-point="<name>"` on every body label and `class="asc"` on the ascendant mark.

use std::fmt::Write;

use crate::ayanamsa::Ayanamsa;
use crate::chart::{Chart, GrahaPosition, Point};
use crate::houses::HouseSystem;
use crate::math::{diff_deg, norm_deg};
use crate::time::calendar_date;

/// Side of the drawing's user space.
const VIEW: f64 = 480.0;
/// Clearance between a label's box and the lines around it.
const PAD: f64 = 3.0;
const FONT_FAMILY: &str = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif";

/// Colours. Any SVG paint value works (`#rrggbb`, names, `rgb(…)`); values are escaped.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub background: String,
    /// Frame, cell and cusp lines.
    pub line: String,
    /// Body labels.
    pub text: String,
    /// Sign numbers and names, degree ticks, captions.
    pub muted: String,
    /// Ascendant mark and axes.
    pub accent: String,
    /// Fire, earth, air and water: tints of the wheel's zodiac ring and its sign glyphs.
    pub elements: [String; 4],
    /// Conjunction lines.
    pub conjunction: String,
    /// Trine and sextile lines.
    pub harmonious: String,
    /// Square and opposition lines.
    pub challenging: String,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            background: "#fffdf8".into(),
            line: "#6b4f3a".into(),
            text: "#1f1f1f".into(),
            muted: "#8c7a68".into(),
            accent: "#b3261e".into(),
            elements: [
                "#d9480f".into(),
                "#2b8a3e".into(),
                "#b08900".into(),
                "#1864ab".into(),
            ],
            conjunction: "#7950f2".into(),
            harmonious: "#1c7ed6".into(),
            challenging: "#e03131".into(),
        }
    }
}

/// What to draw and how.
#[derive(Debug, Clone, PartialEq)]
pub struct SvgOptions {
    /// `width` and `height` of the document in pixels (the user space is always 480×480).
    pub size: u32,
    /// Shown above the chart (in the centre of the South Indian grid); escaped.
    pub title: Option<String>,
    /// Also draw Uranus, Neptune and Pluto (Ur Ne Pl).
    pub include_outer: bool,
    /// Draw major-aspect lines inside the western wheel.
    pub aspects: bool,
    /// Planet and sign glyphs (☉ ♈ …) in the western wheel instead of two-letter labels.
    pub glyphs: bool,
    pub theme: Theme,
}

impl Default for SvgOptions {
    fn default() -> Self {
        SvgOptions {
            size: 480,
            title: None,
            include_outer: false,
            aspects: true,
            glyphs: true,
            theme: Theme::default(),
        }
    }
}

/// The five major (Ptolemaic) aspects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AspectKind {
    Conjunction,
    Sextile,
    Square,
    Trine,
    Opposition,
}

impl AspectKind {
    pub const ALL: [AspectKind; 5] = [
        AspectKind::Conjunction,
        AspectKind::Sextile,
        AspectKind::Square,
        AspectKind::Trine,
        AspectKind::Opposition,
    ];

    /// Exact separation, degrees.
    pub fn angle(self) -> f64 {
        match self {
            AspectKind::Conjunction => 0.0,
            AspectKind::Sextile => 60.0,
            AspectKind::Square => 90.0,
            AspectKind::Trine => 120.0,
            AspectKind::Opposition => 180.0,
        }
    }

    /// Largest allowed departure from exact, degrees (common modern orbs: wide for the
    /// strong aspects, narrow for the sextile).
    pub fn orb(self) -> f64 {
        match self {
            AspectKind::Conjunction | AspectKind::Opposition => 8.0,
            AspectKind::Trine | AspectKind::Square => 7.0,
            AspectKind::Sextile => 5.0,
        }
    }

    fn name(self) -> &'static str {
        match self {
            AspectKind::Conjunction => "conjunction",
            AspectKind::Sextile => "sextile",
            AspectKind::Square => "square",
            AspectKind::Trine => "trine",
            AspectKind::Opposition => "opposition",
        }
    }
}

/// One aspect between two bodies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aspect {
    pub a: Point,
    pub b: Point,
    pub kind: AspectKind,
    /// |separation − exact angle|, degrees.
    pub orb: f64,
}

/// Major aspects between the chart's bodies (Sun … Saturn, plus Uranus … Pluto when
/// `include_outer`), each pair at most once, in chart order. The nodes are left out: the
/// western wheel reads aspects between bodies, and Rahu–Ketu are always opposite.
pub fn aspects(chart: &Chart, include_outer: bool) -> Vec<Aspect> {
    let bodies: Vec<&GrahaPosition> = chart
        .grahas
        .iter()
        .filter(|g| !is_node(g.point) && (include_outer || !is_outer(g.point)))
        .collect();
    let mut out = Vec::new();
    for (i, a) in bodies.iter().enumerate() {
        for b in &bodies[i + 1..] {
            let separation = diff_deg(a.tropical_longitude, b.tropical_longitude).abs();
            // Orbs never overlap (any two sum to less than the 30° closest spacing of the
            // exact angles), so at most one kind fits.
            if let Some(kind) = AspectKind::ALL
                .into_iter()
                .find(|k| (separation - k.angle()).abs() <= k.orb())
            {
                out.push(Aspect {
                    a: a.point,
                    b: b.point,
                    kind,
                    orb: (separation - kind.angle()).abs(),
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Vocabulary

fn is_outer(p: Point) -> bool {
    matches!(p, Point::Uranus | Point::Neptune | Point::Pluto)
}

fn is_node(p: Point) -> bool {
    matches!(p, Point::Rahu | Point::Ketu)
}

/// Two-letter Jyotish label.
fn short(p: Point) -> &'static str {
    match p {
        Point::Sun => "Su",
        Point::Moon => "Mo",
        Point::Mars => "Ma",
        Point::Mercury => "Me",
        Point::Jupiter => "Ju",
        Point::Venus => "Ve",
        Point::Saturn => "Sa",
        Point::Rahu => "Ra",
        Point::Ketu => "Ke",
        Point::Uranus => "Ur",
        Point::Neptune => "Ne",
        Point::Pluto => "Pl",
    }
}

/// Id/data slug, the same spelling as the chart's JSON.
fn slug(p: Point) -> &'static str {
    match p {
        Point::Sun => "sun",
        Point::Moon => "moon",
        Point::Mars => "mars",
        Point::Mercury => "mercury",
        Point::Jupiter => "jupiter",
        Point::Venus => "venus",
        Point::Saturn => "saturn",
        Point::Rahu => "rahu",
        Point::Ketu => "ketu",
        Point::Uranus => "uranus",
        Point::Neptune => "neptune",
        Point::Pluto => "pluto",
    }
}

fn point_name(p: Point) -> &'static str {
    match p {
        Point::Sun => "Sun",
        Point::Moon => "Moon",
        Point::Mars => "Mars",
        Point::Mercury => "Mercury",
        Point::Jupiter => "Jupiter",
        Point::Venus => "Venus",
        Point::Saturn => "Saturn",
        Point::Rahu => "North Node",
        Point::Ketu => "South Node",
        Point::Uranus => "Uranus",
        Point::Neptune => "Neptune",
        Point::Pluto => "Pluto",
    }
}

/// Astronomical symbol. U+FE0E asks for the text (not emoji) form where one exists.
fn point_glyph(p: Point) -> &'static str {
    match p {
        Point::Sun => "☉",
        Point::Moon => "☽",
        Point::Mars => "♂\u{FE0E}",
        Point::Mercury => "☿",
        Point::Jupiter => "♃",
        Point::Venus => "♀\u{FE0E}",
        Point::Saturn => "♄",
        Point::Rahu => "☊",
        Point::Ketu => "☋",
        Point::Uranus => "♅",
        Point::Neptune => "♆",
        Point::Pluto => "♇",
    }
}

const SIGN_NAMES: [&str; 12] = [
    "Aries",
    "Taurus",
    "Gemini",
    "Cancer",
    "Leo",
    "Virgo",
    "Libra",
    "Scorpio",
    "Sagittarius",
    "Capricorn",
    "Aquarius",
    "Pisces",
];
const SIGN_SLUGS: [&str; 12] = [
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
const SIGN_ABBR: [&str; 12] = [
    "Ar", "Ta", "Ge", "Cn", "Le", "Vi", "Li", "Sc", "Sg", "Cp", "Aq", "Pi",
];
/// Zodiac symbols; all twelve default to emoji presentation, hence U+FE0E.
const SIGN_GLYPHS: [&str; 12] = [
    "♈\u{FE0E}",
    "♉\u{FE0E}",
    "♊\u{FE0E}",
    "♋\u{FE0E}",
    "♌\u{FE0E}",
    "♍\u{FE0E}",
    "♎\u{FE0E}",
    "♏\u{FE0E}",
    "♐\u{FE0E}",
    "♑\u{FE0E}",
    "♒\u{FE0E}",
    "♓\u{FE0E}",
];

fn visible<'a>(chart: &'a Chart, opts: &SvgOptions) -> impl Iterator<Item = &'a GrahaPosition> {
    let outer = opts.include_outer;
    chart
        .grahas
        .iter()
        .filter(move |g| outer || !is_outer(g.point))
}

/// Whole degrees, truncated: 12.97° is still in the 12th degree and must not read "13°"
/// (or "30°" at the end of a sign).
fn whole_degrees(degree_in_sign: f64) -> u32 {
    (degree_in_sign.floor() as u32).min(29)
}

/// Degrees and arc-minutes, truncated like an almanac: `15°23'`.
fn deg_min(degrees: f64) -> String {
    let minutes = (degrees * 60.0).floor() as i64;
    format!("{}°{:02}'", minutes / 60, minutes % 60)
}

/// `Su 12°`, with `(R)` when retrograde. The nodes are always retrograde (the mean node by
/// definition), so the mark would only add noise there.
fn jyotish_label(g: &GrahaPosition) -> String {
    let mut s = format!(
        "{} {}°",
        short(g.point),
        whole_degrees(g.sidereal.degree_in_sign)
    );
    if g.retrograde && !is_node(g.point) {
        s.push_str(" (R)");
    }
    s
}

fn asc_label(chart: &Chart) -> String {
    format!("Asc {}°", whole_degrees(chart.ascendant.degree_in_sign))
}

fn ayanamsa_name(a: Ayanamsa) -> &'static str {
    match a {
        Ayanamsa::Lahiri => "Lahiri",
        Ayanamsa::Raman => "Raman",
        Ayanamsa::Krishnamurti => "Krishnamurti",
    }
}

fn house_system_name(h: HouseSystem) -> &'static str {
    match h {
        HouseSystem::WholeSign => "whole-sign",
        HouseSystem::Equal => "equal",
        HouseSystem::Placidus => "Placidus",
    }
}

/// `1990-05-17 04:30 UT`, to the nearest minute.
fn date_caption(chart: &Chart) -> String {
    let (y, m, d, fraction) = calendar_date(chart.jd_ut + 0.5 / 1440.0);
    let minutes = ((fraction * 1440.0).floor() as u32).min(1439);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UT",
        minutes / 60,
        minutes % 60
    )
}

fn ayanamsa_caption(chart: &Chart) -> String {
    format!(
        "{} ayanamsa {}",
        ayanamsa_name(chart.ayanamsa),
        deg_min(chart.ayanamsa_degrees)
    )
}

// ---------------------------------------------------------------------------------------
// Text and numbers

/// At most two decimals, no trailing zeros, never `-0`.
fn num(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    let mut s = format!("{:.2}", (x * 100.0).round() / 100.0);
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    if s == "-0" { "0".into() } else { s }
}

/// XML text/attribute escaping. Characters XML 1.0 cannot carry at all (most C0 controls,
/// U+FFFE/U+FFFF) are dropped: a title is user input and must not break the document.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' => out.push(c),
            '\u{10000}'..='\u{10FFFF}' => out.push(c),
            _ => {}
        }
    }
    out
}

/// Advance width estimate in a DejaVu-Sans-like face (the widest common sans, so other
/// faces only leave more room).
fn text_width(s: &str, font: f64) -> f64 {
    let em: f64 = s
        .chars()
        .map(|c| match c {
            '\u{FE0E}' => 0.0,
            'i' | 'l' | 'j' | 'I' | '.' | ',' | ':' | '\'' | '|' | '!' => 0.3,
            ' ' | '(' | ')' | 'f' | 't' | 'r' => 0.4,
            '°' => 0.5,
            'm' | 'w' | 'M' | 'W' => 0.95,
            'A'..='Z' | '℞' => 0.75,
            '\u{2600}'..='\u{26FF}' => 0.9,
            _ => 0.64,
        })
        .sum();
    em * font
}

// ---------------------------------------------------------------------------------------
// Geometry

type P = (f64, f64);

#[derive(Debug, Clone, Copy)]
struct Rect {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Rect {
    /// Box of a text line whose visual centre is `c` (see [`Doc::text`] for the baseline).
    fn text(c: P, width: f64, font: f64) -> Rect {
        Rect {
            x0: c.0 - width / 2.0,
            y0: c.1 - 0.45 * font,
            x1: c.0 + width / 2.0,
            y1: c.1 + 0.5 * font,
        }
    }

    fn corners(&self) -> [P; 4] {
        [
            (self.x0, self.y0),
            (self.x1, self.y0),
            (self.x1, self.y1),
            (self.x0, self.y1),
        ]
    }

    fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }

    fn inflate(&self, d: f64) -> Rect {
        Rect {
            x0: self.x0 - d,
            y0: self.y0 - d,
            x1: self.x1 + d,
            y1: self.y1 + d,
        }
    }
}

/// Distance from `p` to the nearest edge of a convex polygon, positive inside (either
/// winding).
fn inset(poly: &[P], p: P) -> f64 {
    let n = poly.len();
    let area2: f64 = (0..n)
        .map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum();
    let sign = area2.signum();
    (0..n)
        .map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % n]);
            let (ex, ey) = (b.0 - a.0, b.1 - a.1);
            sign * (ex * (p.1 - a.1) - ey * (p.0 - a.0)) / ex.hypot(ey)
        })
        .fold(f64::INFINITY, f64::min)
}

fn box_fits(poly: &[P], avoid: &[Rect], r: &Rect) -> bool {
    r.corners().iter().all(|&c| inset(poly, c) >= PAD) && !avoid.iter().any(|a| a.overlaps(r))
}

fn centroid(poly: &[P]) -> P {
    let n = poly.len() as f64;
    let (x, y) = poly.iter().fold((0.0, 0.0), |(x, y), p| (x + p.0, y + p.1));
    (x / n, y / n)
}

/// Labels laid out in a cell: one font size and each label's visual centre.
struct Fit {
    font: f64,
    centres: Vec<P>,
}

/// Finds the largest font (from `max_font` down to `min_font`) and fewest columns at which
/// the labels, stacked column by column, fit inside the convex cell `poly` clear of
/// `avoid`, with the block as near `prefer` as possible. Cells are small and oddly shaped
/// (triangles), so this searches block centres on a grid rather than assuming one.
fn fit_labels(
    poly: &[P],
    avoid: &[Rect],
    texts: &[String],
    prefer: P,
    max_font: f64,
    min_font: f64,
) -> Fit {
    let n = texts.len();
    if n == 0 {
        return Fit {
            font: max_font,
            centres: Vec::new(),
        };
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in poly {
        (x0, y0, x1, y1) = (x0.min(p.0), y0.min(p.1), x1.max(p.0), y1.max(p.1));
    }
    const STEPS: usize = 24;
    let mut candidates: Vec<P> = (0..=STEPS)
        .flat_map(|i| {
            (0..=STEPS).map(move |j| {
                let t = |k: usize| k as f64 / STEPS as f64;
                (x0 + (x1 - x0) * t(i), y0 + (y1 - y0) * t(j))
            })
        })
        .collect();
    let dist = |p: &P| (p.0 - prefer.0).hypot(p.1 - prefer.1);
    // Stable sort: equal distances keep grid order, so the choice is deterministic.
    candidates.sort_by(|a, b| dist(a).total_cmp(&dist(b)));

    let layout = |font: f64, cols: usize| -> (Vec<f64>, Vec<P>) {
        let rows = n.div_ceil(cols);
        let widths: Vec<f64> = texts.iter().map(|t| text_width(t, font)).collect();
        let col_widths: Vec<f64> = (0..cols)
            .map(|c| {
                widths[c * rows..((c + 1) * rows).min(n)]
                    .iter()
                    .fold(0.0, |m: f64, w| m.max(*w))
            })
            .collect();
        let gap = 0.8 * font;
        let line = 1.25 * font;
        let total: f64 = col_widths.iter().sum::<f64>() + gap * (cols - 1) as f64;
        let offsets = (0..n)
            .map(|i| {
                let (c, r) = (i / rows, i % rows);
                let left: f64 = col_widths[..c].iter().sum::<f64>() + gap * c as f64;
                (
                    -total / 2.0 + left + col_widths[c] / 2.0,
                    -(rows as f64) * line / 2.0 + (r as f64 + 0.5) * line,
                )
            })
            .collect();
        (widths, offsets)
    };

    let mut font = max_font;
    while font >= min_font - 1e-9 {
        for cols in 1..=n.min(3) {
            // Skip column counts that would leave the last column empty.
            if (cols - 1) * n.div_ceil(cols) >= n {
                continue;
            }
            let (widths, offsets) = layout(font, cols);
            let fits = |c: &P| {
                offsets.iter().zip(&widths).all(|(o, w)| {
                    box_fits(poly, avoid, &Rect::text((c.0 + o.0, c.1 + o.1), *w, font))
                })
            };
            if let Some(c) = candidates.iter().find(|c| fits(c)) {
                return Fit {
                    font,
                    centres: offsets.iter().map(|o| (c.0 + o.0, c.1 + o.1)).collect(),
                };
            }
        }
        font -= 0.5;
    }
    // Nothing fits (a crowd of bodies in one small cell): smallest font, most columns, on
    // the preferred point. Touching a line beats dropping a body.
    let cols = n.min(3);
    let (_, offsets) = layout(min_font, cols);
    Fit {
        font: min_font,
        centres: offsets
            .iter()
            .map(|o| (prefer.0 + o.0, prefer.1 + o.1))
            .collect(),
    }
}

/// First point on the way from `from` to `to` where a `w`×`font` text box fits in `poly`.
fn slide_into(poly: &[P], from: P, to: P, w: f64, font: f64) -> P {
    (0..=40)
        .map(|k| {
            let t = k as f64 / 40.0;
            (from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t)
        })
        .find(|&p| box_fits(poly, &[], &Rect::text(p, w, font)))
        .unwrap_or(to)
}

/// Line spacing of a wrapped title, in ems.
const TITLE_LEADING: f64 = 1.2;

/// Bold runs about a tenth wider than [`text_width`]'s regular face.
fn bold_width(s: &str, font: f64) -> f64 {
    1.1 * text_width(s, font)
}

/// Breaks a title into at most two lines (at a space, as evenly as possible) when
/// `max_lines` allows, and picks the largest font up to `max_font` at which it fits
/// `max_width`. Below 7 px a
/// title is no longer legible, so a still-too-long line is cut with an ellipsis instead.
fn title_lines(title: &str, max_font: f64, max_width: f64, max_lines: usize) -> (Vec<String>, f64) {
    let fit = |lines: &[String]| {
        let widest = lines
            .iter()
            .map(|l| bold_width(l, max_font))
            .fold(1.0, f64::max);
        (max_font * max_width / widest).min(max_font)
    };
    let mut best = vec![title.to_string()];
    let mut font = fit(&best);
    let words: Vec<&str> = title.split(' ').collect();
    // Wrap only when one line would have to shrink noticeably: a slightly smaller single
    // line reads better than an unbalanced pair.
    if max_lines >= 2 && font < 0.8 * max_font {
        for k in 1..words.len() {
            let split = vec![words[..k].join(" "), words[k..].join(" ")];
            let f = fit(&split);
            if f > font {
                (best, font) = (split, f);
            }
        }
    }
    if font < 7.0 {
        font = 7.0;
        for line in &mut best {
            if bold_width(line, font) > max_width {
                let mut chars: Vec<char> = line.chars().collect();
                while !chars.is_empty()
                    && bold_width(&format!("{}…", chars.iter().collect::<String>()), font)
                        > max_width
                {
                    chars.pop();
                }
                *line = format!("{}…", chars.iter().collect::<String>());
            }
        }
    }
    (best, font)
}

// ---------------------------------------------------------------------------------------
// Document writer

/// Theme values escaped once for use in attributes.
struct Paint {
    background: String,
    line: String,
    text: String,
    muted: String,
    accent: String,
    elements: [String; 4],
    conjunction: String,
    harmonious: String,
    challenging: String,
}

impl Paint {
    fn new(t: &Theme) -> Paint {
        Paint {
            background: escape(&t.background),
            line: escape(&t.line),
            text: escape(&t.text),
            muted: escape(&t.muted),
            accent: escape(&t.accent),
            elements: t.elements.clone().map(|e| escape(&e)),
            conjunction: escape(&t.conjunction),
            harmonious: escape(&t.harmonious),
            challenging: escape(&t.challenging),
        }
    }
}

// Writing into a String cannot fail, so the `fmt::Result`s below are ignored.
struct Doc {
    s: String,
}

impl Doc {
    fn start(opts: &SvgOptions, kind: &str, paint: &Paint) -> Doc {
        let mut s = String::with_capacity(16 * 1024);
        let label = match &opts.title {
            Some(t) => format!("{kind}: {t}"),
            None => kind.to_string(),
        };
        let _ = write!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {v} {v}\" width=\"{size}\" \
             height=\"{size}\" font-family=\"{FONT_FAMILY}\" role=\"img\">\n<title>{label}</title>\n\
             <rect width=\"{v}\" height=\"{v}\" fill=\"{bg}\"/>\n",
            v = num(VIEW),
            size = opts.size,
            label = escape(&label),
            bg = paint.background,
        );
        Doc { s }
    }

    fn raw(&mut self, s: &str) {
        self.s.push_str(s);
    }

    fn line(&mut self, a: P, b: P, stroke: &str, width: f64, attrs: &str) {
        let _ = writeln!(
            self.s,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\" stroke-width=\"{}\"{attrs}/>",
            num(a.0),
            num(a.1),
            num(b.0),
            num(b.1),
            num(width),
        );
    }

    /// Centred text whose visual centre (middle of a capital) is `c`; the baseline is
    /// computed rather than left to `dominant-baseline`, which renderers treat unevenly.
    /// `attrs` is trusted markup; `content` is escaped here.
    fn text(&mut self, c: P, font: f64, fill: &str, attrs: &str, content: &str) {
        let _ = writeln!(
            self.s,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"middle\" fill=\"{fill}\"{attrs}>{}</text>",
            num(c.0),
            num(c.1 + 0.36 * font),
            num(font),
            escape(content),
        );
    }

    /// The user's title in bold, `lines` laid out by [`title_lines`], the block's visual
    /// centre at `c`. One `<text>` whatever the line count, so the title stays one element.
    fn title(&mut self, c: P, (lines, font): &(Vec<String>, f64), paint: &Paint) {
        let step = TITLE_LEADING * font;
        let first = c.1 - step * (lines.len() as f64 - 1.0) / 2.0;
        let _ = write!(
            self.s,
            "<text class=\"title\" font-size=\"{}\" font-weight=\"bold\" text-anchor=\"middle\" fill=\"{}\">",
            num(*font),
            paint.text,
        );
        for (i, line) in lines.iter().enumerate() {
            let _ = write!(
                self.s,
                "<tspan x=\"{}\" y=\"{}\">{}</tspan>",
                num(c.0),
                num(first + step * i as f64 + 0.36 * font),
                escape(line)
            );
        }
        self.s.push_str("</text>\n");
    }

    fn finish(mut self) -> String {
        self.s.push_str("</svg>\n");
        self.s
    }
}

// ---------------------------------------------------------------------------------------
// North Indian

/// House cells of the North Indian diamond in quarter-sides of the square, houses 1..=12
/// counter-clockwise from the top diamond.
const NORTH_CELLS: [&[(u8, u8)]; 12] = [
    &[(2, 0), (3, 1), (2, 2), (1, 1)],
    &[(0, 0), (2, 0), (1, 1)],
    &[(0, 0), (1, 1), (0, 2)],
    &[(0, 2), (1, 1), (2, 2), (1, 3)],
    &[(0, 2), (1, 3), (0, 4)],
    &[(0, 4), (1, 3), (2, 4)],
    &[(2, 4), (1, 3), (2, 2), (3, 3)],
    &[(2, 4), (3, 3), (4, 4)],
    &[(4, 4), (3, 3), (4, 2)],
    &[(4, 2), (3, 3), (2, 2), (3, 1)],
    &[(4, 2), (3, 1), (4, 0)],
    &[(4, 0), (3, 1), (2, 0)],
];

/// The North Indian (diamond) rasi chart: houses are fixed cells, house 1 the top diamond,
/// counting counter-clockwise; each cell shows its sign number (1 = Aries … 12 = Pisces)
/// and the grahas in it. Houses are whole signs from the sidereal ascendant, as the
/// layout itself assumes, whatever house system the chart was cast with.
pub fn north_indian(chart: &Chart, opts: &SvgOptions) -> String {
    let paint = Paint::new(&opts.theme);
    let mut doc = Doc::start(opts, "North Indian chart", &paint);
    let top = if opts.title.is_some() { 36.0 } else { 12.0 };
    let side = VIEW - top - 30.0;
    let (x0, y0) = ((VIEW - side) / 2.0, top);
    let at = |q: (u8, u8)| {
        (
            x0 + side * f64::from(q.0) / 4.0,
            y0 + side * f64::from(q.1) / 4.0,
        )
    };
    if let Some(title) = &opts.title {
        doc.title(
            (VIEW / 2.0, 19.0),
            &title_lines(title, 16.0, VIEW - 20.0, 1),
            &paint,
        );
    }

    // The construction lines: square, both diagonals, the diamond on the edge midpoints.
    let _ = writeln!(
        doc.s,
        "<g fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" stroke-linejoin=\"round\">\n\
         <rect id=\"frame\" x=\"{}\" y=\"{}\" width=\"{s}\" height=\"{s}\"/>\n\
         <path d=\"M{a} L{c} M{b} L{d} M{t} L{r} L{bo} L{l} Z\"/>\n</g>",
        paint.line,
        num(x0),
        num(y0),
        s = num(side),
        a = pt(at((0, 0))),
        c = pt(at((4, 4))),
        b = pt(at((4, 0))),
        d = pt(at((0, 4))),
        t = pt(at((2, 0))),
        r = pt(at((4, 2))),
        bo = pt(at((2, 4))),
        l = pt(at((0, 2))),
    );

    let asc = chart.ascendant.sign.index();
    let centre = at((2, 2));
    for (i, cell) in NORTH_CELLS.iter().enumerate() {
        let house = i + 1;
        let sign = (asc + i) % 12;
        let poly: Vec<P> = cell.iter().map(|&q| at(q)).collect();
        let mid = centroid(&poly);
        // The sign number sits just inside the cell's corner nearest the centre of the
        // chart, where North Indian charts put it; the bodies fill the rest.
        let inner = poly
            .iter()
            .copied()
            .min_by(|a, b| {
                let d = |p: &P| (p.0 - centre.0).hypot(p.1 - centre.1);
                d(a).total_cmp(&d(b))
            })
            .unwrap_or(mid);
        let number = (sign + 1).to_string();
        let number_font = 13.0;
        let number_w = text_width(&number, number_font);
        let number_at = slide_into(&poly, inner, mid, number_w, number_font);
        let reserved = Rect::text(number_at, number_w, number_font).inflate(2.0);

        let mut labels: Vec<(String, String)> = Vec::new();
        if house == 1 {
            labels.push((asc_label(chart), " class=\"asc\"".to_string()));
        }
        for g in visible(chart, opts).filter(|g| g.sidereal.sign.index() == sign) {
            labels.push((jyotish_label(g), graha_attrs(g)));
        }
        let texts: Vec<String> = labels.iter().map(|l| l.0.clone()).collect();
        let fit = fit_labels(&poly, &[reserved], &texts, mid, 13.0, 7.0);

        let _ = writeln!(
            doc.s,
            "<g id=\"house-{house}\" class=\"house\" data-sign=\"{}\">",
            SIGN_SLUGS[sign]
        );
        doc.text(
            number_at,
            number_font,
            &paint.muted,
            " class=\"sign-number\"",
            &number,
        );
        for ((text, attrs), c) in labels.iter().zip(&fit.centres) {
            let fill = if attrs.contains("asc") {
                &paint.accent
            } else {
                &paint.text
            };
            doc.text(*c, fit.font, fill, attrs, text);
        }
        doc.raw("</g>\n");
    }
    doc.text(
        (VIEW / 2.0, VIEW - 13.0),
        11.0,
        &paint.muted,
        " class=\"caption\"",
        &format!("{} · {}", date_caption(chart), ayanamsa_caption(chart)),
    );
    doc.finish()
}

fn pt(p: P) -> String {
    format!("{} {}", num(p.0), num(p.1))
}

fn graha_attrs(g: &GrahaPosition) -> String {
    format!(
        " class=\"graha{}\" data-point=\"{}\"",
        if g.retrograde && !is_node(g.point) {
            " retrograde"
        } else {
            ""
        },
        slug(g.point)
    )
}

// ---------------------------------------------------------------------------------------
// South Indian

/// Grid cell (column, row) of each sign, Aries first: Pisces top-left, then clockwise.
const SOUTH_CELLS: [(u8, u8); 12] = [
    (1, 0),
    (2, 0),
    (3, 0),
    (3, 1),
    (3, 2),
    (3, 3),
    (2, 3),
    (1, 3),
    (0, 3),
    (0, 2),
    (0, 1),
    (0, 0),
];

/// The South Indian rasi chart: a 4×4 grid whose twelve outer cells are the signs in
/// fixed places (Pisces top-left, then clockwise) and whose centre holds the title, date
/// and ayanamsa. The ascendant's sign is marked by a diagonal across its corner and an
/// `Asc` label.
pub fn south_indian(chart: &Chart, opts: &SvgOptions) -> String {
    let paint = Paint::new(&opts.theme);
    let mut doc = Doc::start(opts, "South Indian chart", &paint);
    let margin = 10.0;
    let side = VIEW - 2.0 * margin;
    let cell = side / 4.0;
    let corner = |c: u8, r: u8| (margin + cell * f64::from(c), margin + cell * f64::from(r));

    // Outer square, the inner 2×2 left open, and the cell dividers around it.
    let mut grid = String::new();
    for k in 1..4u8 {
        let (x, _) = corner(k, 0);
        let (_, y) = corner(0, k);
        if k == 2 {
            // The middle lines stop at the centre block.
            let _ = write!(
                grid,
                "M{} L{} M{} L{} M{} L{} M{} L{} ",
                pt((x, margin)),
                pt((x, margin + cell)),
                pt((x, margin + 3.0 * cell)),
                pt((x, margin + side)),
                pt((margin, y)),
                pt((margin + cell, y)),
                pt((margin + 3.0 * cell, y)),
                pt((margin + side, y)),
            );
        } else {
            let _ = write!(
                grid,
                "M{} L{} M{} L{} ",
                pt((x, margin)),
                pt((x, margin + side)),
                pt((margin, y)),
                pt((margin + side, y)),
            );
        }
    }
    let _ = writeln!(
        doc.s,
        "<g fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\">\n<rect id=\"frame\" x=\"{m}\" y=\"{m}\" \
         width=\"{s}\" height=\"{s}\"/>\n<path d=\"{}\"/>\n</g>",
        paint.line,
        grid.trim_end(),
        m = num(margin),
        s = num(side),
    );

    let asc = chart.ascendant.sign.index();
    let tick = 24.0;
    for (sign, &(c, r)) in SOUTH_CELLS.iter().enumerate() {
        let (x, y) = corner(c, r);
        let poly = [(x, y), (x + cell, y), (x + cell, y + cell), (x, y + cell)];
        let house = (sign + 12 - asc) % 12 + 1;
        let _ = writeln!(
            doc.s,
            "<g id=\"sign-{}\" class=\"sign\" data-house=\"{house}\">",
            SIGN_SLUGS[sign]
        );
        let name_font = 9.0;
        let name_w = text_width(SIGN_NAMES[sign], name_font);
        let name_at = (x + cell - PAD - 2.0 - name_w / 2.0, y + cell - PAD - 5.0);
        let mut avoid = vec![Rect::text(name_at, name_w, name_font).inflate(2.0)];
        doc.text(
            name_at,
            name_font,
            &paint.muted,
            " class=\"sign-name\"",
            SIGN_NAMES[sign],
        );
        let mut labels: Vec<(String, String)> = Vec::new();
        if sign == asc {
            // The traditional lagna mark: a slash across the cell's top-left corner.
            doc.line(
                (x, y + tick),
                (x + tick, y),
                &paint.accent,
                1.5,
                " class=\"asc-mark\"",
            );
            avoid.push(Rect {
                x0: x,
                y0: y,
                x1: x + tick * 0.75,
                y1: y + tick * 0.75,
            });
            labels.push((asc_label(chart), " class=\"asc\"".to_string()));
        }
        for g in visible(chart, opts).filter(|g| g.sidereal.sign.index() == sign) {
            labels.push((jyotish_label(g), graha_attrs(g)));
        }
        let texts: Vec<String> = labels.iter().map(|l| l.0.clone()).collect();
        let fit = fit_labels(&poly, &avoid, &texts, centroid(&poly), 13.0, 7.0);
        for ((text, attrs), c) in labels.iter().zip(&fit.centres) {
            let fill = if attrs.contains("asc") {
                &paint.accent
            } else {
                &paint.text
            };
            doc.text(*c, fit.font, fill, attrs, text);
        }
        doc.raw("</g>\n");
    }

    // Centre block: the title (up to two lines), then what the chart is and when.
    let title = opts
        .title
        .as_ref()
        .map(|t| title_lines(t, 15.0, 2.0 * cell - 16.0, 2));
    let info = [
        ("Rasi chart (D1)".to_string(), 12.0),
        (date_caption(chart), 11.0),
        (ayanamsa_caption(chart), 11.0),
        (
            format!(
                "Lagna {} {}",
                SIGN_NAMES[asc],
                deg_min(chart.ascendant.degree_in_sign)
            ),
            11.0,
        ),
    ];
    let title_height = title.as_ref().map_or(0.0, |(lines, font)| {
        (TITLE_LEADING * (lines.len() as f64 - 1.0) + 1.6) * font
    });
    let height = title_height + info.iter().map(|l| 1.6 * l.1).sum::<f64>();
    let cx = VIEW / 2.0;
    let mut y = VIEW / 2.0 - height / 2.0;
    let _ = writeln!(doc.s, "<g id=\"centre\">");
    if let Some(t) = &title {
        doc.title((cx, y + title_height / 2.0), t, &paint);
        y += title_height;
    }
    for (text, font) in &info {
        doc.text((cx, y + 0.8 * font), *font, &paint.muted, "", text);
        y += 1.6 * font;
    }
    doc.raw("</g>\n");
    doc.finish()
}

// ---------------------------------------------------------------------------------------
// Western wheel

/// Radii of the wheel, outside in, before scaling (a title shrinks the wheel a little).
const R_OUTER: f64 = 206.0; // zodiac ring, outer edge
const R_ZODIAC: f64 = 176.0; // zodiac ring, inner edge; degree ticks point inward from it
const R_GLYPH: f64 = 156.0; // body glyphs
const R_DEGREE: f64 = 134.0; // body degrees
const R_RETRO: f64 = 118.0; // retrograde marks
const R_HOUSE: f64 = 108.0; // house-number band, outer edge
const R_INNER: f64 = 90.0; // house-number band, inner edge; aspect circle
/// Closest two body labels may sit, degrees of arc: about 22 px at the degree radius, the
/// width of `29°`.
const LABEL_SEPARATION: f64 = 9.5;
/// Length of the tick at a body's exact longitude.
const TICK: f64 = 8.0;

/// Spreads angles (degrees) so that neighbours are at least `sep` apart while moving the
/// set as little as possible (least squares). Cut the circle at the widest gap, then
/// p_i − i·sep must be non-decreasing: an isotonic regression, solved exactly by
/// pool-adjacent-violators.
fn spread(angles: &[f64], sep: f64) -> Vec<f64> {
    let n = angles.len();
    if n < 2 {
        return angles.iter().map(|&a| norm_deg(a)).collect();
    }
    let sep = sep.min(360.0 / n as f64);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| norm_deg(angles[a]).total_cmp(&norm_deg(angles[b])));
    let sorted: Vec<f64> = order.iter().map(|&i| norm_deg(angles[i])).collect();
    let gap = |k: usize| norm_deg(sorted[(k + 1) % n] - sorted[k]);
    let widest = (0..n)
        .max_by(|&a, &b| gap(a).total_cmp(&gap(b)).then(b.cmp(&a)))
        .unwrap_or(0);
    let start = (widest + 1) % n;
    // Unrolled, increasing sequence starting after the widest gap.
    let mut s = Vec::with_capacity(n);
    for k in 0..n {
        let v = sorted[(start + k) % n];
        let prev: Option<&f64> = s.last();
        let v = match prev {
            Some(&p) if v < p => v + 360.0,
            _ => v,
        };
        s.push(v);
    }
    let b: Vec<f64> = s
        .iter()
        .enumerate()
        .map(|(i, v)| v - i as f64 * sep)
        .collect();
    // Pool adjacent violators: blocks of (sum, count) with non-decreasing means.
    let mut blocks: Vec<(f64, usize)> = Vec::new();
    for &v in &b {
        blocks.push((v, 1));
        while blocks.len() > 1 {
            let (s2, c2) = blocks[blocks.len() - 1];
            let (s1, c1) = blocks[blocks.len() - 2];
            if s1 / c1 as f64 > s2 / c2 as f64 {
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (s1 + s2, c1 + c2);
            } else {
                break;
            }
        }
    }
    let mut p: Vec<f64> = Vec::with_capacity(n);
    for (sum, count) in blocks {
        for _ in 0..count {
            p.push(sum / count as f64 + p.len() as f64 * sep);
        }
    }
    if p[n - 1] - p[0] > 360.0 - sep + 1e-9 {
        // The spread set would wrap onto itself: space everything evenly instead.
        let even = 360.0 / n as f64;
        let shift = s
            .iter()
            .enumerate()
            .map(|(i, v)| v - i as f64 * even)
            .sum::<f64>()
            / n as f64;
        p = (0..n).map(|i| shift + i as f64 * even).collect();
    }
    let mut out = vec![0.0; n];
    for (k, v) in p.into_iter().enumerate() {
        out[order[(start + k) % n]] = norm_deg(v);
    }
    out
}

/// The western wheel, tropical zodiac (sidereal + the chart's ayanamsa): zodiac ring
/// with degree ticks, house cusps from the chart's house system, the ascendant at nine
/// o'clock with signs running counter-clockwise, bodies at their longitudes (labels spread
/// apart, a tick at the exact degree) and major aspects in the centre.
pub fn western_wheel(chart: &Chart, opts: &SvgOptions) -> String {
    let paint = Paint::new(&opts.theme);
    let mut doc = Doc::start(opts, "Western chart wheel", &paint);
    let ay = chart.ayanamsa_degrees;
    let tropical = |sidereal: f64| norm_deg(sidereal + ay);
    let asc = tropical(chart.ascendant.longitude);
    let mc = tropical(chart.midheaven);
    // A title takes the top band, where the MC label would otherwise run into it: the
    // wheel then shrinks a little and moves down.
    let (scale, cx, cy) = if opts.title.is_some() {
        (0.94, VIEW / 2.0, VIEW / 2.0 + 12.0)
    } else {
        (1.0, VIEW / 2.0, VIEW / 2.0)
    };
    // Longitude → point: the ascendant at 180° (left), longitude increasing
    // counter-clockwise on screen.
    let at = |lon: f64, r: f64| {
        let a = (180.0 + lon - asc).to_radians();
        (cx + scale * r * a.cos(), cy - scale * r * a.sin())
    };

    if let Some(title) = &opts.title {
        doc.title(
            (VIEW / 2.0, 16.0),
            &title_lines(title, 14.0, VIEW - 20.0, 1),
            &paint,
        );
    }

    // Zodiac ring: one tinted sector per sign, its glyph in the middle.
    for (k, slug) in SIGN_SLUGS.iter().enumerate() {
        let (a, b) = (30.0 * k as f64, 30.0 * (k + 1) as f64);
        let colour = &paint.elements[k % 4];
        let _ = writeln!(
            doc.s,
            "<g id=\"sign-{slug}\" class=\"sign\">\n<path d=\"M{} A{r0} {r0} 0 0 0 {} L{} A{r1} {r1} 0 0 1 {} Z\" \
             fill=\"{colour}\" fill-opacity=\"0.12\" stroke=\"{}\" stroke-width=\"1\"/>",
            pt(at(a, R_OUTER)),
            pt(at(b, R_OUTER)),
            pt(at(b, R_ZODIAC)),
            pt(at(a, R_ZODIAC)),
            paint.line,
            r0 = num(scale * R_OUTER),
            r1 = num(scale * R_ZODIAC),
        );
        let (label, font) = if opts.glyphs {
            (SIGN_GLYPHS[k], 19.0)
        } else {
            (SIGN_ABBR[k], 13.0)
        };
        doc.text(
            at(a + 15.0, (R_OUTER + R_ZODIAC) / 2.0),
            font,
            colour,
            " class=\"sign-label\"",
            label,
        );
        doc.raw("</g>\n");
    }

    // Degree ticks inside the ring: every degree, longer every five.
    let mut ticks = String::new();
    for d in 0..360 {
        if d % 30 == 0 {
            continue;
        }
        let len = if d % 10 == 0 {
            7.0
        } else if d % 5 == 0 {
            5.0
        } else {
            2.5
        };
        let lon = f64::from(d);
        let _ = write!(
            ticks,
            "M{} L{} ",
            pt(at(lon, R_ZODIAC)),
            pt(at(lon, R_ZODIAC - len))
        );
    }
    let _ = writeln!(
        doc.s,
        "<path class=\"degree-ticks\" d=\"{}\" stroke=\"{}\" stroke-width=\"0.6\" fill=\"none\"/>",
        ticks.trim_end(),
        paint.muted
    );

    // House band and cusps.
    let _ = writeln!(
        doc.s,
        "<g fill=\"none\" stroke=\"{}\" stroke-width=\"1\">\n<circle id=\"house-ring\" cx=\"{x}\" cy=\"{y}\" r=\"{}\"/>\n\
         <circle id=\"aspect-ring\" cx=\"{x}\" cy=\"{y}\" r=\"{}\"/>\n</g>",
        paint.line,
        num(scale * R_HOUSE),
        num(scale * R_INNER),
        x = num(cx),
        y = num(cy),
    );
    let cusps = chart.cusps.map(tropical);
    let _ = writeln!(doc.s, "<g id=\"houses\">");
    for (i, &cusp) in cusps.iter().enumerate() {
        let next = cusps[(i + 1) % 12];
        doc.line(
            at(cusp, R_INNER),
            at(cusp, R_ZODIAC),
            &paint.line,
            0.8,
            &format!(" class=\"cusp\" data-house=\"{}\"", i + 1),
        );
        doc.text(
            at(
                cusp + norm_deg(next - cusp) / 2.0,
                (R_HOUSE + R_INNER) / 2.0,
            ),
            10.0,
            &paint.muted,
            " class=\"house-number\"",
            &(i + 1).to_string(),
        );
    }
    doc.raw("</g>\n");

    // Angles: drawn over the cusps (which, outside quadrant systems, are not the angles),
    // past the ring so the labels sit outside it.
    let _ = writeln!(doc.s, "<g id=\"angles\">");
    for (id, lon, label) in [
        ("asc", asc, "ASC"),
        ("dsc", norm_deg(asc + 180.0), "DSC"),
        ("mc", mc, "MC"),
        ("ic", norm_deg(mc + 180.0), "IC"),
    ] {
        doc.line(
            at(lon, R_INNER),
            at(lon, R_OUTER + 6.0),
            &paint.accent,
            1.6,
            &format!(" id=\"axis-{id}\""),
        );
        doc.text(
            at(lon, R_OUTER + 16.0),
            10.0,
            &paint.accent,
            &format!(" class=\"angle-label\" id=\"label-{id}\""),
            label,
        );
    }
    doc.raw("</g>\n");

    // Aspects first so that the bodies' labels are drawn over them.
    if opts.aspects {
        let lon_of = |p: Point| {
            chart
                .grahas
                .iter()
                .find(|g| g.point == p)
                .map_or(0.0, |g| g.tropical_longitude)
        };
        let _ = writeln!(doc.s, "<g id=\"aspects\" stroke-opacity=\"0.85\">");
        for a in aspects(chart, opts.include_outer) {
            let (stroke, dash) = match a.kind {
                AspectKind::Conjunction => (&paint.conjunction, ""),
                AspectKind::Trine => (&paint.harmonious, ""),
                AspectKind::Sextile => (&paint.harmonious, " stroke-dasharray=\"4 3\""),
                AspectKind::Square | AspectKind::Opposition => (&paint.challenging, ""),
            };
            doc.line(
                at(lon_of(a.a), R_INNER),
                at(lon_of(a.b), R_INNER),
                stroke,
                1.0,
                &format!(
                    " class=\"aspect {}\" data-a=\"{}\" data-b=\"{}\"{dash}",
                    a.kind.name(),
                    slug(a.a),
                    slug(a.b)
                ),
            );
        }
        doc.raw("</g>\n");
    }

    // Bodies.
    let bodies: Vec<&GrahaPosition> = visible(chart, opts).collect();
    let exact: Vec<f64> = bodies.iter().map(|g| g.tropical_longitude).collect();
    let shown = spread(&exact, LABEL_SEPARATION);
    // A halo in the background colour keeps labels legible where they cross a cusp line.
    let halo = format!(
        " stroke=\"{}\" stroke-width=\"3\" paint-order=\"stroke\" stroke-linejoin=\"round\"",
        paint.background
    );
    for ((g, &lon), &label_lon) in bodies.iter().zip(&exact).zip(&shown) {
        let _ = writeln!(
            doc.s,
            "<g id=\"planet-{}\" class=\"planet\">\n<title>{}</title>",
            slug(g.point),
            escape(&format!(
                "{} {} {}{}",
                point_name(g.point),
                deg_min(lon % 30.0),
                SIGN_NAMES[(norm_deg(lon) / 30.0) as usize % 12],
                if g.retrograde && !is_node(g.point) {
                    " retrograde"
                } else {
                    ""
                }
            ))
        );
        doc.line(
            at(lon, R_ZODIAC),
            at(lon, R_ZODIAC - TICK),
            &paint.text,
            1.8,
            " class=\"tick\"",
        );
        if diff_deg(label_lon, lon).abs() > 0.5 {
            doc.line(
                at(lon, R_ZODIAC - TICK),
                at(label_lon, R_GLYPH + 11.0),
                &paint.muted,
                0.7,
                " class=\"leader\"",
            );
        }
        let (label, font) = if opts.glyphs {
            (point_glyph(g.point), 17.0)
        } else {
            (short(g.point), 12.5)
        };
        doc.text(
            at(label_lon, R_GLYPH),
            font,
            &paint.text,
            &format!(" class=\"graha\" data-point=\"{}\"{halo}", slug(g.point)),
            label,
        );
        doc.text(
            at(label_lon, R_DEGREE),
            9.5,
            &paint.text,
            &format!(" class=\"degree\"{halo}"),
            &format!("{}°", whole_degrees(norm_deg(lon) % 30.0)),
        );
        if g.retrograde && !is_node(g.point) {
            doc.text(
                at(label_lon, R_RETRO),
                10.0,
                &paint.accent,
                &format!(" class=\"retrograde\"{halo}"),
                "℞",
            );
        }
        doc.raw("</g>\n");
    }

    doc.text(
        (
            10.0 + text_width(&date_caption(chart), 10.0) / 2.0,
            VIEW - 10.0,
        ),
        10.0,
        &paint.muted,
        " class=\"caption\"",
        &date_caption(chart),
    );
    let system = format!(
        "Tropical · {} houses",
        house_system_name(chart.house_system)
    );
    doc.text(
        (VIEW - 10.0 - text_width(&system, 10.0) / 2.0, VIEW - 10.0),
        10.0,
        &paint.muted,
        " class=\"caption\"",
        &system,
    );
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_at_most_two_decimals() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(1.005_1), "1.01");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(123.456_789), "123.46");
        assert_eq!(num(f64::NAN), "0");
    }

    #[test]
    fn escape_covers_markup_and_drops_illegal_characters() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>\u{1}\u{FFFE}ok"),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;ok"
        );
    }

    #[test]
    fn spread_keeps_separation_and_barely_moves_free_bodies() {
        let input = [10.0, 11.0, 12.0, 200.0, 355.0, 1.0];
        let out = spread(&input, 8.0);
        let mut sorted = out.clone();
        sorted.sort_by(f64::total_cmp);
        for k in 0..sorted.len() {
            let gap = norm_deg(sorted[(k + 1) % sorted.len()] - sorted[k]);
            assert!(gap >= 8.0 - 1e-9, "{sorted:?}");
        }
        assert_eq!(out[3], 200.0);
        // The cluster around 0°…12° stays centred where it was and keeps its order.
        assert!(diff_deg(out[4], out[5]) < 0.0 && diff_deg(out[5], out[0]) < 0.0);
        // More bodies than fit: evenly spaced.
        let crowd: Vec<f64> = (0..50).map(|i| f64::from(i) * 0.1).collect();
        let out = spread(&crowd, 8.0);
        let mut sorted = out.clone();
        sorted.sort_by(f64::total_cmp);
        for k in 0..sorted.len() {
            let gap = norm_deg(sorted[(k + 1) % sorted.len()] - sorted[k]);
            assert!(gap >= 7.2 - 1e-6, "{gap}");
        }
    }

    #[test]
    fn labels_fit_inside_a_triangle() {
        let tri = [(0.0, 0.0), (200.0, 0.0), (100.0, 100.0)];
        let texts: Vec<String> = ["Su 12°", "Mo 3° (R)", "Ma 29°", "Ju 1°"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let fit = fit_labels(&tri, &[], &texts, centroid(&tri), 13.0, 7.0);
        for (t, c) in texts.iter().zip(&fit.centres) {
            let r = Rect::text(*c, text_width(t, fit.font), fit.font);
            assert!(r.corners().iter().all(|&p| inset(&tri, p) >= PAD - 1e-9));
        }
    }
}
