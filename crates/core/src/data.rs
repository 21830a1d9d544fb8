//! Wide formulation CSVs: `id`, one column per material, condition columns, target columns.
//! Which columns are conditions and targets is said by a [`WideSpec`]; every other column
//! (except the id and those dropped) is a material.

use std::collections::HashSet;

use thiserror::Error;

use crate::bundle::{TargetKind, Transform};
use crate::model::Batch;

#[derive(Debug, Error, PartialEq)]
pub enum DataError {
    #[error("the CSV cannot be read: {0}")]
    Csv(String),
    #[error("the CSV has no header row")]
    NoHeader,
    #[error("column {0:?} is named in the options but not in the CSV header")]
    MissingColumn(String),
    #[error("column {name:?} (column {column}) appears twice in the header")]
    DuplicateColumn { name: String, column: usize },
    #[error("row {row}, column {column} ({name:?}): {problem}")]
    Cell {
        row: usize,
        column: usize,
        name: String,
        problem: String,
    },
    #[error("the CSV has no data rows")]
    Empty,
}

/// A target column and how to learn it.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetSpec {
    pub name: String,
    pub kind: TargetKind,
    pub transform: Transform,
}

/// How to read the columns of a wide CSV.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WideSpec {
    pub id_column: Option<String>,
    pub targets: Vec<TargetSpec>,
    pub conditions: Vec<String>,
    pub drop: Vec<String>,
}

/// A table of formulations in model order.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub ids: Vec<String>,
    pub materials: Vec<String>,
    pub conditions: Vec<String>,
    pub targets: Vec<TargetSpec>,
    /// `[rows, materials]` fractions (rows sum to 1).
    pub fractions: Vec<f32>,
    /// `[rows, conditions]` raw values.
    pub condition_values: Vec<f32>,
    /// `[rows, targets]`; NaN where the value is missing.
    pub target_values: Vec<f64>,
}

impl Dataset {
    pub fn rows(&self) -> usize {
        self.ids.len()
    }

    /// The given rows' fractions and raw conditions, in model order.
    pub fn batch(&self, rows: &[usize]) -> Batch {
        let (n, c) = (self.materials.len(), self.conditions.len());
        Batch {
            rows: rows.len(),
            fractions: rows
                .iter()
                .flat_map(|&r| self.fractions[r * n..(r + 1) * n].iter().copied())
                .collect(),
            conditions: rows
                .iter()
                .flat_map(|&r| self.condition_values[r * c..(r + 1) * c].iter().copied())
                .collect(),
        }
    }
}

/// One numeric cell: `Ok(None)` when empty, else a finite number or what is wrong with it.
pub(crate) fn parse_number(raw: &str) -> Result<Option<f64>, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        Ok(v) => Err(format!("{v} is not a finite number")),
        Err(_) => Err(format!("{raw:?} is not a number")),
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
            problem: "the amounts sum to 0".into(),
        });
    }
    Ok(amounts.iter().map(|v| (v / total) as f32).collect())
}

/// A CSV reader past its header, and the trimmed header names (UTF-8, BOM allowed, comma
/// separated); an empty header or a name that appears twice is an error.
pub(crate) fn open_csv(text: &str) -> Result<(csv::Reader<&[u8]>, Vec<String>), DataError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| DataError::Csv(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err(DataError::NoHeader);
    }
    let mut seen = HashSet::new();
    for (i, h) in header.iter().enumerate() {
        if !seen.insert(h.as_str()) {
            return Err(DataError::DuplicateColumn {
                name: h.clone(),
                column: i + 1,
            });
        }
    }
    Ok((reader, header))
}

