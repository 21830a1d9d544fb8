use mixlab_core::design::{self, DesignError, DesignSpec, Goal};
use mixlab_core::host_model::HostModel;

use super::read_bundle;
use crate::args::SuggestArgs;
use crate::error::{CliError, io_error, read_bytes};

pub fn run(a: SuggestArgs) -> Result<(), CliError> {
    let bundle = read_bundle(&a.bundle.bundle)?;
    let m = &bundle.manifest;
    let mut spec = match &a.spec {
        Some(path) => {
            let text = String::from_utf8(read_bytes(path)?)
                .map_err(|_| CliError::Usage(format!("{}: not UTF-8 text", path.display())))?;
            DesignSpec::from_json(&text).map_err(|e| {
                CliError::Design(DesignError::Spec(format!("{}: {e}", path.display())))
            })?
        }
        None => DesignSpec {
            goals: m
                .targets
                .iter()
                .map(|t| Goal::Maximize {
                    target: t.name.clone(),
                    low: None,
                    high: None,
                    weight: 1.0,
                })
                .collect(),
            ..DesignSpec::from_json("{}").unwrap_or_default()
        },
    };
    if let Some(seed) = a.seed {
        spec.seed = seed;
    }
    let mapping = match &a.mapping {
        Some(path) => Some(super::read_mapping(path, m)?),
        None => None,
    };
    let bytes = read_bytes(&a.measured)?;
    let measured = design::read_measured(&bytes, m, mapping.as_ref()).map_err(|e| {
        CliError::Design(DesignError::Spec(format!("{}: {e}", a.measured.display())))
    })?;
    let model = HostModel::new(&bundle);
    let (problem, best, found) = design::suggest(&spec, m, &model, &measured, a.n)?;
    let csv = design::suggestions_csv(m, &problem, &found);
    match &a.out {
        Some(path) => std::fs::write(path, csv).map_err(io_error(path))?,
        None => print!("{csv}"),
    }
    let exploit = found
        .iter()
        .filter(|s| s.reason == design::Reason::Exploit)
        .count();
    eprintln!(
        "{} measured recipes (best desirability {best:.4}); {} suggested: {exploit} exploit, {} explore",
        measured.len(),
        found.len(),
        found.len() - exploit
    );
    Ok(())
}
