//! Wide formulation CSVs: `id`, one column per material, condition columns, target columns.
//! Which columns are conditions and targets is said by a [`WideSpec`]; every other column
//! (except the id and those dropped) is a material.

use std::io::Read;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::bundle::{TargetKind, Transform};
use crate::model::Batch;
use crate::table::number::boolean;
use crate::table::{ReadError, Records, records};

mod folds;
pub mod profile;
mod spec;
mod write;

pub use folds::{read_folds, read_test_ids};
pub use spec::{ConditionSpec, SpecError, TargetSpec};
pub use write::{Sha256Hex, sha256_hex, write_csv};

#[derive(Debug, Error, PartialEq)]
pub enum DataError {
    /// The file as a whole (encoding, header, width of a row...), in the words every reader uses.
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("row {row}, column {column} ({name:?}): {problem}")]
    Cell {
        row: usize,
        column: usize,
        name: String,
        problem: String,
    },
    #[error(
        "a separate table of conditions and targets goes with a long file (formulation_id, \
         material, amount columns); this file is wide: put them in its own columns"
    )]
    PropertiesNeedLong,
    #[error("only {0} formulation: training needs at least 2")]
    TooFewRows(usize),
    #[error("target {0:?} has no value in any row: there is nothing to learn")]
    TargetEmpty(String),
    #[error("target {name:?} is {value} in every row: there is nothing to learn")]
    TargetConstant { name: String, value: f64 },
    #[error(
        "binary target {name:?} is {value} in every row: a classifier needs formulations of \
         both classes (0 and 1)"
    )]
    OneClass { name: String, value: f64 },
    #[error("condition {name:?} is {value} in formulation {id:?}; :log10 needs values > 0")]
    LogCondition {
        name: String,
        value: f32,
        id: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One row per formulation, a column per material.
    Wide,
    /// `formulation_id, material, amount` rows.
    Long,
}

/// How to read the columns of a wide CSV.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WideSpec {
    pub id_column: Option<String>,
    pub targets: Vec<TargetSpec>,
    pub conditions: Vec<String>,
    pub drop: Vec<String>,
    /// Headers renamed before anything else (a column mapping's roles: header → name).
    pub rename: Vec<(String, String)>,
}

impl WideSpec {
    /// The mapping's roles as renames (material, condition and target columns get their
    /// names, the id column `id`) and drops (ignored columns).
    pub fn with_mapping(mut self, mapping: &crate::mapping::Mapping) -> Self {
        use crate::mapping::Role;
        for (header, role) in &mapping.columns {
            match role {
                Role::Material(n) | Role::Condition(n) | Role::Target(n) => {
                    self.rename.push((header.clone(), n.clone()))
                }
                Role::Id => self.rename.push((header.clone(), "id".into())),
                Role::Ignore => self.drop.push(header.clone()),
            }
        }
        self
    }

    /// The name a header is read under: its rename, else itself.
    pub fn name_of<'a>(&'a self, header: &'a str) -> &'a str {
        (self.rename.iter())
            .find(|(from, _)| from == header)
            .map_or(header, |(_, to)| to.as_str())
    }
}

/// A table of formulations in model order. Fractions are stored sparsely (a recipe uses a
/// few of possibly thousands of materials, as in the study: 60 of 5,400).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub ids: Vec<String>,
    pub materials: Vec<String>,
    pub conditions: Vec<String>,
    pub targets: Vec<TargetSpec>,
    /// Row `r`'s nonzero fractions are `entries[row_start[r]..row_start[r + 1]]`, as
    /// `(material index, fraction)` in material order; each row sums to 1.
    pub row_start: Vec<usize>,
    pub entries: Vec<(u32, f32)>,
    /// `[rows, conditions]` raw values.
    pub condition_values: Vec<f32>,
    /// `[rows, targets]`; NaN where the value is missing.
    pub target_values: Vec<f64>,
}

impl Dataset {
    /// An empty dataset with these columns.
    pub fn new(materials: Vec<String>, conditions: Vec<String>, targets: Vec<TargetSpec>) -> Self {
        Dataset {
            ids: Vec::new(),
            materials,
            conditions,
            targets,
            row_start: vec![0],
            entries: Vec::new(),
            condition_values: Vec::new(),
            target_values: Vec::new(),
        }
    }

