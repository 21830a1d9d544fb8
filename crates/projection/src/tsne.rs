//! t-SNE with the Barnes-Hut approximation (van der Maaten 2014), following the defaults of
//! scikit-learn's `TSNE(method="barnes_hut", angle=0.5, init="pca")` and openTSNE:
//!
//! 1. input similarities from the exact k nearest neighbours (k = ⌊3 · perplexity⌋): a binary
//!    search per point on the Gaussian precision so the conditional distribution has the
//!    requested perplexity, then P = (P + Pᵀ) / sum, kept sparse (upper triangle, CSR);
//! 2. start from PCA, scaled so the first axis has standard deviation 1e-4;
//! 3. gradient descent on KL(P‖Q) with a Student-t kernel (one degree of freedom): early
//!    exaggeration 12 and momentum 0.5 for the first 250 iterations, then momentum 0.8;
//!    learning rate max(n / 12 / 4, 50) unless given; per-coordinate gains (delta-bar-delta,
//!    +0.2 / ×0.8, at least 0.01). Attraction is exact over the sparse P; repulsion uses a
//!    quadtree (2-D) or octree (3-D) with θ = 0.5, rebuilt every iteration into a flat,
//!    pre-ordered arena (a walk is a forward scan with skips). Identical points share a leaf.
//!
//! Differences from the references: scikit-learn gives 3-D maps two degrees of freedom, here
//! (as in openTSNE) every map has one; there is no early stop on a small gradient, so the
//! number of iterations is exactly the one asked for; the tree is walked once per group of
//! nearby points with θ applied to the group's bounding box (faster, and at least as accurate
//! as a walk per point); and the PCA start gets a seeded jitter of 1 % of its scale, so the
//! seed matters and identical inputs (untrained materials all sit at the same code) spread
//! into a small blob instead of staying stacked on one point.

use super::knn::knn;
use super::pca::pca_f64;
use super::{Method, OnProgress, Params, ProjectionError, report};
use crate::rng::Rng;

/// Barnes-Hut opening angle: a cell stands in for its points when side / distance < θ.
const THETA: f64 = 0.5;
const EXAGGERATION: f64 = 12.0;
const EXAGGERATION_ITERATIONS: usize = 250;
const MOMENTUM_EARLY: f64 = 0.5;
const MOMENTUM_LATE: f64 = 0.8;
const MIN_GAIN: f64 = 0.01;
/// Standard deviation of the first axis of the start (scikit-learn's PCA rescaling).
const INIT_SCALE: f64 = 1e-4;
/// Seeded noise added to the start, relative to [`INIT_SCALE`].
const JITTER: f64 = 0.01;
/// Binary search on each point's precision: scikit-learn's step cap and entropy tolerance.
const PERPLEXITY_STEPS: usize = 100;
const PERPLEXITY_TOL: f64 = 1e-5;
/// Deepest tree level: the points still sharing a cell there are within 2⁻⁵⁰ of the map's
/// extent of each other and make one leaf (ends the split of points that all but coincide).
const MAX_DEPTH: usize = 50;
/// Most points in a group that shares one tree walk for its repulsion.
const GROUP: usize = 64;
/// Report gradient progress at least every this many iterations (1 % of the default 1,000).
const REPORT_EVERY: usize = 10;

/// t-SNE map of `data` (`[rows, cols]` row-major) to `dims` (2 or 3) dimensions,
/// `[rows, dims]` row-major. Reports "neighbours" (the kNN), "affinities", then "gradient"
/// (`done` = iteration of `params.iterations`).
pub fn tsne(
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
            "dimensions must be 2 or 3, not {dims}"
        )));
    }
    if rows < 2 {
        return Err(ProjectionError::TooFewPoints {
            method: Method::Tsne,
            needed: 2,
            got: rows,
        });
    }
    let p = affinities(data, rows, cols, params.perplexity, on)?;
    let learning_rate = if params.learning_rate > 0.0 {
        params.learning_rate
    } else {
        (rows as f64 / EXAGGERATION / 4.0).max(50.0)
    };
    let mut y = start(data, rows, cols, dims, seed);
    if dims == 2 {
        optimise::<2>(&p, &mut y, params.iterations, learning_rate, on)?;
    } else {
        optimise::<3>(&p, &mut y, params.iterations, learning_rate, on)?;
    }
    Ok(y.iter().flat_map(|p| p[..dims].iter().copied()).collect())
}

