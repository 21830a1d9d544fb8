//! TODO
use super::{OnProgress, ProjectionError};

pub fn lle(
    data: &[f64],
    rows: usize,
    cols: usize,
    dims: usize,
    k: usize,
    seed: u64,
    on: &mut OnProgress<'_>,
) -> Result<Vec<f64>, ProjectionError> {
    let _ = (data, cols, k, seed, on);
    Ok(vec![0.0; rows * dims])
}
