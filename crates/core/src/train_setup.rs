//! A training run as the app's "New model" page and `mixlab train` state it: each column's role
//! and the options, with the command line's defaults, checked in one place. The app shows the
//! equivalent command ([`TrainSetup::command_args`]) so a model trained in the page can be
//! reproduced (and is, in the browser tests) with `mixlab train`.

#[cfg(feature = "train")]
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::bundle::{CodeActivation, HiddenActivation, LossKind, TargetKind, Transform};
use crate::data::profile::{ColumnRole, Profile};
use crate::data::{Format, TargetSpec, WideSpec};
use crate::descriptors::DescriptorTable;
#[cfg(feature = "train")]
use crate::train::{CodeDescriptors, TrainConfig, log_spaced_steps};

/// How the learning rate moves over the steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Cosine decay from the base rate to 10 % of it.
    #[default]
    Cosine,
    Constant,
}

impl Schedule {
    /// The rate at `step` of `steps` (1-based).
    pub fn rate(self, base: f64, step: usize, steps: usize) -> f64 {
        match self {
            Schedule::Constant => base,
            Schedule::Cosine => {
                let t = step as f64 / steps.max(1) as f64;
                base * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
            }
        }
    }
}

/// What the automatic configuration ([`crate::auto`]) scores candidates by on held-out
/// training rows: per regression target its MAE or RMSE over the target's spread, per binary
/// target 1 − ROC-AUC; the mean over targets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoMetric {
    #[default]
    Mae,
    Rmse,
}

/// One point of a learning curve (losses in the model's standardised units).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CurvePoint {
    pub step: usize,
    /// Mean mini-batch loss over the steps since the previous point.
    pub train: f64,
    /// Loss on the validation rows, when some are held out.
    pub validation: Option<f64>,
    /// Loss on the monitored rows (held-out test rows in `evaluate`), if any.
    pub monitor: Option<f64>,
}

/// How a new material's code is fitted (`mixlab fit-material`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FitConfig {
    pub steps: usize,
    pub learning_rate: f64,
    /// Start from this material's code (a material the user judges similar); else the origin,
    /// where a material has no effect.
    pub start_from: Option<String>,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            steps: 500,
            learning_rate: 0.05,
            start_from: None,
        }
    }
}

/// What cannot be trained as asked: the option or column and why.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum SetupError {
    #[error("{option} is {value}; it must be {allowed}")]
    Option {
        option: &'static str,
        value: String,
        allowed: &'static str,
    },
    #[error("no column is a target: mark the property to learn as a target")]
    NoTarget,
    #[error("no column is a material: mark the raw materials' amounts as materials")]
    NoMaterial,
    #[error("column {0:?} is binary, so it cannot be learnt as log10")]
    BinaryLog(String),
    #[error("{0}")]
    Descriptors(#[from] crate::descriptors::DescriptorError),
}

/// The trainer's options, defaulting to `mixlab train`'s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainOptions {
    pub code_dim: usize,
    pub code_activation: CodeActivation,
    pub hidden: Vec<usize>,
    pub hidden_activation: HiddenActivation,
    pub steps: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
    pub validation_fraction: f64,
    pub weight_decay: f64,
    pub early_stopping: Option<usize>,
    pub residual: bool,
    pub dose_scale: bool,
    /// A second code block on the log dose.
    pub log_dose: bool,
    pub loss: LossKind,
    pub dropout: f64,
    pub members: usize,
    pub schedule: Schedule,
    /// Snapshots of the codes kept for the learning-dynamics animation.
    pub snapshots: usize,
    /// A built-in descriptor table ("magpie") for descriptor-informed codes.
    pub descriptors: Option<String>,
    /// Penalty on a material's departure from the code its descriptors give.
    pub offset_penalty: f64,
    /// Penalty on the descriptor map's entries.
    pub map_penalty: f64,
    /// Choose code length, widths, dropout, steps, dose scale, log-dose block and loss by
    /// held-out training rows first ([`crate::auto`]), starting from these options.
    pub auto: bool,
    pub auto_metric: AutoMetric,
    /// Seconds after which the automatic search starts no more candidates.
    pub auto_budget: f64,
}

