use mixlab_core::fit_material::{FitConfig, fit_material};

use super::{load, read_bundle, write_bundle};
use crate::args::FitMaterialArgs;
use crate::error::CliError;
use crate::progress;

pub fn run(a: FitMaterialArgs) -> Result<(), CliError> {
    let base = read_bundle(&a.bundle)?;
    let (ds, _) = load(&a.data)?;
    let cfg = FitConfig {
        steps: a.steps,
        learning_rate: a.learning_rate,
        start_from: a.start_from,
    };
    let bar = progress::steps(a.steps * base.members.len());
    let (grown, report) = fit_material(&base, &a.material, &ds, &cfg, |step, loss| {
        bar.set_position(step as u64);
        bar.set_message(format!("{loss:.4}"));
    })?;
    bar.finish();
    write_bundle(&grown, &a.out)?;
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
    eprintln!("wrote {}", a.out.display());
    Ok(())
}
