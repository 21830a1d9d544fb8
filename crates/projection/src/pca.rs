//! PCA: every trained bundle ships with a 2-D and a 3-D map of it, and the explorer animates the
//! training snapshots on its axes ([`PcaBasis`]).

use super::eigen::symmetric_eigen;

/// Principal components of `data` (`[rows, cols]` row-major): the centred rows projected on
/// the `dims` directions of largest variance, `[rows, dims]` row-major. Each axis's sign is
/// fixed (its loading of largest magnitude is positive) so the picture is reproducible; when
/// `dims > cols` the extra axes are 0.
pub fn pca(data: &[f64], rows: usize, cols: usize, dims: usize) -> Vec<f32> {
    if rows == 0 || cols == 0 {
        return vec![0.0; rows * dims];
    }
    pca_f64(data, rows, cols, dims)
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

/// [`pca`] in f64 (t-SNE and UMAP start from it).
pub fn pca_f64(data: &[f64], rows: usize, cols: usize, dims: usize) -> Vec<f64> {
    PcaBasis::fit(data, rows, cols, dims).apply(data, rows)
}

/// The mean and principal axes of a data set: other data (a training snapshot's codes) can
/// be drawn on the same axes, so movement between pictures is movement of the codes.
#[derive(Clone, Debug, PartialEq)]
pub struct PcaBasis {
    pub mean: Vec<f64>,
    /// `[dims, cols]` row-major unit axes (zero rows past `cols`).
    pub axes: Vec<f64>,
    pub dims: usize,
}

impl PcaBasis {
    pub fn fit(data: &[f64], rows: usize, cols: usize, dims: usize) -> PcaBasis {
        let mut mean = vec![0.0f64; cols];
        for r in 0..rows {
            for c in 0..cols {
                mean[c] += data[r * cols + c];
            }
        }
        mean.iter_mut().for_each(|m| *m /= rows.max(1) as f64);
        let mut cov = vec![0.0f64; cols * cols];
        for r in 0..rows {
            let x = &data[r * cols..(r + 1) * cols];
            for a in 0..cols {
                for b in a..cols {
                    cov[a * cols + b] += (x[a] - mean[a]) * (x[b] - mean[b]);
                }
            }
        }
        let denom = (rows.max(2) - 1) as f64;
        for a in 0..cols {
            for b in a..cols {
                cov[a * cols + b] /= denom;
                cov[b * cols + a] = cov[a * cols + b];
            }
        }
        // Signs: the loading of largest magnitude is positive (symmetric_eigen's convention).
        let (_, vectors) = symmetric_eigen(&cov, cols);
        let mut axes = vec![0.0f64; dims * cols];
        for axis in 0..dims.min(cols) {
            for c in 0..cols {
                axes[axis * cols + c] = vectors[c * cols + axis];
            }
        }
        PcaBasis { mean, axes, dims }
    }

    /// `[rows, dims]` coordinates of `data` on these axes.
    pub fn apply(&self, data: &[f64], rows: usize) -> Vec<f64> {
        let cols = self.mean.len();
        let mut out = vec![0.0f64; rows * self.dims];
        for r in 0..rows {
            let x = &data[r * cols..(r + 1) * cols];
            for axis in 0..self.dims {
                let a = &self.axes[axis * cols..(axis + 1) * cols];
                out[r * self.dims + axis] = (0..cols).map(|c| (x[c] - self.mean[c]) * a[c]).sum();
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn pca_finds_the_planted_plane_and_is_sign_stable() {
        // Points on a plane in 5-D spanned by two known directions with variances 9 and 1,
        // plus tiny noise: PCA's first two axes recover that variance split.
        let mut rng = Rng::new(3);
        let (rows, cols) = (400, 5);
        let u = [1.0, 1.0, 0.0, 0.0, 0.0].map(|v: f64| v / 2f64.sqrt());
        let w = [0.0, 0.0, 1.0, -1.0, 1.0].map(|v: f64| v / 3f64.sqrt());
        let mut data = Vec::new();
        for _ in 0..rows {
            let (a, b) = (3.0 * rng.normal(), rng.normal());
            for c in 0..cols {
                data.push(5.0 + a * u[c] + b * w[c] + 1e-3 * rng.normal());
            }
        }
        let p = pca(&data, rows, cols, 3);
        let var = |axis: usize| {
            let v: Vec<f64> = (0..rows).map(|r| f64::from(p[r * 3 + axis])).collect();
            let m = v.iter().sum::<f64>() / rows as f64;
            v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (rows - 1) as f64
        };
        let (v0, v1, v2) = (var(0), var(1), var(2));
        assert!((v0 / v1 - 9.0).abs() < 2.0, "variances {v0} {v1}");
        assert!(v2 < 1e-4, "third axis should be noise, got {v2}");
        // Deterministic: the same input gives the same numbers.
        assert_eq!(p, pca(&data, rows, cols, 3));
        // Rows are centred.
        let mean0: f64 = (0..rows).map(|r| f64::from(p[r * 3])).sum::<f64>() / rows as f64;
        assert!(mean0.abs() < 1e-4);
    }

    #[test]
    fn pca_pads_when_asked_for_more_axes_than_columns() {
        let data = [0.0, 1.0, 2.0, 3.0];
        let p = pca(&data, 4, 1, 2);
        assert_eq!(p.len(), 8);
        assert!(p.iter().skip(1).step_by(2).all(|v| *v == 0.0));
        assert!(p[6] > p[0], "largest loading positive: order kept");
    }
}