/// The joint probabilities P: symmetric, summing to 1 over all ordered pairs, stored once per
/// unordered pair (row `i` holds the columns `j > i`).
struct Affinities {
    rows: usize,
    /// Row `i`'s entries are `start[i]..start[i + 1]`.
    start: Vec<usize>,
    col: Vec<u32>,
    p: Vec<f64>,
}

fn affinities(
    data: &[f64],
    rows: usize,
    cols: usize,
    perplexity: f64,
    on: &mut OnProgress<'_>,
) -> Result<Affinities, ProjectionError> {
    let g = knn(data, rows, cols, (3.0 * perplexity) as usize, on)?;
    let k = g.k;
    let target = libm::log(perplexity);
    let mut pairs: Vec<(u64, f64)> = Vec::with_capacity(rows * k);
    let mut cond = vec![0.0; k];
    let mut d2 = vec![0.0; k];
    let report_every = (rows / 100).max(1);
    for i in 0..rows {
        if i % report_every == 0 {
            report(on, "affinities", i, rows)?;
        }
        // Distances relative to the nearest: the same distribution, and exp never underflows
        // to an all-zero row.
        let dist = g.distances_of(i);
        let nearest = dist.first().map_or(0.0, |d| d * d);
        for (s, d) in d2.iter_mut().zip(dist) {
            *s = (d * d - nearest).max(0.0);
        }
        conditional(&d2, target, &mut cond);
        for (&j, &c) in g.indices_of(i).iter().zip(&cond) {
            let (a, b) = (i.min(j as usize) as u64, i.max(j as usize) as u64);
            pairs.push(((a << 32) | b, c));
        }
    }
    report(on, "affinities", rows, rows)?;
    // P + Pᵀ: a pair comes at most twice (from either end), and a + b = b + a, so the order
    // the unstable sort leaves equal keys in does not change the sums.
    pairs.sort_unstable_by_key(|e| e.0);
    let mut merged: Vec<(u64, f64)> = Vec::with_capacity(pairs.len());
    for (key, c) in pairs {
        match merged.last_mut() {
            Some(last) if last.0 == key => last.1 += c,
            _ => merged.push((key, c)),
        }
    }
    // Each stored pair stands for two entries of the full matrix.
    let total = 2.0 * merged.iter().map(|e| e.1).sum::<f64>();
    let norm = if total > 0.0 { 1.0 / total } else { 0.0 };
    let mut start = vec![0usize; rows + 1];
    for &(key, _) in &merged {
        start[(key >> 32) as usize + 1] += 1;
    }
    for i in 0..rows {
        start[i + 1] += start[i];
    }
    Ok(Affinities {
        rows,
        start,
        col: merged.iter().map(|e| (e.0 & 0xFFFF_FFFF) as u32).collect(),
        p: merged.iter().map(|e| e.1 * norm).collect(),
    })
}

