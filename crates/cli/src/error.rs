//! Every way a command can fail, each printed as one `error: …` line by `main`.

use std::path::Path;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A file that could not be read as data, named.
    #[error("{path}: {source}")]
    File {
        path: String,
        source: mixlab_core::data::DataError,
    },
    #[error("{0}")]
    Data(#[from] mixlab_core::data::DataError),
    #[error("{0}")]
    Bundle(#[from] mixlab_core::BundleError),
    #[error("{0}")]
    Predict(#[from] mixlab_core::PredictError),
    #[error("{0}")]
    Score(#[from] mixlab_core::scoring::ScoreError),
    #[error("{0}")]
    Fit(#[from] mixlab_core::fit_material::FitError),
    #[error("{0}")]
    Projection(#[from] mixlab_core::projection::ProjectionError),
    #[error("{0}")]
    View(#[from] mixlab_core::explorer::view::ViewError),
    #[error("{0}")]
    Design(#[from] mixlab_core::design::DesignError),
    #[error("{0}")]
    Usage(String),
}

/// The error for an I/O failure on `path`, for `map_err`.
pub fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CliError {
    let path = path.display().to_string();
    move |source| CliError::Io { path, source }
}

/// The error for a data file that could not be read, naming it.
pub fn file_error(path: &Path) -> impl FnOnce(mixlab_core::data::DataError) -> CliError {
    let path = path.display().to_string();
    move |source| CliError::File { path, source }
}

/// A whole file's bytes.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(io_error(path))
}
