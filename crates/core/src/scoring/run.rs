//! The scoring pass: the user's decisions applied to every row, rows gathered into batches for
//! the model, and the output CSV (the input with predictions appended) written as it goes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::check::{IssueKind, Plan, read_wide_row, sums_to_whole};
use super::{Format, ScoreError};
use crate::bundle::{Manifest, TargetKind};
use crate::domain::Domain;
use crate::metrics;
use crate::model::{Batch, Prediction};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownChoice {
    /// Drop the unknown materials and renormalise the rest to 100 %.
    #[default]
    Drop,
    Skip,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SumChoice {
    #[default]
    Normalise,
    Skip,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateChoice {
    /// Score every row, repeats included.
    #[default]
    Keep,
    /// Score the first row of an id only.
    Skip,
}

/// What the user chose for the issues the report raised.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Decisions {
    pub unknown: UnknownChoice,
    pub off_sum: SumChoice,
    pub duplicates: DuplicateChoice,
    /// Values for the conditions the file lacks, by name.
    pub fill: Vec<(String, f64)>,
}

/// A target's agreement with the true values in the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetMetrics {
    pub target: String,
    pub n: usize,
    pub mae: f64,
    pub rmse: f64,
    /// `None` when the true values are all equal.
    pub r2: Option<f64>,
    /// For binary targets with both classes present.
    pub roc_auc: Option<f64>,
}

/// Per scored formulation, in file order: what the results view shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Target columns (as in the output file) and what people read for them.
    pub targets: Vec<String>,
    #[serde(default)]
    pub titles: Vec<String>,
    pub units: Vec<String>,
    pub binary: Vec<bool>,
    pub ids: Vec<String>,
    /// The formulation's (first) row in the file.
    pub rows: Vec<usize>,
    /// `values[t][i]`: target `t` of formulation `i`; `spread` likewise (0 for one model).
    pub values: Vec<Vec<f64>>,
    pub spread: Vec<Vec<f64>>,
    /// The first way a formulation leaves the training domain, if it does.
    pub domain: Vec<Option<String>>,
    /// True values from the file: `truth[j]` is of target `truth_targets[j]`.
    pub truth: Vec<Vec<Option<f64>>>,
    pub truth_targets: Vec<usize>,
    pub metrics: Vec<TargetMetrics>,
    pub skipped: usize,
}

/// One formulation ready for the model.
struct Scored {
    id: String,
    row: usize,
    fractions: Vec<(usize, f64)>,
    conditions: Vec<f64>,
    truth: Vec<Option<f64>>,
}

/// An output row waiting for its batch's predictions.
struct Pending {
    fields: Vec<Vec<u8>>,
    outcome: Result<Scored, String>,
}

/// The scoring pass. Feed it records (wide) or let it walk the gathered formulations (long);
/// whenever [`Run::full`] says so, predict [`Run::batch`] and hand the result to
/// [`Run::absorb`]; output CSV bytes accumulate for [`Run::take_output`].
pub struct Run<'p> {
    plan: &'p Plan,
    manifest: &'p Manifest,
    decisions: Decisions,
    fill: Vec<Option<f64>>,
    domain: Domain,
    seen: HashMap<String, usize>,
    pending: Vec<Pending>,
    scored_pending: usize,
    batch_rows: usize,
    out: csv::Writer<Vec<u8>>,
    results: Results,
    spread: bool,
}

/// Rows per model call: enough to amortise a call (a GPU readback), few enough that the
/// ensemble's activations (`[members, rows, hidden]`, several alive at once) stay in tens of MB:
/// 65,536-row batches took the worker's wasm memory to ~600 MB on a 60-material file.
pub fn batch_rows(materials: usize) -> usize {
    ((1 << 20) / materials.max(1)).clamp(256, 8192)
}