/// One point's conditional distribution over its neighbours, exp(−β d²) normalised, with the
/// precision β found by bisection so its entropy is `target` = ln(perplexity) (scikit-learn's
/// `_binary_search_perplexity`). `d2`: squared distances, nearest first.
fn conditional(d2: &[f64], target: f64, out: &mut [f64]) {
    let (mut beta, mut lo, mut hi) = (1.0, f64::NEG_INFINITY, f64::INFINITY);
    for _ in 0..PERPLEXITY_STEPS {
        let mut sum = 0.0;
        for (o, &d) in out.iter_mut().zip(d2) {
            *o = libm::exp(-d * beta);
            sum += *o;
        }
        // d2[0] = 0, so sum ≥ 1; the guard is for an empty row.
        let sum = if sum > 0.0 { sum } else { 1e-8 };
        let mut mean_d2 = 0.0;
        for (o, &d) in out.iter_mut().zip(d2) {
            *o /= sum;
            mean_d2 += d * *o;
        }
        let diff = libm::log(sum) + beta * mean_d2 - target;
        if diff.abs() <= PERPLEXITY_TOL {
            break;
        }
        // Entropy too high: the kernel is too wide, raise the precision.
        if diff > 0.0 {
            lo = beta;
            beta = if hi.is_infinite() {
                beta * 2.0
            } else {
                (beta + hi) / 2.0
            };
        } else {
            hi = beta;
            beta = if lo.is_infinite() {
                beta / 2.0
            } else {
                (beta + lo) / 2.0
            };
        }
    }
}

/// A map position. 2-D maps leave the third coordinate at 0 and never read it: one fixed
/// layout keeps the hot loops free of per-dimension loops, which the size-optimised builds
/// (the app's) would not unroll.
type Point = [f64; 3];

/// `a − b` and its squared length in the first `D` dimensions.
#[inline(always)]
fn diff<const D: usize>(a: &Point, b: &Point) -> (Point, f64) {
    let d = [
        a[0] - b[0],
        a[1] - b[1],
        if D == 3 { a[2] - b[2] } else { 0.0 },
    ];
    let mut d2 = d[0] * d[0] + d[1] * d[1];
    if D == 3 {
        d2 += d[2] * d[2];
    }
    (d, d2)
}

/// `acc += m · v` in the first `D` dimensions.
#[inline(always)]
fn add_scaled<const D: usize>(acc: &mut Point, m: f64, v: &Point) {
    acc[0] += m * v[0];
    acc[1] += m * v[1];
    if D == 3 {
        acc[2] += m * v[2];
    }
}

/// The start: PCA scaled so the first axis has standard deviation [`INIT_SCALE`] (as
/// scikit-learn does), plus seeded jitter; seeded noise alone when PCA is flat.
fn start(data: &[f64], rows: usize, cols: usize, dims: usize, seed: u64) -> Vec<Point> {
    let pca = pca_f64(data, rows, cols, dims);
    let mean = (0..rows).map(|r| pca[r * dims]).sum::<f64>() / rows as f64;
    let var = (0..rows)
        .map(|r| (pca[r * dims] - mean) * (pca[r * dims] - mean))
        .sum::<f64>()
        / rows as f64;
    let sd = var.sqrt();
    let (scale, noise) = if sd > 0.0 && sd.is_finite() {
        (INIT_SCALE / sd, JITTER * INIT_SCALE)
    } else {
        (0.0, INIT_SCALE)
    };
    let mut rng = Rng::new(seed);
    let mut y = vec![[0.0; 3]; rows];
    for (r, yr) in y.iter_mut().enumerate() {
        for (d, v) in yr.iter_mut().take(dims).enumerate() {
            *v = pca[r * dims + d] * scale + noise * rng.portable_normal();
        }
    }
    y
}

