use mixlab_core::data::sha256_hex;
use mixlab_core::describe::{DatasetNotes, add_material_metadata, describe_dataset};
use std::time::Instant;

use mixlab_core::auto::choose;
use mixlab_core::train::{log_spaced_steps, train};

use super::{load, write_bundle};
use crate::args::{BackendOpt, TrainArgs};
use crate::error::{CliError, file_error, read_bytes};
use crate::progress;

pub fn run(a: TrainArgs) -> Result<(), CliError> {
    let (ds, bytes) = load(&a.data)?;
    ds.check_trainable().map_err(file_error(&a.data.data))?;
    let mut cfg = a.model.config(&a.data, &ds)?;
    let auto = a.model.auto.then(|| {
        let bar = progress::stages();
        let started = Instant::now();
        let rows: Vec<usize> = (0..ds.rows()).collect();
        let (chosen, report) = choose(
            &ds,
            &rows,
            &cfg,
            a.model.auto_metric.into(),
            a.model.auto_budget,
            || started.elapsed().as_secs_f64(),
            |p| {
                bar.set_message(format!(
                    "choosing {}/{}: {}",
                    p.trial + 1,
                    p.total,
                    p.change
                ));
                bar.set_length(p.steps as u64);
                bar.set_position(p.step as u64);
            },
        );
        bar.finish_and_clear();
        eprintln!(
            "--auto chose {} in {:.0} s ({} candidates, scored on {} of the rows)",
            report.chosen.join(" "),
            report.seconds,
            report.trials.len(),
            report.inner
        );
        cfg = chosen;
        report
    });
    cfg.snapshot_steps = log_spaced_steps(cfg.steps, a.snapshots);
    let bar = progress::steps(cfg.steps * cfg.members);
    let (mut bundle, _report) = train(&ds, &cfg, |tick| {
        bar.set_position(tick.step as u64);
        bar.set_message(format!("{:.4}", tick.loss));
    });
    bar.finish();
    let m = &mut bundle.manifest;
    if let Some(report) = &auto {
        report.record(m);
    }
    m.name = a.name;
    m.description = a.description;
    // Recorded only off the CPU, so CPU bundles stay byte-identical across versions.
    if a.model.backend == BackendOpt::Wgpu {
        m.training
            .insert("backend".into(), serde_json::json!("wgpu"));
    }
    let file = (a.data.data.file_name())
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    describe_dataset(m, &file, ds.rows(), sha256_hex(&bytes));
    if let Some(path) = &a.dataset_info {
        let text = String::from_utf8_lossy(&read_bytes(path)?).into_owned();
        DatasetNotes::from_json(&text)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?
            .apply(m);
    }
    if let Some(path) = &a.materials_info {
        let skipped =
            add_material_metadata(m, read_bytes(path)?.as_slice()).map_err(file_error(path))?;
        for name in skipped {
            eprintln!(
                "{}: {name:?} is not a material of this data; skipped",
                path.display()
            );
        }
    }
    write_bundle(&bundle, &a.out)?;
    for (k, v) in &bundle.manifest.metrics {
        eprintln!("{k}: {}", v["value"]);
    }
    eprintln!("wrote {}", a.out.display());
    Ok(())
}
