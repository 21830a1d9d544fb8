//! UMAP (McInnes, Healy & Melville 2018, "UMAP: Uniform Manifold Approximation and Projection
//! for Dimension Reduction"), following umap-learn 0.5's algorithm and defaults:
//!
//! 1. exact k nearest neighbours, `k = neighbours − 1` other points (umap-learn's `n_neighbors`
//!    counts the point itself);
//! 2. smooth kNN distances: `ρ` = distance to the nearest neighbour, `σ` by 64 steps of binary
//!    search so that `Σ exp(−(d − ρ)/σ) = log₂(neighbours)`, floored at `MIN_K_DIST_SCALE` × the
//!    mean distance; memberships `exp(−(d − ρ)/σ)`;
//! 3. fuzzy union `A + Aᵀ − A∘Aᵀ`, edges below `max / epochs` dropped;
//! 4. spectral initialisation (eigenvectors of the normalised graph Laplacian, by thick-restart
//!    Lanczos), each connected component laid out on its own around a position for the
//!    component, scaled to 10 with 10⁻⁴ noise, then to [0, 10] per axis;
//! 5. `a`, `b` of the map's kernel `1/(1 + a d^2b)` fitted to the min_dist curve (spread 1) by
//!    Levenberg–Marquardt, as `find_ab_params` does with `curve_fit`;
//! 6. stochastic gradient descent with exactly the update rules of `optimize_layout_euclidean`
//!    (`move_other`): epochs per sample `max w / w`, 5 negative samples per positive one,
//!    repulsion strength 1, learning rate 1 decaying linearly, gradients clipped at 4.
//!
//! Differences from umap-learn: the neighbours are exact (umap-learn uses NN-descent above
//! 4,096 points); when there are more components than `2 × dims`, their positions come from PCA
//! of the component centroids (umap-learn spectrally embeds `exp(−d²)` of the centroid
//! distances, which is degenerate for well-separated clusters); negative samples come from
//! [`Rng`] instead of a Tausworthe generator; all arithmetic is f64 (umap-learn's layout is
//! f32). Everything uses `+ − × ÷ √`, `libm` and, for the layout's `x^y`, a table-driven
//! `exp(y ln x)` of those same operations, so the map is the same bits in wasm.

use super::eigen::symmetric_eigen;
use super::knn::{Knn, knn};
use super::pca::pca_f64;
use super::{OnProgress, Params, ProjectionError, report};
use crate::rng::Rng;

/// umap-learn's floor on `σ`, as a share of the mean neighbour distance.
const MIN_K_DIST_SCALE: f64 = 1e-3;
/// umap-learn's tolerance of the `σ` search.
const SMOOTH_K_TOLERANCE: f64 = 1e-5;
const NEGATIVE_SAMPLE_RATE: f64 = 5.0;
/// Repulsion strength (umap-learn's `repulsion_strength`).
const GAMMA: f64 = 1.0;
/// umap-learn's `spread`.
const SPREAD: f64 = 1.0;

/// UMAP of `data` (`[rows, cols]` row-major) to `dims` (2 or 3) dimensions, `[rows, dims]`
/// row-major. Reads `params.neighbours`, `params.min_dist` and `params.iterations` (epochs,
/// 0 = automatic: 500 up to 10,000 points, else 200).
pub fn umap(
    data: &[f64],
    rows: usize,
    cols: usize,
    dims: usize,
    params: &Params,
    seed: u64,
    on: &mut OnProgress<'_>,
) -> Result<Vec<f64>, ProjectionError> {
    if !(2..=3).contains(&dims) {
        return Err(ProjectionError::BadParam(format!(
            "UMAP maps to 2 or 3 dimensions, not {dims}"
        )));
    }
    if data.len() < rows * cols {
        return Err(ProjectionError::BadParam(format!(
            "UMAP was given {} values for {rows} × {cols}",
            data.len()
        )));
    }
    if rows < 2 {
        return Ok(vec![0.0; rows * dims]);
    }
    // umap-learn's n_neighbors includes the point itself.
    let others = params.neighbours.saturating_sub(1).clamp(1, rows - 1);
    let neighbours = knn(data, rows, cols, others, on)?;
    report(on, "graph", 0, rows)?;
    let default_epochs = if rows <= 10_000 { 500 } else { 200 };
    let epochs = if params.iterations == 0 {
        default_epochs
    } else {
        params.iterations
    };
    // umap-learn prunes with the default epochs when asked for very few.
    let prune_epochs = if epochs > 10 { epochs } else { default_epochs };
    let graph = fuzzy_graph(&neighbours, prune_epochs);
    let mut rng = Rng::new(seed);
    let mut coords = spectral_init(&graph, data, cols, dims, &mut rng, on)?;
    scale_init(&mut coords, dims, &mut rng);
    let (a, b) = find_ab(SPREAD, params.min_dist);
    match dims {
        2 => optimize::<2>(&mut coords, &graph, epochs, a, b, &mut rng, on)?,
        _ => optimize::<3>(&mut coords, &graph, epochs, a, b, &mut rng, on)?,
    }
    Ok(coords)
}