impl<'p> Run<'p> {
    pub fn new(
        plan: &'p Plan,
        manifest: &'p Manifest,
        decisions: Decisions,
    ) -> Result<Self, ScoreError> {
        let fill = manifest
            .conditions
            .iter()
            .map(|c| decisions.fill.iter().find(|f| f.0 == c.name).map(|f| f.1))
            .collect::<Vec<_>>();
        for (k, c) in plan.layout.condition_cols.iter().enumerate() {
            if c.is_none() && fill[k].is_none() {
                return Err(ScoreError::MissingCondition(
                    manifest.conditions[k].name.clone(),
                ));
            }
        }
        let spread = manifest.architecture.members > 1;
        let mut out = writer(plan.dialect.delimiter);
        let mut head: Vec<String> = match plan.layout.format {
            Format::Wide => plan.layout.header.clone(),
            Format::Long => std::iter::once(crate::data::LONG_ID.to_string())
                .chain(manifest.conditions.iter().map(|c| c.name.clone()))
                .chain(plan.report.truth.iter().cloned())
                .collect(),
        };
        head.extend(
            manifest
                .targets
                .iter()
                .map(|t| format!("{}_predicted", t.name)),
        );
        if spread {
            head.extend(
                manifest
                    .targets
                    .iter()
                    .map(|t| format!("{}_spread", t.name)),
            );
        }
        head.extend(["in_domain", "domain_note", "status"].map(String::from));
        let head = head
            .iter()
            .map(|h| crate::spreadsheet::neutralise_str(h).into_owned());
        out.write_record(head)
            .map_err(|e| ScoreError::Io(e.to_string()))?;
        let truth_targets: Vec<usize> = (0..manifest.targets.len())
            .filter(|&t| plan.report.truth.contains(&manifest.targets[t].name))
            .collect();
        let t = manifest.targets.len();
        Ok(Run {
            plan,
            manifest,
            decisions,
            fill,
            domain: Domain::new(manifest),
            seen: HashMap::new(),
            pending: Vec::new(),
            scored_pending: 0,
            batch_rows: batch_rows(manifest.materials.len()),
            out,
            results: Results {
                targets: manifest.targets.iter().map(|t| t.name.clone()).collect(),
                titles: manifest
                    .targets
                    .iter()
                    .map(|t| t.title().to_string())
                    .collect(),
                units: manifest.targets.iter().map(|t| t.unit.clone()).collect(),
                binary: manifest
                    .targets
                    .iter()
                    .map(|t| t.kind == TargetKind::Binary)
                    .collect(),
                values: vec![Vec::new(); t],
                spread: vec![Vec::new(); t],
                truth: vec![Vec::new(); truth_targets.len()],
                truth_targets,
                ..Results::default()
            },
            spread,
        })
    }

    /// Whether a batch is due.
    pub fn full(&self) -> bool {
        self.scored_pending >= self.batch_rows
    }

    /// Formulations (wide: rows) handled so far, scored or skipped.
    pub fn done(&self) -> usize {
        self.results.ids.len() + self.results.skipped + self.pending.len()
    }

    /// Apply the decisions to a wide file's record at spreadsheet row `row`.
    pub fn push_record(&mut self, record: &csv::ByteRecord, row: usize) {
        let plan = self.plan;
        let layout = &plan.layout;
        let r = read_wide_row(layout, &plan.dialect, record, row);
        let outcome = (|| {
            if let Some((kind, issue)) = r.fatal.first() {
                return Err(skip_reason(*kind, &issue.problem, issue.column));
            }
            let unknown = r.unknown_sum(layout);
            let known = r.known_sum();
            self.judge(unknown, known, &r.id, row)?;
            let conditions = self.conditions(|k| r.conditions[k]);
            Ok(Scored {
                id: r.id.clone(),
                row,
                fractions: r.amounts.iter().map(|&(k, v)| (k, v / known)).collect(),
                conditions,
                truth: self.truth_of(|k| r.truth[k]),
            })
        })();
        let mut fields: Vec<Vec<u8>> = record.iter().map(<[u8]>::to_vec).collect();
        fields.resize_with(fields.len().max(layout.header.len()), Vec::new);
        self.queue(fields, outcome);
    }

