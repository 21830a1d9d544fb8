use mixlab_core::data::{TargetSpec, WideSpec, read_dataset};
use mixlab_core::design::{self, DesignError, DesignSpec, Goal};
use mixlab_core::host_model::HostModel;
use mixlab_core::table::records;

use super::read_bundle;
use crate::args::SuggestArgs;
use crate::error::{CliError, file_error, io_error, read_bytes};

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
    // The measured file's columns: the model's targets and conditions it has.
    let bytes = read_bytes(&a.measured)?;
    let header = records(bytes.as_slice())
        .map_err(|e| file_error(&a.measured)(e.into()))?
        .header;
    let wide = WideSpec {
        id_column: None,
        targets: m
            .targets
            .iter()
            .filter(|t| header.contains(&t.name))
            .map(|t| TargetSpec {
                name: t.name.clone(),
                kind: t.kind,
                transform: t.transform,
            })
            .collect(),
        conditions: m
            .conditions
            .iter()
            .filter(|c| header.contains(&c.name))
            .map(|c| c.name.clone())
            .collect(),
        drop: Vec::new(),
    };
    let ds = read_dataset(bytes.as_slice(), None, &wide).map_err(file_error(&a.measured))?;
    let measured = design::measured_from(&ds, m)?;
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