/// Read a wide CSV. Every row's amounts are normalised to sum to 1, so fractions, percentages
/// and masses all work.
pub fn read_wide(text: &str, spec: &WideSpec) -> Result<Dataset, DataError> {
    let (mut reader, header) = open_csv(text)?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| DataError::MissingColumn(name.to_string()))
    };
    let id_col = match &spec.id_column {
        Some(n) => Some(col(n)?),
        None => header.iter().position(|h| h.eq_ignore_ascii_case("id")),
    };
    let target_cols = spec
        .targets
        .iter()
        .map(|t| col(&t.name))
        .collect::<Result<Vec<_>, _>>()?;
    let cond_cols = spec
        .conditions
        .iter()
        .map(|c| col(c))
        .collect::<Result<Vec<_>, _>>()?;
    let drop_cols = spec
        .drop
        .iter()
        .map(|c| col(c))
        .collect::<Result<Vec<_>, _>>()?;
    let material_cols: Vec<usize> = (0..header.len())
        .filter(|i| {
            Some(*i) != id_col
                && !target_cols.contains(i)
                && !cond_cols.contains(i)
                && !drop_cols.contains(i)
        })
        .collect();

    let mut ds = Dataset {
        ids: Vec::new(),
        materials: material_cols.iter().map(|&i| header[i].clone()).collect(),
        conditions: spec.conditions.clone(),
        targets: spec.targets.clone(),
        fractions: Vec::new(),
        condition_values: Vec::new(),
        target_values: Vec::new(),
    };
    for (r, record) in reader.records().enumerate() {
        let row = r + 2; // 1-based, after the header: the line a spreadsheet shows.
        let record = record.map_err(|e| DataError::Csv(e.to_string()))?;
        let cell_err = |c: usize, problem: String| DataError::Cell {
            row,
            column: c + 1,
            name: header[c].clone(),
            problem,
        };
        let number =
            |c: usize| parse_number(record.get(c).unwrap_or("")).map_err(|p| cell_err(c, p));
        ds.ids.push(match id_col {
            Some(c) => record.get(c).unwrap_or("").to_string(),
            None => format!("row{row}"),
        });
        let mut fr = Vec::with_capacity(material_cols.len());
        for &c in &material_cols {
            let v = number(c)?.unwrap_or(0.0);
            if v < 0.0 {
                return Err(cell_err(c, format!("negative amount {v}")));
            }
            fr.push(v);
        }
        ds.fractions.extend(to_fractions(&fr, row)?);
        for &c in &cond_cols {
            let v = number(c)?.ok_or_else(|| cell_err(c, "condition value is empty".into()))?;
            ds.condition_values.push(v as f32);
        }
        for (t, &c) in spec.targets.iter().zip(&target_cols) {
            let v = number(c)?;
            let v = match (v, t.kind, t.transform) {
                (None, _, _) => f64::NAN,
                (Some(v), TargetKind::Binary, _) if v != 0.0 && v != 1.0 => {
                    return Err(cell_err(
                        c,
                        format!("binary target must be 0 or 1, not {v}"),
                    ));
                }
                (Some(v), _, Transform::Log10) if v <= 0.0 => {
                    return Err(cell_err(c, format!("{v} cannot be log-transformed (≤ 0)")));
                }
                (Some(v), _, _) => v,
            };
            ds.target_values.push(v);
        }
    }
    if ds.ids.is_empty() {
        return Err(DataError::Empty);
    }
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
    }

    #[test]
    fn reads_fractions_percentages_conditions_and_missing_targets() {
        let csv = "\u{feff}id,water,salt,age,visc,note\nA,70,30,7,120,x\nB,0.5,0.5,28,,y\n";
        let ds = read_wide(csv, &spec()).unwrap();
        assert_eq!(ds.materials, vec!["water", "salt"]);
        assert_eq!(ds.ids, vec!["A", "B"]);
        assert_eq!(ds.fractions, vec![0.7, 0.3, 0.5, 0.5]);
        assert_eq!(ds.condition_values, vec![7.0, 28.0]);
        assert_eq!(ds.target_values[0], 120.0);
        assert!(ds.target_values[1].is_nan());
    }

    #[test]
    fn errors_name_row_and_column() {
        let csv = "id,water,salt,age,visc,note\nA,70,30,7,120,x\nB,0.5,abc,28,1,y\n";
        let err = read_wide(csv, &spec()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 3, column 3 (\"salt\"): \"abc\" is not a number"
        );
        let csv = "id,water,salt,age,visc,note\nA,70,30,7,-1,x\n";
        let err = read_wide(csv, &spec()).unwrap_err();
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
            read_wide(csv, &spec()).unwrap_err(),
            DataError::MissingColumn("visc".into())
        );
    }
}
