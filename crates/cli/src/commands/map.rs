use std::io::BufReader;

use mixlab_core::mapping::{How, mapping_of};
use mixlab_core::scoring;

use super::read_bundle;
use crate::args::MapArgs;
use crate::error::{CliError, io_error};

pub fn run(a: MapArgs) -> Result<(), CliError> {
    let bundle = read_bundle(&a.bundle.bundle)?;
    let start = match &a.mapping {
        Some(path) => Some(super::read_mapping(path, &bundle.manifest)?),
        None => None,
    };
    let file = std::fs::File::open(&a.data).map_err(io_error(&a.data))?;
    let plan = scoring::check(
        &bundle.manifest,
        BufReader::new(file),
        &[],
        start.as_ref(),
        |_| {},
    )?;
    let columns = &plan.report.columns;
    if columns.is_empty() {
        return Err(CliError::Usage(
            "a long file (formulation_id, material, amount) names materials in its rows: \
             it has no columns to map"
                .into(),
        ));
    }
    for (i, c) in columns.iter().enumerate() {
        let role = c.role.as_ref().map_or("unknown".into(), |r| r.describe());
        let how = match c.how {
            How::Exact => "exact name",
            How::Recognised => "recognised",
            How::Mapped => "from the mapping",
            How::Unnamed => "unnamed column",
            How::Unknown => "not the model's",
        };
        let best: Vec<String> = (c.suggestions.iter().take(3))
            .map(|s| format!("{} {:.2} ({})", s.role.describe(), s.score, s.why))
            .collect();
        let also = if c.role.is_none() && !best.is_empty() {
            format!("; suggested: {}", best.join("; "))
        } else {
            String::new()
        };
        eprintln!("column {} {:?}: {role} — {how}{also}", i + 1, c.header);
    }
    let mapping = mapping_of(&bundle.manifest.name, columns, a.take_suggestions);
    let text = mapping.to_json() + "\n";
    match &a.out {
        Some(path) => std::fs::write(path, text).map_err(io_error(path))?,
        None => print!("{text}"),
    }
    Ok(())
}