impl Default for TrainOptions {
    /// `mixlab train`'s defaults.
    fn default() -> Self {
        TrainOptions {
            code_dim: 8,
            code_activation: CodeActivation::Tanh,
            hidden: vec![64, 64],
            hidden_activation: HiddenActivation::Relu,
            steps: 3000,
            batch_size: 64,
            learning_rate: 3e-3,
            seed: 1,
            validation_fraction: 0.1,
            weight_decay: 0.0,
            early_stopping: None,
            residual: false,
            dose_scale: false,
            log_dose: false,
            loss: LossKind::Mse,
            dropout: 0.0,
            members: 1,
            schedule: Schedule::Cosine,
            snapshots: 24,
            descriptors: None,
            offset_penalty: 1.0,
            map_penalty: 0.0,
            auto: false,
            auto_metric: AutoMetric::Mae,
            auto_budget: 600.0,
        }
    }
}

impl TrainOptions {
    /// Every option within its range.
    pub fn check(&self) -> Result<(), SetupError> {
        let bad = |option, value: String, allowed| {
            Err(SetupError::Option {
                option,
                value,
                allowed,
            })
        };
        if !(1..=128).contains(&self.code_dim) {
            return bad("code length", self.code_dim.to_string(), "1 to 128");
        }
        if self.hidden.is_empty() || self.hidden.iter().any(|&w| !(1..=4096).contains(&w)) {
            return bad(
                "hidden widths",
                format!("{:?}", self.hidden),
                "one or more widths of 1 to 4096",
            );
        }
        if !(1..=64).contains(&self.members) {
            return bad("members", self.members.to_string(), "1 to 64");
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(
                "dropout",
                self.dropout.to_string(),
                "at least 0 and below 1",
            );
        }
        if self.steps == 0 || self.batch_size == 0 {
            return bad(
                "steps and batch size",
                format!("{} and {}", self.steps, self.batch_size),
                "at least 1",
            );
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning rate", self.learning_rate.to_string(), "above 0");
        }
        if !(0.0..0.9).contains(&self.validation_fraction) {
            return bad(
                "validation share",
                self.validation_fraction.to_string(),
                "at least 0 and below 0.9",
            );
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight decay", self.weight_decay.to_string(), "0 or more");
        }
        for (option, v) in [
            ("offset penalty", self.offset_penalty),
            ("map penalty", self.map_penalty),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(option, v.to_string(), "0 or more");
            }
        }
        if !(self.auto_budget.is_finite() && self.auto_budget > 0.0) {
            return bad(
                "automatic budget",
                self.auto_budget.to_string(),
                "above 0 seconds",
            );
        }
        if let Some(name) = &self.descriptors
            && DescriptorTable::builtin(name).is_err()
        {
            return bad("descriptors", name.clone(), "\"magpie\"");
        }
        Ok(())
    }

    /// The descriptor table, if any, against the data's materials (at least one described).
    pub fn check_materials(&self, materials: &[String]) -> Result<(), SetupError> {
        if let Some(name) = &self.descriptors {
            DescriptorTable::builtin(name)?.matrix(materials)?;
        }
        Ok(())
    }

    /// The trainer's configuration (on the CPU device), checked.
    #[cfg(feature = "train")]
    pub fn config(&self, log_conditions: Vec<String>) -> Result<TrainConfig, SetupError> {
        self.check()?;
        Ok(self.to_config(log_conditions))
    }

    /// The configuration as it is, unchecked (the defaults' own).
    #[cfg(feature = "train")]
    pub(crate) fn to_config(&self, log_conditions: Vec<String>) -> TrainConfig {
        TrainConfig {
            code_dim: self.code_dim,
            code_activation: self.code_activation,
            hidden: self.hidden.clone(),
            hidden_activation: self.hidden_activation,
            steps: self.steps,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            seed: self.seed,
            validation_fraction: self.validation_fraction,
            weight_decay: self.weight_decay,
            early_stopping: self.early_stopping,
            residual: self.residual,
            dropout: self.dropout,
            members: self.members,
            snapshot_steps: log_spaced_steps(self.steps, self.snapshots),
            log_conditions,
            dose_scale: self.dose_scale,
            log_dose: self.log_dose,
            loss: self.loss,
            target_losses: BTreeMap::new(),
            descriptors: (self.descriptors.as_deref())
                .and_then(|name| DescriptorTable::builtin(name).ok())
                .map(|table| CodeDescriptors {
                    table,
                    offset_penalty: self.offset_penalty,
                    map_penalty: self.map_penalty,
                }),
            schedule: self.schedule,
            device: crate::Device::flex(),
        }
    }

    /// `mixlab train`'s arguments for these options (every one, so that a change of the
    /// command line's defaults cannot change what they mean).
    pub fn command_args(&self) -> Vec<String> {
        let lower = |v: &dyn std::fmt::Debug| format!("{v:?}").to_lowercase();
        let mut a = vec![
            format!("--code-dim={}", self.code_dim),
            format!("--code-activation={}", lower(&self.code_activation)),
            format!(
                "--hidden={}",
                (self.hidden.iter().map(usize::to_string))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            format!("--hidden-activation={}", lower(&self.hidden_activation)),
            format!("--steps={}", self.steps),
            format!("--batch-size={}", self.batch_size),
            format!("--learning-rate={}", self.learning_rate),
            format!("--seed={}", self.seed),
            format!("--validation-fraction={}", self.validation_fraction),
            format!("--weight-decay={}", self.weight_decay),
            format!("--loss={}", lower(&self.loss)),
            format!("--dropout={}", self.dropout),
            format!("--members={}", self.members),
            format!("--schedule={}", lower(&self.schedule)),
            format!("--snapshots={}", self.snapshots),
        ];
        if let Some(n) = self.early_stopping {
            a.push(format!("--early-stopping={n}"));
        }
        if self.residual {
            a.push("--residual".into());
        }
        if self.dose_scale {
            a.push("--dose-scale".into());
        }
        if self.log_dose {
            a.push("--log-dose".into());
        }
        if self.auto {
            a.push("--auto".into());
            a.push(format!("--auto-metric={}", lower(&self.auto_metric)));
            a.push(format!("--auto-budget={}", self.auto_budget));
        }
        if let Some(name) = &self.descriptors {
            a.push(format!("--descriptors={name}"));
            a.push(format!("--offset-penalty={}", self.offset_penalty));
            a.push(format!("--map-penalty={}", self.map_penalty));
        }
        a
    }
}

