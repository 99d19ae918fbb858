//! Apparent geocentric positions of the grahas: light-time, solar light deflection,
//! relativistic annual aberration, then the IAU 2006/2000B rotation to the true ecliptic
//! and equinox of date. Also the mean and true (osculating) lunar node.

use serde::Serialize;

use crate::ephemeris::{self, Series};
use crate::frames::EarthOrientation;
use crate::math::{ARCSEC, Vec3, add, cross, dot, mat_vec, norm, scale, spherical, sub};

/// Speed of light, km/day.
const LIGHT_KM_PER_DAY: f64 = 299_792.458 * 86_400.0;
/// Schwarzschild radius of the Sun 2GM/c² (km), for light deflection.
const SUN_SCHWARZSCHILD_KM: f64 = 2.953_250_08;
/// Solar radius (IAU 2015 nominal), km.
const SUN_RADIUS_KM: f64 = 695_700.0;
/// Fraction of the solar mass inside radius r/R☉ = 0, 0.05, …, 1 (standard solar model,
/// rounded; e.g. Bahcall, Serenelli & Basu 2005).
const SUN_MASS_PROFILE: [f64; 21] = [
    0.0, 0.012, 0.075, 0.19, 0.34, 0.48, 0.61, 0.71, 0.79, 0.85, 0.90, 0.935, 0.96, 0.975, 0.985,
    0.992, 0.996, 0.998, 0.9995, 0.9999, 1.0,
];
/// General precession in longitude (IAU 2006), rad per day, used to turn inertial
/// angular velocity into the rate of longitude measured from the moving equinox.
const PRECESSION_RATE: f64 = 5_028.796_195 * ARCSEC / 36_525.0;

/// Bodies whose tropical positions the crate computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    Sun,
    Moon,
    Mercury,
    Venus,
    Mars,
    Jupiter,
    Saturn,
    Uranus,
    Neptune,
    Pluto,
    /// Mean ascending lunar node (Rahu, mean).
    MeanNode,
    /// True (osculating) ascending lunar node (Rahu, true).
    TrueNode,
}

impl Body {
    /// All bodies in a fixed order.
    pub const ALL: [Body; 12] = [
        Body::Sun,
        Body::Moon,
        Body::Mercury,
        Body::Venus,
        Body::Mars,
        Body::Jupiter,
        Body::Saturn,
        Body::Uranus,
        Body::Neptune,
        Body::Pluto,
        Body::MeanNode,
        Body::TrueNode,
    ];
}

/// Apparent geocentric ecliptic coordinates of date (true equinox).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EclipticPosition {
    /// Longitude, degrees 0..360.
    pub longitude: f64,
    /// Latitude, degrees.
    pub latitude: f64,
    /// Geocentric distance, km (0 for the nodes).
    pub distance_km: f64,
    /// Rate of change of longitude, degrees/day.
    pub speed: f64,
}

impl EclipticPosition {
    /// Apparent backward motion.
    pub fn is_retrograde(&self) -> bool {
        self.speed < 0.0
    }
}

/// Everything about the observer's frame that is shared by all bodies at one TT instant.
pub struct Snapshot {
    pub jd_tt: f64,
    pub orientation: EarthOrientation,
    earth_pos: Vec3,
    earth_vel: Vec3,
    sun_pos: Vec3,
    sun_vel: Vec3,
}

impl Snapshot {
    /// Prepares the frame for TT Julian day `jd_tt` (must lie inside the table).
    pub fn new(jd_tt: f64) -> Self {
        let (sun_pos, sun_vel) = ephemeris::state(Series::Sun, jd_tt);
        let (earth_pos, earth_vel) = ephemeris::earth_barycentric_with_sun(jd_tt, sun_pos, sun_vel);
        Self {
            jd_tt,
            orientation: EarthOrientation::at(jd_tt),
            earth_pos,
            earth_vel,
            sun_pos,
            sun_vel,
        }
    }

    /// Apparent position of one body.
    pub fn position(&self, body: Body) -> EclipticPosition {
        match body {
            Body::MeanNode => self.mean_node(),
            Body::TrueNode => self.true_node(),
            Body::Moon => self.moon(),
            _ => self.planet(body),
        }
    }