    pub fn rows(&self) -> usize {
        self.ids.len()
    }

    /// Row `r`'s nonzero `(material, fraction)` pairs.
    pub fn row(&self, r: usize) -> &[(u32, f32)] {
        &self.entries[self.row_start[r]..self.row_start[r + 1]]
    }

    /// Row `r`'s fractions over all materials.
    pub fn dense_row(&self, r: usize) -> Vec<f32> {
        let mut out = vec![0.0; self.materials.len()];
        for &(i, f) in self.row(r) {
            out[i as usize] = f;
        }
        out
    }

    /// Append a row from dense fractions (zeros are not stored), its raw conditions and its
    /// targets (NaN = missing).
    pub fn push_row(&mut self, id: String, fractions: &[f32], conditions: &[f32], targets: &[f64]) {
        let sparse: Vec<(u32, f32)> = fractions
            .iter()
            .enumerate()
            .filter(|(_, f)| **f != 0.0)
            .map(|(i, &f)| (i as u32, f))
            .collect();
        self.push_sparse_row(id, sparse, conditions, targets);
    }

    /// Append a row from `(material, fraction)` pairs in any order.
    pub fn push_sparse_row(
        &mut self,
        id: String,
        mut entries: Vec<(u32, f32)>,
        conditions: &[f32],
        targets: &[f64],
    ) {
        entries.sort_by_key(|e| e.0);
        self.ids.push(id);
        self.entries.extend(entries);
        self.row_start.push(self.entries.len());
        self.condition_values.extend_from_slice(conditions);
        self.target_values.extend_from_slice(targets);
    }

    /// A key per row, equal for rows with the same mixture (as concrete measured at several
    /// ages), to keep such rows on one side of a split.
    pub fn mixture_keys(&self) -> Vec<String> {
        (0..self.rows())
            .map(|r| format!("{:?}", self.row(r)))
            .collect()
    }

    /// Refuse a condition fed as log10 with a value ≤ 0, naming the formulation.
    /// Whether there is something to learn: two formulations or more, and each target with
    /// values that differ (a binary one with both classes).
    pub fn check_trainable(&self) -> Result<(), DataError> {
        if self.rows() < 2 {
            return Err(DataError::TooFewRows(self.rows()));
        }
        let t = self.targets.len();
        for (k, target) in self.targets.iter().enumerate() {
            let mut values = (0..self.rows())
                .map(|r| self.target_values[r * t + k])
                .filter(|v| v.is_finite());
            let Some(first) = values.next() else {
                return Err(DataError::TargetEmpty(target.name.clone()));
            };
            if values.all(|v| v == first) {
                return Err(match target.kind {
                    TargetKind::Binary => DataError::OneClass {
                        name: target.name.clone(),
                        value: first,
                    },
                    TargetKind::Regression => DataError::TargetConstant {
                        name: target.name.clone(),
                        value: first,
                    },
                });
            }
        }
        Ok(())
    }

    pub fn check_log_conditions(&self, logs: &[String]) -> Result<(), DataError> {
        let c = self.conditions.len();
        for (j, name) in self.conditions.iter().enumerate() {
            if !logs.contains(name) {
                continue;
            }
            if let Some(r) = (0..self.rows()).find(|&r| self.condition_values[r * c + j] <= 0.0) {
                return Err(DataError::LogCondition {
                    name: name.clone(),
                    value: self.condition_values[r * c + j],
                    id: self.ids[r].clone(),
                });
            }
        }
        Ok(())
    }

    /// The given rows' fractions and raw conditions, in model order.
    pub fn batch(&self, rows: &[usize]) -> Batch {
        let (n, c) = (self.materials.len(), self.conditions.len());
        let mut fractions = vec![0.0; rows.len() * n];
        for (b, &r) in rows.iter().enumerate() {
            for &(i, f) in self.row(r) {
                fractions[b * n + i as usize] = f;
            }
        }
        Batch {
            rows: rows.len(),
            fractions,
            conditions: rows
                .iter()
                .flat_map(|&r| self.condition_values[r * c..(r + 1) * c].iter().copied())
                .collect(),
        }
    }
}

