//! Material descriptors for descriptor-informed codes: a table of numeric properties per
//! material (for elements, the Magpie properties shipped in `data/elements/`).
//!
//! Training with descriptors learns `code = A·descriptor + b + offset` per material, with the
//! offset penalised, so materials with alike descriptors start alike and a material never seen
//! in training still gets a code from its descriptor. The bundle stores only the final codes:
//! nothing downstream (app, reference model, design) needs to know.

use std::collections::BTreeMap;
use std::io::Read;

use thiserror::Error;

use crate::table::{ReadError, records};

/// The Magpie element properties (`data/elements/magpie.csv`, MIT via ElementEmbeddings).
const MAGPIE: &str = include_str!("../../../data/elements/magpie.csv");

#[derive(Clone, Debug, Error, PartialEq)]
pub enum DescriptorError {
    /// The file as a whole (encoding, header, a row of another width), from the shared reader.
    #[error("descriptor table: {0}")]
    Read(#[from] ReadError),
    #[error("the descriptor table has no numeric columns after the material's name")]
    NoFeatures,
    #[error("descriptor table, row {row}, column {column:?}: {why}")]
    NotANumber {
        row: usize,
        column: String,
        why: String,
    },
    #[error("descriptor table, row {row}: material {name:?} appears twice")]
    Duplicate { row: usize, name: String },
    #[error(
        "none of the model's materials is in the descriptor table {table:?} (its first names: {first})"
    )]
    NoneMatch { table: String, first: String },
    #[error("unknown descriptor table {0:?}: use \"magpie\" or a CSV file")]
    Unknown(String),
}

/// Numeric properties per material, as read.
#[derive(Clone, Debug, PartialEq)]
pub struct DescriptorTable {
    /// "magpie" or the file's name, recorded in the bundle.
    pub name: String,
    pub features: Vec<String>,
    pub rows: BTreeMap<String, Vec<f64>>,
}

/// The table's view for one model: standardised descriptors per material (zeros for a
/// material the table lacks), and which materials it has.
#[derive(Clone, Debug, PartialEq)]
pub struct DescriptorMatrix {
    /// `[materials, features]`, row-major; each feature standardised over the model's
    /// materials that have descriptors (a constant feature is all zeros).
    pub values: Vec<f32>,
    pub features: usize,
    pub known: Vec<bool>,
}

impl DescriptorTable {
    /// A built-in table by name.
    pub fn builtin(name: &str) -> Result<Self, DescriptorError> {
        match name.to_ascii_lowercase().as_str() {
            "magpie" => Self::parse("magpie", MAGPIE.as_bytes()),
            _ => Err(DescriptorError::Unknown(name.to_string())),
        }
    }

