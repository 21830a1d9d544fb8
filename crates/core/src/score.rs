//! Batch scoring: a wide CSV in, the same CSV with one prediction column per target out.
//! Columns are matched to the bundle by name; a column the bundle does not know is an error
//! (nothing is silently dropped) unless the caller names it to be carried through.

use thiserror::Error;

use crate::bundle::Manifest;
use crate::data::{DataError, cell_error, open_csv, parse_number, to_fractions};
use crate::model::{Batch, MixModel, PredictError};

#[derive(Debug, Error, PartialEq)]
pub enum ScoreError {
    #[error("the CSV cannot be read: {0}")]
    Csv(String),
    #[error(
        "column {column} ({name:?}) is not a material, condition or target of this model; \
         name it in the ignore list to carry it through unscored"
    )]
    UnknownColumn { name: String, column: usize },
    #[error("condition column {0:?} is missing")]
    MissingCondition(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("{0}")]
    Predict(#[from] PredictError),
}

/// What each input column is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Id,
    Material(usize),
    Condition(usize),
    /// A target or an ignored column: copied through.
    Carried,
}

/// Score every row of `text`; returns the input's columns followed by `<target>_predicted`
/// (and `<target>_spread` for an ensemble).
/// Amounts are normalised per row (percentages and masses work).
pub fn score_csv(model: &MixModel, text: &str, ignore: &[String]) -> Result<String, ScoreError> {
    let m: &Manifest = &model.manifest;
    let (mut reader, header) = open_csv(text)?;
    let roles = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if h.eq_ignore_ascii_case("id") {
                Ok(Role::Id)
            } else if let Some(k) = m.material_index(h) {
                Ok(Role::Material(k))
            } else if let Some(k) = m.conditions.iter().position(|c| &c.name == h) {
                Ok(Role::Condition(k))
            } else if m.targets.iter().any(|t| &t.name == h) || ignore.contains(h) {
                Ok(Role::Carried)
            } else {
                Err(ScoreError::UnknownColumn {
                    name: h.clone(),
                    column: i + 1,
                })
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (k, c) in m.conditions.iter().enumerate() {
        if !roles.contains(&Role::Condition(k)) {
            return Err(ScoreError::MissingCondition(c.name.clone()));
        }
    }

    let (n, nc) = (m.materials.len(), m.conditions.len());
    let mut records = Vec::new();
    let mut batch = Batch {
        rows: 0,
        fractions: Vec::new(),
        conditions: Vec::new(),
    };
    for (r, record) in reader.records().enumerate() {
        let row = r + 2;
        let record = record.map_err(|e| ScoreError::Csv(e.to_string()))?;
        let mut fr = vec![0.0f64; n];
        let mut cond = vec![0.0f64; nc];
        for (c, role) in roles.iter().enumerate() {
            let (Role::Material(k) | Role::Condition(k)) = *role else {
                continue;
            };
            let cell = |problem: String| cell_error(&header, row, c, problem);
            let parsed = parse_number(record.get(c).unwrap_or("")).map_err(cell)?;
            let v = match (parsed, role) {
                (Some(v), _) => v,
                (None, Role::Material(_)) => 0.0,
                (None, _) => return Err(cell("condition value is empty".into()).into()),
            };
            match role {
                Role::Material(_) if v < 0.0 => {
                    return Err(cell(format!("negative amount {v}")).into());
                }
                Role::Material(_) => fr[k] = v,
                _ => cond[k] = v,
            }
        }
        batch.fractions.extend(to_fractions(&fr, row)?);
        batch.conditions.extend(cond.iter().map(|&v| v as f32));
        batch.rows += 1;
        records.push(record);
    }
    let pred = model.predict(&batch)?;

    let mut out = csv::Writer::from_writer(Vec::new());
    // An ensemble also reports its members' spread (standard deviation) per target.
    let spread = m.architecture.members > 1;
    let mut head = header.clone();
    head.extend(m.targets.iter().map(|t| format!("{}_predicted", t.name)));
    if spread {
        head.extend(m.targets.iter().map(|t| format!("{}_spread", t.name)));
    }
    let write_err = |e: csv::Error| ScoreError::Csv(e.to_string());
    out.write_record(&head).map_err(write_err)?;
    for (i, record) in records.iter().enumerate() {
        let mut fields: Vec<String> = record.iter().map(str::to_string).collect();
        fields.extend(pred.row(i).iter().map(|v| v.to_string()));
        if spread {
            fields.extend(pred.spread_row(i).iter().map(|v| v.to_string()));
        }
        out.write_record(&fields).map_err(write_err)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| ScoreError::Csv(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Device;
    use crate::bundle::tests::tiny;
    use crate::model::reference_predict;

    #[test]
    fn appends_predictions_equal_to_the_model_in_percent_or_fractions() {
        let bundle = tiny();
        let model = MixModel::new(&bundle, &Device::flex());
        let csv = "id,water,salt,age,viscosity,note\nA,70,30,7,120,x\nB,0.5,,28,,y\n";
        let out = score_csv(&model, csv, &["note".to_string()]).unwrap();
        let mut lines = out.lines();
        assert_eq!(
            lines.next().unwrap(),
            "id,water,salt,age,viscosity,note,viscosity_predicted,stable_predicted"
        );
        let want = reference_predict(
            &bundle,
            &Batch {
                rows: 2,
                fractions: vec![0.7, 0.3, 0.0, 1.0, 0.0, 0.0],
                conditions: vec![7.0, 28.0],
            },
        );
        for (r, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), 8);
            for t in 0..2 {
                let got: f64 = cells[6 + t].parse().unwrap();
                let w = want.row(r)[t];
                assert!((got - w).abs() <= 1e-5 * w.abs().max(1e-3), "{got} vs {w}");
            }
        }
    }

    #[test]
    fn unknown_columns_and_bad_cells_are_named() {
        let model = MixModel::new(&tiny(), &Device::flex());
        let err = score_csv(&model, "id,water,sugar,age\nA,1,0,7\n", &[]).unwrap_err();
        assert_eq!(
            err,
            ScoreError::UnknownColumn {
                name: "sugar".into(),
                column: 3
            }
        );
        let err = score_csv(&model, "id,water,salt\nA,1,0\n", &[]).unwrap_err();
        assert_eq!(err, ScoreError::MissingCondition("age".into()));
        let err = score_csv(&model, "id,water,salt,age\nA,1,0,7\nB,1,-2,7\n", &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 3, column 3 (\"salt\"): negative amount -2"
        );
    }
}
