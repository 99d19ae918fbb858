//! Small vector/matrix helpers and angle conventions shared by the numeric modules.

/// One arcsecond in radians.
pub const ARCSEC: f64 = std::f64::consts::PI / 648_000.0;

/// 3-vector.
pub type Vec3 = [f64; 3];
/// Row-major 3×3 matrix.
pub type Mat3 = [[f64; 3]; 3];

pub fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn scale(a: Vec3, k: f64) -> Vec3 {
    [a[0] * k, a[1] * k, a[2] * k]
}

pub fn mat_vec(m: &Mat3, v: Vec3) -> Vec3 {
    [dot(m[0], v), dot(m[1], v), dot(m[2], v)]
}

pub fn mat_transpose_vec(m: &Mat3, v: Vec3) -> Vec3 {
    [
        m[0][0] * v[0] + m[1][0] * v[1] + m[2][0] * v[2],
        m[0][1] * v[0] + m[1][1] * v[1] + m[2][1] * v[2],
        m[0][2] * v[0] + m[1][2] * v[1] + m[2][2] * v[2],
    ]
}

pub fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
        }
    }
    out
}

/// Frame rotation about x by `angle` (passive, as in the IAU/SOFA convention).
pub fn rot_x(angle: f64) -> Mat3 {
    let (s, c) = angle.sin_cos();
    [[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]]
}

/// Frame rotation about z by `angle` (passive).
pub fn rot_z(angle: f64) -> Mat3 {
    let (s, c) = angle.sin_cos();
    [[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]]
}

/// Normalises degrees into 0..360.
pub fn norm_deg(angle: f64) -> f64 {
    let a = angle.rem_euclid(360.0);
    // rem_euclid can return exactly 360.0 for tiny negative inputs.
    if a >= 360.0 { 0.0 } else { a }
}

/// Signed difference a − b folded into −180..180 degrees.
pub fn diff_deg(a: f64, b: f64) -> f64 {
    (a - b + 180.0).rem_euclid(360.0) - 180.0
}

/// Longitude (rad, 0..2π) and latitude (rad) of a vector.
pub fn spherical(v: Vec3) -> (f64, f64) {
    let lon = v[1].atan2(v[0]).rem_euclid(std::f64::consts::TAU);
    let lat = v[2].atan2((v[0] * v[0] + v[1] * v[1]).sqrt());
    (lon, lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angle_helpers() {
        assert_eq!(norm_deg(-30.0), 330.0);
        assert_eq!(norm_deg(720.5), 0.5);
        assert!(norm_deg(-1e-18) < 360.0);
        assert_eq!(diff_deg(10.0, 350.0), 20.0);
        assert_eq!(diff_deg(350.0, 10.0), -20.0);
    }

    #[test]
    fn rotations_are_orthonormal() {
        let m = mat_mul(&rot_x(0.3), &rot_z(1.1));
        let v = [0.2, -0.5, 0.7];
        let back = mat_transpose_vec(&m, mat_vec(&m, v));
        for i in 0..3 {
            assert!((back[i] - v[i]).abs() < 1e-15);
        }
    }
}
