//! Writes a chart as three SVGs (North Indian, South Indian, western wheel):
//! `cargo run -p augur-astro --example chart_svg -- OUT_DIR [YYYY-MM-DD HH:MM LAT LON]`
//! (UTC, degrees north/east; without them, New Delhi on 17 May 1990 at 10:00 IST).

use std::path::PathBuf;

use astro::svg::{SvgOptions, north_indian, south_indian, western_wheel};
use astro::{Ayanamsa, ChartRequest, HouseSystem, Instant, NodeKind, full_chart};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: chart_svg OUT_DIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&dir)?;
    let rest: Vec<String> = std::env::args().skip(2).collect();
    let (date, time, latitude, longitude) = match rest.as_slice() {
        [] => ("1990-05-17", "04:30", 28.6139, 77.209),
        [d, t, lat, lon] => (d.as_str(), t.as_str(), lat.parse()?, lon.parse()?),
        _ => {
            eprintln!("usage: chart_svg OUT_DIR [YYYY-MM-DD HH:MM LAT LON]");
            std::process::exit(2);
        }
    };
    let d: Vec<u32> = date.split('-').map(str::parse).collect::<Result<_, _>>()?;
    let t: Vec<u32> = time.split(':').map(str::parse).collect::<Result<_, _>>()?;
    let (&[year, month, day], &[hour, minute]) = (d.as_slice(), t.as_slice()) else {
        eprintln!("date must be YYYY-MM-DD and time HH:MM");
        std::process::exit(2);
    };
    let request = ChartRequest {
        instant: Instant::Utc {
            year: year as i32,
            month,
            day,
            hour,
            minute,
            second: 0.0,
        },
        latitude,
        longitude,
        ayanamsa: Ayanamsa::Lahiri,
        house_system: HouseSystem::WholeSign,
        node: NodeKind::Mean,
    };
    let vedic = full_chart(&request)?;
    let western = full_chart(&ChartRequest {
        house_system: HouseSystem::Placidus,
        ..request
    })?;
    let title = Some(format!("Chart for {date} {time} UTC"));
    let jyotish = SvgOptions {
        title: title.clone(),
        ..SvgOptions::default()
    };
    let wheel = SvgOptions {
        title,
        include_outer: true,
        ..SvgOptions::default()
    };
    for (name, svg) in [
        ("north_indian.svg", north_indian(&vedic, &jyotish)),
        ("south_indian.svg", south_indian(&vedic, &jyotish)),
        ("western_wheel.svg", western_wheel(&western, &wheel)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, svg)?;
        println!("{}", path.display());
    }
    Ok(())
}
