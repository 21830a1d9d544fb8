//! Isomap (Tenenbaum, de Silva & Langford 2000) as scikit-learn's
//! `Isomap(n_neighbors=k, path_method="D", eigen_solver="arpack")` computes it: the exact
//! `k`-nearest-neighbour graph (symmetrised, Euclidean edge lengths), geodesic distances by
//! Dijkstra from every point, then classical MDS — the top eigenvectors of the
//! double-centred kernel `B = −½ J D² J`, each scaled by the square root of its eigenvalue.
//!
//! As in scikit-learn ≥ 1.2, a disconnected graph is completed by joining every pair of
//! components with their shortest edge. The squared geodesics are kept as the upper triangle
//! in f32 (58 MB for 5,400 points rather than 233 MB for the full f64 matrix); every sum
//! that uses them runs in f64. The eigenvectors come from thick-restart Lanczos
//! ([`super::lanczos`]), `B` applied as `−½ J (D² (J x))` without forming `J`.

use std::cmp::Ordering;

use super::knn::{Knn, knn, squared_distance};
use super::lanczos::{self, Deflation, fix_signs};
use super::{OnProgress, ProjectionError, report};

/// An undirected weighted graph as adjacency lists (compressed rows), each list sorted by
/// neighbour.
#[derive(Clone, Debug)]
pub(crate) struct Graph {
    pub offsets: Vec<usize>,
    pub targets: Vec<u32>,
    pub weights: Vec<f64>,
}

