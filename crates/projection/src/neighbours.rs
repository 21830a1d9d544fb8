//! Materials near each other in code space ("which materials act alike?") and how faithfully a
//! projection keeps each point's neighbours (trustworthiness). Exact, O(n²) distances: a few
//! thousand materials take well under a second natively.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distance {
    #[default]
    Euclidean,
    /// 1 − cos θ; a zero vector (a material that does nothing) is at distance 1 from all.
    Cosine,
}

/// The distance between two points.
pub fn distance(a: &[f64], b: &[f64], d: Distance) -> f64 {
    match d {
        Distance::Euclidean => a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt(),
        Distance::Cosine => {
            let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
            let (na, nb) = (norm(a), norm(b));
            if na == 0.0 || nb == 0.0 {
                1.0
            } else {
                1.0 - dot / (na * nb)
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Neighbour {
    pub index: usize,
    pub distance: f64,
}

/// The `k` points nearest to point `of` (itself excluded), nearest first; ties by index.
pub fn nearest(points: &[Vec<f64>], of: usize, k: usize, d: Distance) -> Vec<Neighbour> {
    let Some(here) = points.get(of) else {
        return Vec::new();
    };
    let mut all: Vec<Neighbour> = (points.iter().enumerate())
        .filter(|(j, _)| *j != of)
        .map(|(index, p)| Neighbour {
            index,
            distance: distance(here, p, d),
        })
        .collect();
    all.sort_by(|a, b| {
        a.distance
            .total_cmp(&b.distance)
            .then(a.index.cmp(&b.index))
    });
    all.truncate(k);
    all
}

/// Trustworthiness@k of a projection (Venna & Kaski 2001, as scikit-learn computes it): 1 minus
/// a penalty for every point that is among a point's `k` nearest in `low` but not in `high`,
/// weighted by how far down its neighbour list in `high` it is. 1 = no false neighbours;
/// about 0.5 for a random layout. Euclidean in both spaces; needs `k < n / 2`.
pub fn trustworthiness(high: &[Vec<f64>], low: &[Vec<f64>], k: usize) -> f64 {
    let n = high.len();
    assert_eq!(n, low.len(), "one projected point per point");
    assert!(
        k >= 1 && 2 * k < n,
        "trustworthiness needs 1 ≤ k < n/2 (k = {k}, n = {n})"
    );
    let mut penalty = 0.0;
    let mut rank = vec![0usize; n];
    for i in 0..n {
        // Rank of every other point among i's neighbours in the original space (1 = nearest).
        for (r, nb) in nearest(high, i, n - 1, Distance::Euclidean)
            .iter()
            .enumerate()
        {
            rank[nb.index] = r + 1;
        }
        for nb in nearest(low, i, k, Distance::Euclidean) {
            if rank[nb.index] > k {
                penalty += (rank[nb.index] - k) as f64;
            }
        }
    }
    let (n, k) = (n as f64, k as f64);
    1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))
}

/// Share of each point's `k` nearest neighbours (euclidean) that carry its label, averaged.
pub fn knn_purity(points: &[Vec<f64>], labels: &[usize], k: usize) -> f64 {
    let n = points.len();
    if n < 2 {
        return f64::NAN;
    }
    let k = k.min(n - 1);
    let total: f64 = (0..n)
        .map(|i| {
            nearest(points, i, k, Distance::Euclidean)
                .iter()
                .filter(|nb| labels[nb.index] == labels[i])
                .count() as f64
                / k as f64
        })
        .sum();
    total / n as f64
}

/// kNN label purity of a set of materials: in a map, in the full code space, and what a random
/// layout gives (the chance that another labelled material shares one's label).
#[derive(Clone, Debug, PartialEq)]
pub struct Purity {
    /// Materials that carry a label (only they are counted).
    pub materials: usize,
    pub map: f64,
    pub codes: f64,
    pub random: f64,
}

/// [`Purity`] among the materials with a label: `reps` are the codes (`d` per material),
/// `coords` the map (`dims` per material). `None` with fewer than three labelled materials.
pub fn group_purity(
    labels: &[Option<String>],
    reps: &[f64],
    d: usize,
    coords: &[f32],
    dims: usize,
    k: usize,
) -> Option<Purity> {
    let keep: Vec<usize> = (0..labels.len()).filter(|&i| labels[i].is_some()).collect();
    let n = keep.len();
    if n < 3 {
        return None;
    }
    let k = k.min(n - 1);
    let high: Vec<Vec<f64>> = (keep.iter())
        .map(|&i| reps[i * d..(i + 1) * d].to_vec())
        .collect();
    let low: Vec<Vec<f64>> = (keep.iter())
        .map(|&i| {
            coords[i * dims..(i + 1) * dims]
                .iter()
                .map(|&v| f64::from(v))
                .collect()
        })
        .collect();
    // Labels as indices of their distinct values.
    let mut distinct: Vec<&str> = Vec::new();
    let ids: Vec<usize> = (keep.iter())
        .filter_map(|&i| labels[i].as_deref())
        .map(|l| match distinct.iter().position(|d| *d == l) {
            Some(p) => p,
            None => {
                distinct.push(l);
                distinct.len() - 1
            }
        })
        .collect();
    let random = (0..n)
        .map(|i| (0..n).filter(|&j| j != i && ids[j] == ids[i]).count() as f64 / (n - 1) as f64)
        .sum::<f64>()
        / n as f64;
    Some(Purity {
        materials: n,
        map: knn_purity(&low, &ids, k),
        codes: knn_purity(&high, &ids, k),
        random,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn knn_purity_on_known_layouts() {
        let clustered = vec![vec![0.0], vec![0.1], vec![5.0], vec![5.1]];
        assert_eq!(knn_purity(&clustered, &[0, 0, 1, 1], 1), 1.0);
        assert_eq!(knn_purity(&clustered, &[0, 1, 0, 1], 1), 0.0);
    }

    #[test]
    fn group_purity_counts_only_labelled_materials() {
        // Two labelled pairs far apart, one unlabelled point between them.
        let labels =
            [Some("a"), Some("a"), None, Some("b"), Some("b")].map(|l| l.map(str::to_string));
        let reps = [0.0, 0.1, 2.5, 5.0, 5.1];
        let coords = [0.0f32, 0.1, 2.5, 5.0, 5.1];
        let p = group_purity(&labels, &reps, 1, &coords, 1, 1).unwrap();
        assert_eq!((p.materials, p.map, p.codes), (4, 1.0, 1.0));
        assert!((p.random - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(group_purity(&labels[..2], &reps, 1, &coords, 1, 1), None);
    }

    #[test]
    fn distances_and_nearest() {
        assert_eq!(distance(&[0.0, 3.0], &[4.0, 0.0], Distance::Euclidean), 5.0);
        assert!(distance(&[1.0, 0.0], &[2.0, 0.0], Distance::Cosine).abs() < 1e-12);
        assert!((distance(&[1.0, 0.0], &[0.0, 5.0], Distance::Cosine) - 1.0).abs() < 1e-12);
        assert_eq!(distance(&[0.0, 0.0], &[1.0, 1.0], Distance::Cosine), 1.0);
        let points = vec![vec![0.0], vec![1.0], vec![-0.5], vec![10.0]];
        let near: Vec<usize> = nearest(&points, 0, 2, Distance::Euclidean)
            .iter()
            .map(|n| n.index)
            .collect();
        assert_eq!(near, [2, 1]);
        assert!(nearest(&points, 9, 2, Distance::Euclidean).is_empty());
        // Cosine looks at direction only: 10 and 1 are the same direction from the origin.
        let near = nearest(&points, 1, 1, Distance::Cosine);
        assert_eq!((near[0].index, near[0].distance), (3, 0.0));
    }

    #[test]
    fn trustworthiness_is_one_for_an_isometry_and_low_for_noise() {
        let mut rng = Rng::new(7);
        let high: Vec<Vec<f64>> = (0..120)
            .map(|_| (0..5).map(|_| rng.normal()).collect())
            .collect();
        // A rotation and shift of the first two coordinates keeps every distance in them; with
        // the other three nearly flat, the neighbours are kept.
        let flat: Vec<Vec<f64>> = high
            .iter()
            .map(|p| vec![p[0], p[1], 0.01 * p[2], 0.01 * p[3], 0.01 * p[4]])
            .collect();
        let rotated: Vec<Vec<f64>> = flat
            .iter()
            .map(|p| vec![0.6 * p[0] - 0.8 * p[1] + 3.0, 0.8 * p[0] + 0.6 * p[1] - 1.0])
            .collect();
        let t = trustworthiness(&flat, &rotated, 10);
        assert!(t > 0.99, "isometry: {t}");
        let noise: Vec<Vec<f64>> = (0..120).map(|_| vec![rng.normal(), rng.normal()]).collect();
        let t = trustworthiness(&high, &noise, 10);
        assert!((0.4..0.65).contains(&t), "random layout: {t}");
    }
}
