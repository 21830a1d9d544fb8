//! One module per command, each a short `run` that reads its arguments, calls the core and
//! writes what it gives; helpers shared by several commands live here.

mod design;
mod evaluate;
mod fit_material;
mod link;
mod map;
mod neighbours;
mod predict;
mod project;
mod score;
mod suggest;
mod synthetic;
mod train;

use std::collections::BTreeMap;
use std::path::Path;

use clap::ValueEnum;

use mixlab_core::bundle::{LossKind, TargetKind};
use mixlab_core::data::{Dataset, WideSpec, read_dataset};
use mixlab_core::descriptors::DescriptorTable;
use mixlab_core::train::{CodeDescriptors, TrainConfig};
use mixlab_core::train_setup::TrainOptions;
use mixlab_core::{Bundle, Device};

use crate::args::{BackendOpt, Command, DataOpts, LossOpt, ModelOpts};
use crate::error::{CliError, file_error, io_error, read_bytes};

/// A mapping file checked against `manifest`.
pub(crate) fn read_mapping(
    path: &Path,
    manifest: &mixlab_core::Manifest,
) -> Result<mixlab_core::mapping::Mapping, CliError> {
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    mixlab_core::mapping::Mapping::from_json(&text, manifest)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

pub fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Train(a) => train::run(a),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Score(a) => score::run(a),
        Command::FitMaterial(a) => fit_material::run(a),
        Command::Synthetic(a) => synthetic::run(a),
        Command::Project(a) => project::run(a),
        Command::Neighbours(a) => neighbours::run(a),
        Command::Link(a) => link::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Design(a) => design::run(a),
        Command::Suggest(a) => suggest::run(a),
        Command::Map(a) => map::run(a),
    }
}

fn read_bundle(dir: &Path) -> Result<Bundle, CliError> {
    Ok(Bundle::read_dir(dir)?)
}

fn write_bundle(bundle: &Bundle, out: &Path) -> Result<(), CliError> {
    bundle.write_to_dir(out).map_err(io_error(out))
}

/// Read the dataset the data options name (wide or long, any dialect the core reads); returns
/// it with the file's bytes (for the bundle's fingerprint of the data).
fn load(opts: &DataOpts) -> Result<(Dataset, Vec<u8>), CliError> {
    let bytes = read_bytes(&opts.data)?;
    let mut spec = WideSpec {
        id_column: None,
        targets: opts.targets.clone(),
        conditions: opts.conditions.iter().map(|c| c.name.clone()).collect(),
        drop: opts.drop.clone(),
        rename: Vec::new(),
    };
    if let Some(path) = &opts.mapping {
        let text = std::fs::read_to_string(path).map_err(io_error(path))?;
        let mapping = mixlab_core::mapping::Mapping::parse(&text)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        spec = spec.with_mapping(&mapping);
    }
    let props = opts.properties.as_deref().map(read_bytes).transpose()?;
    let mut props = props.as_deref();
    let ds = read_dataset(
        bytes.as_slice(),
        props.as_mut().map(|p| p as &mut dyn std::io::Read),
        &spec,
    )
    .map_err(file_error(&opts.data))?;
    ds.check_log_conditions(&log_conditions(opts))?;
    eprintln!(
        "{}: {} rows, {} materials, {} conditions, {} targets",
        opts.data.display(),
        ds.rows(),
        ds.materials.len(),
        ds.conditions.len(),
        ds.targets.len()
    );
    Ok((ds, bytes))
}

/// The conditions the data options mark `:log10`.
fn log_conditions(opts: &DataOpts) -> Vec<String> {
    (opts.conditions.iter())
        .filter(|c| c.log10)
        .map(|c| c.name.clone())
        .collect()
}

impl ModelOpts {
    /// The training configuration for `data` (epochs become steps), checked by the same rules
    /// as the app's training page.
    fn config(&self, data: &DataOpts, ds: &Dataset) -> Result<TrainConfig, CliError> {
        let rows = ds.rows();
        let steps = match self.epochs {
            Some(e) => (e * rows).div_ceil(self.batch_size.max(1)).max(1),
            None => self.steps,
        };
        let options = TrainOptions {
            code_dim: self.code_dim,
            code_activation: self.code_activation.into(),
            hidden: self.hidden.clone(),
            hidden_activation: self.hidden_activation.into(),
            steps,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            seed: self.seed,
            validation_fraction: self.validation_fraction,
            weight_decay: self.weight_decay,
            early_stopping: self.early_stopping,
            residual: self.residual,
            dose_scale: self.dose_scale,
            log_dose: self.log_dose,
            loss: self.loss.into(),
            dropout: self.dropout,
            members: self.members,
            schedule: self.schedule.into(),
            snapshots: 0,
            // A file is read below; the options only name built-in tables.
            descriptors: None,
            offset_penalty: self.offset_penalty,
            map_penalty: self.map_penalty,
            auto: self.auto,
            auto_metric: self.auto_metric.into(),
            auto_budget: self.auto_budget,
        };
        let cfg = options
            .config(log_conditions(data))
            .map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(TrainConfig {
            device: backend_device(self.backend)?,
            descriptors: self.descriptors(ds)?,
            target_losses: self.target_losses(ds)?,
            ..cfg
        })
    }

    /// `--target-loss NAME=KIND`: regression targets of the data only.
    fn target_losses(&self, ds: &Dataset) -> Result<BTreeMap<String, LossKind>, CliError> {
        let mut out = BTreeMap::new();
        for item in &self.target_loss {
            let bad = |why: String| CliError::Usage(format!("--target-loss {item}: {why}"));
            let (name, kind) = item
                .split_once('=')
                .ok_or_else(|| bad("write NAME=mse|l1|huber".into()))?;
            // The same names as --loss takes.
            let kind: LossKind = <LossOpt as ValueEnum>::from_str(kind.trim(), true)
                .map_err(|_| bad(format!("{:?} is not mse, l1 or huber", kind.trim())))?
                .into();
            let name = name.trim();
            match ds.targets.iter().find(|t| t.name == name) {
                Some(t) if t.kind == TargetKind::Regression => {
                    out.insert(name.to_string(), kind);
                }
                Some(_) => return Err(bad(format!("{name:?} is binary; its loss is fixed"))),
                None => {
                    let names: Vec<&str> = ds.targets.iter().map(|t| t.name.as_str()).collect();
                    return Err(bad(format!(
                        "{name:?} is not a target (the targets: {})",
                        names.join(", ")
                    )));
                }
            }
        }
        Ok(out)
    }

    /// `--descriptors`: the built-in table or a file, checked against the data's materials.
    fn descriptors(&self, ds: &Dataset) -> Result<Option<CodeDescriptors>, CliError> {
        let Some(name) = &self.descriptors else {
            return Ok(None);
        };
        let table = if Path::new(name).is_file() {
            DescriptorTable::parse(name, read_bytes(Path::new(name))?.as_slice())
        } else {
            DescriptorTable::builtin(name)
        }
        .map_err(|e| CliError::Usage(format!("--descriptors {name}: {e}")))?;
        table
            .matrix(&ds.materials)
            .map_err(|e| CliError::Usage(format!("--descriptors {name}: {e}")))?;
        Ok(Some(CodeDescriptors {
            table,
            offset_penalty: self.offset_penalty,
            map_penalty: self.map_penalty,
        }))
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
