//! Locally linear embedding (Roweis & Saul 2000) as scikit-learn's
//! `LocallyLinearEmbedding(method="standard", reg=1e-3, eigen_solver="arpack")` computes it:
//! each point's barycentric weights over its `k` nearest neighbours (local Gram matrix
//! regularised by `reg × trace`, always, as scikit-learn does), the sparse alignment matrix
//! `M = (I − W)ᵀ(I − W)`, and the map = the eigenvectors of the smallest eigenvalues of `M`
//! after the constant one.
//!
//! Those eigenvalues crowd near 0 (about 1e-9 for a rolled-up sheet of 5,000 points), so,
//! like scikit-learn (`eigsh(M, sigma=0)`), we run Lanczos on the inverse: `M + εI` is
//! factored by an envelope Cholesky after a reverse Cuthill–McKee ordering. When that
//! factor would be too dense (neighbourhood graphs of high intrinsic dimension, where the
//! small eigenvalues are not crowded), Lanczos runs on `σI − M` instead (σ ≥ λmax(M) by
//! Gershgorin), falling back to the factor only if it fails to converge.
//!
//! Differences from scikit-learn: the null space of `M` (one constant vector per connected
//! component of the neighbour graph) is kept out of the solver. When the graph has several
//! components, `M`'s smallest eigenvalue is 0 several times over and scikit-learn returns
//! an arbitrary basis of that null space (each component collapses to a point wherever the
//! solver's start vector puts it); here the null-space axes are the ones that spread the
//! components' centroids most (a size-weighted PCA of the centroids), so the picture is
//! reproducible and keeps far components apart.

use super::isomap::Graph;
use super::knn::{Knn, knn};
use super::lanczos::{self, Deflation, axpy, dot, fix_signs};
use super::{OnProgress, ProjectionError, report};

/// scikit-learn's default regularisation of the local Gram matrices.
const REG: f64 = 1e-3;
/// Above this many multiply–adds the factorisation is put off (≈ 1 s in wasm).
const FACTOR_BUDGET: f64 = 2e9;
/// Products Lanczos on `σI − M` may spend before the factorisation takes over.
const ITERATIVE_PRODUCTS: usize = 1000;

/// Each row's reconstruction weights over its neighbours (`[rows, k]`, summing to 1):
/// scikit-learn's `barycenter_weights`.
fn weights(
    data: &[f64],
    cols: usize,
    g: &Knn,
    on: &mut OnProgress<'_>,
) -> Result<Vec<f64>, ProjectionError> {
    let (rows, k) = (g.rows(), g.k);
    let mut out = vec![0.0f64; rows * k];
    let mut z = vec![0.0f64; k * cols];
    let mut gram = vec![0.0f64; k * k];
    for i in 0..rows {
        if i % 64 == 0 {
            report(on, "weights", i, rows)?;
        }
        let x = &data[i * cols..(i + 1) * cols];
        for (a, &j) in g.indices_of(i).iter().enumerate() {
            let y = &data[j as usize * cols..(j as usize + 1) * cols];
            for c in 0..cols {
                z[a * cols + c] = y[c] - x[c];
            }
        }
        for a in 0..k {
            for b in 0..=a {
                let v = dot(&z[a * cols..(a + 1) * cols], &z[b * cols..(b + 1) * cols]);
                gram[a * k + b] = v;
                gram[b * k + a] = v;
            }
        }
        let trace: f64 = (0..k).map(|a| gram[a * k + a]).sum();
        let r = if trace > 0.0 { REG * trace } else { REG };
        for a in 0..k {
            gram[a * k + a] += r;
        }
        let w = &mut out[i * k..(i + 1) * k];
        w.iter_mut().for_each(|v| *v = 1.0);
        let sum = if cholesky_solve(&mut gram, k, w) {
            w.iter().sum::<f64>()
        } else {
            0.0
        };
        if sum.is_finite() && sum != 0.0 {
            w.iter_mut().for_each(|v| *v /= sum);
        } else {
            // Only a degenerate neighbourhood gets here: plain averaging.
            w.iter_mut().for_each(|v| *v = 1.0 / k as f64);
        }
    }
    report(on, "weights", rows, rows)?;
    Ok(out)
}