/// Gradient descent on KL(P‖Q) in place (scikit-learn's `_gradient_descent`, whose update and
/// gains start afresh when the exaggeration ends).
fn optimise<const D: usize>(
    p: &Affinities,
    y: &mut [Point],
    iterations: usize,
    learning_rate: f64,
    on: &mut OnProgress<'_>,
) -> Result<(), ProjectionError> {
    let n = p.rows;
    let mut attract = vec![[0.0; 3]; n];
    let mut repel = vec![[0.0; 3]; n];
    let mut update = vec![[0.0; 3]; n];
    let mut gains = vec![[1.0; 3]; n];
    let mut tree = Tree::<D>::new(n);
    let report_every = (iterations / 100).clamp(1, REPORT_EVERY);
    for it in 0..iterations {
        if it % report_every == 0 {
            report(on, "gradient", it, iterations)?;
        }
        let early = it < EXAGGERATION_ITERATIONS;
        if it == EXAGGERATION_ITERATIONS {
            update.fill([0.0; 3]);
            gains.fill([1.0; 3]);
        }
        let (exaggeration, momentum) = if early {
            (EXAGGERATION, MOMENTUM_EARLY)
        } else {
            (1.0, MOMENTUM_LATE)
        };
        attraction::<D>(p, y, &mut attract);
        tree.build(y);
        let z = tree.repulsion(y, &mut repel);
        let inv_z = if z > 0.0 { 1.0 / z } else { 0.0 };
        for i in 0..n {
            for d in 0..D {
                // 4 = 2 (dof + 1) / dof with one degree of freedom.
                let grad = 4.0 * (exaggeration * attract[i][d] - repel[i][d] * inv_z);
                let (u, g) = (&mut update[i][d], &mut gains[i][d]);
                let gain: f64 = if *u * grad < 0.0 { *g + 0.2 } else { *g * 0.8 };
                *g = gain.max(MIN_GAIN);
                *u = momentum * *u - learning_rate * *g * grad;
                y[i][d] += *u;
            }
        }
    }
    report(on, "gradient", iterations, iterations)
}

/// Σⱼ pᵢⱼ qᵢⱼ Z (yᵢ − yⱼ) for every i, each stored pair visited once and applied to both ends.
// Kept out of line, as are the tree's build and walk: inlined into the optimiser, the
// size-optimised builds (the app's) allocate registers for the whole loop badly (about 1.5×
// slower).
#[inline(never)]
fn attraction<const D: usize>(p: &Affinities, y: &[Point], out: &mut [Point]) {
    out.fill([0.0; 3]);
    for i in 0..p.rows {
        let yi = y[i];
        let mut fi = [0.0; 3];
        let (from, to) = (p.start[i], p.start[i + 1]);
        for (&j, &pij) in p.col[from..to].iter().zip(&p.p[from..to]) {
            let j = j as usize;
            let (dv, d2) = diff::<D>(&yi, &y[j]);
            let w = pij / (1.0 + d2);
            add_scaled::<D>(&mut fi, w, &dv);
            add_scaled::<D>(&mut out[j], -w, &dv);
        }
        add_scaled::<D>(&mut out[i], 1.0, &fi);
    }
}

/// A cell of the tree. Nodes are stored in pre-order, so a cell's children follow it and
/// `next` is where the walk goes when the cell is summarised (or is a leaf).
#[derive(Clone, Copy, Debug)]
struct Node {
    /// Centre of mass; a leaf of coincident points holds their exact position.
    com: Point,
    count: f64,
    /// (side / θ)²: the cell stands in for its points when the squared distance to its centre
    /// of mass exceeds this. −1 for a leaf, which is always taken whole.
    reach2: f64,
    next: u32,
}

/// Quadtree (D = 2) or octree (D = 3) over the map, rebuilt each iteration into reused buffers.
struct Tree<const D: usize> {
    nodes: Vec<Node>,
    /// Point indices, grouped by cell (leaf order) once built.
    order: Vec<u32>,
    scratch: Vec<u32>,
    orthant: Vec<u8>,
    /// The cells one group of points interacts with: centre of mass and count.
    list: Vec<(Point, f64)>,
}

impl<const D: usize> Tree<D> {
    fn new(n: usize) -> Self {
        Tree {
            nodes: Vec::with_capacity(2 * n + 1),
            order: Vec::with_capacity(n),
            scratch: vec![0; n],
            orthant: vec![0; n],
            list: Vec::new(),
        }
    }

    #[inline(never)]
    fn build(&mut self, y: &[Point]) {
        self.nodes.clear();
        self.order.clear();
        self.order.extend(0..y.len() as u32);
        if y.is_empty() {
            return;
        }
        let (mut lo, mut hi) = ([0.0; 3], [0.0; 3]);
        for d in 0..D {
            lo[d] = y.iter().map(|p| p[d]).fold(f64::INFINITY, f64::min);
            hi[d] = y.iter().map(|p| p[d]).fold(f64::NEG_INFINITY, f64::max);
        }
        let centre: Point = std::array::from_fn(|d| (lo[d] + hi[d]) / 2.0);
        let half = (0..D).map(|d| (hi[d] - lo[d]) / 2.0).fold(0.0, f64::max);
        self.split(y, 0, y.len(), centre, half, 0);
    }