    /// Barycentric state of a Sun/planet series at `jd` (within light-time of `jd_tt`).
    fn barycentric(&self, body: Body, jd: f64) -> (Vec3, Vec3) {
        let heliocentric = |series| {
            let (p, v) = ephemeris::state(series, jd);
            // The Sun's barycentric acceleration is ~1e-10 km/s²: over a light-time of
            // hours a linear step is exact to millimetres and saves a 24-term series.
            let sp = add(self.sun_pos, scale(self.sun_vel, jd - self.jd_tt));
            (add(p, sp), add(v, self.sun_vel))
        };
        match body {
            Body::Sun => ephemeris::state(Series::Sun, jd),
            Body::Mercury => heliocentric(Series::Mercury),
            Body::Venus => heliocentric(Series::Venus),
            Body::Mars => heliocentric(Series::Mars),
            Body::Jupiter => ephemeris::state(Series::Jupiter, jd),
            Body::Saturn => ephemeris::state(Series::Saturn, jd),
            Body::Uranus => ephemeris::state(Series::Uranus, jd),
            Body::Neptune => ephemeris::state(Series::Neptune, jd),
            Body::Pluto => ephemeris::state(Series::Pluto, jd),
            Body::Moon | Body::MeanNode | Body::TrueNode => {
                unreachable!("not a barycentric series")
            }
        }
    }

    fn planet(&self, body: Body) -> EclipticPosition {
        let t = self.jd_tt;
        let (p_now, _) = self.barycentric(body, t);
        let tau0 = norm(sub(p_now, self.earth_pos)) / LIGHT_KM_PER_DAY;
        let (p0, v0) = self.barycentric(body, t - tau0);
        let tau1 = norm(sub(p0, self.earth_pos)) / LIGHT_KM_PER_DAY;
        // One Newton-like refinement of the light-time is far below 1 mas.
        let target = add(p0, scale(v0, tau0 - tau1));
        let geo = sub(target, self.earth_pos);
        let direction = if body == Body::Sun {
            scale(geo, 1.0 / norm(geo))
        } else {
            self.deflect(geo, sub(target, self.sun_pos))
        };
        let apparent = self.aberrate(direction);
        self.finish(apparent, norm(geo), geo, sub(v0, self.earth_vel))
    }

    fn moon(&self) -> EclipticPosition {
        let (m_now, _) = ephemeris::state(Series::Moon, self.jd_tt);
        let tau = norm(m_now) / LIGHT_KM_PER_DAY;
        let (m, v) = ephemeris::state(Series::Moon, self.jd_tt - tau);
        // Earth(t − τ) − Earth(t) ≈ −v⊕τ: the Moon's light left it from where it was then,
        // relative to a barycentre the Earth has since moved away from.
        let geo = sub(m, scale(self.earth_vel, tau));
        let apparent = self.aberrate(scale(geo, 1.0 / norm(geo)));
        self.finish(apparent, norm(geo), geo, v)
    }

    /// Gravitational deflection of light by the Sun (IERS Conventions form).
    fn deflect(&self, geo: Vec3, helio_target: Vec3) -> Vec3 {
        let p = scale(geo, 1.0 / norm(geo));
        let q = scale(helio_target, 1.0 / norm(helio_target));
        let earth_helio = sub(self.earth_pos, self.sun_pos);
        let em = norm(earth_helio);
        let e = scale(earth_helio, 1.0 / em);
        let qpe = dot(q, add(q, e)).max(1e-9);
        let mut w = SUN_SCHWARZSCHILD_KM / em / qpe;
        // A ray passing through the solar disc is bent only by the mass inside its impact
        // parameter (planet behind the Sun; physically unobservable, but keep it finite
        // and smooth).
        let toward_sun = scale(e, -1.0);
        let impact = norm(cross(p, toward_sun)) * em / SUN_RADIUS_KM;
        if impact < 1.0 && dot(p, toward_sun) > 0.0 && norm(geo) > em {
            w *= projected_mass_fraction(impact);
        }
        let p1 = add(p, scale(cross(p, cross(e, q)), w));
        scale(p1, 1.0 / norm(p1))
    }

    /// Relativistic annual aberration for the Earth's barycentric velocity.
    fn aberrate(&self, p: Vec3) -> Vec3 {
        let v = scale(self.earth_vel, 1.0 / LIGHT_KM_PER_DAY);
        let earth_sun = norm(sub(self.earth_pos, self.sun_pos));
        let beta_inv = (1.0 - dot(v, v)).sqrt();
        let pdv = dot(p, v);
        let w1 = 1.0 + pdv / (1.0 + beta_inv);
        let w2 = SUN_SCHWARZSCHILD_KM / earth_sun;
        let mut out = [0.0; 3];
        for i in 0..3 {
            out[i] = p[i] * beta_inv + w1 * v[i] + w2 * (v[i] - pdv * p[i]);
        }
        scale(out, 1.0 / norm(out))
    }

    /// Rotates to the ecliptic of date and derives the longitude rate.
    fn finish(&self, apparent: Vec3, distance: f64, geo: Vec3, geo_vel: Vec3) -> EclipticPosition {
        let m = &self.orientation.icrf_to_ecliptic;
        let (lon, lat) = spherical(mat_vec(m, apparent));
        // d/dt of a retarded position carries the factor (1 − ṙ/c).
        let radial_rate = dot(geo, geo_vel) / norm(geo);
        let vel = scale(geo_vel, 1.0 - radial_rate / LIGHT_KM_PER_DAY);
        let r = mat_vec(m, geo);
        let v = mat_vec(m, vel);
        let rate = (r[0] * v[1] - r[1] * v[0]) / (r[0] * r[0] + r[1] * r[1]);
        EclipticPosition {
            longitude: lon.to_degrees(),
            latitude: lat.to_degrees(),
            distance_km: distance,
            speed: (rate + PRECESSION_RATE + self.nutation_rate()).to_degrees(),
        }
    }

