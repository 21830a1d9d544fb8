//! Low-dimensional maps of the materials' representations `act(code)`: PCA (every trained
//! bundle ships with one) and the nonlinear maps of the explorer — t-SNE (Barnes-Hut), UMAP,
//! Isomap and LLE — to 2-D or 3-D.
//!
//! Everything here is deterministic for a given [`Spec`] (seed included) and uses only IEEE
//! arithmetic and `libm`, so the app (wasm) and `mixlab project` (native) draw the same picture.

pub mod eigen;
pub mod isomap;
pub mod knn;
pub mod lanczos;
pub mod lle;
pub mod neighbours;
mod pca;
pub mod rng;
pub mod shapes;
mod token;
pub mod tsne;
pub mod umap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use pca::{PcaBasis, pca, pca_f64};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    #[default]
    Pca,
    Tsne,
    Umap,
    Isomap,
    Lle,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Pca,
        Method::Tsne,
        Method::Umap,
        Method::Isomap,
        Method::Lle,
    ];

    /// The name used in links, bundles and the CLI.
    pub fn key(self) -> &'static str {
        match self {
            Method::Pca => "pca",
            Method::Tsne => "tsne",
            Method::Umap => "umap",
            Method::Isomap => "isomap",
            Method::Lle => "lle",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Method::Pca => "PCA",
            Method::Tsne => "t-SNE",
            Method::Umap => "UMAP",
            Method::Isomap => "Isomap",
            Method::Lle => "LLE",
        }
    }

    pub fn from_key(key: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.key() == key)
    }

    /// Whether the method reads the seed (PCA, Isomap and LLE are exact up to the eigen
    /// solver's start vector, which is seeded too, but the picture does not depend on it).
    pub fn is_stochastic(self) -> bool {
        matches!(self, Method::Tsne | Method::Umap)
    }
}

/// Every method's parameters; each method reads its own (see the field docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Params {
    /// t-SNE: effective number of neighbours of the input similarities.
    pub perplexity: f64,
    /// t-SNE: gradient step; 0 = automatic, max(n / early exaggeration / 4, 50) as in
    /// scikit-learn and openTSNE.
    pub learning_rate: f64,
    /// t-SNE: gradient iterations (the first 250 with early exaggeration). UMAP: epochs of
    /// stochastic gradient descent, 0 = automatic (500 below 10,000 points, else 200).
    pub iterations: usize,
    /// UMAP: size of the local neighbourhood.
    pub neighbours: usize,
    /// UMAP: how tightly points may pack in the map (0 to 1).
    pub min_dist: f64,
    /// Isomap and LLE: neighbours in the graph.
    pub k: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            perplexity: 30.0,
            learning_rate: 0.0,
            iterations: 1000,
            neighbours: 15,
            min_dist: 0.1,
            k: 10,
        }
    }
}

/// A projection: method, target dimensions (2 or 3), parameters and seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub method: Method,
    pub dims: usize,
    #[serde(default)]
    pub params: Params,
    #[serde(default)]
    pub seed: u64,
}

impl Spec {
    pub fn new(method: Method, dims: usize) -> Self {
        let mut params = Params::default();
        if method == Method::Umap {
            params.iterations = 0;
        }
        Spec {
            method,
            dims,
            params,
            seed: 1,
        }
    }