    /// Add the cell holding `order[from..to]` and, unless it is a leaf, its children.
    fn split(
        &mut self,
        y: &[Point],
        from: usize,
        to: usize,
        centre: Point,
        half: f64,
        depth: usize,
    ) {
        let id = self.nodes.len();
        let first = y[self.order[from] as usize];
        let mut sum = [0.0; 3];
        let mut same = true;
        // One pass: centre of mass, whether all points coincide, and each one's orthant
        // (bit d set: above the centre on axis d).
        let mut counts = [0usize; 8];
        for k in from..to {
            let q = &y[self.order[k] as usize];
            add_scaled::<D>(&mut sum, 1.0, q);
            same &= q[0] == first[0] && q[1] == first[1] && (D == 2 || q[2] == first[2]);
            let mut code = usize::from(q[0] >= centre[0]) | usize::from(q[1] >= centre[1]) << 1;
            if D == 3 {
                code |= usize::from(q[2] >= centre[2]) << 2;
            }
            self.orthant[k] = code as u8;
            counts[code] += 1;
        }
        let count = (to - from) as f64;
        let com = if same { first } else { sum.map(|s| s / count) };
        if to - from == 1 || same || depth >= MAX_DEPTH {
            self.nodes.push(Node {
                com,
                count,
                reach2: -1.0,
                next: id as u32 + 1,
            });
            return;
        }
        let reach = 2.0 * half / THETA;
        self.nodes.push(Node {
            com,
            count,
            reach2: reach * reach,
            next: 0,
        });
        // Counting sort of the cell's points by orthant.
        let mut starts = [0usize; 9];
        for c in 0..1 << D {
            starts[c + 1] = starts[c] + counts[c];
        }
        let mut fill = starts;
        for k in from..to {
            let c = usize::from(self.orthant[k]);
            self.scratch[from + fill[c]] = self.order[k];
            fill[c] += 1;
        }
        self.order[from..to].copy_from_slice(&self.scratch[from..to]);
        let quarter = half / 2.0;
        let shift = |c: usize, d: usize| {
            if c >> d & 1 == 1 {
                centre[d] + quarter
            } else {
                centre[d] - quarter
            }
        };
        for c in 0..1 << D {
            if counts[c] == 0 {
                continue;
            }
            let child = [
                shift(c, 0),
                shift(c, 1),
                if D == 3 { shift(c, 2) } else { 0.0 },
            ];
            self.split(
                y,
                from + starts[c],
                from + starts[c + 1],
                child,
                quarter,
                depth + 1,
            );
        }
        self.nodes[id].next = self.nodes.len() as u32;
    }