/// The error for the cell at spreadsheet row `row` and 0-based column `c`.
pub(crate) fn cell_error(header: &[String], row: usize, c: usize, problem: String) -> DataError {
    DataError::Cell {
        row,
        column: c + 1,
        name: header[c].clone(),
        problem,
    }
}

/// A row's amounts as fractions summing to 1 (percentages and masses alike); the error for
/// the spreadsheet row `row` when they sum to 0.
pub(crate) fn to_fractions(amounts: &[f64], row: usize) -> Result<Vec<f32>, DataError> {
    let total: f64 = amounts.iter().sum();
    if total <= 0.0 {
        return Err(DataError::Cell {
            row,
            column: 1,
            name: "(all materials)".into(),
            problem: "the row has no material with an amount".into(),
        });
    }
    Ok(amounts.iter().map(|v| (v / total) as f32).collect())
}

/// A target cell checked against its kind: NaN when empty.
fn target_value(t: &TargetSpec, v: Option<f64>) -> Result<f64, String> {
    match (v, t.kind, t.transform) {
        (None, _, _) => Ok(f64::NAN),
        (Some(v), TargetKind::Binary, _) if v != 0.0 && v != 1.0 => {
            Err(format!("binary target must be 0 or 1, not {v}"))
        }
        (Some(v), _, Transform::Log10) if v <= 0.0 => {
            Err(format!("{v} cannot be log-transformed (≤ 0)"))
        }
        (Some(v), _, _) => Ok(v),
    }
}

/// Read a formulation CSV, wide or long (the long format is recognised by its header): the
/// one entry point for training data. `properties` is a long file's wide table of conditions
/// and targets keyed by id, when they are not in the long file itself.
pub fn read_dataset(
    input: impl Read,
    properties: Option<&mut dyn Read>,
    spec: &WideSpec,
) -> Result<Dataset, DataError> {
    let records = renamed(records(input)?, spec);
    if is_long_header(&records.header) {
        long_from(records, properties, spec)
    } else if properties.is_some() {
        Err(DataError::PropertiesNeedLong)
    } else {
        wide_from(records, spec)
    }
}

/// Whether a file is wide or long, from its header alone (the rest is not read).
pub fn format_of(input: impl Read) -> Result<Format, DataError> {
    Ok(if is_long_header(&records(input)?.header) {
        Format::Long
    } else {
        Format::Wide
    })
}

/// Read a wide CSV. Every row's amounts are normalised to sum to 1, so fractions, percentages
/// and masses all work.
pub fn read_wide(input: impl Read, spec: &WideSpec) -> Result<Dataset, DataError> {
    wide_from(renamed(records(input)?, spec), spec)
}

/// The records with the spec's renames applied to their header.
fn renamed<R: Read>(mut records: Records<R>, spec: &WideSpec) -> Records<R> {
    for h in records.header.iter_mut() {
        *h = spec.name_of(h).to_string();
    }
    records
}

fn wide_from<R: Read>(mut records: Records<R>, spec: &WideSpec) -> Result<Dataset, DataError> {
    let header = records.header.clone();
    let dialect = records.dialect;
    let id_col = match &spec.id_column {
        Some(n) => Some(records.require(n)?),
        None => header.iter().position(|h| h.eq_ignore_ascii_case("id")),
    };
    let target_cols = (spec.targets.iter())
        .map(|t| records.require(&t.name))
        .collect::<Result<Vec<_>, _>>()?;
    let cond_cols = (spec.conditions.iter())
        .map(|c| records.require(c))
        .collect::<Result<Vec<_>, _>>()?;
    let drop_cols = (spec.drop.iter())
        .map(|c| records.require(c))
        .collect::<Result<Vec<_>, _>>()?;
    let material_cols: Vec<usize> = (0..header.len())
        .filter(|i| {
            Some(*i) != id_col
                && !target_cols.contains(i)
                && !cond_cols.contains(i)
                && !drop_cols.contains(i)
        })
        .collect();

    let mut ds = Dataset::new(
        material_cols.iter().map(|&i| header[i].clone()).collect(),
        spec.conditions.clone(),
        spec.targets.clone(),
    );
    while let Some((row, record)) = records.next_row()? {
        let cell_err = |c: usize, problem: String| cell_error(&header, row, c, problem);
        let number = |c: usize| dialect.parse_number(record[c]).map_err(|p| cell_err(c, p));
        let id = match id_col {
            Some(c) => record[c].to_string(),
            None => format!("row{row}"),
        };
        let mut fr = Vec::with_capacity(material_cols.len());
        for &c in &material_cols {
            let v = number(c)?.unwrap_or(0.0);
            if v < 0.0 {
                return Err(cell_err(c, format!("negative amount {v}")));
            }
            fr.push(v);
        }
        let fractions = to_fractions(&fr, row)?;
        let mut conds = Vec::with_capacity(cond_cols.len());
        for &c in &cond_cols {
            let v = number(c)?.ok_or_else(|| cell_err(c, "condition value is empty".into()))?;
            conds.push(v as f32);
        }
        let mut targets = Vec::with_capacity(target_cols.len());
        for (t, &c) in spec.targets.iter().zip(&target_cols) {
            // A binary target may be written TRUE/FALSE (Excel), yes/no...
            let v = match number(c) {
                Err(_) if t.kind == TargetKind::Binary && boolean(record[c]).is_some() => {
                    boolean(record[c])
                }
                v => v?,
            };
            targets.push(target_value(t, v).map_err(|p| cell_err(c, p))?);
        }
        ds.push_row(id, &fractions, &conds, &targets);
    }
    if ds.ids.is_empty() {
        return Err(ReadError::NoRows.into());
    }
    Ok(ds)
}

