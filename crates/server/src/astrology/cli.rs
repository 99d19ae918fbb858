//! `augur chart …`: the same validation and chart as the API, printed as a table, JSON or
//! SVG. No database, no server.

use std::fmt::Write as _;

use super::{BirthInput, ChartSettings, ChartView, cast, chart_view, resolve_birth};
use crate::error::ApiError;
use domain::validate::Check;

/// Output of `augur chart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Svg(super::routes::ChartStyle),
}

/// What the command line asked for (strings as typed; validated here like an API body).
#[derive(Debug, Clone)]
pub struct ChartArgs {
    pub date: String,
    pub time: Option<String>,
    pub time_zone: String,
    pub latitude: f64,
    pub longitude: f64,
    pub place: Option<String>,
    pub ayanamsa: String,
    pub house_system: String,
    pub node: String,
    pub format: Format,
}

fn setting<T: serde::de::DeserializeOwned>(
    c: &mut Check,
    field: &str,
    raw: &str,
    allowed: &str,
) -> Option<T> {
    let value = raw.trim().replace('-', "_").to_ascii_lowercase();
    match serde_json::from_value(serde_json::Value::String(value)) {
        Ok(v) => Some(v),
        Err(_) => {
            c.fail(field, "invalid_choice", format!("must be one of {allowed}"));
            None
        }
    }
}

/// Renders the chart, or the list of what is wrong with the input (one line per field).
pub fn run(args: &ChartArgs) -> Result<String, String> {
    let mut c = Check::new();
    let birth = resolve_birth(
        &mut c,
        "",
        &BirthInput {
            date: args.date.clone(),
            time: args.time.clone(),
            time_zone: args.time_zone.clone(),
            latitude: args.latitude,
            longitude: args.longitude,
            place_name: args.place.clone(),
        },
    );
    let ayanamsa = setting(
        &mut c,
        "ayanamsa",
        &args.ayanamsa,
        "lahiri, raman, krishnamurti",
    );
    let house_system = setting(
        &mut c,
        "houses",
        &args.house_system,
        "whole-sign, equal, placidus",
    );
    let node = setting(&mut c, "node", &args.node, "mean, true");
    c.finish().map_err(describe)?;
    let (Some(birth), Some(ayanamsa), Some(house_system), Some(node)) =
        (birth, ayanamsa, house_system, node)
    else {
        return Err("invalid input".to_owned());
    };
    let settings = ChartSettings {
        ayanamsa,
        house_system,
        node,
    };
    let chart = cast("", &birth, settings).map_err(describe)?;
    let view = chart_view(&birth, settings, &chart);
    Ok(match args.format {
        Format::Json => serde_json::to_string_pretty(&view).unwrap_or_default(),
        Format::Svg(style) => {
            let opts = astro::svg::SvgOptions {
                title: Some(super::routes::chart_title(&birth)),
                include_outer: matches!(style, super::routes::ChartStyle::Western),
                ..astro::svg::SvgOptions::default()
            };
            match style {
                super::routes::ChartStyle::NorthIndian => astro::svg::north_indian(&chart, &opts),
                super::routes::ChartStyle::SouthIndian => astro::svg::south_indian(&chart, &opts),
                super::routes::ChartStyle::Western => astro::svg::western_wheel(&chart, &opts),
            }
        }
        Format::Table => table(&view),
    })
}

