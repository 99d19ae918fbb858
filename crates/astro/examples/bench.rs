//! Full-chart throughput: `cargo run --release -p augur-astro --example bench [N]`.
//! Inputs come from a small LCG shared with tools/bench_compare.py so both time the same
//! instants and places.

use std::hint::black_box;
use std::time::Instant as Clock;

use astro::{Ayanamsa, ChartRequest, HouseSystem, Instant, NodeKind, full_chart};

/// 64-bit LCG (Knuth MMIX constants) → uniform [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let mut rng = Lcg(42);
    let requests: Vec<ChartRequest> = (0..n)
        .map(|_| ChartRequest {
            instant: Instant::JulianDay(2_378_497.0 + rng.next() * 109_500.0),
            latitude: -60.0 + 120.0 * rng.next(),
            longitude: -180.0 + 360.0 * rng.next(),
            ayanamsa: Ayanamsa::Lahiri,
            house_system: HouseSystem::Placidus,
            node: NodeKind::Mean,
        })
        .collect();
    // Warm-up decodes the embedded table once.
    black_box(full_chart(&requests[0]).expect("valid request"));
    let start = Clock::now();
    let mut checksum = 0.0;
    for r in &requests {
        let chart = full_chart(black_box(r)).expect("valid request");
        checksum += chart.ascendant.longitude;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!("charts {n}");
    println!("charts_per_second {:.0}", n as f64 / elapsed);
    println!("us_per_chart {:.3}", elapsed * 1e6 / n as f64);
    println!("checksum {checksum:.6}");
}