/// One column's role as the user chose it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnChoice {
    pub name: String,
    pub role: ColumnRole,
    /// A target learnt as a probability (0/1 values).
    #[serde(default)]
    pub binary: bool,
    /// A target learnt, or a condition fed, as log10 of its value.
    #[serde(default)]
    pub log10: bool,
}

/// A whole training run: the columns' roles, the options and the model's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSetup {
    pub columns: Vec<ColumnChoice>,
    #[serde(default)]
    pub options: TrainOptions,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Where the page trains (the CLI has its own `--backend`).
    #[serde(default)]
    pub compute: Compute,
}

/// Where the page trains a model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compute {
    /// Measure and take the faster (see [`auto_compute`]).
    #[default]
    Auto,
    Cpu,
    Webgpu,
}

/// With [`Compute::Auto`], a training the CPU would finish in less than this many seconds stays
/// there without trying WebGPU: bringing WebGPU up and compiling its kernels costs seconds, more
/// than it could save.
pub const TRY_WEBGPU_ABOVE_S: f64 = 20.0;

/// Steps of the trial on each device: untimed ones first (a GPU compiles its kernels in them),
/// then timed ones.
/// The CPU's are many: a fresh wasm module runs on V8's baseline compiler until its hot
/// functions are tiered up (20 steps read a third of the warm rate).
pub const TRIAL_CPU_STEPS: (usize, usize) = (30, 100);
/// Before WebGPU is tried (a training of over [`TRY_WEBGPU_ABOVE_S`] on the CPU, so this costs
/// a few percent of it), the CPU is timed again, warm: the first trial can read a third of the
/// warm rate, and WebGPU must beat the CPU's real one.
pub const TRIAL_CPU_WARM_STEPS: (usize, usize) = (200, 300);
pub const TRIAL_WEBGPU_STEPS: (usize, usize) = (2, 10);