fn describe(err: impl Into<ApiError>) -> String {
    let problem = err.into().to_problem(None);
    if problem.errors.is_empty() {
        return problem.detail;
    }
    problem
        .errors
        .iter()
        .map(|e| format!("{}: {} ({})", flag_of(&e.field), e.message, e.code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The command-line flag a field error is about.
fn flag_of(field: &str) -> String {
    match field {
        "time_zone" => "--tz".to_owned(),
        "latitude" => "--lat".to_owned(),
        "longitude" => "--lon".to_owned(),
        "place_name" => "--place".to_owned(),
        "house_system" => "--houses".to_owned(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

fn title_case(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|f| f.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn table(v: &ChartView) -> String {
    let mut out = String::new();
    let b = &v.birth;
    let _ = writeln!(
        out,
        "Birth      {} {} (UTC{}) = {} UT{}",
        b.local.replace('T', " "),
        b.time_zone,
        b.utc_offset,
        b.utc.format("%Y-%m-%d %H:%M:%S"),
        if b.time_known { "" } else { "  [time unknown]" }
    );
    let _ = writeln!(
        out,
        "Place      {:.4}° {}, {:.4}° {}{}",
        b.latitude.abs(),
        if b.latitude >= 0.0 { 'N' } else { 'S' },
        b.longitude.abs(),
        if b.longitude >= 0.0 { 'E' } else { 'W' },
        b.place_name
            .as_deref()
            .map(|p| format!("  ({p})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "Settings   {:?} ayanamsa {:.6}°, {:?} houses, {:?} node, ΔT {:.1} s",
        v.settings.ayanamsa,
        v.ayanamsa_degrees,
        v.settings.house_system,
        v.settings.node,
        v.delta_t_seconds
    );
    let a = &v.ascendant;
    let _ = writeln!(
        out,
        "Ascendant  {} {}  {} pada {} ({})  D9 {}\n",
        title_case(&a.sign),
        a.dms,
        a.nakshatra,
        a.pada,
        title_case(&a.nakshatra_lord),
        title_case(&a.navamsa)
    );
    let _ = writeln!(
        out,
        "{:<9} {:<12} {:<11} {:<18} {:>4}  {:<8} {:>5}  {:<12}",
        "Planet", "Sign", "Degree", "Nakshatra", "Pada", "Lord", "House", "D9"
    );
    for p in &v.planets {
        let _ = writeln!(
            out,
            "{:<9} {:<12} {:<11} {:<18} {:>4}  {:<8} {:>5}  {:<12}",
            format!(
                "{}{}",
                title_case(&p.name),
                if p.retrograde { " R" } else { "" }
            ),
            title_case(&p.placement.sign),
            p.placement.dms,
            p.placement.nakshatra,
            p.placement.pada,
            title_case(&p.placement.nakshatra_lord),
            p.house,
            title_case(&p.placement.navamsa)
        );
    }
    let _ = writeln!(out, "\nHouse cusps");
    for h in &v.houses {
        let _ = writeln!(
            out,
            "  {:>2}  {:>9.4}°  {}",
            h.number,
            h.cusp,
            title_case(&h.sign)
        );
    }
    let _ = writeln!(
        out,
        "\nMangal dosha: {}",
        if v.mangal_dosha.present {
            format!(
                "yes (Mars in house {} from lagna, {} from Moon)",
                v.mangal_dosha.mars_house_from_lagna, v.mangal_dosha.mars_house_from_moon
            )
        } else {
            "no".to_owned()
        }
    );
    let _ = writeln!(
        out,
        "Vimshottari at birth: {} mahadasha, {:.2} years remaining",
        title_case(&v.birth_dasha.lord),
        v.birth_dasha.balance_years
    );
    for w in &v.warnings {
        let _ = writeln!(out, "Note: {w}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(format: Format) -> ChartArgs {
        ChartArgs {
            date: "1990-05-17".into(),
            time: Some("14:30".into()),
            time_zone: "Asia/Kolkata".into(),
            latitude: 19.076,
            longitude: 72.8777,
            place: Some("Mumbai".into()),
            ayanamsa: "lahiri".into(),
            house_system: "whole-sign".into(),
            node: "mean".into(),
            format,
        }
    }

    #[test]
    fn table_lists_every_planet_and_the_birth_as_understood() {
        let out = run(&args(Format::Table)).unwrap();
        assert!(
            out.contains("1990-05-17 14:30:00 Asia/Kolkata (UTC+05:30) = 1990-05-17 09:00:00 UT")
        );
        for planet in [
            "Sun", "Moon", "Mars", "Mercury", "Jupiter", "Venus", "Saturn", "Rahu", "Ketu",
        ] {
            assert!(
                out.lines().any(|l| l.starts_with(planet)),
                "{planet} missing:\n{out}"
            );
        }
        // On 1990-05-17 the sidereal Sun is in Taurus.
        assert!(
            out.lines()
                .any(|l| l.starts_with("Sun") && l.contains("Taurus"))
        );
    }

    #[test]
    fn json_is_the_api_view() {
        let out = run(&args(Format::Json)).unwrap();
        let v: ChartView = serde_json::from_str(&out).unwrap();
        assert_eq!(v.planets.len(), 12);
        assert_eq!(v.birth.utc.to_rfc3339(), "1990-05-17T09:00:00+00:00");
    }

    #[test]
    fn bad_input_names_each_flag() {
        let mut a = args(Format::Table);
        a.date = "1990-02-30".into();
        a.time_zone = "Nowhere/Town".into();
        a.latitude = 123.0;
        a.house_system = "koch".into();
        let err = run(&a).unwrap_err();
        for flag in ["--date", "--tz", "--lat", "--houses"] {
            assert!(err.contains(flag), "{flag} missing from {err}");
        }
        let mut a = args(Format::Table);
        a.latitude = 80.0;
        a.house_system = "placidus".into();
        assert!(run(&a).unwrap_err().contains("houses_undefined"));
    }
}