/// Solves `A x = b` in place for a small dense symmetric positive definite `A` (overwritten
/// by its Cholesky factor); false if `A` is not numerically positive definite.
fn cholesky_solve(a: &mut [f64], n: usize, b: &mut [f64]) -> bool {
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for p in 0..j {
                s -= a[i * n + p] * a[j * n + p];
            }
            if i == j {
                if s <= 0.0 || s.is_nan() {
                    return false;
                }
                a[i * n + i] = s.sqrt();
            } else {
                a[i * n + j] = s / a[j * n + j];
            }
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for p in 0..i {
            s -= a[i * n + p] * b[p];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for p in i + 1..n {
            s -= a[p * n + i] * b[p];
        }
        b[i] = s / a[i * n + i];
    }
    true
}

/// `I − W` by rows: row `l` has 1 at `l` and `−w_lj` at each neighbour `j`.
struct Alignment<'a> {
    g: &'a Knn,
    w: &'a [f64],
}

impl Alignment<'_> {
    fn rows(&self) -> usize {
        self.g.rows()
    }

    /// Row `l`'s support and values.
    fn row(&self, l: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let k = self.g.k;
        std::iter::once((l, 1.0)).chain(
            self.g
                .indices_of(l)
                .iter()
                .zip(&self.w[l * k..(l + 1) * k])
                .map(|(&j, &w)| (j as usize, -w)),
        )
    }

    /// `y = M x = (I − W)ᵀ((I − W) x)`, through `t` (scratch of length rows).
    fn product(&self, x: &[f64], y: &mut [f64], t: &mut [f64]) {
        for (l, tl) in t.iter_mut().enumerate() {
            *tl = self.row(l).map(|(j, v)| v * x[j]).sum();
        }
        y.iter_mut().for_each(|v| *v = 0.0);
        for (l, &tl) in t.iter().enumerate() {
            for (j, v) in self.row(l) {
                y[j] += v * tl;
            }
        }
    }

    /// Gershgorin's bound on λmax(M): row `i` of `M` sums `|r_li| ‖r_l‖₁` over the rows `l`
    /// of `I − W` that touch `i`, at most.
    fn gershgorin(&self) -> f64 {
        let mut bound = vec![0.0f64; self.rows()];
        for l in 0..self.rows() {
            let norm1: f64 = self.row(l).map(|(_, v)| v.abs()).sum();
            for (j, v) in self.row(l) {
                bound[j] += v.abs() * norm1;
            }
        }
        bound.iter().fold(0.0f64, |m, &b| m.max(b))
    }

    /// The sparsity graph of `M`: `i` and `j` are linked when some row of `I − W` touches
    /// both.
    fn pattern(&self) -> Graph {
        let n = self.rows();
        let mut touching: Vec<Vec<u32>> = vec![Vec::new(); n];
        for l in 0..n {
            for (j, _) in self.row(l) {
                touching[j].push(l as u32);
            }
        }
        let mut mark = vec![usize::MAX; n];
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        let mut targets = Vec::new();
        let mut list = Vec::new();
        for i in 0..n {
            list.clear();
            mark[i] = i;
            for &l in &touching[i] {
                for (j, _) in self.row(l as usize) {
                    if mark[j] != i {
                        mark[j] = i;
                        list.push(j as u32);
                    }
                }
            }
            list.sort_unstable();
            targets.extend_from_slice(&list);
            offsets.push(targets.len());
        }
        let weights = vec![1.0; targets.len()];
        Graph {
            offsets,
            targets,
            weights,
        }
    }
}

/// The Cholesky factor of a symmetric matrix in envelope (profile) storage: row `i` holds
/// columns `first[i]..=i` at `start[i]..`.
struct Envelope {
    first: Vec<usize>,
    start: Vec<usize>,
    values: Vec<f64>,
}

