use std::time::Instant;

use mixlab_core::design::{self, DesignError, DesignSpec};
use mixlab_core::host_model::HostModel;

use super::read_bundle;
use crate::args::DesignArgs;
use crate::error::{CliError, io_error, read_bytes};
use crate::progress;

pub fn run(a: DesignArgs) -> Result<(), CliError> {
    let bundle = read_bundle(&a.bundle.bundle)?;
    let text = String::from_utf8(read_bytes(&a.spec)?)
        .map_err(|_| CliError::Usage(format!("{}: not UTF-8 text", a.spec.display())))?;
    let mut spec = DesignSpec::from_json(&text)
        .map_err(|e| CliError::Design(DesignError::Spec(format!("{}: {e}", a.spec.display()))))?;
    if let Some(seed) = a.seed {
        spec.seed = seed;
    }
    if let Some(n) = a.candidates {
        spec.candidates = n;
    }
    let model = HostModel::new(&bundle);
    let bar = progress::stages();
    bar.set_length(1000);
    // The peer (bench/design_peers.py) pools the fractions plainly, with its own gradients.
    if a.export_problem.is_some() && bundle.manifest.architecture.log_dose {
        return Err(CliError::Usage(
            "--export-problem: the peer benchmark does not model a log-dose block; export a model trained without --log-dose".into(),
        ));
    }
    let started = Instant::now();
    let (problem, found) = design::run(&spec, &bundle.manifest, &model, |p, stage| {
        bar.set_message(stage.to_string());
        bar.set_position((1000.0 * p) as u64);
    })?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &a.export_problem {
        let peer = design::peer_problem(&problem, &bundle);
        let json = serde_json::to_string(&peer)
            .map_err(|e| CliError::Usage(format!("cannot write the problem: {e}")))?;
        std::fs::write(path, json).map_err(io_error(path))?;
    }
    let csv = design::to_csv(&bundle.manifest, &problem, &found);
    match &a.out {
        Some(path) => std::fs::write(path, csv).map_err(io_error(path))?,
        None => print!("{csv}"),
    }
    eprintln!(
        "{} candidates in {:.2} s; best desirability {:.4}",
        found.len(),
        seconds,
        found.first().map_or(0.0, |c| c.desirability)
    );
    Ok(())
}
