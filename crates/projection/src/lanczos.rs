//! The largest eigenpairs of a large symmetric operator known only through its product
//! `y = A x`: thick-restart Lanczos (Wu & Simon 2000, the symmetric form of Krylov–Schur)
//! with full reorthogonalisation, as ARPACK's `eigsh(which="LA")` computes them. Isomap
//! applies it to the double-centred geodesic kernel, LLE to the inverse of its sparse
//! alignment matrix (shift-invert) or to `σI − M`.
//!
//! The start vector comes from [`Rng`], every sum runs in a fixed order and the small
//! projected problem is solved by [`symmetric_eigen`] (Jacobi), so the result is
//! bit-identical natively and in wasm.

use super::ProjectionError;
use super::eigen::symmetric_eigen;
use crate::rng::Rng;

/// What to compute and how hard to try.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Eigenpairs wanted (the largest algebraic ones).
    pub nev: usize,
    /// Largest Krylov basis kept between restarts (ARPACK's `ncv`).
    pub basis: usize,
    /// A Ritz pair has converged when its residual `‖A x − θ x‖` is at most `tol` times the
    /// largest Ritz value's magnitude.
    pub tol: f64,
    /// Give up (returning the current Ritz pairs, `converged: false`) after this many products.
    pub max_products: usize,
    /// Check convergence every this many products (each check solves the small projected
    /// problem, worth skipping when products are cheap).
    pub check_every: usize,
    /// Seeds the start vector.
    pub seed: u64,
}

impl Options {
    /// ARPACK's default basis, `max(2 nev + 1, 20)`, with a little more room for slow cases.
    pub fn new(nev: usize, seed: u64) -> Self {
        Options {
            nev,
            basis: (2 * nev + 1).max(24),
            tol: 1e-10,
            max_products: 3000,
            check_every: 1,
            seed,
        }
    }
}

/// A known invariant subspace (e.g. a null space) kept out of the search: its dimension and
/// the orthogonal projection onto its complement.
#[derive(Clone, Copy)]
pub struct Deflation<'a> {
    pub dims: usize,
    pub project: &'a dyn Fn(&mut [f64]),
}

impl Deflation<'static> {
    /// Nothing kept out.
    pub fn none() -> Self {
        Deflation {
            dims: 0,
            project: &|_| {},
        }
    }

    /// The constant vector kept out (the projection removes the mean).
    pub fn constant() -> Self {
        Deflation {
            dims: 1,
            project: &|v| {
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                v.iter_mut().for_each(|x| *x -= mean);
            },
        }
    }
}

/// Eigenvalues (descending) and their unit eigenvectors.
#[derive(Clone, Debug)]
pub struct Eigenpairs {
    pub values: Vec<f64>,
    /// One vector of length `n` per value.
    pub vectors: Vec<Vec<f64>>,
    /// Every wanted pair met the tolerance.
    pub converged: bool,
    /// Products `A x` spent.
    pub products: usize,
}

