//! What the app's New model page and its trainer worker say to each other (as JSON; files, bundle
//! bytes and weights travel beside a message). The trainer is a wasm module of its own
//! (crates/train-worker, the core with autodiff), loaded only when the page trains, so the app
//! that opens at every visit carries no training code.

use serde::{Deserialize, Serialize};

use crate::data::profile::Profile;
use crate::train_setup::{CurvePoint, FitConfig, TrainSetup};
use crate::trust::Trust;

/// A request: the file (`file`), a materials table (`materials`) or the current model
/// (`manifest`, `weights`) go beside it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ToTrainer {
    /// Read the training file and guess its columns' roles.
    Profile,
    /// Train on the file as `setup` says (`mixlab train`).
    Train { setup: Box<TrainSetup> },
    /// `folds`-fold cross-validation of `setup` on the file (`mixlab evaluate --kfold`).
    CrossValidate {
        setup: Box<TrainSetup>,
        folds: usize,
        #[serde(default)]
        group_by_mixture: bool,
    },
    /// A new material's code from the trials in the file, everything else of the model that
    /// came beside the request frozen (`mixlab fit-material`).
    FitMaterial { material: String, config: FitConfig },
    /// Panic on purpose: the tests' way to prove a crash is survived.
    Fault,
}

/// A reply; weights travel beside `Trained` and `Fitted` (`weights`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FromTrainer {
    Profiled {
        profile: Box<Profile>,
        file: String,
        ms: f64,
    },
    /// Reading the training file before training starts: the share done (two passes: the
    /// columns, then the formulations).
    Reading {
        fraction: f64,
    },
    /// The data is read: its materials (in model order) and formulations.
    TrainingStarted {
        materials: Vec<String>,
        rows: usize,
    },
    /// The automatic configuration's progress (at most every 100 ms): candidate `trial` (0-based)
    /// of at most `total`, what it changes, and the step of its trainings.
    Choosing {
        trial: usize,
        total: usize,
        change: String,
        step: usize,
        steps: usize,
    },
    /// Timing a few training steps on `backend` ("CPU" or "WebGPU") to choose where to train:
    /// `seconds` spent on it so far, of at most `budget` (WebGPU's trial; none for the CPU's and
    /// while WebGPU starts). Posted every 250 ms while it lasts.
    Measuring {
        backend: String,
        #[serde(default)]
        seconds: f64,
        #[serde(default)]
        budget: Option<f64>,
    },
    /// Where the model trains, and why there.
    Computing {
        webgpu: bool,
        note: String,
    },
    /// Training's progress (at most every 100 ms): the step, and at a check the newest point of
    /// the learning curve and the map of member 0's codes (`[materials, 2]`).
    Training {
        member: usize,
        members: usize,
        step: usize,
        total: usize,
        point: Option<CurvePoint>,
        map: Option<Vec<f64>>,
    },
    /// Trained: the bundle's manifest here, its weights beside it.
    Trained {
        manifest: String,
        curve: Vec<CurvePoint>,
        rows: usize,
        validation_rows: usize,
        /// What the user should know (materials table rows skipped).
        notes: Vec<String>,
        /// Trained on WebGPU (else the CPU), and why there.
        #[serde(default)]
        webgpu: bool,
        #[serde(default)]
        compute: String,
        /// The training loop alone, and all the work (reading, checking, bundling).
        train_ms: f64,
        ms: f64,
    },
    /// Cross-validation's progress (at most every 100 ms).
    Validating {
        fold: usize,
        folds: usize,
        step: usize,
        total: usize,
        /// With the automatic configuration: what the fold is doing (choosing, training).
        #[serde(default)]
        detail: Option<String>,
    },
    Validated {
        trust: Box<Trust>,
        ms: f64,
    },
    /// Fitting a material's code (at most every 100 ms).
    Fitting {
        step: usize,
        total: usize,
    },
    /// The model with the new material: its manifest here, weights beside it, and per target
    /// (name, formulations, MAE before, MAE after).
    Fitted {
        manifest: String,
        errors: Vec<(String, usize, f64, f64)>,
        ms: f64,
    },
    Failed {
        message: String,
    },
    /// The trainer panicked: its instance is gone; the page starts a new one for the next run.
    Crashed {
        message: String,
    },
}