impl Envelope {
    /// The envelope of `graph` under the ordering `position[old] = new`.
    fn of(graph: &Graph, position: &[usize], order: &[usize]) -> Envelope {
        let n = graph.len();
        let mut first = vec![0usize; n];
        for (i, f) in first.iter_mut().enumerate() {
            *f = graph
                .neighbours(order[i])
                .map(|(v, _)| position[v])
                .fold(i, usize::min);
        }
        let mut start = Vec::with_capacity(n + 1);
        start.push(0);
        for i in 0..n {
            start.push(start[i] + i - first[i] + 1);
        }
        Envelope {
            first,
            start,
            values: Vec::new(),
        }
    }

    /// Multiply–adds the factorisation will take.
    fn cost(&self) -> f64 {
        let mut total = 0.0;
        for i in 0..self.first.len() {
            for j in self.first[i]..i {
                total += (j - self.first[i].max(self.first[j])) as f64;
            }
        }
        total
    }

    fn at(&self, i: usize, j: usize) -> usize {
        self.start[i] + j - self.first[i]
    }

    /// Factors in place (row by row, each entry one contiguous dot product); false at a
    /// pivot that is not positive. Progress goes out as `spent` + rows done, of `total`.
    fn factor(
        &mut self,
        on: &mut OnProgress<'_>,
        spent: usize,
        total: usize,
    ) -> Result<bool, ProjectionError> {
        let n = self.first.len();
        let every = (n / 100).max(1);
        for i in 0..n {
            if i % every == 0 {
                report(on, "eigen", (spent + i).min(total - 1), total)?;
            }
            let fi = self.first[i];
            for j in fi..=i {
                let lo = fi.max(self.first[j]);
                let (ri, rj) = (self.at(i, lo), self.at(j, lo));
                let s = dot(&self.values[ri..ri + j - lo], &self.values[rj..rj + j - lo]);
                let a = self.at(i, j);
                if j < i {
                    self.values[a] = (self.values[a] - s) / self.values[self.at(j, j)];
                } else {
                    let pivot = self.values[a] - s;
                    if pivot <= 0.0 || pivot.is_nan() {
                        return Ok(false);
                    }
                    self.values[a] = pivot.sqrt();
                }
            }
        }
        Ok(true)
    }

    /// `x ← (L Lᵀ)⁻¹ x`.
    fn solve(&self, x: &mut [f64]) {
        let n = self.first.len();
        for i in 0..n {
            let fi = self.first[i];
            let r = self.at(i, fi);
            let s = dot(&self.values[r..r + i - fi], &x[fi..i]);
            x[i] = (x[i] - s) / self.values[self.at(i, i)];
        }
        for i in (0..n).rev() {
            let fi = self.first[i];
            x[i] /= self.values[self.at(i, i)];
            let r = self.at(i, fi);
            let xi = x[i];
            axpy(-xi, &self.values[r..r + i - fi], &mut x[fi..i]);
        }
    }
}

