//! Scoring a whole CSV file of formulations (wide or long), in two streamed passes: [`check`] reads
//! the file once and reports every row the model could not score as it stands; the user
//! decides ([`Decisions`]); [`Run`] reads it again, scores in batches and writes the input with
//! predictions appended. Neither pass holds the file: both read it as a stream (a long file's
//! formulations are gathered, since their rows may be anywhere).

mod check;
mod run;

use std::io::Read;

use thiserror::Error;

pub use check::{
    Checker, Issue, IssueGroup, IssueKind, LISTED, Layout, MissingCondition, Plan, Report,
    SUM_TOLERANCE, UnknownMaterial, suggestions, sums_to_whole,
};
pub use run::{
    Decisions, DuplicateChoice, Results, Run, SumChoice, TargetMetrics, UnknownChoice, batch_rows,
};

use crate::bundle::Manifest;
pub use crate::data::Format;
use crate::mapping::{Mapping, MappingError};
use crate::table::{ReadError, records};

/// Problems with the file as a whole (a row's problems are [`Issue`]s in the report).
#[derive(Debug, Error, PartialEq)]
pub enum ScoreError {
    /// The file could not be read as a table (encoding, header, no rows...).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing the output or finishing the run failed.
    #[error("the file cannot be read: {0}")]
    Io(String),
    #[error("condition {0:?} is not in the file and no value was given for it")]
    MissingCondition(String),
    #[error("the model could not score a batch: {0}")]
    Predict(String),
    #[error(transparent)]
    Mapping(#[from] MappingError),
}

/// The first pass over `input`: the report and the plan for [`Run`]. `carry` names columns
/// to copy through even if they hold numbers; `mapping` gives headers their roles (see
/// [`crate::mapping`]); `progress` is told the rows read so far.
pub fn check(
    manifest: &Manifest,
    input: impl Read,
    carry: &[String],
    mapping: Option<&Mapping>,
    mut progress: impl FnMut(usize),
) -> Result<Plan, ScoreError> {
    let mut records = records(input)?;
    let layout = Layout::new(manifest, records.header.clone(), carry, mapping)?;
    let mut checker = Checker::new(manifest, layout, records.dialect);
    while let Some((row, record)) = records.next_record()? {
        checker.record(record, row);
        if row % 4096 == 0 {
            progress(row - 1);
        }
    }
    if records.data_rows == 0 {
        return Err(ReadError::NoRows.into());
    }
    let mut plan = checker.finish();
    plan.report.notes = records.notes();
    Ok(plan)
}

/// The scoring pass on the native CPU path (blocking readback): `input` is the same file again.
#[cfg(not(target_arch = "wasm32"))]
pub fn score(
    model: &crate::MixModel,
    plan: &Plan,
    input: impl Read,
    decisions: Decisions,
    mut output: impl std::io::Write,
) -> Result<Results, ScoreError> {
    let mut run = Run::new(plan, &model.manifest, decisions)?;
    let io = |e: std::io::Error| ScoreError::Io(e.to_string());
    // Predict the waiting rows and pass their output on.
    let mut step = |run: &mut Run| -> Result<(), ScoreError> {
        let prediction = match run.batch() {
            Some(b) => Some(
                model
                    .predict(&b)
                    .map_err(|e| ScoreError::Predict(e.to_string()))?,
            ),
            None => None,
        };
        run.absorb(prediction.as_ref())?;
        output.write_all(&run.take_output()?).map_err(io)
    };
    match plan.layout.format {
        Format::Wide => {
            let mut records = records(input)?;
            while let Some((row, record)) = records.next_record()? {
                run.push_record(record, row);
                if run.full() {
                    step(&mut run)?;
                }
            }
        }
        Format::Long => {
            for f in 0..run.formulations() {
                run.push_formulation(f);
                if run.full() {
                    step(&mut run)?;
                }
            }
        }
    }
    step(&mut run)?;
    let (results, rest) = run.finish()?;
    output.write_all(&rest).map_err(io)?;
    Ok(results)
}

#[cfg(test)]
mod tests;
