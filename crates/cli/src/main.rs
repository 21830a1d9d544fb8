//! `mixlab`: train and use Mixlab models natively.

mod report_html;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use mixlab_core::bundle::{CodeActivation, HiddenActivation, TargetKind, Transform};
use mixlab_core::data::{Dataset, TargetSpec, WideSpec, is_long_header, read_long, read_wide};
use mixlab_core::evaluate::{markdown_table, sweep_code_dims};
use mixlab_core::explorer::{colour, export, precomputed, view};
use mixlab_core::fit_material::{FitConfig, fit_material};
use mixlab_core::formulation::{Formulation, batch_of};
use mixlab_core::metrics::{fold_splits, random_splits};
use mixlab_core::model::{Batch, MixModel};
use mixlab_core::neighbours::{Distance, nearest};
use mixlab_core::projection::{self, Method, Spec};
use mixlab_core::synthetic::{SyntheticConfig, generate, knn_purity};
use mixlab_core::train::{Schedule, TrainConfig, log_spaced_steps, train};
use mixlab_core::{Bundle, Device};
use mixlab_core::{batch, link};
use thiserror::Error;

#[derive(Parser)]
#[command(
    name = "mixlab",
    version,
    about = "Train and use Mixlab mixture models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum CodeAct {
    Tanh,
    Sigmoid,
    Identity,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendOpt {
    /// burn's Flex CPU backend: bit-identical weights for a seed.
    Cpu,
    /// A GPU through wgpu (Vulkan, Metal or DX12), if this build has the `wgpu` feature.
    Wgpu,
}

#[derive(Clone, Copy, ValueEnum)]
enum ScheduleOpt {
    Cosine,
    Constant,
}

#[derive(Clone, Copy, ValueEnum)]
enum HiddenAct {
    Relu,
    Gelu,
    Silu,
    Tanh,
}

/// Which CSV and which of its columns mean what.
#[derive(Args)]
struct DataOpts {
    /// Formulation CSV, wide (id, one column per material, condition and target columns) or
    /// long (formulation_id, material, amount rows; recognised by those column names).
    #[arg(long)]
    data: PathBuf,
    /// For a long CSV: a wide CSV of conditions and targets keyed by an id column
    /// (otherwise they are read from the long file's own columns).
    #[arg(long)]
    properties: Option<PathBuf>,
    /// Target columns as NAME[:regression|:log10|:binary], comma separated.
    #[arg(long, value_delimiter = ',', required = true)]
    targets: Vec<String>,
    /// Condition columns (process inputs such as age), comma separated; NAME:log10 feeds the
    /// model log10 of the value (for inputs spanning decades).
    #[arg(long, value_delimiter = ',')]
    conditions: Vec<String>,
    /// Columns to ignore, comma separated.
    #[arg(long, value_delimiter = ',')]
    drop: Vec<String>,
}

/// The model and its training.
#[derive(Args)]
struct ModelOpts {
    /// Length of each material's code.
    #[arg(long, default_value_t = 8)]
    code_dim: usize,
    #[arg(long, value_enum, default_value = "tanh")]
    code_activation: CodeAct,
    /// Hidden layer widths, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "64,64")]
    hidden: Vec<usize>,
    #[arg(long, value_enum, default_value = "relu")]
    hidden_activation: HiddenAct,
    #[arg(long, default_value_t = 3000)]
    steps: usize,
    /// Train for this many passes over the training rows instead of --steps.
    #[arg(long)]
    epochs: Option<usize>,
    /// Learning-rate schedule: cosine decay to 10 % of the rate, or constant.
    #[arg(long, value_enum, default_value = "cosine")]
    schedule: ScheduleOpt,
    /// Where to train.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendOpt,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long, default_value_t = 3e-3)]
    learning_rate: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of the training rows held out for validation figures and early stopping.
    #[arg(long, default_value_t = 0.1)]
    validation_fraction: f64,
    /// Decoupled weight decay on the regressor's weights (0 = off).
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f64,
    /// Stop when the validation loss has not improved for N checks (one every 50 steps),
    /// keeping the best weights.
    #[arg(long, value_name = "N")]
    early_stopping: Option<usize>,
    /// Skip connections around hidden layers of equal width.
    #[arg(long)]
    residual: bool,
    /// Dropout rate on the hidden activations during training.
    #[arg(long, default_value_t = 0.0)]
    dropout: f64,
    /// Ensemble size: K members trained with different seeds; predictions are their mean and
    /// uncertainty their spread.
    #[arg(long, default_value_t = 1)]
    members: usize,
}

impl ModelOpts {
    /// The training configuration for a dataset of `rows` rows (epochs become steps).
    fn config(&self, rows: usize) -> Result<TrainConfig, CliError> {
        let steps = match self.epochs {
            Some(e) => (e * rows).div_ceil(self.batch_size.max(1)).max(1),
            None => self.steps,
        };
        Ok(TrainConfig {
            device: backend_device(self.backend)?,
            code_dim: self.code_dim,
            code_activation: match self.code_activation {
                CodeAct::Tanh => CodeActivation::Tanh,
                CodeAct::Sigmoid => CodeActivation::Sigmoid,
                CodeAct::Identity => CodeActivation::Identity,
            },
            hidden: self.hidden.clone(),
            hidden_activation: match self.hidden_activation {
                HiddenAct::Relu => HiddenActivation::Relu,
                HiddenAct::Gelu => HiddenActivation::Gelu,
                HiddenAct::Silu => HiddenActivation::Silu,
                HiddenAct::Tanh => HiddenActivation::Tanh,
            },
            steps,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            seed: self.seed,
            validation_fraction: self.validation_fraction,
            weight_decay: self.weight_decay,
            early_stopping: self.early_stopping,
            residual: self.residual,
            dropout: self.dropout,
            members: self.members,
            snapshot_steps: Vec::new(),
            log_conditions: Vec::new(),
            schedule: match self.schedule {
                ScheduleOpt::Cosine => Schedule::Cosine,
                ScheduleOpt::Constant => Schedule::Constant,
            },
        })
    }