/// The eigenvectors of the `want` smallest eigenvalues of `M` on the complement of its null
/// space `null`, ascending.
fn smallest_of_m(
    m: &Alignment<'_>,
    null: &Deflation<'_>,
    want: usize,
    seed: u64,
    on: &mut OnProgress<'_>,
) -> Result<Vec<Vec<f64>>, ProjectionError> {
    let n = m.rows();
    let pattern = m.pattern();
    let order = pattern.reverse_cuthill_mckee();
    let mut position = vec![0usize; n];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let mut envelope = Envelope::of(&pattern, &position, &order);
    let cost = envelope.cost();
    // Progress in units of products and factored rows; the count of products is a guess.
    let iterative = cost > FACTOR_BUDGET;
    let total = if iterative { ITERATIVE_PRODUCTS } else { 0 } + n + 100;
    let mut spent = 0;
    if iterative {
        let sigma = m.gershgorin();
        let mut t = vec![0.0f64; n];
        let opts = lanczos::Options {
            basis: 48.max(4 * want),
            tol: 1e-9,
            max_products: ITERATIVE_PRODUCTS,
            check_every: 8,
            ..lanczos::Options::new(want, seed)
        };
        let apply = |x: &[f64], y: &mut [f64]| {
            m.product(x, y, &mut t);
            for (yi, xi) in y.iter_mut().zip(x) {
                *yi = sigma * xi - *yi;
            }
        };
        let eig = lanczos::largest(n, null, &opts, apply, |done, _| {
            report(on, "eigen", done.min(total - 1), total)
        })?;
        if eig.converged {
            return Ok(eig.vectors);
        }
        spent = eig.products;
    }
    // Shift-invert on M + εI, ε far above rounding and far below the crowded eigenvalues.
    let mut assembled = vec![0.0f64; envelope.start[n]];
    for l in 0..n {
        for (a, va) in m.row(l) {
            for (b, vb) in m.row(l) {
                let (pa, pb) = (position[a], position[b]);
                if pa >= pb {
                    assembled[envelope.at(pa, pb)] += va * vb;
                }
            }
        }
    }
    let diagonal_max = (0..n)
        .map(|i| assembled[envelope.at(i, i)])
        .fold(f64::MIN_POSITIVE, f64::max);
    let mut shift = 1e-12 * diagonal_max;
    for attempt in 0..4 {
        envelope.values = assembled.clone();
        for i in 0..n {
            let at = envelope.at(i, i);
            envelope.values[at] += shift;
        }
        if envelope.factor(on, spent, total)? {
            break;
        }
        if attempt == 3 {
            return Err(ProjectionError::BadParam(
                "LLE's alignment matrix could not be factored; try another k".into(),
            ));
        }
        // Rounding beat the shift: a larger one.
        shift *= 1e3;
    }
    let mut permuted = vec![0.0f64; n];
    let apply = |x: &[f64], y: &mut [f64]| {
        for (p, &old) in permuted.iter_mut().zip(&order) {
            *p = x[old];
        }
        envelope.solve(&mut permuted);
        for (new, &old) in order.iter().enumerate() {
            y[old] = permuted[new];
        }
    };
    let opts = lanczos::Options {
        max_products: 1000,
        ..lanczos::Options::new(want, seed)
    };
    let eig = lanczos::largest(n, null, &opts, apply, |done, _| {
        report(on, "eigen", (spent + n + done).min(total - 1), total)
    })?;
    Ok(eig.vectors)
}

