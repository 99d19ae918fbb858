#!/usr/bin/env python3
"""Times the crate's full chart against pyswisseph doing the equivalent calls.

Dev-only. Runs `cargo run --release -p augur-astro --example bench N`, then replays the
same instants/places (same LCG) through pyswisseph: ΔT, 10 bodies + mean node with
speed in Lahiri sidereal mode, Placidus houses, and prints both timings and the ratio.
"""
import os
import subprocess
import sys
import time

import swisseph as swe

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
swe.set_ephe_path(os.environ.get("SE_EPHE_PATH", "/tmp/swe/x/usr/share/libswe/ephe"))


def lcg(seed):
    mask = (1 << 64) - 1
    state = seed
    while True:
        state = (state * 6364136223846793005 + 1442695040888963407) & mask
        yield (state >> 11) / float(1 << 53)


out = subprocess.run(["cargo", "run", "--quiet", "--release", "-p", "augur-astro", "--example", "bench", str(N)],
                     cwd=ROOT, check=True, capture_output=True, text=True).stdout
rust = dict(line.split() for line in out.strip().splitlines())
rust_us = float(rust["us_per_chart"])

rng = lcg(42)
inputs = [(2378497.0 + next(rng) * 109500.0, -60 + 120 * next(rng), -180 + 360 * next(rng)) for _ in range(N)]
bodies = [swe.SUN, swe.MOON, swe.MARS, swe.MERCURY, swe.JUPITER, swe.VENUS, swe.SATURN,
          swe.MEAN_NODE, swe.URANUS, swe.NEPTUNE, swe.PLUTO]
swe.set_sid_mode(swe.SIDM_LAHIRI)
flags = swe.FLG_SWIEPH | swe.FLG_SPEED | swe.FLG_SIDEREAL
swe.calc_ut(inputs[0][0], swe.SUN, flags)  # open files before timing
start = time.perf_counter()
for jd, lat, lon in inputs:
    swe.deltat(jd)
    for b in bodies:
        swe.calc_ut(jd, b, flags)
    swe.houses_ex(jd, lat, lon, b"P", swe.FLG_SIDEREAL)
se_us = (time.perf_counter() - start) * 1e6 / N

print(f"augur-astro full_chart : {rust_us:8.3} µs/chart  ({float(rust['charts_per_second']):,.0f} charts/s)")
print(f"pyswisseph equivalent  : {se_us:8.3} µs/chart  ({1e6 / se_us:,.0f} charts/s)")
print(f"ratio (pyswisseph / augur-astro): {se_us / rust_us:.2f}x")