/// `σ` and `ρ` of every point (umap-learn's `smooth_knn_dist` with local connectivity 1 and
/// bandwidth 1); `count` is umap-learn's `k`, the neighbours with the point itself.
fn smooth_knn_dist(g: &Knn, count: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = g.rows();
    let target = libm::log2(count as f64);
    // umap-learn's distance rows start with the point itself (0), so its means count it.
    let mean_all = g.distances.iter().sum::<f64>() / (rows * (g.k + 1)) as f64;
    let mut sigma = vec![0.0; rows];
    let mut rho = vec![0.0; rows];
    for i in 0..rows {
        let dist = g.distances_of(i);
        // Ascending, so the first non-zero distance is the nearest distinct neighbour.
        rho[i] = dist.iter().copied().find(|&d| d > 0.0).unwrap_or(0.0);
        let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
        for _ in 0..64 {
            let psum: f64 = dist
                .iter()
                .map(|&d| {
                    let d = d - rho[i];
                    if d > 0.0 { libm::exp(-(d / mid)) } else { 1.0 }
                })
                .sum();
            if (psum - target).abs() < SMOOTH_K_TOLERANCE {
                break;
            }
            if psum > target {
                hi = mid;
                mid = (lo + hi) / 2.0;
            } else {
                lo = mid;
                mid = if hi == f64::INFINITY {
                    mid * 2.0
                } else {
                    (lo + hi) / 2.0
                };
            }
        }
        let mean = if rho[i] > 0.0 {
            dist.iter().sum::<f64>() / (g.k + 1) as f64
        } else {
            mean_all
        };
        sigma[i] = mid.max(MIN_K_DIST_SCALE * mean);
    }
    (sigma, rho)
}

/// The fuzzy simplicial set as a symmetric sparse graph (CSR, columns ascending); the edge
/// list of the layout is its entries in this order, as umap-learn's COO matrix.
struct Graph {
    start: Vec<usize>,
    col: Vec<u32>,
    weight: Vec<f64>,
}

impl Graph {
    fn rows(&self) -> usize {
        self.start.len() - 1
    }

    fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let r = self.start[i]..self.start[i + 1];
        (&self.col[r.clone()], &self.weight[r])
    }
}

/// Memberships of every kNN edge, their fuzzy union `A + Aᵀ − A∘Aᵀ`, and the edges below
/// `max / prune_epochs` dropped (umap-learn's `fuzzy_simplicial_set` and the pruning of
/// `simplicial_set_embedding`).
fn fuzzy_graph(g: &Knn, prune_epochs: usize) -> Graph {
    let rows = g.rows();
    let (sigma, rho) = smooth_knn_dist(g, g.k + 1);
    // (row, column, membership from the row's list, membership from the column's list).
    let mut entries: Vec<(u32, u32, f64, f64)> = Vec::with_capacity(2 * rows * g.k);
    for i in 0..rows {
        for (&j, &d) in g.indices_of(i).iter().zip(g.distances_of(i)) {
            let d = d - rho[i];
            let w = if d <= 0.0 || sigma[i] == 0.0 {
                1.0
            } else {
                libm::exp(-(d / sigma[i]))
            };
            entries.push((i as u32, j, w, 0.0));
            entries.push((j, i as u32, 0.0, w));
        }
    }
    // A key appears at most twice (once from each side), and one of the two values added is
    // 0, so the merge does not depend on the order of equal keys.
    entries.sort_unstable_by_key(|e| (e.0, e.1));
    let mut merged: Vec<(u32, u32, f64)> = Vec::with_capacity(entries.len());
    let mut e = 0;
    while e < entries.len() {
        let (i, j, mut f, mut t) = entries[e];
        e += 1;
        while e < entries.len() && (entries[e].0, entries[e].1) == (i, j) {
            f += entries[e].2;
            t += entries[e].3;
            e += 1;
        }
        let w = (f + t) - f * t;
        if w > 0.0 {
            merged.push((i, j, w));
        }
    }
    let max = merged.iter().fold(0.0f64, |m, e| m.max(e.2));
    let floor = max / prune_epochs as f64;
    let mut start = vec![0usize; rows + 1];
    let mut col = Vec::with_capacity(merged.len());
    let mut weight = Vec::with_capacity(merged.len());
    for (i, j, w) in merged {
        if w >= floor {
            start[i as usize + 1] += 1;
            col.push(j);
            weight.push(w);
        }
    }
    for i in 0..rows {
        start[i + 1] += start[i];
    }
    Graph { start, col, weight }
}

/// Connected components, numbered in order of their smallest member; each component's
/// members ascending.
fn components(graph: &Graph) -> Vec<Vec<usize>> {
    let rows = graph.rows();
    let mut seen = vec![false; rows];
    let mut out = Vec::new();
    for first in 0..rows {
        if seen[first] {
            continue;
        }
        seen[first] = true;
        let mut members = vec![first];
        let mut next = 0;
        while next < members.len() {
            let i = members[next];
            next += 1;
            for &j in graph.row(i).0 {
                if !seen[j as usize] {
                    seen[j as usize] = true;
                    members.push(j as usize);
                }
            }
        }
        members.sort_unstable();
        out.push(members);
    }
    out
}

