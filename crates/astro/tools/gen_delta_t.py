#!/usr/bin/env python3
"""Generate crates/astro/src/delta_t_table.rs: yearly ΔT = TT − UT1 values (seconds).

Dev-only script. Sources (published data; all but Table S15 are bundled with the MIT-licensed
`skyfield` package from PyPI, `pip install skyfield`):

* 1800–1952: Stephenson, Morrison & Hohenkerk (2016), "Measurement of the Earth's
  rotation: 720 BC to AD 2015", Proc. R. Soc. A 472: 20160404, doi:10.1098/rspa.2016.0404,
  electronic supplementary material Table S15 (cubic spline; CC BY 4.0; embedded below —
  skyfield ships only the 2020 addendum, which revised 1800–1830 by up to 0.5 s).
  The spline refers to a lunar tidal acceleration ṅ = −25.85″/cy²; it is converted to
  ṅ = −25.80″/cy² (the value for the DE430/DE431 generation of JPL lunar ephemerides)
  with the standard relation Δ(ΔT) = −0.91072 s · (ṅ − ṅ₀) · ((year − 1955)/100)²
  (Morrison & Stephenson 2004, J. Hist. Astron. 35, 327): −0.046 s at 1800.
* 1955–1972: the Astronomical Almanac / USNO historic ΔT series (observed ET−UT).
* 1973–present: IERS EOP (finals2000A) daily UT1−UTC, converted to ΔT.
* 1953, 1954: linear blend between the spline and the almanac series, which differ by
  ~0.66 s at 1955 (the spline is a smoothed long-term fit).

Values are sampled on 1 January (Julian-year grid 2000 + (JD−2451545)/365.25 is used for
the year argument); the crate interpolates them with a 4-point cubic and extrapolates past
the last entry (see src/time.rs).
"""
import os

import numpy as np
import skyfield

DATA = os.path.join(os.path.dirname(skyfield.__file__), "data")
OUT = os.path.join(os.path.dirname(__file__), "..", "src", "delta_t_table.rs")

historic = np.load(os.path.join(DATA, "historic_deltat.npy"))
iers = np.load(os.path.join(DATA, "iers.npz"))
iers_jd = iers["tt_jd_minus_arange"] + np.arange(len(iers["tt_jd_minus_arange"]))
iers_dt = iers["delta_t_1e7"] / 1e7


def year_to_jd(year):
    return 2451545.0 + (year - 2000.0) * 365.25


# Stephenson, Morrison & Hohenkerk (2016), Table S15: [K_i, K_i+1, a0, a1, a2, a3];
# ΔT = a0 + a1 t + a2 t² + a3 t³, t = (year − K_i)/(K_i+1 − K_i).
S15_2016 = [
  [-720, 400, 20550.593, -21268.478, 11863.418, -4541.129],
  [400, 1000, 6604.404, -5981.266, -505.093, 1349.609],
  [1000, 1500, 1467.654, -2452.187, 2460.927, -1183.759],
  [1500, 1600, 292.635, -216.322, -43.614, 56.681],
  [1600, 1650, 89.38, -66.754, 31.607, -10.497],
  [1650, 1720, 43.736, -49.043, 0.227, 15.811],
  [1720, 1800, 10.73, -1.321, 62.25, -52.946],
  [1800, 1810, 18.714, -4.457, -1.509, 2.507],
  [1810, 1820, 15.255, 0.046, 6.012, -4.634],
  [1820, 1830, 16.679, -1.831, -7.889, 3.799],
  [1830, 1840, 10.758, -6.211, 3.509, -0.388],
  [1840, 1850, 7.668, -0.357, 2.345, -0.338],
  [1850, 1855, 9.317, 1.659, 0.332, -0.932],
  [1855, 1860, 10.376, -0.472, -2.463, 1.596],
  [1860, 1865, 9.038, -0.61, 2.325, -2.497],
  [1865, 1870, 8.256, -3.45, -5.166, 2.729],
  [1870, 1875, 2.369, -5.596, 3.02, -0.919],
  [1875, 1880, -1.126, -2.312, 0.264, -0.037],
  [1880, 1885, -3.211, -1.894, 0.154, 0.562],
  [1885, 1890, -4.388, 0.101, 1.841, -1.438],
  [1890, 1895, -3.884, -0.531, -2.473, 1.87],
  [1895, 1900, -5.017, 0.134, 3.138, -0.232],
  [1900, 1905, -1.977, 5.715, 2.443, -1.257],
  [1905, 1910, 4.923, 6.828, -1.329, 0.72],
  [1910, 1915, 11.142, 6.33, 0.831, -0.825],
  [1915, 1920, 17.479, 5.518, -1.643, 0.262],
  [1920, 1925, 21.617, 3.02, -0.856, 0.008],
  [1925, 1930, 23.789, 1.333, -0.831, 0.127],
  [1930, 1935, 24.418, 0.052, -0.449, 0.142],
  [1935, 1940, 24.164, -0.419, -0.022, 0.702],
  [1940, 1945, 24.426, 1.645, 2.086, -1.106],
  [1945, 1950, 27.05, 2.499, -1.232, 0.614],
  [1950, 1953, 28.932, 1.127, 0.22, -0.277],
  [1953, 1956, 30.002, 0.737, -0.61, 0.631],
  [1956, 1959, 30.76, 1.409, 1.282, -0.799],
  [1959, 1962, 32.652, 1.577, -1.115, 0.507],
  [1962, 1965, 33.621, 0.868, 0.406, 0.199],
  [1965, 1968, 35.093, 2.275, 1.002, -0.414],
  [1968, 1971, 37.956, 3.035, -0.242, 0.202],
  [1971, 1974, 40.951, 3.157, 0.364, -0.229],
  [1974, 1977, 44.244, 3.198, -0.323, 0.172],
  [1977, 1980, 47.291, 3.069, 0.193, -0.192],
  [1980, 1983, 50.361, 2.878, -0.384, 0.081],
  [1983, 1986, 52.936, 2.354, -0.14, -0.166],
  [1986, 1989, 54.984, 1.577, -0.637, 0.448],
  [1989, 1992, 56.373, 1.649, 0.709, -0.277],
  [1992, 1995, 58.453, 2.235, -0.122, 0.111],
  [1995, 1998, 60.677, 2.324, 0.212, -0.315],
  [1998, 2001, 62.899, 1.804, -0.732, 0.112],
  [2001, 2004, 64.082, 0.675, -0.396, 0.193],
  [2004, 2007, 64.555, 0.463, 0.184, -0.008],
  [2007, 2010, 65.194, 0.809, 0.161, -0.101],
  [2010, 2013, 66.063, 0.828, -0.142, 0.168],
  [2013, 2016, 66.917, 1.046, 0.36, -0.282],
]