    /// A CSV table, read as every other file is (`table::records`: encodings, delimiters,
    /// decimal commas): a header, then one row per material — its name, then numbers (blank
    /// cells count as the feature's mean over the table).
    pub fn parse(name: &str, input: impl Read) -> Result<Self, DescriptorError> {
        let mut records = records(input)?;
        let dialect = records.dialect;
        let features: Vec<String> = records.header.iter().skip(1).cloned().collect();
        if features.is_empty() {
            return Err(DescriptorError::NoFeatures);
        }
        let mut raw: Vec<(String, Vec<Option<f64>>)> = Vec::new();
        while let Some((row, cells)) = records.next_row()? {
            let values = cells[1..]
                .iter()
                .zip(&features)
                .map(|(v, column)| {
                    // A table exported from pandas writes "nan" for a missing value.
                    if v.eq_ignore_ascii_case("nan") {
                        return Ok(None);
                    }
                    dialect
                        .parse_number(v)
                        .map_err(|why| DescriptorError::NotANumber {
                            row,
                            column: column.clone(),
                            why,
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let name = cells[0].to_string();
            if raw.iter().any(|(n, _)| *n == name) {
                return Err(DescriptorError::Duplicate { row, name });
            }
            raw.push((name, values));
        }
        if raw.is_empty() {
            return Err(ReadError::NoRows.into());
        }
        // Blanks take the feature's mean, so a partly described material still has a row.
        let means: Vec<f64> = (0..features.len())
            .map(|j| {
                let present: Vec<f64> = raw.iter().filter_map(|(_, v)| v[j]).collect();
                present.iter().sum::<f64>() / present.len().max(1) as f64
            })
            .collect();
        let rows = raw
            .into_iter()
            .map(|(n, v)| {
                let filled = v.iter().zip(&means).map(|(x, m)| x.unwrap_or(*m)).collect();
                (n, filled)
            })
            .collect();
        Ok(DescriptorTable {
            name: name.to_string(),
            features,
            rows,
        })
    }

    /// The standardised matrix for `materials` (in the model's order).
    pub fn matrix(&self, materials: &[String]) -> Result<DescriptorMatrix, DescriptorError> {
        let p = self.features.len();
        let found: Vec<Option<&Vec<f64>>> = materials.iter().map(|m| self.rows.get(m)).collect();
        if found.iter().all(Option::is_none) {
            return Err(DescriptorError::NoneMatch {
                table: self.name.clone(),
                first: (self.rows.keys().take(5).cloned())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let known_rows: Vec<&Vec<f64>> = found.iter().flatten().copied().collect();
        let stats: Vec<(f64, f64)> = (0..p)
            .map(|j| {
                let n = known_rows.len() as f64;
                let mean = known_rows.iter().map(|r| r[j]).sum::<f64>() / n;
                let var = known_rows
                    .iter()
                    .map(|r| (r[j] - mean).powi(2))
                    .sum::<f64>()
                    / n;
                (mean, var.sqrt())
            })
            .collect();
        let mut values = Vec::with_capacity(materials.len() * p);
        for row in &found {
            for (j, &(mean, sd)) in stats.iter().enumerate() {
                let z = match row {
                    Some(r) if sd > 1e-12 => (r[j] - mean) / sd,
                    _ => 0.0,
                };
                values.push(z as f32);
            }
        }
        Ok(DescriptorMatrix {
            values,
            features: p,
            known: found.iter().map(Option::is_some).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magpie_covers_the_shipped_element_datasets() {
        let t = DescriptorTable::builtin("magpie").unwrap();
        assert_eq!(t.features.len(), 22);
        assert_eq!(t.rows.len(), 97);
        let names: Vec<String> = ["Fe", "C", "Ni", "Zz"].map(String::from).to_vec();
        let m = t.matrix(&names).unwrap();
        assert_eq!(m.known, [true, true, true, false]);
        assert_eq!(m.values.len(), 4 * 22);
        // Standardised over the known materials: each feature's mean is 0.
        for j in 0..22 {
            let mean: f32 = (0..3).map(|i| m.values[i * 22 + j]).sum::<f32>() / 3.0;
            assert!(mean.abs() < 1e-5, "feature {j} mean {mean}");
        }
        assert!(m.values[3 * 22..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn bad_tables_say_where() {
        let e = DescriptorTable::parse("t", "name,a,b\nx,1,2\ny,1,abc\n".as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "descriptor table, row 3, column \"b\": \"abc\" is not a number"
        );
        let e = DescriptorTable::parse("t", "name,a\nx,1,2\n".as_bytes()).unwrap_err();
        assert!(matches!(
            e,
            DescriptorError::Read(ReadError::WrongWidth { row: 2, .. })
        ));
        let e = DescriptorTable::parse("t", "name\nx\n".as_bytes()).unwrap_err();
        assert_eq!(e, DescriptorError::NoFeatures);
        let e = DescriptorTable::parse("t", "name,a\nx,1\nx,2\n".as_bytes()).unwrap_err();
        assert!(matches!(e, DescriptorError::Duplicate { row: 3, .. }));
        let t = DescriptorTable::parse("t", "name,a\nx,1\ny,\nz,3\n".as_bytes()).unwrap();
        assert_eq!(t.rows["y"], vec![2.0], "a blank is the feature's mean");
        let e = t.matrix(&["q".to_string()]).unwrap_err();
        assert!(e.to_string().contains("none of the model's materials"));
        assert!(DescriptorTable::builtin("oliynyk").is_err());
    }
}
