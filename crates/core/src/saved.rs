//! Formulations the user keeps: stored in the browser as JSON and exchanged as CSV in the long
//! layout `mixlab score` and the trainer read (`formulation_id,material,amount` + one column
//! per condition), with a `role` column (`q.s.` / `locked`) so the editor's rules survive the
//! round trip (other readers ignore it).

use crate::spreadsheet::{neutralise_str, restore};
use serde::{Deserialize, Serialize};

use crate::bundle::Manifest;
use crate::data::{DataError, LONG_AMOUNT, LONG_ID, LONG_MATERIAL, cell_error};
use crate::formulation::{Formulation, Row};
use crate::link::{conditions_to_text, formulation_to_text, percent};
use crate::table::{ReadError, records};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub name: String,
    /// [`crate::link`] text of the formulation and of its conditions.
    pub formulation: String,
    #[serde(default)]
    pub conditions: String,
}

/// CSV field: quoted when it needs to be.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) || text.trim() != text {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The column that keeps the editor's rules (`q.s.`, `locked`); it tells this file from a file
/// to score.
pub const ROLE: &str = "role";

/// One CSV of the given formulations (already parsed), percent amounts.
pub fn to_csv(manifest: &Manifest, items: &[(String, Formulation, Vec<f64>)]) -> String {
    let mut out = format!("formulation_id,material,amount,{ROLE}");
    for c in &manifest.conditions {
        out.push(',');
        out.push_str(&field(&c.name));
    }
    out.push('\n');
    for (name, f, conditions) in items {
        for (i, r) in f.rows.iter().enumerate() {
            let role = if f.qs == Some(i) {
                "q.s."
            } else if r.locked {
                "locked"
            } else {
                ""
            };
            let material = manifest
                .materials
                .get(r.material)
                .map_or("?", |m| m.name.as_str());
            let (name, material) = (neutralise_str(name), neutralise_str(material));
            out.push_str(&format!(
                "{},{},{},{role}",
                field(&name),
                field(&material),
                percent(r.fraction)
            ));
            for v in conditions {
                out.push_str(&format!(",{v}"));
            }
            out.push('\n');
        }
    }
    out
}

