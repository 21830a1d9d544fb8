//! Batch scoring of an uploaded CSV (wide or long), in two streamed passes: [`check`] reads
//! the file once and reports every row the model could not score as it stands; the user
//! decides ([`Decisions`]); [`Run`] reads it again, scores in batches and writes the input with
//! predictions appended. Neither pass holds the file: both read it as a stream (a long file's
//! formulations are gathered, since their rows may be anywhere).

mod check;
mod dialect;
mod run;

use std::io::Read;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use check::{
    Checker, Issue, IssueGroup, IssueKind, LISTED, Layout, MissingCondition, Plan, Report,
    SUM_TOLERANCE, UnknownMaterial, suggestions, sums_to_whole,
};
pub use dialect::{Dialect, encoding_problem, open};
pub use run::{
    Decisions, DuplicateChoice, Results, Run, SumChoice, TargetMetrics, UnknownChoice, batch_rows,
};

use crate::bundle::Manifest;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One row per formulation, a column per material.
    Wide,
    /// `formulation_id, material, amount` rows.
    Long,
}

/// Problems with the file as a whole (a row's problems are [`Issue`]s in the report).
#[derive(Debug, Error, PartialEq)]
pub enum BatchError {
    #[error("the file cannot be read: {0}")]
    Io(String),
    /// Not UTF-8 CSV text (another encoding, binary, a workbook), said with what to do.
    #[error("{0}")]
    NotText(String),
    #[error("the file is empty: it has no header row")]
    NoHeader,
    #[error("the header (row 1) has no column names: the first row must name the columns")]
    BlankHeader,
    #[error("the file has no data rows after its header")]
    NoRows,
    #[error("column {column} ({name:?}) has the same name as column {first}")]
    DuplicateColumn {
        name: String,
        first: usize,
        column: usize,
    },
    #[error("condition {0:?} is not in the file and no value was given for it")]
    MissingCondition(String),
    #[error("the model could not score a batch: {0}")]
    Predict(String),
}

/// A stream of records and its dialect, the header read.
pub struct Records<R: Read> {
    pub dialect: Dialect,
    pub header: Vec<String>,
    reader: csv::Reader<R>,
    record: csv::ByteRecord,
    /// Spreadsheet row of the last record (the header is row 1).
    pub row: usize,
}

impl<R: Read> Records<R> {
    /// The next record and its spreadsheet row, or `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<(usize, &csv::ByteRecord)>, BatchError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {
                self.row += 1;
                // Past the sniffed head, a legacy-encoded name is found here, by row and column.
                if let Some(c) = self
                    .record
                    .iter()
                    .position(|f| std::str::from_utf8(f).is_err())
                {
                    return Err(BatchError::NotText(format!(
                        "row {}, column {}: {}",
                        self.row,
                        c + 1,
                        "the cell is not UTF-8 text: the file is in a legacy encoding such as \
                         CP949 (Korean) or Windows-1252; save it from your spreadsheet as \
                         \"CSV UTF-8\" and upload that"
                    )));
                }
                Ok(Some((self.row, &self.record)))
            }
            Ok(false) => Ok(None),
            Err(e) => Err(BatchError::Io(e.to_string())),
        }
    }
}

/// Open a CSV stream: BOM skipped, dialect sniffed, header read and trimmed.
pub fn records(input: impl Read) -> Result<Records<impl Read>, BatchError> {
    let (dialect, input) = open(input).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => BatchError::NotText(e.to_string()),
        _ => BatchError::Io(e.to_string()),
    })?;
    let mut reader = dialect.reader(input);
    let mut head = csv::ByteRecord::new();
    if !reader
        .read_byte_record(&mut head)
        .map_err(|e| BatchError::Io(e.to_string()))?
    {
        return Err(BatchError::NoHeader);
    }
    let header = head
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    Ok(Records {
        dialect,
        header,
        reader,
        record: csv::ByteRecord::new(),
        row: 1,
    })
}

/// The first pass over `input`: the report and the plan for [`Run`]. `carry` names columns
/// to copy through even if they hold numbers; `progress` is told the rows read so far.
pub fn check(
    manifest: &Manifest,
    input: impl Read,
    carry: &[String],
    mut progress: impl FnMut(usize),
) -> Result<Plan, BatchError> {
    let mut records = records(input)?;
    let layout = Layout::new(manifest, records.header.clone(), carry)?;
    let mut checker = Checker::new(manifest, layout, records.dialect);
    while let Some((row, record)) = records.next_record()? {
        checker.record(record, row);
        if row % 4096 == 0 {
            progress(row - 1);
        }
    }
    if records.row == 1 {
        return Err(BatchError::NoRows);
    }
    Ok(checker.finish())
}

/// The scoring pass on the native CPU path (blocking readback): `input` is the same file again.
#[cfg(not(target_arch = "wasm32"))]
pub fn score(
    model: &crate::MixModel,
    plan: &Plan,
    input: impl Read,
    decisions: Decisions,
    mut output: impl std::io::Write,
) -> Result<Results, BatchError> {
    let mut run = Run::new(plan, &model.manifest, decisions)?;
    let io = |e: std::io::Error| BatchError::Io(e.to_string());
    // Predict the waiting rows and pass their output on.
    let mut step = |run: &mut Run| -> Result<(), BatchError> {
        let prediction = match run.batch() {
            Some(b) => Some(
                model
                    .predict(&b)
                    .map_err(|e| BatchError::Predict(e.to_string()))?,
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