/// umap-learn's spectral layout: each connected component's spectral embedding, scaled to
/// half the distance from its place to the nearest other component's; components too small
/// for one are spread uniformly over that range. `[rows, dims]`.
fn spectral_init(
    graph: &Graph,
    data: &[f64],
    cols: usize,
    dims: usize,
    rng: &mut Rng,
    on: &mut OnProgress<'_>,
) -> Result<Vec<f64>, ProjectionError> {
    let rows = graph.rows();
    let parts = components(graph);
    let places = component_places(&parts, data, cols, dims, rng);
    let mut coords = vec![0.0; rows * dims];
    let mut local = vec![0u32; rows];
    let mut done = 0;
    for (c, members) in parts.iter().enumerate() {
        let place = &places[c * dims..(c + 1) * dims];
        // Half the distance to the nearest other place (umap-learn's data_range).
        let range = (0..parts.len())
            .filter(|&o| o != c)
            .map(|o| {
                let other = &places[o * dims..(o + 1) * dims];
                place
                    .iter()
                    .zip(other)
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum::<f64>()
                    .sqrt()
            })
            .filter(|&d| d > 0.0)
            .fold(f64::INFINITY, f64::min);
        let range = if range.is_finite() { range / 2.0 } else { 1.0 };
        let n = members.len();
        if n < 2 * dims || n <= dims + 1 {
            for &i in members {
                for d in 0..dims {
                    coords[i * dims + d] = place[d] + range * (2.0 * rng.uniform() - 1.0);
                }
            }
        } else {
            let op = Normalised::new(graph, members, &mut local);
            let vectors = top_eigenvectors(&op, dims, rng, &mut |step, budget| {
                report(on, "graph", done + n * step / budget, rows)
            })?;
            let max = vectors.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
            let expansion = if max > 0.0 { range / max } else { 0.0 };
            for (local, &i) in members.iter().enumerate() {
                for d in 0..dims {
                    coords[i * dims + d] = vectors[d][local] * expansion + place[d];
                }
            }
        }
        done += n;
        report(on, "graph", done, rows)?;
    }
    Ok(coords)
}

/// Where each component goes (umap-learn's meta-embedding): ±unit vectors while there are at
/// most `2 × dims` components, else PCA of the components' centroids scaled to at most 1.
fn component_places(
    parts: &[Vec<usize>],
    data: &[f64],
    cols: usize,
    dims: usize,
    rng: &mut Rng,
) -> Vec<f64> {
    let count = parts.len();
    let mut places = vec![0.0; count * dims];
    if count == 1 {
        return places;
    }
    if count <= 2 * dims {
        let half = count.div_ceil(2);
        for c in 0..count {
            let (axis, sign) = if c < half { (c, 1.0) } else { (c - half, -1.0) };
            places[c * dims + axis] = sign;
        }
        return places;
    }
    let mut centroids = vec![0.0; count * cols];
    for (c, members) in parts.iter().enumerate() {
        let centroid = &mut centroids[c * cols..(c + 1) * cols];
        for &i in members {
            for (m, x) in centroid.iter_mut().zip(&data[i * cols..(i + 1) * cols]) {
                *m += x;
            }
        }
        centroid.iter_mut().for_each(|m| *m /= members.len() as f64);
    }
    places = pca_f64(&centroids, count, cols, dims);
    let max = places.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if max > 0.0 {
        places.iter_mut().for_each(|v| *v /= max);
    } else {
        // All centroids in one place: scatter the components instead.
        places
            .iter_mut()
            .for_each(|v| *v = 2.0 * rng.uniform() - 1.0);
    }
    places
}

/// `N = D^−½ W D^−½` of one connected component (its eigenvectors of largest eigenvalue are
/// those of smallest eigenvalue of the normalised Laplacian `I − N`), with the trivial
/// eigenvector `√degree / ‖√degree‖` (eigenvalue 1).
struct Normalised {
    start: Vec<usize>,
    col: Vec<u32>,
    value: Vec<f64>,
    trivial: Vec<f64>,
}

impl Normalised {
    /// `local` is scratch of one entry per graph row (reused across components).
    fn new(graph: &Graph, members: &[usize], local: &mut [u32]) -> Self {
        // A component is closed under the edges, and members ascend, so a row's local
        // columns ascend too.
        for (l, &i) in members.iter().enumerate() {
            local[i] = l as u32;
        }
        let degree: Vec<f64> = members
            .iter()
            .map(|&i| graph.row(i).1.iter().sum::<f64>())
            .collect();
        let scale: Vec<f64> = degree.iter().map(|d| 1.0 / d.sqrt()).collect();
        let mut start = vec![0];
        let (mut col, mut value) = (Vec::new(), Vec::new());
        for (l, &i) in members.iter().enumerate() {
            let (cols, weights) = graph.row(i);
            for (&j, &w) in cols.iter().zip(weights) {
                let lj = local[j as usize];
                col.push(lj);
                value.push(w * scale[l] * scale[lj as usize]);
            }
            start.push(col.len());
        }
        let mut trivial: Vec<f64> = degree.iter().map(|d| d.sqrt()).collect();
        normalise(&mut trivial);
        Normalised {
            start,
            col,
            value,
            trivial,
        }
    }

    fn len(&self) -> usize {
        self.trivial.len()
    }

