//! Reader for the embedded Chebyshev ephemeris (data/ephemeris.bin, generated from JPL
//! DE440 by tools/gen_ephemeris.py) giving geometric ICRF positions and velocities.
//!
//! The file is decoded once into f64 coefficients on first use; evaluation is a plain
//! Chebyshev sum with its derivative.

use std::sync::OnceLock;

use crate::math::{Vec3, add, scale, sub};

static RAW: &[u8] = include_bytes!("../data/ephemeris.bin");

/// Stored series, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    /// Sun, barycentric.
    Sun = 0,
    /// Earth–Moon barycentre, heliocentric.
    EarthMoonBarycentre = 1,
    /// Moon, geocentric.
    Moon = 2,
    /// Mercury system barycentre, heliocentric.
    Mercury = 3,
    /// Venus system barycentre, heliocentric.
    Venus = 4,
    /// Mars system barycentre, heliocentric.
    Mars = 5,
    /// Jupiter system barycentre, barycentric.
    Jupiter = 6,
    /// Saturn system barycentre, barycentric.
    Saturn = 7,
    /// Uranus system barycentre, barycentric.
    Uranus = 8,
    /// Neptune system barycentre, barycentric.
    Neptune = 9,
    /// Pluto system barycentre, barycentric.
    Pluto = 10,
}

struct SeriesTable {
    ncoef: usize,
    interval_days: f64,
    intervals: usize,
    /// interval-major, then axis, then coefficient (km).
    coefficients: Vec<f64>,
}

struct Table {
    start_jd: f64,
    end_jd: f64,
    /// Earth/Moon mass ratio of DE440.
    emrat: f64,
    series: Vec<SeriesTable>,
}

fn read_f64(bytes: &[u8], at: usize) -> f64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    f64::from_le_bytes(b)
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn decode(bytes: &[u8]) -> Table {
    assert_eq!(
        &bytes[0..8],
        b"AUGEPH01",
        "embedded ephemeris has an unknown format"
    );
    let start_jd = read_f64(bytes, 8);
    let end_jd = read_f64(bytes, 16);
    let emrat = read_f64(bytes, 24);
    let count = read_u32(bytes, 32) as usize;
    const ENTRY: usize = 4 + 4 + 8 + 8 + 4 + 4;
    let payload_start = 36 + count * ENTRY;
    let series = (0..count)
        .map(|i| {
            let at = 36 + i * ENTRY;
            let ncoef = read_u32(bytes, at + 4) as usize;
            let interval_days = read_f64(bytes, at + 8);
            let quantum = read_f64(bytes, at + 16);
            let intervals = read_u32(bytes, at + 24) as usize;
            let offset = payload_start + read_u32(bytes, at + 28) as usize;
            let len = intervals * 3 * ncoef;
            let coefficients = bytes[offset..offset + 4 * len]
                .chunks_exact(4)
                .map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])) * quantum)
                .collect();
            SeriesTable {
                ncoef,
                interval_days,
                intervals,
                coefficients,
            }
        })
        .collect();
    Table {
        start_jd,
        end_jd,
        emrat,
        series,
    }
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| decode(RAW))
}

/// Range of TDB Julian days covered by the embedded table.
pub fn coverage() -> (f64, f64) {
    let t = table();
    (t.start_jd, t.end_jd)
}

/// Position (km) and velocity (km/day) of a stored series at TDB Julian day `jd`.
///
/// Callers guarantee `jd` lies inside [`coverage`] (checked by the public API); outside
/// it the nearest interval is extrapolated rather than panicking.
pub fn state(series: Series, jd: f64) -> (Vec3, Vec3) {
    let t = table();
    let s = &t.series[series as usize];
    let offset = (jd - t.start_jd) / s.interval_days;
    let index = (offset.floor().max(0.0) as usize).min(s.intervals - 1);
    let x = 2.0 * (offset - index as f64) - 1.0;
    let n = s.ncoef;
    // T_k(x) and T'_k(x) by recurrence; n ≤ 32 in the generated file.
    let mut tk = [0.0f64; 32];
    let mut dk = [0.0f64; 32];
    tk[0] = 1.0;
    tk[1] = x;
    dk[1] = 1.0;
    for k in 2..n {
        tk[k] = 2.0 * x * tk[k - 1] - tk[k - 2];
        dk[k] = 2.0 * tk[k - 1] + 2.0 * x * dk[k - 1] - dk[k - 2];
    }
    let base = index * 3 * n;
    let mut pos = [0.0; 3];
    let mut vel = [0.0; 3];
    for axis in 0..3 {
        let c = &s.coefficients[base + axis * n..base + axis * n + n];
        let mut p = 0.0;
        let mut v = 0.0;
        for k in (0..n).rev() {
            p += c[k] * tk[k];
            v += c[k] * dk[k];
        }
        pos[axis] = p;
        vel[axis] = v * 2.0 / s.interval_days;
    }
    (pos, vel)
}

/// Barycentric position and velocity of the Earth (km, km/day).
pub fn earth_barycentric(jd: f64) -> (Vec3, Vec3) {
    let (sun_p, sun_v) = state(Series::Sun, jd);
    earth_barycentric_with_sun(jd, sun_p, sun_v)
}

/// As [`earth_barycentric`] when the Sun's barycentric state at `jd` is already known.
pub fn earth_barycentric_with_sun(jd: f64, sun_p: Vec3, sun_v: Vec3) -> (Vec3, Vec3) {
    let (emb_p, emb_v) = state(Series::EarthMoonBarycentre, jd);
    let (moon_p, moon_v) = state(Series::Moon, jd);
    let k = 1.0 / (1.0 + table().emrat);
    (
        sub(add(sun_p, emb_p), scale(moon_p, k)),
        sub(add(sun_v, emb_v), scale(moon_v, k)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::norm;

    #[test]
    fn table_covers_supported_range() {
        let (start, end) = coverage();
        assert!(start < crate::time::JD_UT_MIN - 2.0);
        assert!(end > crate::time::JD_UT_MAX + 2.0);
    }

    #[test]
    fn earth_sun_distance_is_about_one_au() {
        let (earth, _) = earth_barycentric(2_451_545.0);
        let (sun, _) = state(Series::Sun, 2_451_545.0);
        let d = norm(sub(earth, sun)) / 149_597_870.7;
        assert!((d - 0.9833).abs() < 0.001, "{d}");
    }

    #[test]
    fn velocity_is_derivative_of_position() {
        let jd = 2_440_000.3;
        let (p0, v) = state(Series::Moon, jd);
        let (p1, _) = state(Series::Moon, jd + 1e-4);
        for i in 0..3 {
            assert!(((p1[i] - p0[i]) / 1e-4 - v[i]).abs() < 1.0);
        }
    }
}