    /// Checks ranges before any work; the messages name the parameter.
    pub fn validate(&self, rows: usize) -> Result<(), ProjectionError> {
        let bad = |what: String| Err(ProjectionError::BadParam(what));
        let p = &self.params;
        if !(2..=3).contains(&self.dims) {
            return bad(format!("dimensions must be 2 or 3, not {}", self.dims));
        }
        match self.method {
            Method::Pca => {}
            Method::Tsne => {
                if !(p.perplexity.is_finite() && p.perplexity >= 1.0 && p.perplexity <= 500.0) {
                    return bad(format!("perplexity must be 1 to 500, not {}", p.perplexity));
                }
                if !(p.learning_rate.is_finite() && p.learning_rate >= 0.0) {
                    return bad(format!(
                        "learning rate must be ≥ 0 (0 = automatic), not {}",
                        p.learning_rate
                    ));
                }
                if !(250..=10_000).contains(&p.iterations) {
                    return bad(format!(
                        "iterations must be 250 to 10,000, not {}",
                        p.iterations
                    ));
                }
                // Each point needs about 3 × perplexity neighbours.
                let needed = (3.0 * p.perplexity).ceil() as usize + 2;
                if rows < needed {
                    return Err(ProjectionError::TooFewPoints {
                        method: self.method,
                        needed,
                        got: rows,
                    });
                }
            }
            Method::Umap => {
                if !(2..=200).contains(&p.neighbours) {
                    return bad(format!("neighbours must be 2 to 200, not {}", p.neighbours));
                }
                if !(p.min_dist.is_finite() && (0.0..=1.0).contains(&p.min_dist)) {
                    return bad(format!("min_dist must be 0 to 1, not {}", p.min_dist));
                }
                if p.iterations > 10_000 {
                    return bad(format!(
                        "epochs must be at most 10,000 (0 = automatic), not {}",
                        p.iterations
                    ));
                }
                if rows < p.neighbours + 2 {
                    return Err(ProjectionError::TooFewPoints {
                        method: self.method,
                        needed: p.neighbours + 2,
                        got: rows,
                    });
                }
            }
            Method::Isomap | Method::Lle => {
                if !(2..=200).contains(&p.k) {
                    return bad(format!("k must be 2 to 200, not {}", p.k));
                }
                if self.method == Method::Lle && p.k <= self.dims {
                    return bad(format!(
                        "LLE needs k above the dimensions ({}), not {}",
                        self.dims, p.k
                    ));
                }
                if rows < p.k + self.dims + 2 {
                    return Err(ProjectionError::TooFewPoints {
                        method: self.method,
                        needed: p.k + self.dims + 2,
                        got: rows,
                    });
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ProjectionError {
    #[error("{} needs at least {needed} materials, the model has {got}", method.label())]
    TooFewPoints {
        method: Method,
        needed: usize,
        got: usize,
    },
    #[error("{0}")]
    BadParam(String),
    #[error("the input holds a value that is not a finite number (row {row})")]
    NotFinite { row: usize },
    #[error("cancelled")]
    Cancelled,
}

/// Where a long projection stands: `stage` names the step ("neighbours", "gradient"...),
/// `done` of `total` units of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    pub stage: &'static str,
    pub done: usize,
    pub total: usize,
}

/// The callback a projection reports to; returning `false` cancels it.
pub type OnProgress<'a> = dyn FnMut(Progress) -> bool + 'a;

/// Report progress; `Err(Cancelled)` when the callback says stop.
pub(crate) fn report(
    on: &mut OnProgress<'_>,
    stage: &'static str,
    done: usize,
    total: usize,
) -> Result<(), ProjectionError> {
    if on(Progress { stage, done, total }) {
        Ok(())
    } else {
        Err(ProjectionError::Cancelled)
    }
}

/// Project `data` (`[rows, cols]` row-major) as `spec` says, `[rows, spec.dims]` row-major.
/// Data with no more columns than the map has dimensions is returned as it is (zero-padded):
/// codes of length 2 need no projection.
pub fn project(
    data: &[f64],
    rows: usize,
    cols: usize,
    spec: &Spec,
    on: &mut OnProgress<'_>,
) -> Result<Vec<f32>, ProjectionError> {
    spec.validate(rows)?;
    if let Some(bad) = data[..rows * cols].iter().position(|v| !v.is_finite()) {
        return Err(ProjectionError::NotFinite {
            row: bad / cols.max(1),
        });
    }
    let dims = spec.dims;
    if cols <= dims {
        let mut out = vec![0.0f32; rows * dims];
        for r in 0..rows {
            for c in 0..cols {
                out[r * dims + c] = data[r * cols + c] as f32;
            }
        }
        return Ok(out);
    }
    let p = &spec.params;
    let coords = match spec.method {
        Method::Pca => return Ok(pca(data, rows, cols, dims)),
        Method::Tsne => tsne::tsne(data, rows, cols, dims, p, spec.seed, on)?,
        Method::Umap => umap::umap(data, rows, cols, dims, p, spec.seed, on)?,
        Method::Isomap => isomap::isomap(data, rows, cols, dims, p.k, spec.seed, on)?,
        Method::Lle => lle::lle(data, rows, cols, dims, p.k, spec.seed, on)?,
    };
    Ok(coords.into_iter().map(|v| v as f32).collect())
}

/// Rows of a row-major matrix as vectors (for [`neighbours`]).
pub fn rows_of<T: Copy + Into<f64>>(data: &[T], rows: usize, cols: usize) -> Vec<Vec<f64>> {
    (0..rows)
        .map(|r| {
            data[r * cols..(r + 1) * cols]
                .iter()
                .map(|&v| v.into())
                .collect()
        })
        .collect()
}

impl Spec {
    /// The method's defaults lowered to fit `n` points (a 19-material model cannot have a
    /// t-SNE perplexity of 30 or 15 UMAP neighbours).
    pub fn for_points(method: Method, dims: usize, n: usize) -> Spec {
        let mut spec = Spec::new(method, dims);
        let p = &mut spec.params;
        let room = n.saturating_sub(2);
        p.perplexity = p.perplexity.min(((room as f64) / 3.0).floor().max(1.0));
        p.neighbours = p.neighbours.min(room.max(2));
        p.k = p.k.min(n.saturating_sub(dims + 2).max(2));
        if method == Method::Lle {
            p.k = p.k.max(dims + 1);
        }
        spec
    }
}