/// Read formulations back (any scale of amounts: they are normalised per formulation), in
/// the order they first appear. Every problem names its row and column.
pub fn from_csv(manifest: &Manifest, input: impl std::io::Read) -> Result<Vec<Saved>, DataError> {
    let mut records = records(input)?;
    let header = records.header.clone();
    let dialect = records.dialect;
    let id_col = records.require(LONG_ID)?;
    let mat_col = records.require(LONG_MATERIAL)?;
    let amount_col = records.require(LONG_AMOUNT)?;
    let role_col = records.column(ROLE);
    let cond_cols: Vec<Option<usize>> = (manifest.conditions.iter())
        .map(|c| records.column(&c.name))
        .collect();
    let defaults = manifest.default_condition_values();
    // id → (formulation, conditions, spreadsheet row that set the conditions)
    let mut items: Vec<(String, Formulation, Vec<f64>, usize)> = Vec::new();
    while let Some((row, record)) = records.next_row()? {
        let cell = |c: usize| restore(record[c]);
        let err = |c: usize, problem: String| cell_error(&header, row, c, problem);
        let id = cell(id_col).to_string();
        if id.is_empty() {
            return Err(err(id_col, "the formulation id is empty".into()));
        }
        let name = cell(mat_col);
        let material = manifest
            .material_index(name)
            .ok_or_else(|| err(mat_col, format!("the model has no material {name:?}")))?;
        let amount = dialect
            .parse_number(cell(amount_col))
            .map_err(|p| err(amount_col, p))?
            .ok_or_else(|| err(amount_col, "the amount is empty".into()))?;
        if amount < 0.0 {
            return Err(err(amount_col, format!("negative amount {amount}")));
        }
        let mut conditions = defaults.clone();
        for (j, c) in cond_cols.iter().enumerate() {
            if let Some(c) = *c {
                conditions[j] = dialect
                    .parse_number(cell(c))
                    .map_err(|p| err(c, p))?
                    .ok_or_else(|| err(c, "the condition value is empty".into()))?;
            }
        }
        let pos = match items.iter().position(|(i, ..)| *i == id) {
            Some(p) => p,
            None => {
                items.push((id.clone(), Formulation::default(), conditions.clone(), row));
                items.len() - 1
            }
        };
        let (_, f, first_conditions, first_row) = &mut items[pos];
        if let Some(j) = (0..conditions.len()).find(|&j| conditions[j] != first_conditions[j]) {
            let c = cond_cols[j].unwrap_or(0);
            return Err(err(
                c,
                format!(
                    "formulation {id:?} has {} here but {} on row {first_row}",
                    conditions[j], first_conditions[j]
                ),
            ));
        }
        if f.position(material).is_some() {
            return Err(err(
                mat_col,
                format!("{name:?} appears twice in formulation {id:?}"),
            ));
        }
        match role_col.map(cell).unwrap_or("") {
            "" => {}
            "q.s." | "qs" => {
                if f.qs.is_some() {
                    return Err(err(
                        role_col.unwrap_or(0),
                        format!("formulation {id:?} has a second q.s. row"),
                    ));
                }
                f.qs = Some(f.rows.len());
            }
            "locked" => {}
            other => {
                return Err(err(
                    role_col.unwrap_or(0),
                    format!("role {other:?} is not q.s., locked or empty"),
                ));
            }
        }
        let locked = role_col.map(cell) == Some("locked");
        f.rows.push(Row {
            material,
            fraction: amount,
            locked,
        });
    }
    if items.is_empty() {
        return Err(ReadError::NoRows.into());
    }
    items
        .into_iter()
        .map(|(name, mut f, conditions, first_row)| {
            let total = f.total();
            if total <= 0.0 {
                return Err(cell_error(
                    &header,
                    first_row,
                    amount_col,
                    format!("the amounts of formulation {name:?} sum to 0"),
                ));
            }
            f.rows.iter_mut().for_each(|r| r.fraction /= total);
            Ok(Saved {
                formulation: formulation_to_text(manifest, &f),
                conditions: conditions_to_text(manifest, &conditions),
                name,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::tests::tiny;
    use crate::link::formulation_from_text;

    #[test]
    fn csv_round_trip_keeps_roles_and_conditions() {
        let m = tiny().manifest;
        let mut a = Formulation::from_fractions([(0, 0.6), (1, 0.3), (2, 0.1)]);
        a.qs = Some(0);
        a.rows[2].locked = true;
        let b = Formulation::from_fractions([(1, 0.5), (2, 0.5)]);
        let items = vec![
            ("first, with comma".to_string(), a.clone(), vec![7.0]),
            ("second".to_string(), b.clone(), vec![28.0]),
        ];
        let csv = to_csv(&m, &items);
        assert!(
            csv.starts_with(
                "formulation_id,material,amount,role,age\n\"first, with comma\",water,60,q.s.,7\n"
            ),
            "{csv}"
        );
        let back = from_csv(&m, csv.as_bytes()).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].name, "first, with comma");
        let fa = formulation_from_text(&m, &back[0].formulation).unwrap();
        assert_eq!((fa.qs, fa.rows[2].locked), (Some(0), true));
        for (x, y) in fa.rows.iter().zip(&a.rows) {
            assert!((x.fraction - y.fraction).abs() < 1e-8);
        }
        assert_eq!(back[1].conditions, "age:28");
    }

    #[test]
    fn import_errors_name_row_and_column() {
        let m = tiny().manifest;
        let cases = [
            (
                "formulation_id,material,amount\nA,water,50\nA,sugar,50\n",
                "row 3, column 2 (\"material\"): the model has no material \"sugar\"",
            ),
            (
                "formulation_id,material,amount\nA,water,-5\n",
                "row 2, column 3 (\"amount\"): negative amount -5",
            ),
            (
                "formulation_id,material,amount\nA,water,x\n",
                "row 2, column 3 (\"amount\"): \"x\" is not a number",
            ),
            (
                "formulation_id,material,amount,age\nA,water,50,7\nA,salt,50,8\n",
                "row 3, column 4 (\"age\"): formulation \"A\" has 8 here but 7 on row 2",
            ),
            (
                "formulation_id,material,amount,role\nA,water,50,q.s.\nA,salt,50,qs\n",
                "row 3, column 4 (\"role\"): formulation \"A\" has a second q.s. row",
            ),
            (
                "formulation_id,material,amount\nA,water,0\n",
                "row 2, column 3 (\"amount\"): the amounts of formulation \"A\" sum to 0",
            ),
            (
                "id,material,amount\nA,water,1\n",
                "column \"formulation_id\"",
            ),
        ];
        for (csv, want) in cases {
            let err = from_csv(&m, csv.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{csv:?}: {err}");
        }
    }
}
