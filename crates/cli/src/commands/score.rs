use std::io::BufReader;

use mixlab_core::scoring::{self, Decisions, IssueKind, Report};
use mixlab_core::{Device, MixModel};

use super::read_bundle;
use crate::args::ScoreArgs;
use crate::error::{CliError, io_error};

pub fn run(a: ScoreArgs) -> Result<(), CliError> {
    let bundle = read_bundle(&a.bundle.bundle)?;
    let open = || std::fs::File::open(&a.data).map_err(io_error(&a.data));
    let mapping = match &a.mapping {
        Some(path) => Some(super::read_mapping(path, &bundle.manifest)?),
        None => None,
    };
    let plan = scoring::check(
        &bundle.manifest,
        BufReader::new(open()?),
        &a.carry,
        mapping.as_ref(),
        |_| {},
    )?;
    for note in &plan.report.notes {
        eprintln!("note: {note}");
    }
    for c in (plan.report.columns.iter()).filter(|c| c.how == mixlab_core::mapping::How::Recognised)
    {
        if let Some(role) = &c.role {
            eprintln!("note: column {:?} read as {}", c.header, role.describe());
        }
    }
    let decisions = decisions(&plan.report, &a)?;
    let model = MixModel::new(&bundle, &Device::flex());
    let input = BufReader::new(open()?);
    let results = match &a.out {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(io_error(path))?;
            scoring::score(
                &model,
                &plan,
                input,
                decisions,
                std::io::BufWriter::new(file),
            )?
        }
        None => scoring::score(&model, &plan, input, decisions, std::io::stdout().lock())?,
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

/// The decisions for a checked file from the flags; a problem without a flag is an error that
/// lists the first rows and names the flag.
fn decisions(report: &Report, a: &ScoreArgs) -> Result<Decisions, CliError> {
    let mut problems = Vec::new();
    for g in &report.groups {
        let flag = match g.kind {
            IssueKind::UnknownMaterial if a.unknown.is_none() => "--unknown drop|skip",
            IssueKind::OffSum if a.off_sum.is_none() => "--off-sum normalise|skip",
            IssueKind::DuplicateId if a.duplicates.is_none() => "--duplicates keep|skip",
            k if !k.decided() && !a.skip_invalid => "--skip-invalid",
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
    for m in &report.missing_conditions {
        if !a.fill.iter().any(|f| f.name == m.name) {
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
    Ok(Decisions {
        unknown: a.unknown.map_or(scoring::UnknownChoice::Drop, Into::into),
        off_sum: a.off_sum.map_or(scoring::SumChoice::Normalise, Into::into),
        duplicates: a
            .duplicates
            .map_or(scoring::DuplicateChoice::Keep, Into::into),
        fill: a.fill.iter().map(|f| (f.name.clone(), f.value)).collect(),
    })
}
