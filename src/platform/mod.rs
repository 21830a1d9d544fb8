//! What the app needs of the browser, each behind a small module: the page and its files,
//! fetching, local storage, plotly, crash reporting and the compute backend (WebGPU or CPU).

pub mod backend;
pub mod browser;
pub mod crash;
pub mod fetch;
pub mod kept;
pub mod plot;
pub mod storage;
pub mod workers;