/// Up to `want` unit vectors in the span of the component indicators, orthogonal to the
/// constant: the size-weighted principal axes of the components' centroids.
fn component_axes(
    data: &[f64],
    cols: usize,
    label: &[usize],
    count: usize,
    want: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>, ProjectionError> {
    let rows = label.len();
    let mut size = vec![0.0f64; count];
    let mut centroid = vec![0.0f64; count * cols];
    for (i, &c) in label.iter().enumerate() {
        size[c] += 1.0;
        axpy(
            1.0,
            &data[i * cols..(i + 1) * cols],
            &mut centroid[c * cols..(c + 1) * cols],
        );
    }
    let mut mean = vec![0.0f64; cols];
    for c in 0..count {
        centroid[c * cols..(c + 1) * cols]
            .iter_mut()
            .for_each(|v| *v /= size[c]);
        axpy(
            size[c] / rows as f64,
            &centroid[c * cols..(c + 1) * cols],
            &mut mean,
        );
    }
    for c in 0..count {
        axpy(-1.0, &mean, &mut centroid[c * cols..(c + 1) * cols]);
    }
    // G = S^½ C Cᵀ S^½ (S the sizes); its top eigenvectors b give the axes b_c / √|c|.
    let root: Vec<f64> = size.iter().map(|s| s.sqrt()).collect();
    let mut gram = vec![0.0f64; count * count];
    for a in 0..count {
        for b in 0..=a {
            let v = root[a]
                * root[b]
                * dot(
                    &centroid[a * cols..(a + 1) * cols],
                    &centroid[b * cols..(b + 1) * cols],
                );
            gram[a * count + b] = v;
            gram[b * count + a] = v;
        }
    }
    let constant: Vec<f64> = root.iter().map(|r| r / (rows as f64).sqrt()).collect();
    let apply = |x: &[f64], y: &mut [f64]| {
        for (a, ya) in y.iter_mut().enumerate() {
            *ya = dot(&gram[a * count..(a + 1) * count], x);
        }
    };
    let project = |v: &mut [f64]| {
        let c = dot(&constant, v);
        axpy(-c, &constant, v);
    };
    let without_constant = Deflation {
        dims: 1,
        project: &project,
    };
    let eig = lanczos::largest(
        count,
        &without_constant,
        &lanczos::Options::new(want, seed),
        apply,
        |_, _| Ok(()),
    )?;
    Ok(eig
        .vectors
        .iter()
        .map(|b| label.iter().map(|&c| b[c] / root[c]).collect())
        .collect())
}

/// LLE of `data` (`[rows, cols]` row-major) with `k` neighbours, `[rows, dims]` row-major.
/// `seed` only picks the eigen-solver's start vector.
pub fn lle(
    data: &[f64],
    rows: usize,
    cols: usize,
    dims: usize,
    k: usize,
    seed: u64,
    on: &mut OnProgress<'_>,
) -> Result<Vec<f64>, ProjectionError> {
    let mut out = vec![0.0f64; rows * dims];
    if rows < 3 {
        return Ok(out);
    }
    let g = knn(data, rows, cols, k, on)?;
    let w = weights(data, cols, &g, on)?;
    let (label, count) = Graph::from_knn(&g).components();
    // M's null space: one constant vector per component (projecting it out removes each
    // component's mean).
    let mut size = vec![0.0f64; count];
    label.iter().for_each(|&c| size[c] += 1.0);
    let project = |v: &mut [f64]| {
        let mut mean = vec![0.0f64; count];
        for (x, &c) in v.iter().zip(&label) {
            mean[c] += x;
        }
        for (m, s) in mean.iter_mut().zip(&size) {
            *m /= s;
        }
        for (x, &c) in v.iter_mut().zip(&label) {
            *x -= mean[c];
        }
    };
    let null = Deflation {
        dims: count,
        project: &project,
    };
    let null_axes = (count - 1).min(dims);
    let mut axes = if null_axes > 0 {
        component_axes(data, cols, &label, count, null_axes, seed)?
    } else {
        Vec::new()
    };
    let m = Alignment { g: &g, w: &w };
    if axes.len() < dims {
        axes.extend(smallest_of_m(&m, &null, dims - axes.len(), seed, on)?);
    }
    report(on, "eigen", 1, 1)?;
    fix_signs(&mut axes);
    for (a, v) in axes.iter().enumerate() {
        for r in 0..rows {
            out[r * dims + a] = v[r];
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
        lle(data, rows, cols, 2, k, seed, &mut |_| true).unwrap()
    }

    fn axis(map: &[f64], dims: usize, a: usize) -> Vec<f64> {
        map.iter().skip(a).step_by(dims).copied().collect()
    }

    #[test]
    fn weights_reconstruct_and_sum_to_one() {
        let (n, dim) = (200, 3);
        let (data, _) = swiss_roll(n, 2);
        let g = knn(&data, n, dim, 8, &mut |_| true).unwrap();
        let w = weights(&data, dim, &g, &mut |_| true).unwrap();
        for i in 0..n {
            let wi = &w[i * 8..(i + 1) * 8];
            assert!((wi.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            // Against a dense solve of the same regularised system.
            let mut gram = nalgebra::DMatrix::<f64>::zeros(8, 8);
            for (a, &ja) in g.indices_of(i).iter().enumerate() {
                for (b, &jb) in g.indices_of(i).iter().enumerate() {
                    gram[(a, b)] = (0..dim)
                        .map(|c| {
                            (data[ja as usize * dim + c] - data[i * dim + c])
                                * (data[jb as usize * dim + c] - data[i * dim + c])
                        })
                        .sum();
                }
            }
            let r = REG * gram.trace();
            for a in 0..8 {
                gram[(a, a)] += r;
            }
            let x = gram
                .lu()
                .solve(&nalgebra::DVector::from_element(8, 1.0))
                .unwrap();
            let x = &x / x.sum();
            for a in 0..8 {
                assert!((x[a] - wi[a]).abs() < 1e-8, "{} vs {}", x[a], wi[a]);
            }
        }
    }

    /// M of a small Swiss roll, dense, for the solver tests.
    fn dense_m(m: &Alignment<'_>) -> Vec<f64> {
        let n = m.rows();
        let mut dense = vec![0.0; n * n];
        for l in 0..n {
            for (a, va) in m.row(l) {
                for (b, vb) in m.row(l) {
                    dense[a * n + b] += va * vb;
                }
            }
        }
        dense
    }

    #[test]
    fn both_solvers_find_the_smallest_eigenvectors_of_m() {
        let n = 300;
        let (data, _) = swiss_roll(n, 6);
        let g = knn(&data, n, 3, 10, &mut |_| true).unwrap();
        let w = weights(&data, 3, &g, &mut |_| true).unwrap();
        let m = Alignment { g: &g, w: &w };
        let dense = dense_m(&m);
        let e = nalgebra::SymmetricEigen::new(nalgebra::DMatrix::from_row_slice(n, n, &dense));
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| e.eigenvalues[a].total_cmp(&e.eigenvalues[b]));
        assert!(
            e.eigenvalues[order[0]].abs() < 1e-10,
            "the constant's eigenvalue"
        );
        let null = Deflation::constant();
        // The factored (shift-invert) path, and σI − M forced by a zero budget for the factor.
        let inverted = smallest_of_m(&m, &null, 2, 1, &mut |_| true).unwrap();
        let sigma = m.gershgorin();
        let mut t = vec![0.0; n];
        let direct = lanczos::largest(
            n,
            &null,
            &lanczos::Options {
                basis: 60,
                tol: 1e-12,
                max_products: 20_000,
                ..lanczos::Options::new(2, 1)
            },
            |x, y| {
                m.product(x, y, &mut t);
                y.iter_mut()
                    .zip(x)
                    .for_each(|(yi, xi)| *yi = sigma * xi - *yi);
            },
            |_, _| Ok(()),
        )
        .unwrap();
        assert!(sigma >= e.eigenvalues.iter().fold(0.0f64, |a, &v| a.max(v)));
        for (name, vectors) in [("shift-invert", &inverted), ("σI − M", &direct.vectors)] {
            for i in 0..2 {
                let theirs: Vec<f64> = e
                    .eigenvectors
                    .column(order[i + 1])
                    .iter()
                    .copied()
                    .collect();
                let cos = dot(&vectors[i], &theirs).abs();
                assert!(cos > 1.0 - 1e-6, "{name} vector {i}: |cos| {cos}");
                // ‖M v − λ v‖ small.
                let mut mv = vec![0.0; n];
                m.product(&vectors[i], &mut mv, &mut t);
                let lambda = dot(&vectors[i], &mv);
                axpy(-lambda, &vectors[i], &mut mv);
                assert!(dot(&mv, &mv).sqrt() < 1e-8, "{name} residual");
                assert!((lambda - e.eigenvalues[order[i + 1]]).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn envelope_cholesky_solves() {
        let n = 200;
        let (data, _) = swiss_roll(n, 7);
        let g = knn(&data, n, 3, 6, &mut |_| true).unwrap();
        let w = weights(&data, 3, &g, &mut |_| true).unwrap();
        let m = Alignment { g: &g, w: &w };
        let pattern = m.pattern();
        let order = pattern.reverse_cuthill_mckee();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "a permutation");
        let mut position = vec![0; n];
        for (new, &old) in order.iter().enumerate() {
            position[old] = new;
        }
        let mut env = Envelope::of(&pattern, &position, &order);
        // RCM shrinks the profile well below the input order's.
        let identity: Vec<usize> = (0..n).collect();
        let natural = Envelope::of(&pattern, &identity, &identity);
        assert!(
            2 * env.start[n] < natural.start[n],
            "envelope {} vs {}",
            env.start[n],
            natural.start[n]
        );
        let dense = dense_m(&m);
        env.values = vec![0.0; env.start[n]];
        for i in 0..n {
            for j in env.first[i]..=i {
                let at = env.at(i, j);
                env.values[at] = dense[order[i] * n + order[j]] + if i == j { 1.0 } else { 0.0 };
            }
        }
        assert!(env.factor(&mut |_| true, 0, n).unwrap());
        let b: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        let mut x: Vec<f64> = order.iter().map(|&o| b[o]).collect();
        env.solve(&mut x);
        for i in 0..n {
            let ax: f64 = (0..n)
                .map(|j| (dense[order[i] * n + order[j]] + if i == j { 1.0 } else { 0.0 }) * x[j])
                .sum();
            assert!((ax - b[order[i]]).abs() < 1e-10);
        }
    }

    #[test]
    fn unrolls_a_swiss_roll() {
        // scikit-learn unrolls this one too (|ρ| 1.000, trustworthiness 0.997); LLE is
        // fragile on Swiss rolls (1,000 points with k = 12 only reach |ρ| 0.83 there).
        let n = 1500;
        let (data, along) = swiss_roll(n, 3);
        let map = run(&data, n, 3, 12, 1);
        let rho = spearman(&axis(&map, 2, 0), &along);
        let t = trustworthiness(&rows_of(&data, n, 3), &rows_of(&map, n, 2), 10);
        assert!(rho.abs() > 0.99, "spearman {rho}");
        assert!(t > 0.99, "trustworthiness {t}");
    }

    /// Planted clusters with their noise scaled by `spread` about each cluster's mean.
    fn spread_clusters(n: usize, dim: usize, spread: f64) -> (Vec<f64>, Vec<usize>) {
        let (mut data, labels) = clusters(n, 6, dim, 2);
        let mut mean = vec![0.0; 6 * dim];
        for i in 0..n {
            for c in 0..dim {
                mean[labels[i] * dim + c] += data[i * dim + c] * 6.0 / n as f64;
            }
        }
        for i in 0..n {
            for c in 0..dim {
                let m = mean[labels[i] * dim + c];
                data[i * dim + c] = m + spread * (data[i * dim + c] - m);
            }
        }
        (data, labels)
    }

    #[test]
    fn keeps_planted_clusters_apart_in_2d_and_3d() {
        // Tight clusters (a component each: the null-space axes place them) and wide ones
        // (one component: the solver's eigenvectors do; scikit-learn gets purity 0.869 and
        // trustworthiness 0.896 on these, as we do).
        let (n, dim) = (600, 10);
        for (spread, components, purity_min, trust_min) in
            [(1.0, 6, 0.95, 0.9), (6.0, 1, 0.85, 0.88)]
        {
            let (data, labels) = spread_clusters(n, dim, spread);
            let g = knn(&data, n, dim, 10, &mut |_| true).unwrap();
            assert_eq!(Graph::from_knn(&g).components().1, components);
            for dims in [2, 3] {
                let map = lle(&data, n, dim, dims, 10, 1, &mut |_| true).unwrap();
                let purity = label_purity(&map, n, dims, &labels, 10);
                let t = trustworthiness(&rows_of(&data, n, dim), &rows_of(&map, n, dims), 10);
                assert!(
                    purity > purity_min,
                    "spread {spread}, {dims}-d: purity {purity}"
                );
                assert!(
                    t > trust_min,
                    "spread {spread}, {dims}-d: trustworthiness {t}"
                );
            }
        }
    }

    #[test]
    fn deterministic_reports_progress_and_cancels() {
        let n = 400;
        let (data, _) = swiss_roll(n, 5);
        let mut stages = Vec::new();
        let a = lle(&data, n, 3, 2, 10, 7, &mut |p| {
            stages.push(p.stage);
            true
        })
        .unwrap();
        assert_eq!(a, run(&data, n, 3, 10, 7));
        let b = run(&data, n, 3, 10, 8);
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6));
        for stage in ["neighbours", "weights", "eigen"] {
            assert!(stages.contains(&stage), "{stage}");
        }
        for stop in ["neighbours", "weights", "eigen"] {
            let got = lle(&data, n, 3, 2, 10, 7, &mut |p| p.stage != stop);
            assert_eq!(got, Err(ProjectionError::Cancelled), "{stop}");
        }
    }

    #[test]
    #[ignore]
    fn lle_timing_5400x100() {
        time_study_scale("lle", |data, n, dim| run(data, n, dim, 10, 1));
    }
}
