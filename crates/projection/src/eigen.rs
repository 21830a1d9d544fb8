//! Eigen-decomposition of small dense symmetric matrices by cyclic Jacobi rotations. Only
//! `+ − × ÷ √` are used, each correctly rounded by IEEE 754, so the result is bit-identical
//! natively and in wasm (nalgebra's solver calls the platform's `hypot`). Fine up to a few
//! hundred rows: PCA's covariance (code length²) and Lanczos' tridiagonal matrices.

/// Eigenvalues (descending) and unit eigenvectors (column `i` of the row-major `[n, n]`
/// result belongs to value `i`) of the symmetric `[n, n]` row-major matrix `a`. Each vector's
/// component of largest magnitude is made positive, so the signs are reproducible.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a[..n * n].to_vec();
    let mut v = vec![0.0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-15 * scale || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (a[p * n + p], a[q * n + q]);
                // The rotation that zeroes a[p][q] (Golub & Van Loan, sym.schur2).
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| a[y * n + y].total_cmp(&a[x * n + x]).then(x.cmp(&y)));
    let values = order.iter().map(|&i| a[i * n + i]).collect();
    let mut vectors = vec![0.0f64; n * n];
    for (col, &i) in order.iter().enumerate() {
        let pivot = (0..n)
            .map(|k| v[k * n + i])
            .fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
        let sign = if pivot < 0.0 { -1.0 } else { 1.0 };
        for k in 0..n {
            vectors[k * n + col] = sign * v[k * n + i];
        }
    }
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn reconstructs_a_random_symmetric_matrix() {
        let mut rng = Rng::new(11);
        let n = 12;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in i..n {
                let x = rng.normal();
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        let (values, vectors) = symmetric_eigen(&a, n);
        assert!(values.windows(2).all(|w| w[0] >= w[1]));
        // A v = λ v for every pair, and the vectors are orthonormal.
        for c in 0..n {
            for i in 0..n {
                let av: f64 = (0..n).map(|j| a[i * n + j] * vectors[j * n + c]).sum();
                assert!((av - values[c] * vectors[i * n + c]).abs() < 1e-10);
            }
            for c2 in 0..n {
                let dot: f64 = (0..n)
                    .map(|k| vectors[k * n + c] * vectors[k * n + c2])
                    .sum();
                assert!((dot - f64::from(u8::from(c == c2))).abs() < 1e-10);
            }
        }
        // Against nalgebra's solver.
        let m = nalgebra::DMatrix::from_row_slice(n, n, &a);
        let mut theirs: Vec<f64> = nalgebra::SymmetricEigen::new(m)
            .eigenvalues
            .iter()
            .copied()
            .collect();
        theirs.sort_by(|x, y| y.total_cmp(x));
        for (x, y) in values.iter().zip(&theirs) {
            assert!((x - y).abs() < 1e-10, "{x} vs {y}");
        }
    }
}