    /// Apply the decisions to formulation `f` of a long file.
    pub fn push_formulation(&mut self, f: usize) {
        let plan = self.plan;
        let lf = &plan.long[f];
        let outcome = (|| {
            if let Some((kind, issue)) = &lf.fatal {
                return Err(skip_reason(*kind, &issue.problem, issue.column));
            }
            let unknown: f64 = lf.unknown.iter().map(|a| a.1).sum();
            let known: f64 = lf.amounts.iter().map(|a| a.1).sum();
            self.judge(unknown, known, &lf.id, lf.first_row)?;
            // A material listed twice in one formulation has its amounts summed.
            let mut fractions: Vec<(usize, f64)> = Vec::with_capacity(lf.amounts.len());
            for &(k, v) in &lf.amounts {
                match fractions.iter_mut().find(|a| a.0 == k) {
                    Some(a) => a.1 += v / known,
                    None => fractions.push((k, v / known)),
                }
            }
            Ok(Scored {
                id: lf.id.clone(),
                row: lf.first_row,
                fractions,
                conditions: self.conditions(|k| lf.conditions[k].map(|c| c.0)),
                truth: self.truth_of(|k| lf.truth[k].map(|c| c.0)),
            })
        })();
        let number = |v: Option<f64>| v.map(|v| self.number(v)).unwrap_or_default().into_bytes();
        let mut fields = vec![lf.id.clone().into_bytes()];
        fields.extend(
            (0..self.manifest.conditions.len())
                .map(|k| number(lf.conditions[k].map(|c| c.0).or(self.fill[k]))),
        );
        for &k in &self.results.truth_targets {
            fields.push(number(lf.truth[k].map(|c| c.0)));
        }
        self.queue(fields, outcome);
    }

    /// Formulations of a long file (after the first pass).
    pub fn formulations(&self) -> usize {
        self.plan.long.len()
    }

    /// The unknown-material, sum and duplicate decisions for one formulation.
    fn judge(&mut self, unknown: f64, known: f64, id: &str, row: usize) -> Result<(), String> {
        if unknown > 0.0 && self.decisions.unknown == UnknownChoice::Skip {
            return Err("skipped: has a material the model does not know".into());
        }
        if known <= 0.0 {
            return Err("skipped: no material the model knows has an amount".into());
        }
        if !sums_to_whole(known + unknown) && self.decisions.off_sum == SumChoice::Skip {
            return Err("skipped: the amounts do not sum to 1 or 100".into());
        }
        if self.plan.layout.format == Format::Wide && self.plan.layout.id.is_some() {
            if let Some(&first) = self.seen.get(id) {
                if self.decisions.duplicates == DuplicateChoice::Skip {
                    return Err(format!("skipped: repeats the id of row {first}"));
                }
            } else {
                self.seen.insert(id.to_string(), row);
            }
        }
        Ok(())
    }

    fn conditions(&self, given: impl Fn(usize) -> Option<f64>) -> Vec<f64> {
        (0..self.manifest.conditions.len())
            .map(|k| given(k).or(self.fill[k]).unwrap_or(f64::NAN))
            .collect()
    }

    fn truth_of(&self, given: impl Fn(usize) -> Option<f64>) -> Vec<Option<f64>> {
        self.results
            .truth_targets
            .iter()
            .map(|&k| given(k))
            .collect()
    }

    fn queue(&mut self, fields: Vec<Vec<u8>>, outcome: Result<Scored, String>) {
        self.scored_pending += usize::from(outcome.is_ok());
        self.pending.push(Pending { fields, outcome });
    }

    /// The model's input for the formulations waiting; `None` when none is waiting.
    pub fn batch(&self) -> Option<Batch> {
        if self.scored_pending == 0 {
            return None;
        }
        let (n, c) = (
            self.manifest.materials.len(),
            self.manifest.conditions.len(),
        );
        let mut batch = Batch {
            rows: self.scored_pending,
            fractions: vec![0.0; self.scored_pending * n],
            conditions: Vec::with_capacity(self.scored_pending * c),
        };
        for (i, s) in self
            .pending
            .iter()
            .filter_map(|p| p.outcome.as_ref().ok())
            .enumerate()
        {
            for &(k, v) in &s.fractions {
                batch.fractions[i * n + k] = v as f32;
            }
            batch
                .conditions
                .extend(s.conditions.iter().map(|&v| v as f32));
        }
        Some(batch)
    }