    /// Σⱼ qᵢⱼ² Z² (yᵢ − yⱼ) for every i into `out`; returns Z = Σᵢ≠ⱼ 1 / (1 + |yᵢ − yⱼ|²).
    ///
    /// Points are taken in groups (the largest cells of at most [`GROUP`] points): one walk
    /// per group collects the cells that are far enough from the group's bounding box, and
    /// every point of the group then sums over that list in a tight loop. A cell taken for the
    /// box is far enough for each of its points, so this is at least as accurate as a walk per
    /// point, and the branchy walk is shared.
    #[inline(never)]
    fn repulsion(&mut self, y: &[Point], out: &mut [Point]) -> f64 {
        let mut z = 0.0;
        let mut from = 0;
        let mut g = 0;
        while let Some(group) = self.nodes.get(g) {
            if group.count > GROUP as f64 && group.reach2 >= 0.0 {
                g += 1;
                continue;
            }
            let to = from + group.count as usize;
            let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
            for &i in &self.order[from..to] {
                for d in 0..D {
                    lo[d] = lo[d].min(y[i as usize][d]);
                    hi[d] = hi[d].max(y[i as usize][d]);
                }
            }
            self.list.clear();
            let mut n = 0;
            while let Some(node) = self.nodes.get(n) {
                let c = &node.com;
                let gap = |d: usize| (lo[d] - c[d]).max(c[d] - hi[d]).max(0.0);
                let (g0, g1) = (gap(0), gap(1));
                let mut d2 = g0 * g0 + g1 * g1;
                if D == 3 {
                    let g2 = gap(2);
                    d2 += g2 * g2;
                }
                if node.reach2 < d2 {
                    self.list.push((node.com, node.count));
                    n = node.next as usize;
                } else {
                    n += 1;
                }
            }
            for &i in &self.order[from..to] {
                let i = i as usize;
                let yi = y[i];
                let mut f = [0.0; 3];
                let mut zi = 0.0;
                for (com, count) in &self.list {
                    let (dv, d2) = diff::<D>(&yi, com);
                    let q = 1.0 / (1.0 + d2);
                    let cq = count * q;
                    zi += cq;
                    add_scaled::<D>(&mut f, cq * q, &dv);
                }
                // A cell holding i is never taken whole (θ < 1/√D), so i met its own leaf at
                // distance 0: it added 1 to Z and nothing to the force.
                z += zi - 1.0;
                out[i] = f;
            }
            from = to;
            g = group.next as usize;
        }
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neighbours::trustworthiness;
    use crate::rows_of;
    use crate::shapes::{clusters, label_purity};

    fn run(
        data: &[f64],
        rows: usize,
        cols: usize,
        dims: usize,
        params: &Params,
        seed: u64,
    ) -> Vec<f64> {
        tsne(data, rows, cols, dims, params, seed, &mut |_| true).expect("no cancel")
    }

    /// Exact KL(P‖Q) of a map, O(n²).
    fn kl(p: &Affinities, y: &[f64], dims: usize) -> f64 {
        let n = p.rows;
        let q = |i: usize, j: usize| {
            let d2: f64 = (0..dims)
                .map(|d| (y[i * dims + d] - y[j * dims + d]).powi(2))
                .sum();
            1.0 / (1.0 + d2)
        };
        let z: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| q(i, j))
            .sum();
        let mut kl = 0.0;
        for i in 0..n {
            for e in p.start[i]..p.start[i + 1] {
                let pij = p.p[e];
                // Both ordered pairs.
                kl += 2.0 * pij * libm::log(pij / (q(i, p.col[e] as usize) / z));
            }
        }
        kl
    }

    fn spread(y: &[f64], dims: usize) -> f64 {
        let n = y.len() / dims;
        let mut var = 0.0;
        for d in 0..dims {
            let m = (0..n).map(|i| y[i * dims + d]).sum::<f64>() / n as f64;
            var += (0..n).map(|i| (y[i * dims + d] - m).powi(2)).sum::<f64>() / n as f64;
        }
        var.sqrt()
    }

    #[test]
    fn separates_planted_clusters_in_2d_and_3d() {
        let (rows, cols) = (600, 20);
        let (data, labels) = clusters(rows, 6, cols, 7);
        let high = rows_of(&data, rows, cols);
        for dims in [2, 3] {
            let y = run(&data, rows, cols, dims, &Params::default(), 1);
            assert!(y.iter().all(|v| v.is_finite()));
            let purity = label_purity(&y, rows, dims, &labels, 10);
            let trust = trustworthiness(&high, &rows_of(&y, rows, dims), 10);
            assert!(purity > 0.95, "{dims}-D purity {purity}");
            assert!(trust > 0.9, "{dims}-D trustworthiness {trust}");
        }
    }