/// How long [`Compute::Auto`] waits for WebGPU's trial steps (seconds): a tenth of the CPU's
/// projected training, from 2 to 10 s. A WebGPU slower than that (a software adapter compiles
/// its kernels for tens of seconds) is left for the CPU.
pub fn webgpu_trial_budget_s(cpu_rate: f64, steps: usize) -> f64 {
    (0.1 * steps as f64 / cpu_rate.max(1e-9)).clamp(2.0, 10.0)
}

/// Where a model was trained, and why there.
#[derive(Clone, Debug, PartialEq)]
pub struct ComputeChoice {
    pub webgpu: bool,
    pub note: String,
}

/// Whether [`Compute::Auto`] measures WebGPU, given the CPU's measured `cpu_rate` (steps/s) and
/// the training's `steps` (over all members).
pub fn worth_trying_webgpu(cpu_rate: f64, steps: usize) -> bool {
    steps as f64 / cpu_rate.max(1e-9) >= TRY_WEBGPU_ABOVE_S
}

/// Where [`Compute::Auto`] trains: on WebGPU only when it measured faster than the CPU for this
/// model (`webgpu`: its rate, why it is not available, or `None` when it was not tried).
pub fn auto_compute(
    cpu_rate: f64,
    steps: usize,
    webgpu: Option<Result<f64, String>>,
) -> ComputeChoice {
    let cpu = format!("{cpu_rate:.0} steps/s");
    match webgpu {
        None => ComputeChoice {
            webgpu: false,
            note: format!(
                "CPU: it trains this model at {cpu}, about {:.0} s for {steps} steps; WebGPU is tried only for trainings over {TRY_WEBGPU_ABOVE_S:.0} s on the CPU",
                steps as f64 / cpu_rate.max(1e-9)
            ),
        },
        Some(Err(why)) => ComputeChoice {
            // `why` says what WebGPU lacked (not there, or too slow to finish its trial).
            webgpu: false,
            note: format!("CPU ({cpu}): {why}"),
        },
        Some(Ok(gpu)) if gpu > cpu_rate => ComputeChoice {
            webgpu: true,
            note: format!("WebGPU: {gpu:.0} steps/s against the CPU's {cpu} for this model"),
        },
        Some(Ok(gpu)) => ComputeChoice {
            webgpu: false,
            note: format!("CPU: {cpu} against WebGPU's {gpu:.0} steps/s for this model"),
        },
    }
}

/// Files up to this many data rows (and [`AUTO_DEFAULT_MATERIALS`] material columns) are trained
/// with the configuration chosen on held-out rows by default (`--auto`: about a dozen short
/// trainings, a minute or less in a browser tab); larger ones start from the CLI's defaults,
/// where one training is already long.
pub const AUTO_DEFAULT_ROWS: usize = 2_000;
pub const AUTO_DEFAULT_MATERIALS: usize = 500;

/// Whether the page chooses the configuration automatically by default for this file.
pub fn auto_by_default(profile: &Profile) -> bool {
    let materials = (profile.columns.iter())
        .filter(|c| c.role == ColumnRole::Material)
        .count();
    profile.rows <= AUTO_DEFAULT_ROWS && materials <= AUTO_DEFAULT_MATERIALS
}