    fn check(&self) -> Result<(), CliError> {
        let bad = |m: String| Err(CliError::Usage(m));
        if !(1..=128).contains(&self.code_dim) {
            return bad(format!("--code-dim {} is outside 1..=128", self.code_dim));
        }
        if !(1..=64).contains(&self.members) {
            return bad(format!("--members {} is outside 1..=64", self.members));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("--dropout {} is outside 0..1", self.dropout));
        }
        if self.steps == 0 || self.batch_size == 0 {
            return bad("--steps and --batch-size must be at least 1".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(format!(
                "--learning-rate {} must be > 0",
                self.learning_rate
            ));
        }
        Ok(())
    }
}

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Train a model on a wide formulation CSV and write a bundle directory.
    Train {
        #[command(flatten)]
        data: DataOpts,
        #[command(flatten)]
        model: ModelOpts,
        /// Output bundle directory.
        #[arg(long)]
        out: PathBuf,
        /// Bundle name shown in the app.
        #[arg(long, default_value = "model")]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// JSON file merged into the manifest's dataset info (name, source, licence, units).
        #[arg(long)]
        dataset_info: Option<PathBuf>,
        /// CSV describing materials: first column the material name, other columns become
        /// the material's metadata (type, group...) in the bundle.
        #[arg(long)]
        materials_info: Option<PathBuf>,
        /// Number of snapshots of the codes kept in the bundle (log-spaced steps from 0 to the
        /// end) for the app's learning-dynamics animation; 0 = none.
        #[arg(long, default_value_t = 24)]
        snapshots: usize,
    },
    /// The study's protocol: k random splits (or given folds, or splits that keep each
    /// mixture on one side), a sweep of code lengths, Full / Eval / Train errors as
    /// mean ± std, written as report.md, report.json and report.html (box plots of the
    /// per-split errors and learning curves; opens offline).
    Evaluate {
        #[command(flatten)]
        data: DataOpts,
        #[command(flatten)]
        model: ModelOpts,
        /// Code lengths to sweep, comma separated (overrides --code-dim).
        #[arg(long, value_delimiter = ',', default_value = "2,4,6,10,20,50,100")]
        code_dims: Vec<usize>,
        /// Number of random splits.
        #[arg(long, default_value_t = 5)]
        splits: usize,
        /// Share of rows in each random split's test set.
        #[arg(long, default_value_t = 0.2)]
        test_fraction: f64,
        /// CSV of official folds (columns id, fold); replaces the random splits.
        #[arg(long)]
        folds: Option<PathBuf>,
        /// Keep rows with the same mixture (equal fractions) on one side of every split, as
        /// for concrete measured at several ages.
        #[arg(long)]
        group_by_mixture: bool,
        /// Output directory for report.md, report.json, report.html (+ plotly-cartesian.min.js).
        #[arg(long)]
        out: PathBuf,
    },
    /// Score a CSV (wide or long, comma or semicolon) with a bundle: the input with
    /// `<target>_predicted` (and `_spread`, `in_domain`, `domain_note`, `status`) appended.
    /// The file is checked first; problems stop the run unless a flag says what to do.
    Score {
        /// Bundle directory (manifest.json + weights.safetensors).
        #[arg(long)]
        bundle: PathBuf,
        /// CSV: wide (id, material columns, conditions) or long (formulation_id, material, amount).
        #[arg(long)]
        data: PathBuf,
        /// Output CSV (standard output when absent).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Columns to copy through unscored even if they hold numbers, comma separated.
        #[arg(long, alias = "ignore", value_delimiter = ',')]
        carry: Vec<String>,
        /// Materials the model does not know: drop them and renormalise, or skip those rows.
        #[arg(long, value_parser = ["drop", "skip"])]
        unknown: Option<String>,
        /// Rows that do not sum to 1 or 100: normalise them, or skip them.
        #[arg(long, value_parser = ["normalise", "skip"])]
        off_sum: Option<String>,
        /// Repeated ids: score every row, or only the first of each id.
        #[arg(long, value_parser = ["keep", "skip"])]
        duplicates: Option<String>,
        /// A value for a condition the file lacks, NAME=VALUE (repeatable).
        #[arg(long)]
        fill: Vec<String>,
        /// Score the other rows when some cannot be scored (negative, non-numeric, empty...).
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Add a new material to a bundle from a few formulations that contain it (with measured
    /// targets): only its code is trained, the regressor and all other codes stay frozen.
    FitMaterial {
        /// Bundle directory to start from.
        #[arg(long)]
        bundle: PathBuf,
        /// Name of the new material (a column of the wide CSV or a material of the long one).
        #[arg(long)]
        material: String,
        #[command(flatten)]
        data: DataOpts,
        /// Start from the code of this existing material (one you judge similar) instead of
        /// the origin.
        #[arg(long)]
        start_from: Option<String>,
        #[arg(long, default_value_t = 500)]
        steps: usize,
        #[arg(long, default_value_t = 0.05)]
        learning_rate: f64,
        /// Output bundle directory (may equal --bundle).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write synthetic formulations with planted material groups (long CSV) and the groups
    /// (materials CSV, usable as --materials-info), for scale tests.
    Synthetic {
        #[arg(long, default_value_t = 5400)]
        materials: usize,
        #[arg(long, default_value_t = 30)]
        groups: usize,
        #[arg(long, default_value_t = 30000)]
        recipes: usize,
        /// Materials per recipe, MIN,MAX.
        #[arg(long, value_delimiter = ',', default_value = "10,60")]
        per_recipe: Vec<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of properties (target columns property, property_2, ...).
        #[arg(long, default_value_t = 3)]
        properties: usize,
        /// Write a wide CSV (one column per material) instead of a long one.
        #[arg(long)]
        wide: bool,
        /// Output CSV of formulations.
        #[arg(long)]
        out: PathBuf,
        /// Output CSV of materials and their planted group.
        #[arg(long)]
        groups_out: Option<PathBuf>,
    },
    /// Project a bundle's material codes to 2-D or 3-D (PCA, t-SNE, UMAP, Isomap, LLE) and
    /// write the coordinates (CSV name,x,y[,z], or JSON when --out ends in .json). The same
    /// parameters and seed give the same picture as the app's explorer.
    Project {
        /// Bundle directory (manifest.json + weights.safetensors).
        #[arg(long)]
        bundle: PathBuf,
        #[arg(long, value_parser = ["pca", "tsne", "umap", "isomap", "lle"], default_value = "pca")]
        method: String,
        #[arg(long, default_value_t = 2)]
        dims: usize,
        /// t-SNE perplexity (default 30, lowered for small models as the app does).
        #[arg(long)]
        perplexity: Option<f64>,
        /// t-SNE learning rate; 0 = automatic.
        #[arg(long)]
        learning_rate: Option<f64>,
        /// t-SNE iterations (default 1000) or UMAP epochs (default 0 = automatic).
        #[arg(long)]
        iterations: Option<usize>,
        /// UMAP neighbours (default 15).
        #[arg(long)]
        neighbours: Option<usize>,
        /// UMAP min_dist (default 0.1).
        #[arg(long)]
        min_dist: Option<f64>,
        /// Isomap/LLE neighbours (default 10).
        #[arg(long)]
        k: Option<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The spec as in the app's share links (`tsne.2.p30.lr0.it1000.s1`); overrides the
        /// flags above.
        #[arg(long)]
        spec: Option<String>,
        /// Output file (.csv or .json); standard output (CSV) when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also store the projection in the bundle, so the app shows it at once.
        #[arg(long)]
        add: bool,
        /// Print trustworthiness@10 of the map (how many map neighbours are true neighbours).
        #[arg(long)]
        trust: bool,
        /// Print the kNN purity of this metadata column (e.g. `group`): the share of each
        /// material's k nearest (in the map, and in the full code space) with the same value,
        /// beside what a random layout gives.
        #[arg(long)]
        purity: Option<String>,
        /// Neighbours for --purity.
        #[arg(long, default_value_t = 3)]
        purity_k: usize,
        /// Write the matrix that is projected (act(code), one row per material, no header).
        #[arg(long)]
        codes_out: Option<PathBuf>,
        /// Store every method's default projection (2-D and 3-D) in the bundle, as training
        /// does, instead of projecting once.
        #[arg(long)]
        store_defaults: bool,
    },
    /// The materials nearest to one material in code space (act(code) of the bundle), as the
    /// explorer lists them: CSV name,distance, nearest first.
    Neighbours {
        #[arg(long)]
        bundle: PathBuf,
        #[arg(long)]
        material: String,
        #[arg(long, default_value_t = 5)]
        k: usize,
        #[arg(long, value_parser = ["euclidean", "cosine"], default_value = "euclidean")]
        distance: String,
    },
    /// Check a share link against a bundle as the app opens it, and print what it holds as
    /// JSON (model path, formulation, conditions, explorer view); a bad part is named.
    Link {
        /// Bundle directory the link is read against.
        #[arg(long)]
        bundle: PathBuf,
        /// The link: a whole URL or its `?…#…` part.
        url: String,
    },
    /// Predict one formulation (the bundle's default unless given) and print JSON.
    Predict {
        /// Bundle directory (manifest.json + weights.safetensors).
        #[arg(long)]
        bundle: PathBuf,
        /// The formulation as in the app's share links: `Water:74.7:q;Plantacare 818:11.5;...`
        /// (material:percent, summing to 100).
        #[arg(long)]
        formulation: Option<String>,
        /// Condition values, `age_days:28;...` (others keep the bundle's defaults).
        #[arg(long)]
        conditions: Option<String>,
    },
}

#[derive(Debug, Error)]
enum CliError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Data(#[from] mixlab_core::data::DataError),
    #[error("{0}")]
    Bundle(#[from] mixlab_core::BundleError),
    #[error("{0}")]
    Predict(#[from] mixlab_core::PredictError),
    #[error("{0}")]
    Batch(#[from] mixlab_core::scoring::ScoreError),
    #[error("{0}")]
    Fit(#[from] mixlab_core::fit_material::FitError),
    #[error("{0}")]
    Projection(#[from] mixlab_core::projection::ProjectionError),
    #[error("{0}")]
    View(#[from] mixlab_core::explorer::view::ViewError),
    #[error("{0}")]
    Usage(String),
}

/// The error for an I/O failure on `path`, for `map_err`.
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CliError {
    let path = path.display().to_string();
    move |source| CliError::Io { path, source }
}

fn read_text(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(io_error(path))
}

/// The decisions for a checked file from the flags; a problem without a flag is an error that
/// lists the first rows and names the flag.
fn score_decisions(
    report: &batch::Report,
    unknown: Option<String>,
    off_sum: Option<String>,
    duplicates: Option<String>,
    fill: &[String],
    skip_invalid: bool,
) -> Result<batch::Decisions, CliError> {
    let mut problems = Vec::new();
    for g in &report.groups {
        let flag = match g.kind {
            batch::IssueKind::UnknownMaterial if unknown.is_none() => "--unknown drop|skip",
            batch::IssueKind::OffSum if off_sum.is_none() => "--off-sum normalise|skip",
            batch::IssueKind::DuplicateId if duplicates.is_none() => "--duplicates keep|skip",
            k if !k.decided() && !skip_invalid => "--skip-invalid",
            _ => continue,
        };
        let at: Vec<String> = (g.listed.iter().take(5))
            .map(|i| match i.column {
                Some(c) => format!("row {}, column {} ({:?}): {}", i.row, c, i.name, i.problem),
                None => format!("row {}: {}", i.row, i.problem),
            })
            .collect();
        problems.push(format!(
            "{} ({} rows; {flag}):\n    {}",
            g.kind.title(),
            g.count,
            at.join("\n    ")
        ));
    }
    let mut values = Vec::new();
    for f in fill {
        let (name, value) = f
            .split_once('=')
            .and_then(|(n, v)| Some((n.trim().to_string(), v.trim().parse::<f64>().ok()?)))
            .ok_or_else(|| CliError::Usage(format!("--fill {f:?}: expected NAME=VALUE")))?;
        values.push((name, value));
    }
    for m in &report.missing_conditions {
        if !values.iter().any(|v| v.0 == m.name) {
            problems.push(format!(
                "condition {:?} is not in the file (--fill {}={} gives the model's default)",
                m.name, m.name, m.default
            ));
        }
    }
    if !problems.is_empty() {
        return Err(CliError::Usage(format!(
            "the file needs decisions:\n  {}",
            problems.join("\n  ")
        )));
    }
    Ok(batch::Decisions {
        unknown: match unknown.as_deref() {
            Some("skip") => batch::UnknownChoice::Skip,
            _ => batch::UnknownChoice::Drop,
        },
        off_sum: match off_sum.as_deref() {
            Some("skip") => batch::SumChoice::Skip,
            _ => batch::SumChoice::Normalise,
        },
        duplicates: match duplicates.as_deref() {
            Some("skip") => batch::DuplicateChoice::Skip,
            _ => batch::DuplicateChoice::Keep,
        },
        fill: values,
    })
}

fn parse_target(spec: &str) -> Result<TargetSpec, CliError> {
    let (name, kind) = spec.rsplit_once(':').unwrap_or((spec, "regression"));
    let (kind, transform) = match kind {
        "regression" => (TargetKind::Regression, Transform::None),
        "log10" => (TargetKind::Regression, Transform::Log10),
        "binary" => (TargetKind::Binary, Transform::None),
        other => {
            return Err(CliError::Usage(format!(
                "target {name:?}: unknown kind {other:?} (regression, log10 or binary)"
            )));
        }
    };
    Ok(TargetSpec {
        name: name.to_string(),
        kind,
        transform,
    })
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Train {
            data,
            model,
            out,
            name,
            description,
            dataset_info,
            materials_info,
            snapshots,
        } => {
            model.check()?;
            let (ds, text) = load(&data)?;
            let mut cfg = model.config(ds.rows())?;
            cfg.snapshot_steps = log_spaced_steps(cfg.steps, snapshots);
            cfg.log_conditions = log_conditions(&data);
            check_log_conditions(&ds, &cfg.log_conditions)?;
            let steps = cfg.steps * cfg.members;
            let bar = ProgressBar::new(steps as u64).with_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} steps, loss {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let (mut bundle, _report) = train(&ds, &cfg, |step, loss| {
                bar.set_position(step as u64);
                bar.set_message(format!("{loss:.4}"));
            });
            bar.finish();
            bundle.manifest.name = name;
            bundle.manifest.description = description;
            // Recorded only off the CPU, so CPU bundles stay byte-identical across versions.
            if let BackendOpt::Wgpu = model.backend {
                bundle
                    .manifest
                    .training
                    .insert("backend".into(), serde_json::json!("wgpu"));
            }
            bundle.manifest.dataset.file = data
                .data
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            bundle.manifest.dataset.rows = ds.rows();
            bundle.manifest.dataset.sha256 = sha256_hex(text.as_bytes());
            if let Some(info) = dataset_info {
                let extra: serde_json::Value = serde_json::from_str(&read_text(&info)?)
                    .map_err(|e| CliError::Usage(format!("{}: {e}", info.display())))?;
                let d = &mut bundle.manifest.dataset;
                let get = |k: &str| extra.get(k).and_then(|v| v.as_str()).map(str::to_string);
                d.name = get("name").unwrap_or_default();
                d.source = get("source").unwrap_or_default();
                d.licence = get("licence").unwrap_or_default();
                if let Some(units) = extra.get("units").and_then(|v| v.as_object()) {
                    for t in &mut bundle.manifest.targets {
                        if let Some(u) = units.get(&t.name).and_then(|v| v.as_str()) {
                            t.unit = u.to_string();
                        }
                    }
                    for c in &mut bundle.manifest.conditions {
                        if let Some(u) = units.get(&c.name).and_then(|v| v.as_str()) {
                            c.unit = u.to_string();
                        }
                    }
                }
            }
            if let Some(path) = materials_info {
                add_material_metadata(&mut bundle.manifest, &path)?;
            }
            write_bundle(&bundle, &out)?;
            for (k, v) in &bundle.manifest.metrics {
                eprintln!("{k}: {}", v["value"]);
            }
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        Command::Evaluate {
            data,
            model,
            code_dims,
            splits,
            test_fraction,
            folds,
            group_by_mixture,
            out,
        } => {
            model.check()?;
            let (ds, _) = load(&data)?;
            let split_list = match folds {
                Some(path) => fold_splits(&read_folds(&path, &ds.ids)?),
                None => {
                    let groups = group_by_mixture.then(|| mixture_keys(&ds));
                    random_splits(
                        ds.rows(),
                        groups.as_deref(),
                        splits,
                        test_fraction,
                        model.seed,
                    )
                }
            };
            let mut cfg = model.config(ds.rows())?;
            cfg.log_conditions = log_conditions(&data);
            check_log_conditions(&ds, &cfg.log_conditions)?;
            let total = (code_dims.len() * split_list.len() * cfg.steps * cfg.members) as u64;
            let bar = ProgressBar::new(total).with_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} steps, {msg} [{elapsed}/{eta}]")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let (n_splits, steps) = (split_list.len(), cfg.steps * cfg.members);
            let sweep = sweep_code_dims(&ds, &cfg, &code_dims, &split_list, |d, s, step, _| {
                let done = code_dims.iter().position(|&x| x == d).unwrap_or(0) * n_splits + s;
                bar.set_position((done * steps + step) as u64);
                bar.set_message(format!("d={d} split {}/{n_splits}", s + 1));
            });
            bar.finish();
            let table = markdown_table(&sweep);
            let report = serde_json::json!({
                "data": data.data.display().to_string(),
                "rows": ds.rows(),
                "splits": split_list.iter().map(|s| serde_json::json!({"train": s.train.len(), "test": s.test.len()})).collect::<Vec<_>>(),
                "steps": steps,
                "results": sweep.iter().map(|(d, per_split)| serde_json::json!({
                    "code_dim": d,
                    "splits": per_split.iter().map(|s| &s.scores).collect::<Vec<_>>(),
                    "curves": per_split.iter().map(|s| &s.curve).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            });
            std::fs::create_dir_all(&out).map_err(io_error(&out))?;
            let write = |name: &str, bytes: &[u8]| {
                std::fs::write(out.join(name), bytes).map_err(io_error(&out.join(name)))
            };
            write("report.md", table.as_bytes())?;
            let title = data.data.display().to_string();
            write(
                "report.html",
                report_html::render(&report, &title).as_bytes(),
            )?;
            write(report_html::PLOTLY_FILE, report_html::PLOTLY_JS)?;
            write(
                "report.json",
                serde_json::to_string_pretty(&report)
                    .unwrap_or_default()
                    .as_bytes(),
            )?;
            println!("{table}");
            Ok(())
        }
        Command::Score {
            bundle,
            data,
            out,
            carry,
            unknown,
            off_sum,
            duplicates,
            fill,
            skip_invalid,
        } => {
            let bundle = Bundle::read_dir(&bundle)?;
            let open = || std::fs::File::open(&data).map_err(io_error(&data));
            let plan = batch::check(
                &bundle.manifest,
                std::io::BufReader::new(open()?),
                &carry,
                |_| {},
            )?;
            let decisions = score_decisions(
                &plan.report,
                unknown,
                off_sum,
                duplicates,
                &fill,
                skip_invalid,
            )?;
            let model = MixModel::new(&bundle, &Device::flex());
            let input = std::io::BufReader::new(open()?);
            let results = match out {
                Some(path) => {
                    let file = std::fs::File::create(&path).map_err(io_error(&path))?;
                    batch::score(
                        &model,
                        &plan,
                        input,
                        decisions,
                        std::io::BufWriter::new(file),
                    )?
                }
                None => batch::score(&model, &plan, input, decisions, std::io::stdout().lock())?,
            };
            eprintln!(
                "scored {} formulation(s), skipped {}",
                results.ids.len(),
                results.skipped
            );
            for m in &results.metrics {
                eprintln!(
                    "{}: n {}, MAE {:.4}, RMSE {:.4}, R² {}{}",
                    m.target,
                    m.n,
                    m.mae,
                    m.rmse,
                    m.r2.map_or("undefined".into(), |v| format!("{v:.4}")),
                    m.roc_auc
                        .map(|a| format!(", ROC-AUC {a:.4}"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        Command::Project {
            bundle: dir,
            method,
            dims,
            perplexity,
            learning_rate,
            iterations,
            neighbours,
            min_dist,
            k,
            seed,
            spec,
            out,
            add,
            trust,
            purity,
            purity_k,
            codes_out,
            store_defaults,
        } => {
            let mut bundle = Bundle::read_dir(&dir)?;
            let n = bundle.manifest.materials.len();
            let d = bundle.manifest.architecture.code_dim;
            if store_defaults {
                precomputed::refresh(&mut bundle);
                write_bundle(&bundle, &dir)?;
                let names: Vec<&str> = bundle
                    .manifest
                    .projections
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect();
                eprintln!("stored {}", names.join(", "));
                return Ok(());
            }
            let spec = match spec {
                Some(token) => view::parse_spec_token("--spec", &token)?,
                None => {
                    let method = Method::from_key(&method)
                        .ok_or_else(|| CliError::Usage(format!("unknown method {method}")))?;
                    let mut spec = Spec::for_points(method, dims, n);
                    let p = &mut spec.params;
                    p.perplexity = perplexity.unwrap_or(p.perplexity);
                    p.learning_rate = learning_rate.unwrap_or(p.learning_rate);
                    p.iterations = iterations.unwrap_or(p.iterations);
                    p.neighbours = neighbours.unwrap_or(p.neighbours);
                    p.min_dist = min_dist.unwrap_or(p.min_dist);
                    p.k = k.unwrap_or(p.k);
                    spec.seed = seed;
                    spec
                }
            };
            let reps = projection::representations(&bundle);
            if let Some(path) = &codes_out {
                let text: String = reps
                    .chunks(d.max(1))
                    .map(|r| r.iter().map(f64::to_string).collect::<Vec<_>>().join(",") + "\n")
                    .collect();
                std::fs::write(path, text).map_err(io_error(path))?;
            }
            let bar = ProgressBar::new(1).with_style(
                ProgressStyle::with_template("{msg:>10} [{bar:40}] {percent:>3}% {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            let coords = projection::project(&reps, n, d, &spec, &mut |p| {
                bar.set_message(p.stage);
                bar.set_length(p.total.max(1) as u64);
                bar.set_position(p.done as u64);
                true
            })?;
            bar.finish_and_clear();
            eprintln!(
                "{}: {n} materials × {d} → {}-D in {:.2} s",
                view::spec_token(&spec),
                spec.dims,
                started.elapsed().as_secs_f64()
            );
            if trust {
                let k = 10.min(n.saturating_sub(1) / 2);
                if k == 0 {
                    eprintln!("trustworthiness: too few materials");
                } else {
                    let t = mixlab_core::neighbours::trustworthiness(
                        &projection::rows_of(&reps, n, d),
                        &projection::rows_of(&coords, n, spec.dims),
                        k,
                    );
                    eprintln!("trustworthiness@{k}: {t:.4}");
                }
            }
            if let Some(key) = &purity {
                let labels: Vec<Option<String>> = bundle
                    .manifest
                    .materials
                    .iter()
                    .map(|m| m.metadata.get(key).cloned())
                    .collect();
                let p = group_purity(&labels, &reps, d, &coords, spec.dims, purity_k).ok_or_else(
                    || {
                        CliError::Usage(format!(
                            "no material has two or more with the same {key:?}"
                        ))
                    },
                )?;
                println!(
                    "{{\"spec\": \"{}\", \"key\": \"{key}\", \"k\": {purity_k}, \"materials\": {}, \"map\": {:.4}, \"codes\": {:.4}, \"random\": {:.4}}}",
                    view::spec_token(&spec),
                    p.materials,
                    p.map,
                    p.codes,
                    p.random
                );
                return Ok(());
            }
            let names: Vec<String> = bundle
                .manifest
                .materials
                .iter()
                .map(|m| m.name.clone())
                .collect();
            let text = match &out {
                Some(p) if p.extension().is_some_and(|e| e == "json") => {
                    export::coordinates_json(&names, &coords, &spec)
                }
                _ => export::coordinates_csv(&names, &coords, spec.dims),
            };
            match &out {
                Some(p) => std::fs::write(p, text).map_err(io_error(p))?,
                None => print!("{text}"),
            }
            if add {
                precomputed::add(&mut bundle, &spec, coords);
                write_bundle(&bundle, &dir)?;
                eprintln!("stored in {}", dir.display());
            }
            Ok(())
        }
        Command::Neighbours {
            bundle,
            material,
            k,
            distance,
        } => {
            let bundle = Bundle::read_dir(&bundle)?;
            let m = &bundle.manifest;
            let of = m
                .materials
                .iter()
                .position(|x| x.name == material)
                .ok_or_else(|| {
                    CliError::Usage(format!("the model has no material {material:?}"))
                })?;
            let d = m.architecture.code_dim;
            let points =
                projection::rows_of(&projection::representations(&bundle), m.materials.len(), d);
            let distance = if distance == "cosine" {
                Distance::Cosine
            } else {
                Distance::Euclidean
            };
            println!("name,distance");
            for nb in nearest(&points, of, k, distance) {
                println!("{},{}", m.materials[nb.index].name, nb.distance);
            }
            Ok(())
        }
        Command::FitMaterial {
            bundle,
            material,
            data,
            start_from,
            steps,
            learning_rate,
            out,
        } => {
            let base = Bundle::read_dir(&bundle)?;
            let (ds, _) = load(&data)?;
            let cfg = FitConfig {
                steps,
                learning_rate,
                start_from,
            };
            let bar = ProgressBar::new((steps * base.members.len()) as u64).with_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} steps, loss {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let (grown, report) = fit_material(&base, &material, &ds, &cfg, |step, loss| {
                bar.set_position(step as u64);
                bar.set_message(format!("{loss:.4}"));
            })?;
            bar.finish();
            write_bundle(&grown, &out)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            for (target, after) in &report.after {
                if let Some(before) = report.before.get(target) {
                    eprintln!(
                        "{target}: MAE on the {} formulations {} -> {} ({:.0} % lower)",
                        after.rows,
                        before.mae,
                        after.mae,
                        100.0 * (1.0 - after.mae / before.mae)
                    );
                }
            }
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        Command::Synthetic {
            materials,
            groups,
            recipes,
            per_recipe,
            seed,
            properties,
            wide,
            out,
            groups_out,
        } => {
            let (lo, hi) = match per_recipe[..] {
                [lo, hi] if 1 <= lo && lo <= hi && hi <= materials => (lo, hi),
                _ => {
                    return Err(CliError::Usage(format!(
                        "--per-recipe must be MIN,MAX with 1 ≤ MIN ≤ MAX ≤ {materials}"
                    )));
                }
            };
            if groups == 0 || groups > materials {
                return Err(CliError::Usage(format!("--groups must be 1..={materials}")));
            }
            let cfg = SyntheticConfig {
                materials,
                groups,
                recipes,
                per_recipe: (lo, hi),
                seed,
                targets: properties,
                ..SyntheticConfig::default()
            };
            let (ds, group_of) = generate(&cfg);
            let file = std::fs::File::create(&out).map_err(io_error(&out))?;
            write_dataset(&ds, wide, std::io::BufWriter::new(file)).map_err(io_error(&out))?;
            if let Some(path) = groups_out {
                let mut text = String::from("material,group\n");
                for (name, g) in ds.materials.iter().zip(&group_of) {
                    text.push_str(&format!("{name},g{g}\n"));
                }
                std::fs::write(&path, text).map_err(io_error(&path))?;
            }
            eprintln!(
                "wrote {}: {} formulations, {} materials, {} entries",
                out.display(),
                ds.rows(),
                materials,
                ds.entries.len()
            );
            Ok(())
        }
        Command::Link { bundle, url } => {
            let bundle = Bundle::read_dir(&bundle)?;
            let m = &bundle.manifest;
            let part = |what: &'static str| {
                move |e: link::LinkError| CliError::Usage(format!("the link's {what}: {e}"))
            };
            let parts = link::parts_of(&url).map_err(part("address"))?;
            let formulation = match &parts.formulation {
                Some(text) => link::formulation_from_text(m, text).map_err(part("formulation"))?,
                None => Formulation::default_of(m),
            };
            let defaults = m.default_condition_values();
            let conditions = match &parts.conditions {
                Some(text) => {
                    link::conditions_from_text(m, text, &defaults).map_err(part("conditions"))?
                }
                None => defaults,
            };
            let view = if parts.fragment.is_empty() {
                None
            } else {
                let meta = colour::metadata_keys(m);
                let limits = view::Limits {
                    fingerprint: &view::fingerprint(&bundle.weights().codes),
                    materials: m.materials.len(),
                    targets: m.targets.len(),
                    snapshots: m.snapshot_steps.len(),
                    metadata: &meta,
                };
                let v = view::from_fragment(&parts.fragment, &limits)
                    .map_err(|e| CliError::Usage(format!("the link's view: {e}")))?;
                Some(view::to_fragment(&v))
            };
            println!(
                "{}",
                serde_json::json!({
                    "model": parts.model,
                    "formulation": link::formulation_to_text(m, &formulation),
                    "conditions": link::conditions_to_text(m, &conditions),
                    "view": view,
                })
            );
            Ok(())
        }
        Command::Predict {
            bundle,
            formulation,
            conditions,
        } => {
            let bundle = Bundle::read_dir(&bundle)?;
            let model = MixModel::new(&bundle, &Device::flex());
            let m = &bundle.manifest;
            let batch = if formulation.is_none() && conditions.is_none() {
                Batch::default_of(m)
            } else {
                let usage = |e: link::LinkError| CliError::Usage(e.to_string());
                let f = match &formulation {
                    Some(text) => link::formulation_from_text(m, text).map_err(usage)?,
                    None => Formulation::default_of(m),
                };
                let defaults = m.default_condition_values();
                let c = match &conditions {
                    Some(text) => link::conditions_from_text(m, text, &defaults).map_err(usage)?,
                    None => defaults,
                };
                batch_of(m, [&f], &c)
            };
            let pred = model.predict(&batch)?;
            let collect = |values: &[f64]| -> serde_json::Map<String, serde_json::Value> {
                bundle
                    .manifest
                    .targets
                    .iter()
                    .zip(values)
                    .map(|(t, v)| (t.name.clone(), serde_json::json!(v)))
                    .collect()
            };
            println!(
                "{}",
                serde_json::json!({
                    "predictions": collect(pred.row(0)),
                    "spread": collect(pred.spread_row(0)),
                    "members": bundle.members.len(),
                })
            );
            Ok(())
        }
    }
}

/// The device for `--backend`.
fn backend_device(backend: BackendOpt) -> Result<Device, CliError> {
    match backend {
        BackendOpt::Cpu => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        BackendOpt::Wgpu => Device::wgpu_options().init().map_err(|e| {
            CliError::Usage(format!(
                "--backend wgpu: no usable GPU adapter ({e}); use --backend cpu"
            ))
        }),
        #[cfg(not(feature = "wgpu"))]
        BackendOpt::Wgpu => Err(CliError::Usage(
            "this mixlab was built without the wgpu feature; use --backend cpu".into(),
        )),
    }
}

/// `age:log10` → `age`.
fn condition_name(spec: &str) -> &str {
    spec.strip_suffix(":log10").unwrap_or(spec)
}

/// Refuse log10 conditions with values ≤ 0 before any training, naming the row.
fn check_log_conditions(ds: &Dataset, logs: &[String]) -> Result<(), CliError> {
    let c = ds.conditions.len();
    for (j, name) in ds.conditions.iter().enumerate() {
        if !logs.contains(name) {
            continue;
        }
        if let Some(r) = (0..ds.rows()).find(|&r| ds.condition_values[r * c + j] <= 0.0) {
            return Err(CliError::Usage(format!(
                "condition {name:?} is {} in formulation {:?}; :log10 needs values > 0",
                ds.condition_values[r * c + j],
                ds.ids[r]
            )));
        }
    }
    Ok(())
}

/// The conditions the data options mark `:log10`.
fn log_conditions(opts: &DataOpts) -> Vec<String> {
    opts.conditions
        .iter()
        .filter(|c| c.ends_with(":log10"))
        .map(|c| condition_name(c).to_string())
        .collect()
}

struct Purity {
    materials: usize,
    map: f64,
    codes: f64,
    random: f64,
}

/// kNN label purity among the materials that have a label: in the map, in the full code space,
/// and its expectation for a random layout (the chance that another labelled material shares
/// one's label).
fn group_purity(
    labels: &[Option<String>],
    reps: &[f64],
    d: usize,
    coords: &[f32],
    dims: usize,
    k: usize,
) -> Option<Purity> {
    let keep: Vec<usize> = (0..labels.len()).filter(|&i| labels[i].is_some()).collect();
    let n = keep.len();
    if n < 3 {
        return None;
    }
    let k = k.min(n - 1);
    let high: Vec<Vec<f64>> = keep
        .iter()
        .map(|&i| reps[i * d..(i + 1) * d].to_vec())
        .collect();
    let low: Vec<Vec<f64>> = keep
        .iter()
        .map(|&i| {
            coords[i * dims..(i + 1) * dims]
                .iter()
                .map(|&v| f64::from(v))
                .collect()
        })
        .collect();
    // Labels as indices of their distinct values, for the core's purity.
    let mut distinct: Vec<&str> = Vec::new();
    let ids: Vec<usize> = keep
        .iter()
        .filter_map(|&i| labels[i].as_deref())
        .map(|l| match distinct.iter().position(|d| *d == l) {
            Some(p) => p,
            None => {
                distinct.push(l);
                distinct.len() - 1
            }
        })
        .collect();
    let random = (0..n)
        .map(|i| (0..n).filter(|&j| j != i && ids[j] == ids[i]).count() as f64 / (n - 1) as f64)
        .sum::<f64>()
        / n as f64;
    Some(Purity {
        materials: n,
        map: knn_purity(&low, &ids, k),
        codes: knn_purity(&high, &ids, k),
        random,
    })
}

fn write_bundle(bundle: &Bundle, out: &Path) -> Result<(), CliError> {
    bundle.write_to_dir(out).map_err(io_error(out))
}

/// A dataset as CSV: long (`formulation_id,material,amount` + targets on each row) or wide.
fn write_dataset(ds: &Dataset, wide: bool, out: impl std::io::Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let t = ds.targets.len();
    let targets = |r: usize| -> Vec<String> {
        ds.target_values[r * t..(r + 1) * t]
            .iter()
            .map(|v| {
                if v.is_finite() {
                    v.to_string()
                } else {
                    String::new()
                }
            })
            .collect()
    };
    let names = ds.targets.iter().map(|s| s.name.clone());
    if wide {
        let mut head = vec!["id".to_string()];
        head.extend(ds.materials.iter().cloned());
        head.extend(names);
        w.write_record(&head)?;
        for r in 0..ds.rows() {
            let mut rec = vec![ds.ids[r].clone()];
            rec.extend(ds.dense_row(r).iter().map(|f| {
                if *f == 0.0 {
                    String::new()
                } else {
                    f.to_string()
                }
            }));
            rec.extend(targets(r));
            w.write_record(&rec)?;
        }
    } else {
        let mut head: Vec<String> = ["formulation_id", "material", "amount"]
            .map(String::from)
            .to_vec();
        head.extend(names);
        w.write_record(&head)?;
        for r in 0..ds.rows() {
            let ys = targets(r);
            for &(i, f) in ds.row(r) {
                let mut rec = vec![
                    ds.ids[r].clone(),
                    ds.materials[i as usize].clone(),
                    f.to_string(),
                ];
                rec.extend(ys.iter().cloned());
                w.write_record(&rec)?;
            }
        }
    }
    w.flush()
}

/// Read a wide CSV as the data options say; returns the dataset and the file's text.
fn load(opts: &DataOpts) -> Result<(Dataset, String), CliError> {
    let text = read_text(&opts.data)?;
    let spec = WideSpec {
        id_column: None,
        targets: opts
            .targets
            .iter()
            .map(|t| parse_target(t))
            .collect::<Result<_, _>>()?,
        conditions: opts
            .conditions
            .iter()
            .map(|c| condition_name(c).to_string())
            .collect(),
        drop: opts.drop.clone(),
    };
    let ds = if is_long_header(&text) {
        let props = opts.properties.as_deref().map(read_text).transpose()?;
        read_long(&text, props.as_deref(), &spec)?
    } else if opts.properties.is_some() {
        return Err(CliError::Usage(format!(
            "--properties is for long CSVs, but {} has no formulation_id, material and amount \
             columns",
            opts.data.display()
        )));
    } else {
        read_wide(&text, &spec)?
    };
    eprintln!(
        "{}: {} rows, {} materials, {} conditions, {} targets",
        opts.data.display(),
        ds.rows(),
        ds.materials.len(),
        ds.conditions.len(),
        ds.targets.len()
    );
    Ok((ds, text))
}

/// Fold of each dataset row from a CSV with columns `id,fold`.
fn read_folds(path: &Path, ids: &[String]) -> Result<Vec<usize>, CliError> {
    let text = read_text(path)?;
    let mut fold_of = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let Some((id, fold)) = line.split_once(',') else {
            continue;
        };
        let fold: usize = fold.trim().parse().map_err(|_| {
            CliError::Usage(format!(
                "{}: line {}: fold {fold:?} is not a number",
                path.display(),
                i + 1
            ))
        })?;
        fold_of.insert(id.trim().to_string(), fold);
    }
    ids.iter()
        .map(|id| {
            fold_of.get(id).copied().ok_or_else(|| {
                CliError::Usage(format!("{}: no fold for row id {id:?}", path.display()))
            })
        })
        .collect()
}

/// Copy each material's row of a materials CSV into its manifest metadata.
fn add_material_metadata(
    manifest: &mut mixlab_core::Manifest,
    path: &Path,
) -> Result<(), CliError> {
    let text = read_text(path)?;
    let bad = |e: String| CliError::Usage(format!("{}: {e}", path.display()));
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    for record in reader.records() {
        let record = record.map_err(|e| bad(e.to_string()))?;
        let name = record.get(0).unwrap_or("").trim();
        let Some(i) = manifest.material_index(name) else {
            eprintln!(
                "{}: {name:?} is not a material of this data; skipped",
                path.display()
            );
            continue;
        };
        for (key, value) in header.iter().zip(record.iter()).skip(1) {
            manifest.materials[i]
                .metadata
                .insert(key.clone(), value.to_string());
        }
    }
    Ok(())
}

/// A key per row that is equal for rows with the same mixture.
fn mixture_keys(ds: &Dataset) -> Vec<String> {
    (0..ds.rows()).map(|r| format!("{:?}", ds.row(r))).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
