//! Data with a known shape, to test and benchmark the projections: a Swiss roll (a 2-D sheet
//! rolled up in 3-D; a good map unrolls it) and planted clusters (a good map keeps them apart).

use crate::rng::Rng;

/// `n` points of a Swiss roll, `[n, 3]` row-major, and each point's position along the roll
/// (the coordinate an unrolling map must recover).
pub fn swiss_roll(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Rng::new(seed);
    let mut data = Vec::with_capacity(n * 3);
    let mut along = Vec::with_capacity(n);
    for _ in 0..n {
        let t = 1.5 * std::f64::consts::PI * (1.0 + 2.0 * rng.uniform());
        let h = 21.0 * rng.uniform();
        data.extend([t * libm::cos(t), h, t * libm::sin(t)]);
        along.push(t);
    }
    (data, along)
}

/// `n` points in `dim` dimensions around `clusters` random centres (spread 10) with unit
/// noise, `[n, dim]` row-major, and each point's cluster.
pub fn clusters(n: usize, clusters: usize, dim: usize, seed: u64) -> (Vec<f64>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let centres: Vec<f64> = (0..clusters * dim).map(|_| 10.0 * rng.normal()).collect();
    let mut data = Vec::with_capacity(n * dim);
    let mut label = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % clusters;
        for d in 0..dim {
            data.push(centres[c * dim + d] + rng.normal());
        }
        label.push(c);
    }
    (data, label)
}

/// Spearman rank correlation of two equally long samples (ties get their mean rank).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
                j += 1;
            }
            for &k in &order[i..=j] {
                r[k] = (i + j) as f64 / 2.0;
            }
            i = j + 1;
        }
        r
    }
    let (rx, ry) = (ranks(x), ranks(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = rx.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = ry.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

/// Share of each point's `k` nearest map neighbours (Euclidean) with the point's own label.
pub fn label_purity(map: &[f64], rows: usize, dims: usize, labels: &[usize], k: usize) -> f64 {
    crate::neighbours::knn_purity(&super::rows_of(map, rows, dims), labels, k)
}

/// Time a 2-D map of the study's scale (5,400 points × 100-d in 30 planted clusters) and print
/// how long it took, its label purity@10 and trustworthiness@10 (the ignored timing tests).
pub fn time_study_scale(name: &str, project: impl FnOnce(&[f64], usize, usize) -> Vec<f64>) {
    let (n, dim) = (5400, 100);
    let (data, labels) = clusters(n, 30, dim, 1);
    let start = std::time::Instant::now();
    let map = project(&data, n, dim);
    let took = start.elapsed();
    let t = crate::neighbours::trustworthiness(
        &super::rows_of(&data, n, dim),
        &super::rows_of(&map, n, 2),
        10,
    );
    println!(
        "{name} 5400 x 100: {:.2} s, label purity@10 {:.3}, trustworthiness@10 {t:.4}",
        took.as_secs_f64(),
        label_purity(&map, n, 2, &labels, 10)
    );
}
