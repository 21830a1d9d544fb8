//! Exact k nearest neighbours of every row (Euclidean), the first step of t-SNE, UMAP, Isomap
//! and LLE. Brute force over pairs, each pair computed once: with 100-d codes no tree beats
//! it, and it is exact, so every platform finds the same neighbours.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::{OnProgress, ProjectionError, report};

/// `k` neighbours per row, nearest first (ties by index); the row itself excluded.
#[derive(Clone, Debug, PartialEq)]
pub struct Knn {
    pub k: usize,
    /// `[rows, k]` row-major.
    pub indices: Vec<u32>,
    /// `[rows, k]` Euclidean distances, ascending per row.
    pub distances: Vec<f64>,
}

impl Knn {
    pub fn rows(&self) -> usize {
        self.indices.len() / self.k.max(1)
    }
    pub fn indices_of(&self, i: usize) -> &[u32] {
        &self.indices[i * self.k..(i + 1) * self.k]
    }
    pub fn distances_of(&self, i: usize) -> &[f64] {
        &self.distances[i * self.k..(i + 1) * self.k]
    }
}

/// Squared Euclidean distance; four partial sums so the loop pipelines (the order of the
/// additions is fixed by this code, so the result is the same on every platform). Fixed-size
/// chunks and local sums: no bounds checks and no memory traffic in the loop, even at the
/// release build's size optimisation.
pub fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let (mut s0, mut s1, mut s2, mut s3) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let (ca, ra) = a.as_chunks::<4>();
    let (cb, rb) = b.as_chunks::<4>();
    for (x, y) in ca.iter().zip(cb) {
        let (d0, d1, d2, d3) = (x[0] - y[0], x[1] - y[1], x[2] - y[2], x[3] - y[3]);
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (x, y) in ra.iter().zip(rb) {
        let d = x - y;
        s0 += d * d;
    }
    (s0 + s1) + (s2 + s3)
}

/// An entry of a row's candidate heap: the worst (largest distance, then largest index) on top.
#[derive(Clone, Copy, PartialEq)]
struct Candidate(f64, u32);
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// Offer a candidate to a row; `worst` is the row's current k-th distance (∞ until it has k),
/// checked first so most pairs never touch the heap (the heaps are scattered in memory).
fn offer(heap: &mut BinaryHeap<Candidate>, worst: &mut f64, k: usize, c: Candidate) {
    if c.0 > *worst {
        return;
    }
    if heap.len() < k {
        heap.push(c);
    } else if heap.peek().is_some_and(|w| c < *w) {
        heap.pop();
        heap.push(c);
    } else {
        return;
    }
    if heap.len() == k {
        *worst = heap.peek().map_or(f64::INFINITY, |w| w.0);
    }
}

/// The exact `k` nearest neighbours of every row of `data` (`[rows, cols]` row-major).
/// `k` is clamped to `rows - 1`.
pub fn knn(
    data: &[f64],
    rows: usize,
    cols: usize,
    k: usize,
    on: &mut OnProgress<'_>,
) -> Result<Knn, ProjectionError> {
    let k = k.min(rows.saturating_sub(1));
    let mut heaps: Vec<BinaryHeap<Candidate>> = (0..rows)
        .map(|_| BinaryHeap::with_capacity(k + 1))
        .collect();
    let mut worst = vec![f64::INFINITY; rows];
    let row = |i: usize| &data[i * cols..(i + 1) * cols];
    // Pairs (i, j > i): row i's share of the work shrinks, so report by pairs done.
    let total_pairs = rows * rows.saturating_sub(1) / 2;
    let mut done_pairs = 0;
    for i in 0..rows {
        if i % 64 == 0 {
            report(on, "neighbours", done_pairs, total_pairs)?;
        }
        let a = row(i);
        for j in i + 1..rows {
            let d2 = squared_distance(a, row(j));
            offer(&mut heaps[i], &mut worst[i], k, Candidate(d2, j as u32));
            offer(&mut heaps[j], &mut worst[j], k, Candidate(d2, i as u32));
        }
        done_pairs += rows - i - 1;
    }
    report(on, "neighbours", total_pairs, total_pairs)?;
    let mut indices = Vec::with_capacity(rows * k);
    let mut distances = Vec::with_capacity(rows * k);
    for heap in heaps {
        for Candidate(d2, j) in heap.into_sorted_vec() {
            indices.push(j);
            distances.push(d2.sqrt());
        }
    }
    Ok(Knn {
        k,
        indices,
        distances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbours::{Distance, nearest};
    use crate::rng::Rng;
    use crate::rows_of;

    #[test]
    fn matches_the_neighbour_search_and_breaks_ties_by_index() {
        let mut rng = Rng::new(5);
        let (rows, cols) = (90, 7);
        let data: Vec<f64> = (0..rows * cols).map(|_| rng.normal()).collect();
        let g = knn(&data, rows, cols, 6, &mut |_| true).unwrap();
        let points = rows_of(&data, rows, cols);
        for i in 0..rows {
            let want = nearest(&points, i, 6, Distance::Euclidean);
            let got: Vec<usize> = g.indices_of(i).iter().map(|&j| j as usize).collect();
            assert_eq!(got, want.iter().map(|n| n.index).collect::<Vec<_>>());
            for (d, n) in g.distances_of(i).iter().zip(&want) {
                assert!((d - n.distance).abs() < 1e-12);
            }
        }
        // Four points at the same place: neighbours in index order.
        let same = [1.0, 1.0, 1.0, 1.0];
        let g = knn(&same, 4, 1, 2, &mut |_| true).unwrap();
        assert_eq!(g.indices_of(2), [0, 1]);
        assert_eq!(g.indices_of(0), [1, 2]);
        // k is clamped; cancelling stops it.
        assert_eq!(knn(&same, 4, 1, 9, &mut |_| true).unwrap().k, 3);
        assert_eq!(
            knn(&data, rows, cols, 6, &mut |_| false),
            Err(ProjectionError::Cancelled)
        );
    }
}
