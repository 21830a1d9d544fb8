//! Material descriptors for descriptor-informed codes: a table of numeric properties per
//! material (for elements, the Magpie properties shipped in `data/elements/`).
//!
//! Training with descriptors learns `code = A·descriptor + b + offset` per material, with the
//! offset penalised, so materials with alike descriptors start alike and a material never seen
//! in training still gets a code from its descriptor. The bundle stores only the final codes:
//! nothing downstream (app, reference model, design) needs to know.

use std::collections::BTreeMap;

use thiserror::Error;

/// The Magpie element properties (`data/elements/magpie.csv`, MIT via ElementEmbeddings).
const MAGPIE: &str = include_str!("../../../data/elements/magpie.csv");

#[derive(Clone, Debug, Error, PartialEq)]
pub enum DescriptorError {
    #[error("the descriptor table is empty: it needs a header and one row per material")]
    Empty,
    #[error("the descriptor table has no numeric columns after the material's name")]
    NoFeatures,
    #[error("descriptor table, row {row}: {found} cells where the header has {expected}")]
    Ragged {
        row: usize,
        found: usize,
        expected: usize,
    },
    #[error("descriptor table, row {row}, column {column:?}: {value:?} is not a number")]
    NotANumber {
        row: usize,
        column: String,
        value: String,
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
            "magpie" => Self::parse("magpie", MAGPIE),
            _ => Err(DescriptorError::Unknown(name.to_string())),
        }
    }

    /// A CSV table: a header, then one row per material — its name, then numbers (blank cells
    /// count as the feature's mean over the table).
    pub fn parse(name: &str, text: &str) -> Result<Self, DescriptorError> {
        let mut lines = text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty());
        let header: Vec<String> = split(lines.next().ok_or(DescriptorError::Empty)?);
        let features: Vec<String> = header.into_iter().skip(1).collect();
        if features.is_empty() {
            return Err(DescriptorError::NoFeatures);
        }
        let mut raw: Vec<(String, Vec<Option<f64>>)> = Vec::new();
        for (i, line) in lines.enumerate() {
            let row = i + 2;
            let cells = split(line);
            if cells.len() != features.len() + 1 {
                return Err(DescriptorError::Ragged {
                    row,
                    found: cells.len(),
                    expected: features.len() + 1,
                });
            }
            let values = cells[1..]
                .iter()
                .zip(&features)
                .map(|(v, column)| {
                    let v = v.trim();
                    if v.is_empty() || v.eq_ignore_ascii_case("nan") {
                        return Ok(None);
                    }
                    match v.parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok(Some(x)),
                        _ => Err(DescriptorError::NotANumber {
                            row,
                            column: column.clone(),
                            value: v.to_string(),
                        }),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            let name = cells[0].trim().to_string();
            if raw.iter().any(|(n, _)| *n == name) {
                return Err(DescriptorError::Duplicate { row, name });
            }
            raw.push((name, values));
        }
        if raw.is_empty() {
            return Err(DescriptorError::Empty);
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

fn split(line: &str) -> Vec<String> {
    line.split(',').map(|c| c.trim().to_string()).collect()
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
        let e = DescriptorTable::parse("t", "name,a,b\nx,1,2\ny,1,abc\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "descriptor table, row 3, column \"b\": \"abc\" is not a number"
        );
        let e = DescriptorTable::parse("t", "name,a\nx,1,2\n").unwrap_err();
        assert!(matches!(e, DescriptorError::Ragged { row: 2, .. }));
        let e = DescriptorTable::parse("t", "name\nx\n").unwrap_err();
        assert_eq!(e, DescriptorError::NoFeatures);
        let e = DescriptorTable::parse("t", "name,a\nx,1\nx,2\n").unwrap_err();
        assert!(matches!(e, DescriptorError::Duplicate { row: 3, .. }));
        let t = DescriptorTable::parse("t", "name,a\nx,1\ny,\nz,3\n").unwrap();
        assert_eq!(t.rows["y"], vec![2.0], "a blank is the feature's mean");
        let e = t.matrix(&["q".to_string()]).unwrap_err();
        assert!(e.to_string().contains("none of the model's materials"));
        assert!(DescriptorTable::builtin("oliynyk").is_err());
    }
}