    #[test]
    fn fits_p_better_than_a_shuffled_map_at_a_sane_scale() {
        let (rows, cols) = (400, 10);
        let (data, _) = clusters(rows, 4, cols, 3);
        let params = Params::default();
        let y = run(&data, rows, cols, 2, &params, 2);
        let p = affinities(&data, rows, cols, params.perplexity, &mut |_| true).unwrap();
        // Each point's P row is a proper distribution: total 1.
        let total: f64 = 2.0 * p.p.iter().sum::<f64>();
        assert!((total - 1.0).abs() < 1e-12);
        let fitted = kl(&p, &y, 2);
        // The same points, assigned to the wrong rows: the map's shape but not P's.
        let mut rng = Rng::new(9);
        let mut perm: Vec<usize> = (0..rows).collect();
        rng.shuffle(&mut perm);
        let shuffled: Vec<f64> = perm
            .iter()
            .flat_map(|&r| [y[2 * r], y[2 * r + 1]])
            .collect();
        let baseline = kl(&p, &shuffled, 2);
        assert!(
            fitted < 1.0 && fitted < baseline / 3.0,
            "KL {fitted} vs shuffled {baseline}"
        );
        // The map grew from the 1e-4 start to t-SNE's usual tens of units.
        let s = spread(&y, 2);
        assert!((3.0..300.0).contains(&s), "spread {s}");
    }

    #[test]
    fn perplexity_search_hits_the_target() {
        let d2: Vec<f64> = (0..90).map(|j| j as f64 * 0.37).collect();
        let mut out = vec![0.0; 90];
        conditional(&d2, libm::log(30.0), &mut out);
        let entropy: f64 = out
            .iter()
            .filter(|&&p| p > 0.0)
            .map(|&p| -p * libm::log(p))
            .sum();
        assert!((libm::exp(entropy) - 30.0).abs() < 1e-3, "{entropy}");
        assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // All neighbours at the same distance: uniform, no NaN.
        let mut out = vec![0.0; 90];
        conditional(&[0.0; 90], libm::log(30.0), &mut out);
        assert!(out.iter().all(|&p| (p - 1.0 / 90.0).abs() < 1e-15));
    }

    /// Barnes-Hut repulsion against the exact sums, duplicates included.
    fn check_tree<const D: usize>() {
        let mut rng = Rng::new(4);
        let mut y: Vec<Point> = (0..400)
            .map(|_| std::array::from_fn(|d| if d < D { 5.0 * rng.normal() } else { 0.0 }))
            .collect();
        // 50 points stacked on one spot, and a pair 1e-300 apart.
        for p in &mut y[..50] {
            p[..D].fill(1.5);
        }
        y[50] = [1e-300, 0.0, 0.0];
        y[51] = [0.0; 3];
        let n = y.len();
        let mut tree = Tree::<D>::new(n);
        tree.build(&y);
        let mut bh = vec![[0.0; 3]; n];
        let z = tree.repulsion(&y, &mut bh);
        let (mut exact_z, mut exact) = (0.0, vec![[0.0; 3]; n]);
        for i in 0..n {
            for j in (0..n).filter(|&j| j != i) {
                let (dv, d2) = diff::<D>(&y[i], &y[j]);
                let q = 1.0 / (1.0 + d2);
                exact_z += q;
                add_scaled::<D>(&mut exact[i], q * q, &dv);
            }
        }
        assert!((z - exact_z).abs() < 1e-2 * exact_z, "Z {z} vs {exact_z}");
        let norm = |v: &[Point]| v.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
        let err: Vec<Point> = (bh.iter().zip(&exact))
            .map(|(a, b)| std::array::from_fn(|d| a[d] - b[d]))
            .collect();
        assert!(
            norm(&err) < 2e-2 * norm(&exact),
            "{} vs {}",
            norm(&err),
            norm(&exact)
        );
        // Every point sits in exactly one leaf, and the leaves count all points.
        let leaves: f64 = (tree.nodes.iter())
            .filter(|nd| nd.reach2 < 0.0)
            .map(|nd| nd.count)
            .sum();
        assert_eq!(leaves, n as f64);
        assert_eq!(tree.nodes[0].next as usize, tree.nodes.len());
        // The stack is one leaf.
        assert!(
            tree.nodes
                .iter()
                .any(|nd| nd.reach2 < 0.0 && nd.count == 50.0)
        );
    }