NDOT_SPLINE = -25.85  # ″/cy², tidal acceleration underlying Table S15
NDOT_EPHEMERIS = -25.80  # ″/cy², DE430/DE431-generation lunar ephemerides


def smh(year):
    for k0, k1, a0, a1, a2, a3 in S15_2016:
        if k0 <= year < k1:
            x = (year - k0) / (k1 - k0)
            u = (year - 1955.0) / 100.0
            tidal = -0.91072 * (NDOT_EPHEMERIS - NDOT_SPLINE) * u * u
            return a0 + x * (a1 + x * (a2 + x * a3)) + tidal
    raise ValueError(year)


def almanac(year):
    return float(np.interp(year_to_jd(year), historic[0], historic[1]))


def from_iers(year):
    return float(np.interp(year_to_jd(year), iers_jd, iers_dt))


def value(year):
    if year <= 1952:
        return smh(year)
    if year < 1955:
        w = (year - 1952) / 3.0
        return (1 - w) * smh(year) + w * almanac(year)
    if year < 1973:
        return almanac(year)
    return from_iers(year)


last_year = int(np.floor(2000.0 + (iers_jd[-1] - 2451545.0) / 365.25))
years = list(range(1800, last_year + 1))
values = [value(float(y)) for y in years]

with open(OUT, "w") as f:
    f.write("//! Yearly ΔT (TT − UT1, seconds) on 1 January, generated by tools/gen_delta_t.py.\n")
    f.write("//! Sources: Stephenson, Morrison & Hohenkerk 2016 spline (≤1952, ṅ −25.85 → −25.80″/cy²),\n")
    f.write("//! Astronomical Almanac historic series (1955–1972), IERS EOP finals (1973–),\n")
    f.write("//! blended 1953–1954.\n")
    f.write("#![allow(clippy::approx_constant)] // measured data; a value may resemble π/6\n\n")
    f.write(f"/// Year of the first entry of [`DELTA_T_YEARLY`].\n")
    f.write(f"pub(crate) const DELTA_T_FIRST_YEAR: i32 = {years[0]};\n\n")
    f.write("/// ΔT in seconds at the start of each year from [`DELTA_T_FIRST_YEAR`].\n")
    f.write(f"pub(crate) const DELTA_T_YEARLY: [f64; {len(values)}] = [\n")
    for i in range(0, len(values), 8):
        f.write("    " + " ".join(f"{v:.4f}," for v in values[i:i + 8]) + "\n")
    f.write("];\n")
print(f"wrote {OUT}: {years[0]}..{years[-1]}")