    /// Write the waiting rows with `prediction` (of [`Run::batch`]; `None` when it was `None`).
    pub fn absorb(&mut self, prediction: Option<&Prediction>) -> Result<(), ScoreError> {
        let targets = self.manifest.targets.len();
        let mut i = 0;
        for p in std::mem::take(&mut self.pending) {
            let mut fields = p.fields;
            match p.outcome {
                Ok(s) => {
                    let pred = prediction
                        .ok_or_else(|| ScoreError::Io("no prediction for a batch".into()))?;
                    let (values, spread) = (pred.row(i), pred.spread_row(i));
                    i += 1;
                    let note = self
                        .domain
                        .first_outside(self.manifest, &s.fractions, &s.conditions)
                        .map(|w| w.to_string());
                    fields.extend(values.iter().map(|&v| self.number(v).into_bytes()));
                    if self.spread {
                        fields.extend(spread.iter().map(|&v| self.number(v).into_bytes()));
                    }
                    fields.push(if note.is_some() {
                        b"no".to_vec()
                    } else {
                        b"yes".to_vec()
                    });
                    fields.push(note.clone().unwrap_or_default().into_bytes());
                    fields.push(b"scored".to_vec());
                    let r = &mut self.results;
                    for t in 0..targets {
                        r.values[t].push(values[t]);
                        r.spread[t].push(spread[t]);
                    }
                    for (t, v) in s.truth.into_iter().enumerate() {
                        r.truth[t].push(v);
                    }
                    r.ids.push(s.id);
                    r.rows.push(s.row);
                    r.domain.push(note);
                }
                Err(reason) => {
                    let blanks = targets * if self.spread { 2 } else { 1 } + 2;
                    fields.extend(std::iter::repeat_n(Vec::new(), blanks));
                    fields.push(reason.into_bytes());
                    self.results.skipped += 1;
                }
            }
            // Echoed cells, ids and notes may come from anyone's file: no formulas out.
            self.out
                .write_record(fields.iter().map(|f| crate::spreadsheet::neutralise(f)))
                .map_err(|e| ScoreError::Io(e.to_string()))?;
        }
        self.scored_pending = 0;
        Ok(())
    }

    /// The output CSV written since the last call.
    pub fn take_output(&mut self) -> Result<Vec<u8>, ScoreError> {
        let done = std::mem::replace(&mut self.out, writer(self.plan.dialect.delimiter));
        done.into_inner().map_err(|e| ScoreError::Io(e.to_string()))
    }

    /// The results, with metrics for the targets whose truth the file holds.
    pub fn finish(mut self) -> Result<(Results, Vec<u8>), ScoreError> {
        if !self.pending.is_empty() {
            return Err(ScoreError::Io(
                "rows are still waiting for predictions".into(),
            ));
        }
        let rest = self.take_output()?;
        let r = &mut self.results;
        for (j, &t) in r.truth_targets.iter().enumerate() {
            let pairs: Vec<(f64, f64)> = (r.values[t].iter().zip(&r.truth[j]))
                .filter_map(|(&p, y)| y.map(|y| (p, y)))
                .collect();
            if pairs.is_empty() {
                continue;
            }
            r.metrics.push(TargetMetrics {
                target: r.targets[t].clone(),
                n: pairs.len(),
                mae: metrics::mae(&pairs),
                rmse: metrics::rmse(&pairs),
                r2: Some(metrics::r2(&pairs)).filter(|v| v.is_finite()),
                roc_auc: Some(metrics::roc_auc(&pairs)).filter(|v| r.binary[t] && v.is_finite()),
            });
        }
        Ok((self.results, rest))
    }

    /// A number as the input writes them (decimal comma when it uses one).
    fn number(&self, v: f64) -> String {
        let s = v.to_string();
        if self.plan.dialect.decimal_comma {
            s.replace('.', ",")
        } else {
            s
        }
    }
}

fn writer(delimiter: u8) -> csv::Writer<Vec<u8>> {
    // Flexible: a row with too many cells keeps them all (short ones are padded).
    csv::WriterBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_writer(Vec::new())
}

fn skip_reason(kind: IssueKind, problem: &str, column: Option<usize>) -> String {
    let at = column.map(|c| format!(" (column {c})")).unwrap_or_default();
    format!("skipped: {}{at}: {problem}", kind.title().to_lowercase())
}