    /// Rate of Δψ from its dominant 18.6-year term (rad/day).
    fn nutation_rate(&self) -> f64 {
        let t = self.orientation.t;
        let om = (450_160.398_036 - 6_962_890.543_1 * t) * ARCSEC;
        let om_rate = -6_962_890.543_1 * ARCSEC / 36_525.0;
        -17.206_416_1 * ARCSEC * om.cos() * om_rate
    }

    /// Mean node: Ω = L − F from the mean elements of S. L. Moshier's adjustment of
    /// ELP2000-85 to JPL DE404 (3000 BC – AD 3000; method of Moshier 1992, A&A 262, 613),
    /// referred to the mean equinox and ecliptic of date, plus Δψ for the true equinox.
    /// Arcseconds, T in Julian centuries TT from J2000:
    /// L = 785939.95571 + (1732564372.83264 − 0.6784914261) T − 5.663161722 T² + 0.0057228593 T³ − 0.0000846647 T⁴,
    /// F = 335779.55755 + (1739527263.0983 − 0.2079419902) T − 13.120452337 T² − 0.0011382159 T³ − 0.0000096460 T⁴.
    /// (Chapront et al. 1998 / Meeus 47.7 differs by up to 0.16″ over 1800–2100, the
    /// ELP/MPP02 W₃ + IAU 2006 pₐ by up to 0.036″.)
    fn mean_node(&self) -> EclipticPosition {
        let t = self.orientation.t;
        // Ω = L − F, coefficients of T⁰…T⁴ in arcseconds.
        const C: [f64; 5] = [
            785_939.955_71 - 335_779.557_55,
            (1_732_564_372.832_64 - 0.678_491_426_095_3)
                - (1_739_527_263.098_3 - 0.207_941_990_176),
            -5.663_161_722_088 + 13.120_452_337_11,
            0.005_722_859_298_199 + 0.001_138_215_912_58,
            -8.466_472_828_815e-5 + 9.646_018_347_184e-6,
        ];
        let omega = (C[0] + t * (C[1] + t * (C[2] + t * (C[3] + t * C[4])))) / 3600.0;
        let rate =
            (C[1] + t * (2.0 * C[2] + t * (3.0 * C[3] + t * 4.0 * C[4]))) / 3600.0 / 36_525.0;
        EclipticPosition {
            longitude: crate::math::norm_deg(omega + self.orientation.dpsi.to_degrees()),
            latitude: 0.0,
            distance_km: 0.0,
            speed: rate + self.nutation_rate().to_degrees(),
        }
    }

    /// True node: ascending node of the osculating geocentric lunar orbit on the ecliptic
    /// of date.
    fn true_node(&self) -> EclipticPosition {
        let node_at = |jd: f64| {
            let (r, v) = ephemeris::state(Series::Moon, jd);
            let m = &self.orientation.icrf_to_ecliptic;
            let h = cross(mat_vec(m, r), mat_vec(m, v));
            h[0].atan2(-h[1]).to_degrees()
        };
        let step = 0.01;
        let lon = node_at(self.jd_tt);
        let rate = crate::math::diff_deg(node_at(self.jd_tt + step), node_at(self.jd_tt - step))
            / (2.0 * step);
        EclipticPosition {
            longitude: crate::math::norm_deg(lon),
            latitude: 0.0,
            distance_km: 0.0,
            speed: rate,
        }
    }
}

fn spherical_mass_fraction(r: f64) -> f64 {
    let x = (r * 20.0).clamp(0.0, 20.0);
    let i = (x.floor() as usize).min(19);
    let f = x - i as f64;
    SUN_MASS_PROFILE[i] * (1.0 - f) + SUN_MASS_PROFILE[i + 1] * f
}

/// Fraction of the solar mass inside a cylinder of radius `b` (solar radii) around the
/// line of sight, which is what bends a ray with impact parameter `b`.
fn projected_mass_fraction(b: f64) -> f64 {
    let steps = 200;
    let mut inside = spherical_mass_fraction(b);
    let dr = (1.0 - b) / steps as f64;
    for k in 0..steps {
        let r0 = b + k as f64 * dr;
        let r1 = r0 + dr;
        let shell = spherical_mass_fraction(r1) - spherical_mass_fraction(r0);
        let r = 0.5 * (r0 + r1);
        inside += shell * (1.0 - (1.0 - (b / r).powi(2)).max(0.0).sqrt());
    }
    inside.min(1.0)
}