    #[test]
    fn barnes_hut_matches_exact_repulsion() {
        check_tree::<2>();
        check_tree::<3>();
    }

    #[test]
    fn identical_points_do_not_hang_and_stay_together() {
        // 300 materials at the origin (never trained) and 60 others.
        let (rows, cols) = (360, 8);
        let mut rng = Rng::new(6);
        let data: Vec<f64> = (0..rows * cols)
            .map(|i| {
                if i < 300 * cols {
                    0.0
                } else {
                    3.0 * rng.normal()
                }
            })
            .collect();
        let params = Params {
            iterations: 300,
            ..Params::default()
        };
        for dims in [2, 3] {
            let y = run(&data, rows, cols, dims, &params, 1);
            assert!(y.iter().all(|v| v.is_finite()));
            // The stack forms one blob, tighter than the whole map.
            let (same, all) = (spread(&y[..300 * dims], dims), spread(&y, dims));
            assert!(same < 0.5 * all, "{dims}-D: stack {same}, map {all}");
        }
        // Every row identical: PCA is flat, the start is noise; still finite.
        let flat = vec![2.0; 100 * 5];
        let y = run(&flat, 100, 5, 2, &params, 1);
        assert!(y.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn deterministic_per_seed() {
        let (rows, cols) = (200, 10);
        let (data, _) = clusters(rows, 4, cols, 5);
        let params = Params {
            perplexity: 10.0,
            iterations: 300,
            ..Params::default()
        };
        let a = run(&data, rows, cols, 2, &params, 1);
        assert_eq!(a, run(&data, rows, cols, 2, &params, 1));
        assert_ne!(a, run(&data, rows, cols, 2, &params, 2));
    }

    #[test]
    fn reports_progress_and_cancels() {
        let (rows, cols) = (120, 6);
        let (data, _) = clusters(rows, 3, cols, 8);
        let params = Params {
            perplexity: 10.0,
            iterations: 300,
            ..Params::default()
        };
        let mut seen = Vec::new();
        tsne(&data, rows, cols, 2, &params, 1, &mut |p| {
            seen.push(p);
            true
        })
        .unwrap();
        let stages: Vec<&str> = seen.iter().map(|p| p.stage).collect();
        let first = |s| stages.iter().position(|&x| x == s).unwrap();
        assert!(first("neighbours") < first("affinities"));
        assert!(first("affinities") < first("gradient"));
        let gradient: Vec<_> = seen.iter().filter(|p| p.stage == "gradient").collect();
        assert!(gradient.len() >= 30);
        assert!(
            gradient
                .windows(2)
                .all(|w| w[1].done - w[0].done <= REPORT_EVERY)
        );
        let last = gradient.last().unwrap();
        assert_eq!((last.done, last.total), (300, 300));

        let cancel = |at: &'static str| {
            tsne(&data, rows, cols, 2, &params, 1, &mut |p| {
                !(p.stage == at && p.done >= p.total / 2)
            })
        };
        assert_eq!(cancel("neighbours"), Err(ProjectionError::Cancelled));
        assert_eq!(cancel("gradient"), Err(ProjectionError::Cancelled));
        assert_eq!(
            tsne(&data, rows, cols, 4, &params, 1, &mut |_| true),
            Err(ProjectionError::BadParam(
                "dimensions must be 2 or 3, not 4".into()
            ))
        );
    }

    #[test]
    #[ignore]
    fn tsne_timing_5400x100() {
        let (rows, cols) = (5400, 100);
        let (data, labels) = clusters(rows, 30, cols, 1);
        for dims in [2, 3] {
            let t = std::time::Instant::now();
            let y = run(&data, rows, cols, dims, &Params::default(), 1);
            let secs = t.elapsed().as_secs_f64();
            let purity = label_purity(&y, rows, dims, &labels, 10);
            println!("t-SNE {rows}×{cols} → {dims}-D: {secs:.2} s, purity@10 {purity:.3}");
        }
    }
}