impl TrainSetup {
    /// The profile's guesses with the default options.
    pub fn from_profile(profile: &Profile, name: &str) -> Self {
        TrainSetup {
            columns: (profile.columns.iter())
                .map(|c| ColumnChoice {
                    name: c.name.clone(),
                    role: c.role,
                    binary: c.role == ColumnRole::Target && c.binary,
                    log10: c.log10,
                })
                .collect(),
            options: TrainOptions {
                auto: auto_by_default(profile),
                ..TrainOptions::default()
            },
            name: name.to_string(),
            description: String::new(),
            compute: Compute::Auto,
        }
    }

    fn with_role(&self, role: ColumnRole) -> impl Iterator<Item = &ColumnChoice> {
        self.columns.iter().filter(move |c| c.role == role)
    }

    /// The reader's view of the roles, for a file in `format`.
    pub fn spec(&self, format: Format) -> Result<WideSpec, SetupError> {
        let long = format == Format::Long;
        if self.with_role(ColumnRole::Target).next().is_none() {
            return Err(SetupError::NoTarget);
        }
        if !long && self.with_role(ColumnRole::Material).next().is_none() {
            return Err(SetupError::NoMaterial);
        }
        // Cells that are not numbers are the reader's to report, by row and column.
        if let Some(c) = (self.with_role(ColumnRole::Target)).find(|c| c.binary && c.log10) {
            return Err(SetupError::BinaryLog(c.name.clone()));
        }
        let targets = self
            .with_role(ColumnRole::Target)
            .map(|c| TargetSpec {
                name: c.name.clone(),
                kind: if c.binary {
                    TargetKind::Binary
                } else {
                    TargetKind::Regression
                },
                transform: if c.log10 {
                    Transform::Log10
                } else {
                    Transform::None
                },
            })
            .collect();
        Ok(WideSpec {
            id_column: self
                .with_role(ColumnRole::Id)
                .next()
                .map(|c| c.name.clone()),
            targets,
            conditions: self
                .with_role(ColumnRole::Condition)
                .map(|c| c.name.clone())
                .collect(),
            // In a long file every other column is a formulation's property: only the
            // chosen ones are read, so nothing needs dropping.
            drop: if long {
                Vec::new()
            } else {
                self.with_role(ColumnRole::Ignore)
                    .map(|c| c.name.clone())
                    .collect()
            },
            rename: Vec::new(),
        })
    }

    /// The conditions fed as log10.
    pub fn log_conditions(&self) -> Vec<String> {
        self.with_role(ColumnRole::Condition)
            .filter(|c| c.log10)
            .map(|c| c.name.clone())
            .collect()
    }

    /// The trainer's configuration.
    #[cfg(feature = "train")]
    pub fn config(&self) -> Result<TrainConfig, SetupError> {
        self.options.config(self.log_conditions())
    }