/// The columns of a long CSV: one row per (formulation, material).
pub const LONG_ID: &str = "formulation_id";
pub const LONG_MATERIAL: &str = "material";
pub const LONG_AMOUNT: &str = "amount";

/// Whether a header is the long format's (`formulation_id, material, amount`, any order).
pub fn is_long_header(header: &[String]) -> bool {
    [LONG_ID, LONG_MATERIAL, LONG_AMOUNT]
        .iter()
        .all(|c| header.iter().any(|h| h == c))
}

/// Read a long CSV: `formulation_id, material, amount` rows (a material listed twice in one
/// formulation has its amounts summed, as the study's recipes were), amounts normalised per
/// formulation. Conditions and targets come from `properties` (a wide CSV keyed by an `id` or
/// `formulation_id` column) when given, else from columns of the long file itself, where
/// every row of a formulation must agree. Formulations keep their first-appearance order;
/// materials too.
pub fn read_long(
    input: impl Read,
    properties: Option<&mut dyn Read>,
    spec: &WideSpec,
) -> Result<Dataset, DataError> {
    long_from(records(input)?, properties, spec)
}

fn long_from<R: Read>(
    mut records: Records<R>,
    properties: Option<&mut dyn Read>,
    spec: &WideSpec,
) -> Result<Dataset, DataError> {
    let header = records.header.clone();
    let dialect = records.dialect;
    let (id_c, mat_c, amt_c) = (
        records.require(LONG_ID)?,
        records.require(LONG_MATERIAL)?,
        records.require(LONG_AMOUNT)?,
    );
    let prop_cols = |r: &dyn Fn(&str) -> Result<usize, ReadError>| -> Result<(Vec<usize>, Vec<usize>), ReadError> {
        Ok((
            spec.conditions.iter().map(|c| r(c)).collect::<Result<_, _>>()?,
            spec.targets.iter().map(|t| r(&t.name)).collect::<Result<_, _>>()?,
        ))
    };
    let (cond_cols, target_cols) = if properties.is_none() {
        prop_cols(&|n| records.require(n))?
    } else {
        (Vec::new(), Vec::new())
    };

    let mut materials: Vec<String> = Vec::new();
    let mut material_index = std::collections::HashMap::new();
    let mut formulation_index = std::collections::HashMap::new();
    // Per formulation: id, amounts by material, conditions and targets (with the row that set
    // each, to report disagreements).
    struct Partial {
        id: String,
        first_row: usize,
        amounts: std::collections::BTreeMap<u32, f64>,
        values: Vec<Option<(f64, usize)>>,
    }
    let mut partial: Vec<Partial> = Vec::new();
    let width = spec.conditions.len() + spec.targets.len();
    while let Some((row, record)) = records.next_row()? {
        let cell_err = |c: usize, problem: String| cell_error(&header, row, c, problem);
        let id = record[id_c].to_string();
        if id.is_empty() {
            return Err(cell_err(id_c, "formulation id is empty".into()));
        }
        let name = record[mat_c].to_string();
        if name.is_empty() {
            return Err(cell_err(mat_c, "material name is empty".into()));
        }
        let amount = dialect
            .parse_number(record[amt_c])
            .map_err(|p| cell_err(amt_c, p))?
            .ok_or_else(|| cell_err(amt_c, "amount is empty".into()))?;
        if amount < 0.0 {
            return Err(cell_err(amt_c, format!("negative amount {amount}")));
        }
        let m = *material_index.entry(name.clone()).or_insert_with(|| {
            materials.push(name);
            (materials.len() - 1) as u32
        });
        let f = *formulation_index.entry(id.clone()).or_insert_with(|| {
            partial.push(Partial {
                id,
                first_row: row,
                amounts: Default::default(),
                values: vec![None; width],
            });
            partial.len() - 1
        });
        *partial[f].amounts.entry(m).or_insert(0.0) += amount;
        for (k, &c) in cond_cols.iter().chain(&target_cols).enumerate() {
            let Some(v) = dialect
                .parse_number(record[c])
                .map_err(|p| cell_err(c, p))?
            else {
                continue;
            };
            match partial[f].values[k] {
                Some((old, old_row)) if old != v => {
                    return Err(cell_err(
                        c,
                        format!(
                            "formulation {:?} has {v} here but {old} in row {old_row}",
                            partial[f].id
                        ),
                    ));
                }
                _ => partial[f].values[k] = Some((v, row)),
            }
        }
    }
    if partial.is_empty() {
        return Err(ReadError::NoRows.into());
    }
    if let Some(props) = properties {
        let mut props = crate::table::records(props)?;
        let header = props.header.clone();
        let dialect = props.dialect;
        let id_col = (header.iter())
            .position(|h| h == LONG_ID || h.eq_ignore_ascii_case("id"))
            .ok_or_else(|| ReadError::MissingColumn("id".into()))?;
        let (conds, targets) = prop_cols(&|n| props.require(n))?;
        while let Some((row, record)) = props.next_row()? {
            let Some(&f) = formulation_index.get(record[id_col]) else {
                continue;
            };
            for (k, &c) in conds.iter().chain(&targets).enumerate() {
                let v = dialect
                    .parse_number(record[c])
                    .map_err(|p| cell_error(&header, row, c, p))?;
                partial[f].values[k] = v.map(|v| (v, row));
            }
        }
    }
    let mut ds = Dataset::new(materials, spec.conditions.clone(), spec.targets.clone());
    let nc = spec.conditions.len();
    for p in partial {
        let total: f64 = p.amounts.values().sum();
        if total <= 0.0 {
            return Err(DataError::Cell {
                row: p.first_row,
                column: amt_c + 1,
                name: LONG_AMOUNT.into(),
                problem: format!("the amounts of formulation {:?} sum to 0", p.id),
            });
        }
        let mut conds = Vec::with_capacity(nc);
        for (k, name) in spec.conditions.iter().enumerate() {
            let (v, _) = p.values[k].ok_or_else(|| DataError::Cell {
                row: p.first_row,
                column: id_c + 1,
                name: name.clone(),
                problem: format!("formulation {:?} has no value for condition {name:?}", p.id),
            })?;
            conds.push(v as f32);
        }
        let mut targets = Vec::with_capacity(spec.targets.len());
        for (k, t) in spec.targets.iter().enumerate() {
            let v = p.values[nc + k].map(|(v, _)| v);
            targets.push(target_value(t, v).map_err(|problem| DataError::Cell {
                row: p.values[nc + k].map_or(p.first_row, |(_, r)| r),
                column: id_c + 1,
                name: t.name.clone(),
                problem,
            })?);
        }
        let entries = p
            .amounts
            .iter()
            .filter(|(_, a)| **a > 0.0)
            .map(|(&m, &a)| (m, (a / total) as f32))
            .collect();
        ds.push_sparse_row(p.id, entries, &conds, &targets);
    }
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_data_with_something_to_learn_trains() {
        let read = |csv: &str, target: &str| {
            let spec = WideSpec {
                targets: vec![target.parse().unwrap()],
                ..WideSpec::default()
            };
            read_wide(csv.as_bytes(), &spec).unwrap().check_trainable()
        };
        assert_eq!(read("a,b,y\n1,1,3\n", "y"), Err(DataError::TooFewRows(1)));
        assert_eq!(
            read("a,b,y\n1,1,\n2,1,\n", "y"),
            Err(DataError::TargetEmpty("y".into()))
        );
        let constant = read("a,b,y\n1,1,3\n2,1,3\n", "y").unwrap_err();
        assert_eq!(
            constant.to_string(),
            "target \"y\" is 3 in every row: there is nothing to learn"
        );
        let one_class = read("a,b,y\n1,1,1\n2,1,TRUE\n", "y:binary").unwrap_err();
        assert!(
            one_class.to_string().contains("both classes"),
            "{one_class}"
        );
        assert_eq!(read("a,b,y\n1,1,1\n2,1,0\n", "y:binary"), Ok(()));
        assert_eq!(read("a,b,y\n1,1,1\n2,1,\n3,1,2\n", "y"), Ok(()));
    }

    fn spec() -> WideSpec {
        WideSpec {
            id_column: None,
            targets: vec![TargetSpec {
                name: "visc".into(),
                kind: TargetKind::Regression,
                transform: Transform::Log10,
            }],
            conditions: vec!["age".into()],
            drop: vec!["note".into()],
            rename: Vec::new(),
        }
    }

    #[test]
    fn a_mapping_renames_and_drops_columns() {
        let mut m = crate::mapping::Mapping::new("x");
        m.columns.insert(
            "Water (%)".into(),
            crate::mapping::Role::Material("water".into()),
        );
        m.columns
            .insert("Visc.".into(), crate::mapping::Role::Target("visc".into()));
        m.columns
            .insert("Remark".into(), crate::mapping::Role::Ignore);
        let csv = "id,Water (%),salt,age,Visc.,note,Remark\nA,70,30,7,120,x,y\n";
        assert!(
            read_wide(csv.as_bytes(), &spec()).is_err(),
            "no column visc without it"
        );
        let ds = read_dataset(csv.as_bytes(), None, &spec().with_mapping(&m)).unwrap();
        assert_eq!(
            ds,
            read_wide(csv.as_bytes(), &spec().with_mapping(&m)).unwrap()
        );
        assert_eq!(ds.materials, vec!["water", "salt"]);
        assert_eq!(ds.target_values, vec![120.0]);
    }

    #[test]
    fn reads_fractions_percentages_conditions_and_missing_targets() {
        let csv = "\u{feff}id,water,salt,age,visc,note\nA,70,30,7,120,x\nB,0.5,0.5,28,,y\n";
        let ds = read_wide(csv.as_bytes(), &spec()).unwrap();
        assert_eq!(ds.materials, vec!["water", "salt"]);
        assert_eq!(ds.ids, vec!["A", "B"]);
        assert_eq!(ds.dense_row(0), vec![0.7, 0.3]);
        assert_eq!(ds.row(1), &[(0, 0.5), (1, 0.5)]);
        assert_eq!(ds.batch(&[1, 0]).fractions, vec![0.5, 0.5, 0.7, 0.3]);
        assert_eq!(ds.condition_values, vec![7.0, 28.0]);
        assert_eq!(ds.target_values[0], 120.0);
        assert!(ds.target_values[1].is_nan());
    }

    #[test]
    fn reads_what_scoring_reads_semicolons_decimal_commas_and_a_bom() {
        let comma = "id,water,salt,age,visc,note\nA,70.5,29.5,7,120.25,x\nB,0.5,0.5,28,,y\n";
        let semi =
            "\u{feff}id;water;salt;age;visc;note\r\nA;70,5;29,5;7;120,25;x\r\nB;0,5;0,5;28;;y\r\n";
        let a = read_dataset(comma.as_bytes(), None, &spec()).unwrap();
        let b = read_dataset(semi.as_bytes(), None, &spec()).unwrap();
        assert_eq!(
            (&a.ids, &a.entries, &a.condition_values),
            (&b.ids, &b.entries, &b.condition_values)
        );
        assert_eq!((a.target_values[0], b.target_values[0]), (120.25, 120.25));
        assert!(a.target_values[1].is_nan() && b.target_values[1].is_nan());
        let err = read_dataset("id,water\n\u{0}\u{1}".as_bytes(), None, &spec()).unwrap_err();
        assert!(err.to_string().contains("binary data"), "{err}");
        let err = read_dataset(
            "id,water,salt,age,visc,note\nA,1,1,7\n".as_bytes(),
            None,
            &spec(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "row 2: 4 cells where the header has 6");
    }

    #[test]
    fn mixture_keys_and_log_conditions() {
        let csv = "id,water,salt,age,visc,note\nA,70,30,7,1,x\nB,7,3,28,2,y\nC,1,1,0,3,z\n";
        let ds = read_wide(csv.as_bytes(), &spec()).unwrap();
        let keys = ds.mixture_keys();
        assert_eq!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[2]);
        let err = ds
            .check_log_conditions(&["age".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("formulation \"C\""), "{err}");
        assert!(ds.check_log_conditions(&[]).is_ok());
    }

    #[test]
    fn errors_name_row_and_column() {
        let csv = "id,water,salt,age,visc,note\nA,70,30,7,120,x\nB,0.5,abc,28,1,y\n";
        let err = read_wide(csv.as_bytes(), &spec()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 3, column 3 (\"salt\"): \"abc\" is not a number"
        );
        let csv = "id,water,salt,age,visc,note\nA,70,30,7,-1,x\n";
        let err = read_wide(csv.as_bytes(), &spec()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Cell {
                    row: 2,
                    column: 5,
                    ..
                }
            ),
            "{err}"
        );
        let csv = "id,water,salt,age,note\nA,70,30,7,x\n";
        assert_eq!(
            read_wide(csv.as_bytes(), &spec()).unwrap_err(),
            DataError::Read(ReadError::MissingColumn("visc".into()))
        );
    }

    #[test]
    fn long_format_sums_repeats_and_reads_properties() {
        let long = "formulation_id,material,amount,age,visc\n\
                    F1,water,60,7,120\nF1,salt,30,7,\nF1,water,10,,\n\
                    F2,salt,1,28,\nF2,oil,1,28,\n";
        let spec = WideSpec {
            targets: spec().targets,
            conditions: vec!["age".into()],
            ..WideSpec::default()
        };
        assert!(is_long_header(&records(long.as_bytes()).unwrap().header));
        let ds = read_long(long.as_bytes(), None, &spec).unwrap();
        assert_eq!(ds.materials, vec!["water", "salt", "oil"]);
        assert_eq!(ds.ids, vec!["F1", "F2"]);
        assert_eq!(ds.dense_row(0), vec![0.7, 0.3, 0.0]);
        assert_eq!(ds.row(1), &[(1, 0.5), (2, 0.5)]);
        assert_eq!(ds.condition_values, vec![7.0, 28.0]);
        assert_eq!(ds.target_values[0], 120.0);
        assert!(ds.target_values[1].is_nan());

        // The same formulations with properties in a separate wide file keyed by id.
        let bare = "formulation_id,material,amount\nF1,water,70\nF1,salt,30\nF2,salt,1\nF2,oil,1\n";
        let props = "id,age,visc\nF2,28,5\nF1,7,120\nF9,1,1\n";
        let ds2 = read_long(bare.as_bytes(), Some(&mut props.as_bytes()), &spec).unwrap();
        assert_eq!(ds2.entries, ds.entries);
        assert_eq!(ds2.target_values, vec![120.0, 5.0]);

        // Disagreeing condition values within one formulation name both rows.
        let bad = "formulation_id,material,amount,age,visc\nF1,water,1,7,\nF1,salt,1,8,\n";
        let err = read_long(bad.as_bytes(), None, &spec)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row 3, column 4") && err.contains("in row 2"),
            "{err}"
        );
        let bad = "formulation_id,material,amount,age,visc\nF1,water,-1,7,1\n";
        let err = read_long(bad.as_bytes(), None, &spec)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "row 2, column 3 (\"amount\"): negative amount -1");
        let no_cond = "formulation_id,material,amount\nF1,water,1\n";
        let err = read_long(
            no_cond.as_bytes(),
            Some(&mut "id,age,visc\n".as_bytes()),
            &spec,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no value for condition \"age\""), "{err}");
    }
}