impl Graph {
    /// From undirected edges `(a, b, length)`; a pair listed twice keeps its shorter length.
    pub fn from_edges(n: usize, edges: &[(u32, u32, f64)]) -> Graph {
        let mut lists: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
        for &(a, b, w) in edges {
            lists[a as usize].push((b, w));
            lists[b as usize].push((a, w));
        }
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        let (mut targets, mut weights) = (Vec::new(), Vec::new());
        for list in &mut lists {
            list.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)));
            list.dedup_by_key(|e| e.0);
            targets.extend(list.iter().map(|e| e.0));
            weights.extend(list.iter().map(|e| e.1));
            offsets.push(targets.len());
        }
        Graph {
            offsets,
            targets,
            weights,
        }
    }

    /// The symmetrised kNN graph.
    pub fn from_knn(g: &Knn) -> Graph {
        let edges: Vec<(u32, u32, f64)> = (0..g.rows())
            .flat_map(|i| {
                g.indices_of(i)
                    .iter()
                    .zip(g.distances_of(i))
                    .map(move |(&j, &d)| (i as u32, j, d))
            })
            .collect();
        Graph::from_edges(g.rows(), &edges)
    }

    /// Every edge once, `(a, b, length)` with `a < b`.
    pub fn edges(&self) -> Vec<(u32, u32, f64)> {
        (0..self.len())
            .flat_map(|i| {
                self.neighbours(i)
                    .filter(move |&(j, _)| i < j)
                    .map(move |(j, w)| (i as u32, j as u32, w))
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn neighbours(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = self.offsets[i]..self.offsets[i + 1];
        self.targets[range.clone()]
            .iter()
            .zip(&self.weights[range])
            .map(|(&j, &w)| (j as usize, w))
    }

    /// Reverse Cuthill–McKee: `order[new] = old`, each component started from a
    /// pseudo-peripheral node (George & Liu), neighbours taken by increasing degree.
    pub fn reverse_cuthill_mckee(&self) -> Vec<usize> {
        let graph = self;
        let n = graph.len();
        let degree = |i: usize| graph.offsets[i + 1] - graph.offsets[i];
        let mut placed = vec![false; n];
        let mut order = Vec::with_capacity(n);
        // Breadth-first levels from `root` (stamped, so no clearing between searches): the
        // last level and the number of levels.
        let mut stamp = vec![usize::MAX; n];
        let mut searches = 0;
        let mut levels = |root: usize, stamp: &mut [usize]| -> (Vec<usize>, usize) {
            searches += 1;
            let mut current = vec![root];
            stamp[root] = searches;
            let mut depth = 1;
            loop {
                let mut next = Vec::new();
                for &u in &current {
                    for (v, _) in graph.neighbours(u) {
                        if stamp[v] != searches {
                            stamp[v] = searches;
                            next.push(v);
                        }
                    }
                }
                if next.is_empty() {
                    return (current, depth);
                }
                current = next;
                depth += 1;
            }
        };
        for s in 0..n {
            if placed[s] {
                continue;
            }
            let mut root = s;
            let (mut last, mut depth) = levels(root, &mut stamp);
            for _ in 0..8 {
                let candidate = last
                    .iter()
                    .copied()
                    .min_by_key(|&v| (degree(v), v))
                    .unwrap_or(root);
                let (l, d) = levels(candidate, &mut stamp);
                if d <= depth {
                    break;
                }
                (root, last, depth) = (candidate, l, d);
            }
            let first = order.len();
            placed[root] = true;
            order.push(root);
            let mut head = first;
            let mut fresh = Vec::new();
            while head < order.len() {
                let u = order[head];
                head += 1;
                fresh.clear();
                fresh.extend(graph.neighbours(u).map(|(v, _)| v).filter(|&v| !placed[v]));
                fresh.sort_by_key(|&v| (degree(v), v));
                for &v in &fresh {
                    placed[v] = true;
                    order.push(v);
                }
            }
        }
        order.reverse();
        order
    }

    /// Each node's connected component (numbered in order of their smallest node) and the
    /// number of components.
    pub fn components(&self) -> (Vec<usize>, usize) {
        let n = self.len();
        let mut label = vec![usize::MAX; n];
        let mut count = 0;
        let mut stack = Vec::new();
        for s in 0..n {
            if label[s] != usize::MAX {
                continue;
            }
            label[s] = count;
            stack.push(s);
            while let Some(u) = stack.pop() {
                for (v, _) in self.neighbours(u) {
                    if label[v] == usize::MAX {
                        label[v] = count;
                        stack.push(v);
                    }
                }
            }
            count += 1;
        }
        (label, count)
    }
}

/// For every pair of components, the shortest edge between them (ties: the lowest pair of
/// indices), as scikit-learn's `_fix_connected_components` adds them.
fn joining_edges(
    data: &[f64],
    cols: usize,
    label: &[usize],
    count: usize,
    on: &mut OnProgress<'_>,
) -> Result<Vec<(u32, u32, f64)>, ProjectionError> {
    // Rows are taken in tiles: each row `j` read from memory serves the whole tile.
    const TILE: usize = 8;
    let rows = label.len();
    let row = |i: usize| &data[i * cols..(i + 1) * cols];
    // best[a * count + b] (a < b): (squared length, point in a, point in b).
    let mut best = vec![(f64::INFINITY, u32::MAX, u32::MAX); count * count];
    let total = rows * rows.saturating_sub(1) / 2;
    let mut done = 0;
    for tile in (0..rows).step_by(TILE) {
        report(on, "neighbours", done, total)?;
        let end = (tile + TILE).min(rows);
        for j in tile + 1..rows {
            let y = row(j);
            for i in tile..end.min(j) {
                let (li, lj) = (label[i], label[j]);
                if li == lj {
                    continue;
                }
                let d2 = squared_distance(row(i), y);
                let (a, b, pa, pb) = if li < lj {
                    (li, lj, i, j)
                } else {
                    (lj, li, j, i)
                };
                let slot = &mut best[a * count + b];
                let candidate = (d2, pa as u32, pb as u32);
                let better = match d2.total_cmp(&slot.0) {
                    Ordering::Less => true,
                    Ordering::Equal => (candidate.1, candidate.2) < (slot.1, slot.2),
                    Ordering::Greater => false,
                };
                if better {
                    *slot = candidate;
                }
            }
        }
        done += (tile..end).map(|i| rows - i - 1).sum::<usize>();
    }
    report(on, "neighbours", total, total)?;
    let mut edges = Vec::new();
    for a in 0..count {
        for b in a + 1..count {
            let (d2, pa, pb) = best[a * count + b];
            if pa != u32::MAX {
                edges.push((pa, pb, d2.sqrt()));
            }
        }
    }
    Ok(edges)
}

/// A symmetric `[n, n]` matrix with zero diagonal, stored as its strict upper triangle in f32
/// (row `i` holds columns `i + 1..n`).
struct Packed {
    n: usize,
    data: Vec<f32>,
}

impl Packed {
    fn offset(&self, i: usize) -> usize {
        i * (2 * self.n - i - 1) / 2
    }

    fn row(&self, i: usize) -> &[f32] {
        let o = self.offset(i);
        &self.data[o..o + self.n - i - 1]
    }

    /// `y = A x`, one pass over the triangle: each stored entry serves row `i` (a dot
    /// product) and column `i` (an update), in a fixed order.
    fn product(&self, x: &[f64], y: &mut [f64]) {
        y.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..self.n {
            let row = self.row(i);
            let xi = x[i];
            let (head, tail) = y.split_at_mut(i + 1);
            let xs = &x[i + 1..];
            let mut s = [0.0f64; 4];
            let chunks = row.len() / 4;
            for c in 0..chunks {
                for l in 0..4 {
                    let a = f64::from(row[4 * c + l]);
                    s[l] += a * xs[4 * c + l];
                    tail[4 * c + l] += a * xi;
                }
            }
            for j in 4 * chunks..row.len() {
                let a = f64::from(row[j]);
                s[0] += a * xs[j];
                tail[j] += a * xi;
            }
            head[i] += (s[0] + s[1]) + (s[2] + s[3]);
        }
    }
}

/// Dijkstra's queue: a binary min-heap of (tentative distance, node), ties by node, that can
/// lower a queued node's key in place, so each node is queued at most once. Keys live in
/// the heap itself so that sifting reads contiguous memory.
struct Queue {
    heap: Vec<(f64, u32)>,
    /// Where each node sits in `heap`; `QUEUED_NOT` when it is not queued.
    slot: Vec<u32>,
}

const QUEUED_NOT: u32 = u32::MAX;

#[inline(always)]
fn before(a: (f64, u32), b: (f64, u32)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
}

impl Queue {
    fn new(n: usize) -> Queue {
        Queue {
            heap: Vec::with_capacity(n),
            slot: vec![QUEUED_NOT; n],
        }
    }

    fn clear(&mut self) {
        for &(_, node) in &self.heap {
            self.slot[node as usize] = QUEUED_NOT;
        }
        self.heap.clear();
    }

    #[inline(always)]
    fn place(&mut self, at: usize, entry: (f64, u32)) {
        self.heap[at] = entry;
        self.slot[entry.1 as usize] = at as u32;
    }

    /// Queues `node` at `key` or, if queued, lowers its key to `key`.
    #[inline(always)]
    fn push_or_lower(&mut self, node: u32, key: f64) {
        let mut at = match self.slot[node as usize] {
            QUEUED_NOT => {
                self.heap.push((key, node));
                self.heap.len() - 1
            }
            at => at as usize,
        };
        let entry = (key, node);
        while at > 0 {
            let parent = (at - 1) / 2;
            if !before(entry, self.heap[parent]) {
                break;
            }
            self.place(at, self.heap[parent]);
            at = parent;
        }
        self.place(at, entry);
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<(f64, u32)> {
        let top = *self.heap.first()?;
        self.slot[top.1 as usize] = QUEUED_NOT;
        let last = self.heap.pop()?;
        let len = self.heap.len();
        if len == 0 {
            return Some(top);
        }
        // Bottom-up (Wegener): walk the hole down to a leaf along the smaller children, one
        // comparison a level, then sift the last entry up from there, where it usually
        // belongs.
        let mut at = 0;
        loop {
            let left = 2 * at + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && before(self.heap[right], self.heap[left]) {
                right
            } else {
                left
            };
            self.place(at, self.heap[child]);
            at = child;
        }
        while at > 0 {
            let parent = (at - 1) / 2;
            if !before(last, self.heap[parent]) {
                break;
            }
            self.place(at, self.heap[parent]);
            at = parent;
        }
        self.place(at, last);
        Some(top)
    }
}

/// Squared geodesic distances between all pairs: Dijkstra from every node, each run stopped
/// once the nodes numbered after its source are settled. The graph must be connected.
fn squared_geodesics(graph: &Graph, on: &mut OnProgress<'_>) -> Result<Packed, ProjectionError> {
    let n = graph.len();
    let mut packed = Packed {
        n,
        data: vec![0.0f32; n * n.saturating_sub(1) / 2],
    };
    let mut dist = vec![f64::INFINITY; n];
    let mut queue = Queue::new(n);
    let every = (n / 200).max(1);
    for s in 0..n {
        if s % every == 0 {
            report(on, "geodesics", s, n)?;
        }
        // Only the nodes after `s` are stored (the row of each earlier node holds its
        // distance to `s`): stop once they are all settled.
        let mut ahead = n - s - 1;
        if ahead == 0 {
            break;
        }
        dist.iter_mut().for_each(|d| *d = f64::INFINITY);
        queue.clear();
        dist[s] = 0.0;
        queue.push_or_lower(s as u32, 0.0);
        while let Some((d, u)) = queue.pop() {
            let u = u as usize;
            if u > s {
                ahead -= 1;
                if ahead == 0 {
                    break;
                }
            }
            for (v, w) in graph.neighbours(u) {
                let candidate = d + w;
                // Non-negative lengths: a settled node never improves.
                if candidate < dist[v] {
                    dist[v] = candidate;
                    queue.push_or_lower(v as u32, candidate);
                }
            }
        }
        let o = packed.offset(s);
        for (slot, d) in packed.data[o..o + n - s - 1].iter_mut().zip(&dist[s + 1..]) {
            *slot = (d * d) as f32;
        }
    }
    report(on, "geodesics", n, n)?;
    Ok(packed)
}

/// Isomap of `data` (`[rows, cols]` row-major) with `k` neighbours, `[rows, dims]` row-major.
/// `seed` only picks the eigen-solver's start vector.
pub fn isomap(
    data: &[f64],
    rows: usize,
    cols: usize,
    dims: usize,
    k: usize,
    seed: u64,
    on: &mut OnProgress<'_>,
) -> Result<Vec<f64>, ProjectionError> {
    let mut out = vec![0.0f64; rows * dims];
    if rows < 2 {
        return Ok(out);
    }
    let g = knn(data, rows, cols, k, on)?;
    let mut graph = Graph::from_knn(&g);
    let (label, count) = graph.components();
    if count > 1 {
        let mut edges = graph.edges();
        edges.extend(joining_edges(data, cols, &label, count, on)?);
        graph = Graph::from_edges(rows, &edges);
    }
    // Number the nodes along the graph (reverse Cuthill–McKee) so that Dijkstra's memory
    // accesses stay local; everything up to the eigenvectors works in that numbering.
    let order = graph.reverse_cuthill_mckee();
    let mut position = vec![0usize; rows];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let renumbered: Vec<(u32, u32, f64)> = graph
        .edges()
        .into_iter()
        .map(|(i, j, w)| (position[i as usize] as u32, position[j as usize] as u32, w))
        .collect();
    let sq = squared_geodesics(&Graph::from_edges(rows, &renumbered), on)?;
    // Classical MDS. B·1 = 0, so the constant vector is kept out of the Krylov space.
    let centre = Deflation::constant().project;
    let mut centred = vec![0.0f64; rows];
    let apply = |x: &[f64], y: &mut [f64]| {
        centred.copy_from_slice(x);
        centre(&mut centred);
        sq.product(&centred, y);
        centre(y);
        y.iter_mut().for_each(|v| *v *= -0.5);
    };
    let opts = lanczos::Options::new(dims, seed);
    // Progress in products; how many is a guess (two bases' worth is typical).
    let total = 2 * opts.basis;
    let eig = lanczos::largest(rows, &Deflation::constant(), &opts, apply, |done, _| {
        report(on, "eigen", done.min(total - 1), total)
    })?;
    report(on, "eigen", total, total)?;
    let mut axes: Vec<Vec<f64>> = eig
        .vectors
        .iter()
        .map(|v| position.iter().map(|&p| v[p]).collect())
        .collect();
    fix_signs(&mut axes);
    for (axis, (v, &value)) in axes.iter().zip(&eig.values).enumerate() {
        // Negative eigenvalues (non-Euclidean geodesics) give no spread, as in KernelPCA.
        let scale = value.max(0.0).sqrt();
        for r in 0..rows {
            out[r * dims + axis] = v[r] * scale;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbours::trustworthiness;
    use crate::rows_of;
    use crate::shapes::{clusters, label_purity, spearman, swiss_roll, time_study_scale};

    fn run(data: &[f64], rows: usize, cols: usize, k: usize, seed: u64) -> Vec<f64> {
        isomap(data, rows, cols, 2, k, seed, &mut |_| true).unwrap()
    }

    fn axis(map: &[f64], dims: usize, a: usize) -> Vec<f64> {
        map.iter().skip(a).step_by(dims).copied().collect()
    }

    #[test]
    fn unrolls_a_swiss_roll() {
        let n = 800;
        let (data, along) = swiss_roll(n, 3);
        let map = run(&data, n, 3, 10, 1);
        let rho = spearman(&axis(&map, 2, 0), &along);
        assert!(rho.abs() > 0.9, "spearman {rho}");
        let t = trustworthiness(&rows_of(&data, n, 3), &rows_of(&map, n, 2), 10);
        assert!(t > 0.9, "trustworthiness {t}");
    }

    #[test]
    fn geodesics_match_floyd_warshall_and_mds_matches_a_dense_solver() {
        let n = 60;
        let (data, _) = swiss_roll(n, 8);
        let g = knn(&data, n, 3, 5, &mut |_| true).unwrap();
        let graph = Graph::from_knn(&g);
        assert_eq!(graph.components().1, 1);
        let sq = squared_geodesics(&graph, &mut |_| true).unwrap();
        let mut d = vec![f64::INFINITY; n * n];
        for i in 0..n {
            d[i * n + i] = 0.0;
            for (j, w) in graph.neighbours(i) {
                d[i * n + j] = w;
            }
        }
        for m in 0..n {
            for i in 0..n {
                for j in 0..n {
                    let via = d[i * n + m] + d[m * n + j];
                    if via < d[i * n + j] {
                        d[i * n + j] = via;
                    }
                }
            }
        }
        for i in 0..n {
            for (o, j) in (i + 1..n).enumerate() {
                let want = (d[i * n + j] * d[i * n + j]) as f32;
                assert!((sq.row(i)[o] - want).abs() <= 1e-6 * want, "{i} {j}");
            }
        }
        // B = −½ J D² J, dense, against nalgebra: eigenvalues and the map's Gram matrix.
        let a: Vec<f64> = (0..n * n)
            .map(|p| {
                let (i, j) = (p / n, p % n);
                match i.cmp(&j) {
                    Ordering::Equal => 0.0,
                    Ordering::Less => f64::from(sq.row(i)[j - i - 1]),
                    Ordering::Greater => f64::from(sq.row(j)[i - j - 1]),
                }
            })
            .collect();
        let a = nalgebra::DMatrix::from_row_slice(n, n, &a);
        let j = nalgebra::DMatrix::<f64>::identity(n, n)
            - nalgebra::DMatrix::from_element(n, n, 1.0 / n as f64);
        let b = (&j * a * &j) * -0.5;
        let e = nalgebra::SymmetricEigen::new(b);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&x, &y| e.eigenvalues[y].total_cmp(&e.eigenvalues[x]));
        let map = isomap(&data, n, 3, 2, 5, 1, &mut |_| true).unwrap();
        for (ax, &which) in order.iter().take(2).enumerate() {
            // Each axis is an eigenvector of B scaled by √λ.
            let (value, col) = (e.eigenvalues[which], axis(&map, 2, ax));
            let norm2: f64 = col.iter().map(|v| v * v).sum();
            assert!((norm2 - value).abs() < 1e-6 * value, "{norm2} vs {value}");
            let theirs = e.eigenvectors.column(which);
            let cos: f64 = col
                .iter()
                .zip(theirs.iter())
                .map(|(x, y)| x * y)
                .sum::<f64>();
            assert!(
                (cos.abs() / norm2.sqrt() - 1.0).abs() < 1e-6,
                "axis {ax}: {cos}"
            );
        }
    }

    #[test]
    fn keeps_planted_clusters_apart_in_2d_and_3d() {
        let (n, dim) = (600, 20);
        let (data, labels) = clusters(n, 6, dim, 2);
        for dims in [2, 3] {
            let map = isomap(&data, n, dim, dims, 10, 1, &mut |_| true).unwrap();
            let purity = label_purity(&map, n, dims, &labels, 10);
            assert!(purity > 0.9, "{dims}-d purity {purity}");
        }
    }

    #[test]
    fn joins_a_disconnected_graph() {
        // Two far blobs and k = 3: two components, which scikit-learn joins by one edge.
        let (n, dim) = (300, 5);
        let (mut data, labels) = clusters(n, 2, dim, 4);
        for i in 0..n {
            if labels[i] == 1 {
                data[i * dim] += 1000.0;
            }
        }
        let g = knn(&data, n, dim, 3, &mut |_| true).unwrap();
        assert_eq!(Graph::from_knn(&g).components().1, 2);
        let map = run(&data, n, dim, 3, 1);
        assert!(map.iter().all(|v| v.is_finite()));
        // The first axis separates the blobs.
        let x = axis(&map, 2, 0);
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for i in 0..n {
            lo[labels[i]] = lo[labels[i]].min(x[i]);
            hi[labels[i]] = hi[labels[i]].max(x[i]);
        }
        assert!(hi[0] < lo[1] || hi[1] < lo[0], "{lo:?} {hi:?}");
        assert!(label_purity(&map, n, 2, &labels, 10) > 0.99);
    }

    #[test]
    fn deterministic_reports_progress_and_cancels() {
        let n = 300;
        let (data, _) = swiss_roll(n, 5);
        let mut stages = Vec::new();
        let a = isomap(&data, n, 3, 2, 8, 7, &mut |p| {
            stages.push(p.stage);
            true
        })
        .unwrap();
        assert_eq!(a, run(&data, n, 3, 8, 7));
        // The seed only moves the solver's start: the map is the same up to rounding.
        let b = run(&data, n, 3, 8, 8);
        let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6 * scale));
        for stage in ["neighbours", "geodesics", "eigen"] {
            assert!(stages.contains(&stage), "{stage}");
        }
        for stop in ["neighbours", "geodesics", "eigen"] {
            let got = isomap(&data, n, 3, 2, 8, 7, &mut |p| p.stage != stop);
            assert_eq!(got, Err(ProjectionError::Cancelled), "{stop}");
        }
    }

    #[test]
    #[ignore]
    fn isomap_timing_5400x100() {
        time_study_scale("isomap", |data, n, dim| run(data, n, dim, 10, 1));
    }
}