    /// `mixlab train`'s arguments for this setup, but `--data` and `--out`. An id column not
    /// named `id` is dropped there (it names rows, it does not change the model).
    pub fn command_args(&self) -> Vec<String> {
        let list = |items: Vec<String>| items.join(",");
        let targets = self
            .with_role(ColumnRole::Target)
            .map(|c| match (c.binary, c.log10) {
                (true, _) => format!("{}:binary", c.name),
                (_, true) => format!("{}:log10", c.name),
                _ => c.name.clone(),
            })
            .collect();
        let mut a = vec![format!("--targets={}", list(targets))];
        let conditions: Vec<String> = self
            .with_role(ColumnRole::Condition)
            .map(|c| format!("{}{}", c.name, if c.log10 { ":log10" } else { "" }))
            .collect();
        if !conditions.is_empty() {
            a.push(format!("--conditions={}", list(conditions)));
        }
        let drop: Vec<String> = (self.columns.iter())
            .filter(|c| {
                c.role == ColumnRole::Ignore
                    || (c.role == ColumnRole::Id && !c.name.eq_ignore_ascii_case("id"))
            })
            .map(|c| c.name.clone())
            .collect();
        if !drop.is_empty() {
            a.push(format!("--drop={}", list(drop)));
        }
        if !self.name.is_empty() {
            a.push(format!("--name={}", self.name));
        }
        if !self.description.is_empty() {
            a.push(format!("--description={}", self.description));
        }
        a.extend(self.options.command_args());
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::profile::profile;

    const CSV: &str = "Sample,A,B,Water,stable,visc,visc_error,age_h\n\
                       S1,10,0,90,1,100,3,1\n\
                       S2,5,5,90,0,20000,5,100\n\
                       S3,0,20,80,0,300,1,10\n";

    #[test]
    fn the_guessed_setup_reads_as_the_command_line_would() {
        let p = profile(CSV.as_bytes()).unwrap();
        let setup = TrainSetup::from_profile(&p, "mine");
        let spec = setup.spec(p.format).unwrap();
        assert_eq!(spec.id_column.as_deref(), Some("Sample"));
        assert_eq!(
            spec.targets
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["stable:binary", "visc:log10"]
        );
        assert_eq!(spec.conditions, ["age_h"]);
        assert_eq!(spec.drop, ["visc_error"]);
        assert_eq!(setup.log_conditions(), ["age_h"]);
        let ds = crate::data::read_dataset(CSV.as_bytes(), None, &spec).unwrap();
        assert_eq!((ds.rows(), ds.materials.len()), (3, 3));
        assert_eq!(ds.ids, ["S1", "S2", "S3"]);
        let args = setup.command_args();
        assert_eq!(
            args[..5],
            [
                "--targets=stable:binary,visc:log10",
                "--conditions=age_h:log10",
                "--drop=Sample,visc_error",
                "--name=mine",
                "--code-dim=8",
            ]
        );
        assert!(args.contains(&"--steps=3000".to_string()));
    }

    #[test]
    fn small_files_choose_their_configuration_by_default_large_ones_do_not() {
        let small = profile(CSV.as_bytes()).unwrap();
        assert!(TrainSetup::from_profile(&small, "s").options.auto);
        assert!(
            (TrainSetup::from_profile(&small, "s").command_args()).contains(&"--auto".to_string())
        );
        // One row past the limit, or too many material columns: the CLI's defaults.
        let mut rows = String::from("A,B,y\n");
        for r in 0..=AUTO_DEFAULT_ROWS {
            rows.push_str(&format!("{},{},{}\n", r % 7, 7 - r % 7, r % 5));
        }
        let long = profile(rows.as_bytes()).unwrap();
        assert_eq!(long.rows, AUTO_DEFAULT_ROWS + 1);
        assert!(!TrainSetup::from_profile(&long, "l").options.auto);
        let names: Vec<String> = (0..=AUTO_DEFAULT_MATERIALS)
            .map(|i| format!("m{i}"))
            .collect();
        let wide = format!(
            "{},y\n{},1\n{},2\n",
            names.join(","),
            (0..names.len())
                .map(|i| if i == 0 { "1" } else { "0" })
                .collect::<Vec<_>>()
                .join(","),
            (0..names.len())
                .map(|i| if i == 1 { "1" } else { "0" })
                .collect::<Vec<_>>()
                .join(",")
        );
        let wide = profile(wide.as_bytes()).unwrap();
        assert!(!TrainSetup::from_profile(&wide, "w").options.auto);
    }

    #[cfg(feature = "train")]
    #[test]
    fn options_are_the_command_lines_and_are_checked() {
        let o = TrainOptions::default();
        let c = o.config(vec![]).unwrap();
        assert_eq!(
            (c.steps, c.code_dim, c.hidden.clone(), c.members),
            (3000, 8, vec![64, 64], 1)
        );
        assert_eq!(c.snapshot_steps.last(), Some(&3000));
        let bad = |o: TrainOptions| o.check().unwrap_err().to_string();
        assert!(
            bad(TrainOptions {
                code_dim: 0,
                ..o.clone()
            })
            .contains("code length is 0")
        );
        assert!(
            bad(TrainOptions {
                hidden: vec![],
                ..o.clone()
            })
            .contains("hidden widths")
        );
        assert!(
            bad(TrainOptions {
                dropout: 1.0,
                ..o.clone()
            })
            .contains("dropout")
        );
        assert!(
            bad(TrainOptions {
                learning_rate: f64::NAN,
                ..o.clone()
            })
            .contains("learning rate")
        );
        assert!(
            bad(TrainOptions {
                validation_fraction: 0.95,
                ..o.clone()
            })
            .contains("validation")
        );
        // Options travel as JSON (page → worker), missing fields taking the defaults.
        let back: TrainOptions = serde_json::from_str(r#"{"steps": 10}"#).unwrap();
        assert_eq!(back, TrainOptions { steps: 10, ..o });
    }

    #[test]
    fn impossible_roles_are_refused_with_the_column() {
        let p = profile(CSV.as_bytes()).unwrap();
        let mut setup = TrainSetup::from_profile(&p, "x");
        let set = |s: &mut TrainSetup, name: &str, role, binary, log10| {
            let c = s.columns.iter_mut().find(|c| c.name == name).unwrap();
            (c.role, c.binary, c.log10) = (role, binary, log10);
        };
        set(&mut setup, "stable", ColumnRole::Target, true, true);
        assert_eq!(
            setup.spec(p.format),
            Err(SetupError::BinaryLog("stable".into()))
        );
        // A column of words as a condition: the reader names the row and column.
        set(&mut setup, "Sample", ColumnRole::Condition, false, false);
        set(&mut setup, "stable", ColumnRole::Target, true, false);
        let spec = setup.spec(p.format).unwrap();
        let e = crate::data::read_dataset(CSV.as_bytes(), None, &spec).unwrap_err();
        assert!(e.to_string().contains("row 2, column 1"), "{e}");
        for c in setup.columns.iter_mut() {
            if c.role == ColumnRole::Target {
                c.role = ColumnRole::Ignore;
            }
        }
        assert_eq!(setup.spec(p.format), Err(SetupError::NoTarget));
    }

    #[test]
    fn auto_compute_tries_webgpu_only_for_long_trainings_and_takes_the_faster() {
        // 3,000 steps at 2,500 steps/s: over in a second, WebGPU not worth starting.
        assert!(!worth_trying_webgpu(2500.0, 3000));
        assert!(worth_trying_webgpu(100.0, 3000));
        // WebGPU's trial gets a tenth of the CPU's time, 2 to 10 s.
        assert_eq!(webgpu_trial_budget_s(100.0, 3000), 3.0);
        assert_eq!(webgpu_trial_budget_s(1000.0, 3000), 2.0);
        assert_eq!(webgpu_trial_budget_s(1.0, 3000), 10.0);
        let short = auto_compute(2500.0, 3000, None);
        assert!(
            !short.webgpu && short.note.contains("2500 steps/s"),
            "{short:?}"
        );
        let faster = auto_compute(100.0, 3000, Some(Ok(400.0)));
        assert!(
            faster.webgpu && faster.note.contains("400 steps/s"),
            "{faster:?}"
        );
        let slower = auto_compute(100.0, 3000, Some(Ok(40.0)));
        assert!(
            !slower.webgpu && slower.note.contains("40 steps/s"),
            "{slower:?}"
        );
        let missing = auto_compute(100.0, 3000, Some(Err("no adapter".into())));
        assert!(!missing.webgpu && missing.note.contains("no adapter"));
        // A setup from an older page (no `compute`) trains where Auto says.
        let old: TrainSetup = serde_json::from_str(r#"{"columns": []}"#).unwrap();
        assert_eq!(old.compute, Compute::Auto);
    }
}
