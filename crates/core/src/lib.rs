//! Mixlab's core: everything that is not the DOM.
//!
//! Data flows one way: CSV ([`data`]) → model ([`model`], trained by [`train`]) → bundle
//! ([`bundle`]) → app. The app and the CLI both call this crate; neither re-implements it.

#[cfg(feature = "train")]
pub mod auto;
pub mod bundle;
pub mod chart;
pub mod data;
pub mod describe;
pub mod descriptors;
pub mod design;
pub mod domain;
#[cfg(feature = "train")]
pub mod evaluate;
pub mod explorer;
#[cfg(feature = "train")]
pub mod fit_material;
pub mod formulation;
pub mod history;
pub mod host_model;
pub mod link;
pub mod mapping;
pub mod maps;
pub mod metrics;
pub mod model;
pub mod saved;
pub mod scoring;
pub mod search;
pub mod sensitivity;
pub mod spreadsheet;
pub mod synthetic;
pub mod table;
#[cfg(feature = "train")]
pub mod train;
pub mod train_setup;
pub mod trainer;
pub mod trust;

pub use bundle::{Bundle, BundleError, Manifest};
// Projections, nearest materials and the seeded generator are plain numbers: their own crate,
// whose tests build in seconds without burn.
pub use burn_tensor::Device;
pub use mixlab_projection::{self as projection, neighbours, rng};
pub use model::{MixModel, PredictError, Prediction};
