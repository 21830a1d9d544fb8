//! `mixlab`: train and use Mixlab models natively.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use mixlab_core::bundle::{CodeActivation, HiddenActivation, TargetKind, Transform};
use mixlab_core::data::{TargetSpec, WideSpec, read_wide};
use mixlab_core::model::{Batch, MixModel};
use mixlab_core::train::{TrainConfig, train};
use mixlab_core::{Bundle, Device};
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
enum HiddenAct {
    Relu,
    Gelu,
    Silu,
    Tanh,
}

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Train a model on a wide formulation CSV and write a bundle directory.
    Train {
        /// Wide CSV: id, one column per material, condition and target columns.
        #[arg(long)]
        data: PathBuf,
        /// Target columns as NAME[:regression|:log10|:binary], comma separated.
        #[arg(long, value_delimiter = ',', required = true)]
        targets: Vec<String>,
        /// Condition columns (process inputs such as age), comma separated.
        #[arg(long, value_delimiter = ',')]
        conditions: Vec<String>,
        /// Columns to ignore, comma separated.
        #[arg(long, value_delimiter = ',')]
        drop: Vec<String>,
        /// Output bundle directory.
        #[arg(long)]
        out: PathBuf,
        /// Bundle name shown in the app.
        #[arg(long, default_value = "model")]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
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
        #[arg(long, default_value_t = 64)]
        batch_size: usize,
        #[arg(long, default_value_t = 3e-3)]
        learning_rate: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Share of rows held out for the validation figures in the manifest.
        #[arg(long, default_value_t = 0.1)]
        validation_fraction: f64,
        /// JSON file merged into the manifest's dataset info (name, source, licence...).
        #[arg(long)]
        dataset_info: Option<PathBuf>,
    },
    /// Predict the bundle's default formulation (or check a bundle) and print JSON.
    Predict {
        /// Bundle directory (manifest.json + weights.safetensors).
        #[arg(long)]
        bundle: PathBuf,
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
    Usage(String),
}

fn read_text(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Io {
        path: path.display().to_string(),
        source,
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
            targets,
            conditions,
            drop,
            out,
            name,
            description,
            code_dim,
            code_activation,
            hidden,
            hidden_activation,
            steps,
            batch_size,
            learning_rate,
            seed,
            validation_fraction,
            dataset_info,
        } => {
            let text = read_text(&data)?;
            let spec = WideSpec {
                id_column: None,
                targets: targets
                    .iter()
                    .map(|t| parse_target(t))
                    .collect::<Result<_, _>>()?,
                conditions,
                drop,
            };
            let ds = read_wide(&text, &spec)?;
            eprintln!(
                "{}: {} rows, {} materials, {} conditions, {} targets",
                data.display(),
                ds.rows(),
                ds.materials.len(),
                ds.conditions.len(),
                ds.targets.len()
            );
            let cfg = TrainConfig {
                code_dim,
                code_activation: match code_activation {
                    CodeAct::Tanh => CodeActivation::Tanh,
                    CodeAct::Sigmoid => CodeActivation::Sigmoid,
                    CodeAct::Identity => CodeActivation::Identity,
                },
                hidden,
                hidden_activation: match hidden_activation {
                    HiddenAct::Relu => HiddenActivation::Relu,
                    HiddenAct::Gelu => HiddenActivation::Gelu,
                    HiddenAct::Silu => HiddenActivation::Silu,
                    HiddenAct::Tanh => HiddenActivation::Tanh,
                },
                steps,
                batch_size,
                learning_rate,
                seed,
                validation_fraction,
            };
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
            bundle.manifest.dataset.file = data
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
            bundle.write_to_dir(&out).map_err(|source| CliError::Io {
                path: out.display().to_string(),
                source,
            })?;
            for (k, v) in &bundle.manifest.metrics {
                eprintln!("{k}: {}", v["value"]);
            }
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        Command::Predict { bundle } => {
            let bundle = Bundle::read_dir(&bundle)?;
            let model = MixModel::new(&bundle, &Device::flex());
            let batch = Batch::default_of(&bundle.manifest);
            let pred = model.predict(&batch)?;
            let targets: serde_json::Map<String, serde_json::Value> = bundle
                .manifest
                .targets
                .iter()
                .zip(pred.row(0))
                .map(|(t, v)| (t.name.clone(), serde_json::json!(v)))
                .collect();
            println!("{}", serde_json::json!({ "predictions": targets }));
            Ok(())
        }
    }
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