    fn apply(&self, x: &[f64], y: &mut [f64]) {
        for (i, out) in y.iter_mut().enumerate() {
            let r = self.start[i]..self.start[i + 1];
            *out = self.col[r.clone()]
                .iter()
                .zip(&self.value[r])
                .map(|(&j, &v)| v * x[j as usize])
                .sum();
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0f64; 4];
    let (ca, ra) = a.as_chunks::<4>();
    let (cb, rb) = b.as_chunks::<4>();
    for (x, y) in ca.iter().zip(cb) {
        for l in 0..4 {
            s[l] += x[l] * y[l];
        }
    }
    for (x, y) in ra.iter().zip(rb) {
        s[0] += x * y;
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// Scales `v` to unit length; its former length.
fn normalise(v: &mut [f64]) -> f64 {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    norm
}

/// Removes from `w` its components along `basis` and `trivial` (two passes: one leaves
/// rounding noise of the size of the removed parts). The coefficients removed are added to
/// `coeffs` (one per basis vector).
fn orthogonalise(w: &mut [f64], basis: &[Vec<f64>], trivial: &[f64], coeffs: &mut [f64]) {
    for _ in 0..2 {
        let t = dot(trivial, w);
        axpy(-t, trivial, w);
        for (q, c) in basis.iter().zip(coeffs.iter_mut()) {
            let h = dot(q, w);
            axpy(-h, q, w);
            *c += h;
        }
    }
}

/// A random unit vector orthogonal to `basis` and `trivial`.
fn random_direction(n: usize, basis: &[Vec<f64>], trivial: &[f64], rng: &mut Rng) -> Vec<f64> {
    let mut v: Vec<f64> = (0..n).map(|_| rng.uniform() - 0.5).collect();
    let mut scratch = vec![0.0; basis.len()];
    orthogonalise(&mut v, basis, trivial, &mut scratch);
    normalise(&mut v);
    v
}

/// The `want` eigenvectors of `op` of largest eigenvalue below the trivial one, by
/// thick-restart Lanczos (Wu & Simon 2000; the same Krylov method as ARPACK's implicitly
/// restarted one that umap-learn calls) with full reorthogonalisation, from a seeded start.
/// Converged like umap-learn's `eigsh(tol = 1e-4)`: each residual at most 10⁻⁴ × the
/// Laplacian eigenvalue, or the step budget spent. `tick(step, budget)` reports progress.
fn top_eigenvectors(
    op: &Normalised,
    want: usize,
    rng: &mut Rng,
    tick: &mut dyn FnMut(usize, usize) -> Result<(), ProjectionError>,
) -> Result<Vec<Vec<f64>>, ProjectionError> {
    const TOL: f64 = 1e-4;
    let n = op.len();
    // The Krylov space lives in the complement of the trivial vector.
    let space = n - 1;
    let size = space.min((2 * want + 1).max(n.isqrt()).max(24));
    let keep = (2 * want + 2).min(size - 1);
    let budget = 1500.max(size);
    let mut basis = vec![random_direction(n, &[], &op.trivial, rng)];
    let mut h = vec![0.0; size * size];
    let mut steps = 0;
    loop {
        // Extend the basis to `size` vectors; `h` is the projection of `op` on it.
        let mut residual = Vec::new();
        for j in basis.len() - 1..size {
            let mut w = vec![0.0; n];
            op.apply(&basis[j], &mut w);
            let mut coeffs = vec![0.0; j + 1];
            orthogonalise(&mut w, &basis[..=j], &op.trivial, &mut coeffs);
            for (i, c) in coeffs.into_iter().enumerate() {
                h[i * size + j] = c;
                h[j * size + i] = c;
            }
            steps += 1;
            if steps % 16 == 0 {
                tick(steps.min(budget), budget)?;
            }
            if j + 1 == size {
                residual = w;
                break;
            }
            let beta = normalise(&mut w);
            if beta > 1e-10 {
                h[(j + 1) * size + j] = beta;
                h[j * size + j + 1] = beta;
                basis.push(w);
            } else {
                // An invariant subspace: carry on in a fresh direction.
                basis.push(random_direction(n, &basis, &op.trivial, rng));
            }
        }
        let beta = normalise(&mut residual);
        let (theta, s) = symmetric_eigen(&h, size);
        let converged = (0..want).all(|i| {
            let laplacian = (1.0 - theta[i]).abs();
            beta * s[(size - 1) * size + i].abs() <= TOL * laplacian
        });
        let ritz = |i: usize| {
            let mut y = vec![0.0; n];
            for (l, q) in basis.iter().enumerate() {
                axpy(s[l * size + i], q, &mut y);
            }
            y
        };
        if converged || size == space || steps >= budget {
            let mut vectors: Vec<Vec<f64>> = (0..want).map(ritz).collect();
            for v in &mut vectors {
                // Sign: the largest component positive, so the layout is reproducible.
                let pivot = v
                    .iter()
                    .fold(0.0f64, |m, &x| if x.abs() > m.abs() { x } else { m });
                if pivot < 0.0 {
                    v.iter_mut().for_each(|x| *x = -*x);
                }
            }
            return Ok(vectors);
        }
        // Restart from the best `keep` Ritz vectors and the residual direction: `h` becomes
        // diag(θ), and the next step computes the residual's coupling to them.
        let mut next: Vec<Vec<f64>> = (0..keep).map(ritz).collect();
        if beta > 1e-10 {
            next.push(residual);
        } else {
            let fresh = random_direction(n, &next, &op.trivial, rng);
            next.push(fresh);
        }
        basis = next;
        h.iter_mut().for_each(|x| *x = 0.0);
        for i in 0..keep {
            h[i * size + i] = theta[i];
        }
    }
}

/// umap-learn's `noisy_scale_coords` (largest coordinate 10, N(0, 10⁻⁴) noise) and then each
/// axis scaled to [0, 10], as `simplicial_set_embedding` does before the layout.
fn scale_init(coords: &mut [f64], dims: usize, rng: &mut Rng) {
    let max = coords.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let expansion = if max > 0.0 { 10.0 / max } else { 1.0 };
    for v in coords.iter_mut() {
        *v = *v * expansion + 1e-4 * rng.portable_normal();
    }
    for d in 0..dims {
        let axis = coords.iter().skip(d).step_by(dims);
        let (lo, hi) = axis.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
        let scale = if hi > lo { 10.0 / (hi - lo) } else { 0.0 };
        for v in coords.iter_mut().skip(d).step_by(dims) {
            *v = (*v - lo) * scale;
        }
    }
}

/// `a` and `b` of the curve `1 / (1 + a x^2b)` closest (least squares over 300 points on
/// [0, 3 spread]) to 1 below `min_dist` and `exp(−(x − min_dist) / spread)` above, as
/// umap-learn's `find_ab_params`; Levenberg–Marquardt from (1, 1) like `curve_fit`.
fn find_ab(spread: f64, min_dist: f64) -> (f64, f64) {
    const POINTS: usize = 300;
    let xs: Vec<f64> = (0..POINTS)
        .map(|i| 3.0 * spread * i as f64 / (POINTS - 1) as f64)
        .collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|&x| {
            if x < min_dist {
                1.0
            } else {
                libm::exp(-(x - min_dist) / spread)
            }
        })
        .collect();
    let cost = |a: f64, b: f64| -> f64 {
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| {
                let r = 1.0 / (1.0 + a * libm::pow(x, 2.0 * b)) - y;
                r * r
            })
            .sum()
    };
    let (mut a, mut b) = (1.0f64, 1.0f64);
    let mut current = cost(a, b);
    let mut lambda = 1e-3;
    for _ in 0..1000 {
        // Normal equations JᵀJ δ = −Jᵀr of the 2 parameters.
        let (mut jaa, mut jab, mut jbb, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &y) in xs.iter().zip(&ys) {
            if x == 0.0 {
                // x^2b = 0: the curve is 1 whatever a and b.
                continue;
            }
            let p = libm::pow(x, 2.0 * b);
            let q = 1.0 + a * p;
            let r = 1.0 / q - y;
            let da = -p / (q * q);
            let db = -a * p * 2.0 * libm::log(x) / (q * q);
            jaa += da * da;
            jab += da * db;
            jbb += db * db;
            ga += da * r;
            gb += db * r;
        }
        let mut improved = false;
        while lambda < 1e16 {
            // Marquardt's scaling: damp each parameter by its own curvature.
            let (maa, mbb) = (jaa * (1.0 + lambda), jbb * (1.0 + lambda));
            let det = maa * mbb - jab * jab;
            if det == 0.0 {
                lambda *= 10.0;
                continue;
            }
            let step_a = -(mbb * ga - jab * gb) / det;
            let step_b = -(maa * gb - jab * ga) / det;
            let (na, nb) = (a + step_a, b + step_b);
            let trial = if na > 0.0 && nb > 0.0 {
                cost(na, nb)
            } else {
                f64::INFINITY
            };
            if trial < current {
                let small = step_a.abs() <= 1e-12 * a.abs() && step_b.abs() <= 1e-12 * b.abs();
                (a, b, current) = (na, nb, trial);
                lambda = (lambda / 10.0).max(1e-12);
                improved = !small;
                break;
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    (a, b)
}

/// A point of the map. The two impls are written out per coordinate so the moving point
/// stays in registers: the release profile optimises for size and does not unroll loops.
/// The steps take the gradient coefficient and clipping bound already scaled by the
/// learning rate α: `clip(c (x − y)) α = clamp(cα (x − y), ±4α)`, one multiply fewer on the
/// dependency chain.
trait Point: Copy {
    /// Squared distance.
    fn sq(&self, other: &Self) -> f64;
    /// The attractive step: both points move by the clipped gradient.
    fn attract(&mut self, other: &mut Self, coeff: f64, bound: f64);
    /// The repulsive step: only `self` moves.
    fn repel(&mut self, other: &Self, coeff: f64, bound: f64);
}

macro_rules! point {
    ($n:literal: $($d:literal)+) => {
        impl Point for [f64; $n] {
            #[inline(always)]
            fn sq(&self, other: &Self) -> f64 {
                let mut s = 0.0;
                $(s += (self[$d] - other[$d]) * (self[$d] - other[$d]);)+
                s
            }

            #[inline(always)]
            fn attract(&mut self, other: &mut Self, coeff: f64, bound: f64) {
                $(
                    let g = (coeff * (self[$d] - other[$d])).clamp(-bound, bound);
                    self[$d] += g;
                    other[$d] += -g;
                )+
            }

            #[inline(always)]
            fn repel(&mut self, other: &Self, coeff: f64, bound: f64) {
                $(self[$d] += (coeff * (self[$d] - other[$d])).clamp(-bound, bound);)+
            }
        }
    };
}

point!(2: 0 1);
point!(3: 0 1 2);

/// An edge of the layout and its sampling schedule (in epochs).
struct Edge {
    head: u32,
    tail: u32,
    per_sample: f64,
    per_negative: f64,
    next: f64,
    next_negative: f64,
}

/// The layout: umap-learn's `optimize_layout_euclidean` with `move_other`, over the graph's
/// entries in row-major order, in `D` dimensions.
fn optimize<const D: usize>(
    coords: &mut [f64],
    graph: &Graph,
    epochs: usize,
    a: f64,
    b: f64,
    rng: &mut Rng,
    on: &mut OnProgress<'_>,
) -> Result<(), ProjectionError>
where
    [f64; D]: Point,
{
    let (points, _) = coords.as_chunks_mut::<D>();
    let n = points.len() as u64;
    let max = graph.weight.iter().fold(0.0f64, |m, &w| m.max(w));
    // One record per entry, in umap-learn's COO order, so an epoch streams through memory.
    let mut edges: Vec<Edge> = (0..graph.rows())
        .flat_map(|i| {
            let (cols, weights) = graph.row(i);
            cols.iter().zip(weights).map(move |(&j, &w)| {
                // umap-learn's make_epochs_per_sample.
                let per_sample = epochs as f64 / (epochs as f64 * (w / max));
                let per_negative = per_sample / NEGATIVE_SAMPLE_RATE;
                Edge {
                    head: i as u32,
                    tail: j,
                    per_sample,
                    per_negative,
                    next: per_sample,
                    next_negative: per_negative,
                }
            })
        })
        .collect();
    let (pow_b1, pow_b) = (Pow::new(b - 1.0), Pow::new(b));
    let mut alpha = 1.0;
    for epoch in 0..epochs {
        report(on, "layout", epoch, epochs)?;
        let now = epoch as f64;
        // Gradient coefficients' numerators and the clipping bound (4), times α.
        let (attract, repel, bound) = (-2.0 * a * b * alpha, 2.0 * GAMMA * b * alpha, 4.0 * alpha);
        for edge in &mut edges {
            if edge.next > now {
                continue;
            }
            let (j, k) = (edge.head as usize, edge.tail as usize);
            let mut current = points[j];
            let mut other = points[k];
            let d2 = current.sq(&other);
            // Attraction: the gradient of log(1 / (1 + a d^2b)), −2ab d^2(b−1) / (1 + a d^2b),
            // with d^2b = d^2(b−1) · d².
            if d2 > 0.0 {
                let p = pow_b1.of(d2);
                let coeff = attract * p / ((a * d2) * p + 1.0);
                current.attract(&mut other, coeff, bound);
            }
            points[k] = other;
            edge.next += edge.per_sample;
            let negatives = ((now - edge.next_negative) / edge.per_negative) as usize;
            for _ in 0..negatives {
                // Multiply-shift: a uniform index without a division.
                let k = (((rng.next_u64() >> 32) * n) >> 32) as usize;
                if k == j {
                    continue;
                }
                let other = points[k];
                let d2 = current.sq(&other);
                if d2 > 0.0 {
                    // Repulsion: 2γb / ((0.001 + d²)(1 + a d^2b)), the denominator as
                    // u d^2b + v so that one multiply-add follows the power.
                    let v = 0.001 + d2;
                    let coeff = repel / ((a * v) * pow_b.of(d2) + v);
                    current.repel(&other, coeff, bound);
                }
            }
            points[j] = current;
            edge.next_negative += negatives as f64 * edge.per_negative;
        }
        alpha = 1.0 - now / epochs as f64;
    }
    report(on, "layout", epochs, epochs)
}

/// `x^y` for positive `x` and a fixed `y`, as `exp(y ln x)` from 256-entry tables and short
/// polynomials (+ − × only, tables filled by `libm`, so portable). The layout's updates form
/// one long dependency chain through the moving point, so `pow`'s latency sets the speed:
/// a fraction of `libm::pow`'s latency, with a relative error below 10⁻¹² (umap-learn's
/// layout runs in f32). Zero, subnormal and non-finite `x`, and results beyond e^±700, go to
/// `libm::pow`.
struct Pow {
    y: f64,
    /// `1 / c` and `y ln c` for the centres `c = 1 + (i + ½)/256` of the mantissa's intervals.
    inv: [f64; 256],
    y_log: [f64; 256],
    /// `2^(j/256)`.
    exp2: [f64; 256],
    /// `y ln 2` in two parts, and `y` times the series of `ln(1 + r)`.
    y_ln2: (f64, f64),
    series: [f64; 4],
}

impl Pow {
    /// ln 2 in two parts (fdlibm's): `e × LN2_HI` is exact.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    /// 1.5 × 2⁵²: adding it rounds to an integer, read back from the low bits.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;

    fn new(y: f64) -> Self {
        let mut inv = [0.0; 256];
        let mut y_log = [0.0; 256];
        for i in 0..256 {
            inv[i] = 1.0 / (1.0 + (i as f64 + 0.5) / 256.0);
            y_log[i] = -y * libm::log(inv[i]);
        }
        let exp2 = std::array::from_fn(|j| libm::exp2(j as f64 / 256.0));
        Pow {
            y,
            inv,
            y_log,
            exp2,
            y_ln2: (y * Self::LN2_HI, y * Self::LN2_LO),
            series: [y, -y / 2.0, y / 3.0, -y / 4.0],
        }
    }

    #[inline(always)]
    fn of(&self, x: f64) -> f64 {
        let bits = x.to_bits();
        let biased = (bits >> 52) as i64;
        if biased == 0 || biased >= 0x7ff {
            return libm::pow(x, self.y);
        }
        // y ln x = y (e ln 2 + ln c + ln(1 + r)), r = m / c − 1, |r| < 2⁻⁹.
        let i = ((bits >> 44) & 255) as usize;
        let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
        let r = m * self.inv[i] - 1.0;
        let r2 = r * r;
        let [c1, c2, c3, c4] = self.series;
        let y_ln1p = c1 * r + r2 * ((c2 + c3 * r) + c4 * r2);
        let e = (biased - 1023) as f64;
        let t = (e * self.y_ln2.0 + self.y_log[i]) + (e * self.y_ln2.1 + y_ln1p);
        if t.is_nan() || t.abs() >= 700.0 {
            return libm::pow(x, self.y);
        }
        // exp t = 2^(k/256) · exp(s), k = round(256 t / ln 2), |s| ≤ ln 2 / 512.
        let z = t * (256.0 * std::f64::consts::LOG2_E) + Self::SHIFTER;
        let k = z.to_bits().wrapping_sub(Self::SHIFTER.to_bits()) as i64;
        let s = t - (z - Self::SHIFTER) * (std::f64::consts::LN_2 / 256.0);
        let scale = f64::from_bits(((k >> 8) + 1023).cast_unsigned() << 52);
        let two_k = self.exp2[(k & 255) as usize] * scale;
        ((1.0 + s) + s * s * (0.5 + s * (1.0 / 6.0))) * two_k
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbours::trustworthiness;
    use crate::shapes::{clusters, label_purity, swiss_roll};
    use crate::{Method, Spec, rows_of};

    /// UMAP's defaults (500 epochs up to 10,000 points).
    fn defaults() -> Params {
        Spec::new(Method::Umap, 2).params
    }

    fn run(data: &[f64], rows: usize, cols: usize, dims: usize, seed: u64) -> Vec<f64> {
        umap(data, rows, cols, dims, &defaults(), seed, &mut |_| true).unwrap()
    }

    fn trust(data: &[f64], rows: usize, cols: usize, map: &[f64], dims: usize) -> f64 {
        trustworthiness(&rows_of(data, rows, cols), &rows_of(map, rows, dims), 10)
    }

    #[test]
    fn a_and_b_match_umap_learn() {
        // umap-learn 0.5.12's find_ab_params(1.0, min_dist).
        for (min_dist, a, b) in [
            (0.1, 1.5769434602697652, 0.8950608778515733),
            (0.5, 0.5830300203414425, 1.3341669924314914),
            (0.0, 1.93280839734315, 0.7904949732233831),
            (1.0, 0.11497568327441922, 1.929237144081752),
        ] {
            let (fa, fb) = find_ab(1.0, min_dist);
            assert!(
                (fa - a).abs() < 1e-5 * a && (fb - b).abs() < 1e-5 * b,
                "min_dist {min_dist}: ({fa}, {fb}) vs ({a}, {b})"
            );
        }
    }

    #[test]
    fn fast_pow_agrees_with_libm() {
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            // Exponents as b and b − 1 take; squared distances from 10⁻²⁰ to 10⁶.
            let y = 3.0 * rng.uniform() - 1.0;
            let pow = Pow::new(y);
            for _ in 0..200 {
                let x = libm::pow(10.0, 26.0 * rng.uniform() - 20.0);
                let (fast, exact) = (pow.of(x), libm::pow(x, y));
                assert!(
                    (fast - exact).abs() <= 1e-12 * exact,
                    "{x}^{y}: {fast} vs {exact}"
                );
            }
        }
        let half = Pow::new(0.5);
        assert!((half.of(4.0) - 2.0).abs() < 1e-12);
        assert_eq!(half.of(0.0), 0.0);
        assert_eq!(Pow::new(1.0).of(1e-310), 1e-310);
    }

    #[test]
    fn sigma_gives_log2_k_total_membership() {
        let (data, _) = swiss_roll(300, 4);
        let g = knn(&data, 300, 3, 14, &mut |_| true).unwrap();
        let (sigma, rho) = smooth_knn_dist(&g, 15);
        for i in 0..300 {
            assert_eq!(rho[i], g.distances_of(i)[0]);
            let sum: f64 = g
                .distances_of(i)
                .iter()
                .map(|&d| libm::exp(-(d - rho[i]).max(0.0) / sigma[i]))
                .sum();
            assert!((sum - 15f64.log2()).abs() < 1e-4, "row {i}: {sum}");
        }
    }

    #[test]
    fn lanczos_finds_the_laplacian_eigenvectors() {
        // A connected graph: the kNN graph of a Swiss roll, checked against the dense solver.
        let (data, _) = swiss_roll(200, 9);
        let g = knn(&data, 200, 3, 14, &mut |_| true).unwrap();
        let graph = fuzzy_graph(&g, 500);
        let parts = components(&graph);
        assert_eq!(parts.len(), 1);
        let op = Normalised::new(&graph, &parts[0], &mut vec![0; 200]);
        let n = op.len();
        let mut dense = vec![0.0; n * n];
        for i in 0..n {
            for p in op.start[i]..op.start[i + 1] {
                dense[i * n + op.col[p] as usize] = op.value[p];
            }
        }
        let (values, vectors) = symmetric_eigen(&dense, n);
        assert!(
            (values[0] - 1.0).abs() < 1e-10,
            "trivial eigenvalue {}",
            values[0]
        );
        let found = top_eigenvectors(&op, 3, &mut Rng::new(1), &mut |_, _| Ok(())).unwrap();
        for (c, v) in found.iter().enumerate() {
            let overlap: f64 = (0..n).map(|i| v[i] * vectors[i * n + c + 1]).sum();
            assert!(overlap.abs() > 0.999, "eigenvector {c}: overlap {overlap}");
        }
    }

    #[test]
    fn separates_planted_clusters_in_2d_and_3d() {
        let (rows, cols) = (600, 20);
        let (data, labels) = clusters(rows, 6, cols, 2);
        for dims in [2, 3] {
            let map = run(&data, rows, cols, dims, 1);
            assert!(map.iter().all(|v| v.is_finite()));
            let purity = label_purity(&map, rows, dims, &labels, 10);
            let t = trust(&data, rows, cols, &map, dims);
            println!("clusters {dims}-D: purity {purity:.4}, trustworthiness {t:.4}");
            assert!(purity > 0.95, "{dims}-D purity {purity}");
            assert!(t > 0.9, "{dims}-D trustworthiness {t}");
        }
    }

    #[test]
    fn keeps_the_neighbourhoods_of_a_swiss_roll() {
        let rows = 800;
        let (data, _) = swiss_roll(rows, 3);
        let map = run(&data, rows, 3, 2, 1);
        let t = trust(&data, rows, 3, &map, 2);
        println!("Swiss roll: trustworthiness {t:.4}");
        assert!(t > 0.9, "trustworthiness {t}");
    }

    #[test]
    fn same_seed_same_map_and_another_seed_another() {
        let (data, _) = clusters(200, 4, 10, 5);
        let one = run(&data, 200, 10, 2, 7);
        assert_eq!(one, run(&data, 200, 10, 2, 7));
        assert_ne!(one, run(&data, 200, 10, 2, 8));
    }

    #[test]
    fn reports_each_stage_and_cancels() {
        let (data, _) = clusters(120, 3, 8, 6);
        let params = Params {
            iterations: 50,
            ..defaults()
        };
        let mut seen = Vec::new();
        umap(&data, 120, 8, 2, &params, 1, &mut |p| {
            seen.push(p);
            true
        })
        .unwrap();
        let stages: Vec<&str> = seen.iter().map(|p| p.stage).collect();
        let first = |s: &str| stages.iter().position(|&x| x == s).unwrap();
        assert!(first("neighbours") < first("graph") && first("graph") < first("layout"));
        let last = seen.last().unwrap();
        assert_eq!((last.stage, last.done, last.total), ("layout", 50, 50));
        // Cancelling during the layout stops it.
        let result = umap(&data, 120, 8, 2, &params, 1, &mut |p| {
            !(p.stage == "layout" && p.done == 10)
        });
        assert_eq!(result, Err(ProjectionError::Cancelled));
    }

    #[test]
    fn copes_with_identical_points_and_tiny_inputs() {
        let same = vec![1.0; 40 * 4];
        let map = run(&same, 40, 4, 2, 1);
        assert!(map.iter().all(|v| v.is_finite()));
        let (data, _) = clusters(17, 2, 5, 1);
        let map = run(&data, 17, 5, 3, 1);
        assert_eq!(map.len(), 17 * 3);
        assert!(map.iter().all(|v| v.is_finite()));
    }

    #[test]
    #[ignore]
    fn umap_timing_5400x100() {
        let (rows, cols) = (5400, 100);
        let (data, labels) = clusters(rows, 30, cols, 1);
        let start = std::time::Instant::now();
        let mut stages: Vec<(&str, std::time::Duration)> = Vec::new();
        let map = umap(&data, rows, cols, 2, &defaults(), 1, &mut |p| {
            if stages.last().is_none_or(|s| s.0 != p.stage) {
                stages.push((p.stage, start.elapsed()));
            }
            true
        })
        .unwrap();
        let took = start.elapsed();
        let purity = label_purity(&map, rows, 2, &labels, 10);
        println!("UMAP 5,400 × 100 → 2-D: {took:.2?}, label purity@10 {purity:.4}");
        println!("stages began at {stages:.2?}");
        let t = trust(&data, rows, cols, &map, 2);
        println!("trustworthiness@10 {t:.4}");
    }
}