/// `a · b`, four partial sums (a fixed order of additions, and the loop pipelines).
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            s[l] += x[l] * y[l];
        }
    }
    for (x, y) in ra.iter().zip(rb) {
        s[0] += x * y;
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// `y += a x`.
pub fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Two passes of classical Gram–Schmidt against the deflated space and the first `count`
/// rows of the flat basis `basis` (`[count, n]`), "twice is enough" (Giraud et al. 2005).
/// Returns the components removed along the basis, summed over both passes.
fn orthogonalise(
    w: &mut [f64],
    deflation: &Deflation<'_>,
    basis: &[f64],
    count: usize,
    n: usize,
) -> Vec<f64> {
    let mut total = vec![0.0f64; count];
    for _pass in 0..2 {
        (deflation.project)(w);
        let c: Vec<f64> = (0..count)
            .map(|i| dot(&basis[i * n..(i + 1) * n], w))
            .collect();
        for (i, &ci) in c.iter().enumerate() {
            axpy(-ci, &basis[i * n..(i + 1) * n], w);
        }
        for (t, ci) in total.iter_mut().zip(&c) {
            *t += ci;
        }
    }
    total
}

/// A random unit vector orthogonal to the deflated space and the first `count` basis rows
/// (`None` when they already span the space).
fn fresh_vector(
    rng: &mut Rng,
    deflation: &Deflation<'_>,
    basis: &[f64],
    count: usize,
    n: usize,
) -> Option<Vec<f64>> {
    // A few tries: a draw that falls inside the span again is astronomically unlikely but
    // cheap to guard against.
    for _ in 0..4 {
        let mut v: Vec<f64> = (0..n).map(|_| rng.portable_normal()).collect();
        let before = dot(&v, &v).sqrt();
        orthogonalise(&mut v, deflation, basis, count, n);
        let norm = dot(&v, &v).sqrt();
        if norm > 1e-8 * before {
            v.iter_mut().for_each(|x| *x /= norm);
            return Some(v);
        }
    }
    None
}

/// The `opts.nev` largest eigenpairs of the symmetric operator `apply` (`apply(x, y)` writes
/// `y = A x`; both of length `n`) on the complement of `deflation` (a space the operator
/// maps into itself, e.g. a known null space). `progress(products, max)` is called after
/// every product; its error stops the solver.
pub fn largest<A, P>(
    n: usize,
    deflation: &Deflation<'_>,
    opts: &Options,
    mut apply: A,
    mut progress: P,
) -> Result<Eigenpairs, ProjectionError>
where
    A: FnMut(&[f64], &mut [f64]),
    P: FnMut(usize, usize) -> Result<(), ProjectionError>,
{
    let free = n.saturating_sub(deflation.dims);
    let nev = opts.nev.min(free);
    if nev == 0 {
        return Ok(Eigenpairs {
            values: Vec::new(),
            vectors: Vec::new(),
            converged: true,
            products: 0,
        });
    }
    // The basis never outgrows the space; it needs room beyond `nev` to restart.
    let m = opts.basis.max(nev + 2).min(free);
    let mut rng = Rng::new(opts.seed);
    // Rows 0..m are the basis, row m the next Lanczos vector.
    let mut basis = vec![0.0f64; (m + 1) * n];
    let mut h = vec![0.0f64; m * m];
    let start = fresh_vector(&mut rng, deflation, &basis, 0, n).ok_or_else(|| {
        ProjectionError::BadParam("the eigen-solver found no room for a start vector".into())
    })?;
    basis[..n].copy_from_slice(&start);
    let mut kept = 0;
    let mut products = 0;
    let mut w = vec![0.0f64; n];
    loop {
        // Extend the basis from `kept` towards `m` vectors; `beta` couples the last one to
        // the next Lanczos vector (row `size`). Convergence is checked along the way, so an
        // easy problem stops before the basis is full.
        let mut beta = 0.0;
        let mut size = m;
        let mut full = false;
        let mut ritz = None;
        for j in kept..m {
            apply(&basis[j * n..(j + 1) * n], &mut w);
            products += 1;
            progress(products, opts.max_products)?;
            let c = orthogonalise(&mut w, deflation, &basis, j + 1, n);
            h[j * m + j] = c[j];
            beta = dot(&w, &w).sqrt();
            if j + 1 == free {
                // The basis spans the whole space: the projection is exact.
                beta = 0.0;
                size = j + 1;
                full = true;
                break;
            }
            let scale = h.iter().fold(0.0f64, |a, x| a.max(x.abs()));
            let next = if beta > 1e-12 * scale && beta > 0.0 {
                w.iter().map(|x| x / beta).collect()
            } else {
                // An invariant subspace: carry on from a fresh direction, uncoupled.
                beta = 0.0;
                match fresh_vector(&mut rng, deflation, &basis, j + 1, n) {
                    Some(v) => v,
                    None => {
                        size = j + 1;
                        full = true;
                        break;
                    }
                }
            };
            basis[(j + 1) * n..(j + 2) * n].copy_from_slice(&next);
            if j + 1 < m {
                h[(j + 1) * m + j] = beta;
                h[j * m + j + 1] = beta;
                if j + 1 >= nev && (j + 1 - kept) % opts.check_every.max(1) == 0 {
                    let r = rayleigh_ritz(&h, m, j + 1, beta, nev, opts.tol);
                    if r.2 {
                        size = j + 1;
                        ritz = Some(r);
                        break;
                    }
                }
            }
        }
        let (theta, s, converged) =
            ritz.unwrap_or_else(|| rayleigh_ritz(&h, m, size, beta, nev, opts.tol));
        if converged || full || products >= opts.max_products {
            let vectors = (0..nev)
                .map(|i| ritz_vector(&basis, &s, size, i, n))
                .collect();
            return Ok(Eigenpairs {
                values: theta[..nev].to_vec(),
                vectors,
                converged: converged || full,
                products,
            });
        }
        // Thick restart: keep the best Ritz vectors, then the last Lanczos vector; the
        // projected matrix becomes diag(θ) bordered by the residual couplings.
        let keep = (nev + (size - nev) / 2).min(size - 1);
        let mut next = vec![0.0f64; (keep + 1) * n];
        for i in 0..keep {
            next[i * n..(i + 1) * n].copy_from_slice(&ritz_vector(&basis, &s, size, i, n));
        }
        next[keep * n..].copy_from_slice(&basis[size * n..(size + 1) * n]);
        basis[..(keep + 1) * n].copy_from_slice(&next);
        h.iter_mut().for_each(|x| *x = 0.0);
        for i in 0..keep {
            h[i * m + i] = theta[i];
            let b = beta * s[(size - 1) * size + i];
            h[i * m + keep] = b;
            h[keep * m + i] = b;
        }
        kept = keep;
    }
}

/// Rayleigh–Ritz on the leading `size × size` block of the projected matrix `h` (`[m, m]`):
/// Ritz values (descending), their coordinates (`[size, size]`, column per value), and
/// whether the first `nev` residuals `|β s_last,i|` are within `tol` of the largest value.
fn rayleigh_ritz(
    h: &[f64],
    m: usize,
    size: usize,
    beta: f64,
    nev: usize,
    tol: f64,
) -> (Vec<f64>, Vec<f64>, bool) {
    let mut small = vec![0.0f64; size * size];
    for r in 0..size {
        small[r * size..(r + 1) * size].copy_from_slice(&h[r * m..r * m + size]);
    }
    let (theta, s) = symmetric_eigen(&small, size);
    let scale = theta.iter().fold(f64::MIN_POSITIVE, |a, t| a.max(t.abs()));
    let converged =
        (0..nev.min(size)).all(|i| (beta * s[(size - 1) * size + i]).abs() <= tol * scale);
    (theta, s, converged)
}

/// `Σ_j basis_j s[j][col]`, renormalised (rounding drifts it a little from unit length).
fn ritz_vector(basis: &[f64], s: &[f64], size: usize, col: usize, n: usize) -> Vec<f64> {
    let mut x = vec![0.0f64; n];
    for j in 0..size {
        axpy(s[j * size + col], &basis[j * n..(j + 1) * n], &mut x);
    }
    let norm = dot(&x, &x).sqrt();
    if norm > 0.0 {
        x.iter_mut().for_each(|v| *v /= norm);
    }
    x
}

/// Makes each vector's component of largest magnitude positive (the first one on ties), so
/// the picture's orientation is reproducible.
pub fn fix_signs(vectors: &mut [Vec<f64>]) {
    for v in vectors {
        let pivot = v
            .iter()
            .fold(0.0f64, |m, &x| if x.abs() > m.abs() { x } else { m });
        if pivot < 0.0 {
            v.iter_mut().for_each(|x| *x = -*x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_symmetric(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in i..n {
                let x = rng.portable_normal();
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        a
    }

    fn dense_apply(a: &[f64], n: usize) -> impl FnMut(&[f64], &mut [f64]) + '_ {
        move |x, y| {
            for i in 0..n {
                y[i] = dot(&a[i * n..(i + 1) * n], x);
            }
        }
    }

    fn nalgebra_descending(a: &[f64], n: usize) -> (Vec<f64>, nalgebra::DMatrix<f64>, Vec<usize>) {
        let e = nalgebra::SymmetricEigen::new(nalgebra::DMatrix::from_row_slice(n, n, a));
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&x, &y| e.eigenvalues[y].total_cmp(&e.eigenvalues[x]));
        let values = order.iter().map(|&i| e.eigenvalues[i]).collect();
        (values, e.eigenvectors, order)
    }

    #[test]
    fn matches_nalgebra_on_a_random_matrix_with_restarts() {
        let n = 150;
        let a = random_symmetric(n, 3);
        let (want, vecs, order) = nalgebra_descending(&a, n);
        // A small basis forces many restarts.
        let opts = Options {
            basis: 12,
            ..Options::new(4, 9)
        };
        let got = largest(n, &Deflation::none(), &opts, dense_apply(&a, n), |_, _| {
            Ok(())
        })
        .unwrap();
        assert!(got.converged, "{} products", got.products);
        for i in 0..4 {
            assert!(
                (got.values[i] - want[i]).abs() < 1e-8,
                "{i}: {} vs {}",
                got.values[i],
                want[i]
            );
            // Same vector up to sign.
            let theirs: Vec<f64> = vecs.column(order[i]).iter().copied().collect();
            assert!((dot(&got.vectors[i], &theirs).abs() - 1.0).abs() < 1e-8);
            // And a small residual.
            let mut av = vec![0.0; n];
            dense_apply(&a, n)(&got.vectors[i], &mut av);
            axpy(-got.values[i], &got.vectors[i], &mut av);
            assert!(dot(&av, &av).sqrt() < 1e-7);
        }
    }

    #[test]
    fn deflated_vectors_are_skipped_and_small_spaces_are_exact() {
        // diag(10, 9, ..., 1) with e0 deflated: the largest left are 9 and 8.
        let n = 10;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            a[i * n + i] = (n - i) as f64;
        }
        let without_e0 = Deflation {
            dims: 1,
            project: &|v| v[0] = 0.0,
        };
        let got = largest(
            n,
            &without_e0,
            &Options::new(2, 1),
            dense_apply(&a, n),
            |_, _| Ok(()),
        )
        .unwrap();
        assert!(got.converged);
        assert!((got.values[0] - 9.0).abs() < 1e-12 && (got.values[1] - 8.0).abs() < 1e-12);
        assert!((got.vectors[0][1].abs() - 1.0).abs() < 1e-10);
        // A repeated eigenvalue (an invariant subspace reached early) is no trouble.
        let ones = vec![1.0; n * n];
        let got = largest(
            n,
            &Deflation::none(),
            &Options::new(2, 1),
            dense_apply(&ones, n),
            |_, _| Ok(()),
        )
        .unwrap();
        assert!((got.values[0] - n as f64).abs() < 1e-10 && got.values[1].abs() < 1e-10);
    }

    #[test]
    fn same_seed_same_bits_and_cancel_stops() {
        let n = 80;
        let a = random_symmetric(n, 4);
        let run = |seed| {
            largest(
                n,
                &Deflation::none(),
                &Options::new(3, seed),
                dense_apply(&a, n),
                |_, _| Ok(()),
            )
            .unwrap()
        };
        let (x, y) = (run(5), run(5));
        assert_eq!(x.values, y.values);
        assert_eq!(x.vectors, y.vectors);
        let stopped = largest(
            n,
            &Deflation::none(),
            &Options::new(3, 5),
            dense_apply(&a, n),
            |done, _| {
                if done < 5 {
                    Ok(())
                } else {
                    Err(ProjectionError::Cancelled)
                }
            },
        );
        assert_eq!(stopped.err(), Some(ProjectionError::Cancelled));
    }
}
