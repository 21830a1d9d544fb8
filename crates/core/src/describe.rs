//! What people add to a trained model so that it reads well: the dataset's provenance, units and
//! display names of targets and conditions (an `info.json`), and the materials' metadata (a
//! materials table: INCI name, type, price...). Shared by `mixlab train` and the app.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;

use crate::bundle::{Condition, Manifest, Target};
use crate::data::DataError;
use crate::table::records;

/// A dataset's `info.json`: every field optional.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct DatasetNotes {
    pub name: Option<String>,
    pub source: Option<String>,
    pub licence: Option<String>,
    /// Unit of a target or condition, by column name.
    pub units: BTreeMap<String, String>,
    /// Display name of a target or condition, by column name.
    pub labels: BTreeMap<String, String>,
}

impl DatasetNotes {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Write these notes into `manifest` (what they leave out stays as it was, except the
    /// dataset's name, source and licence, which they replace).
    pub fn apply(&self, manifest: &mut Manifest) {
        let d = &mut manifest.dataset;
        d.name = self.name.clone().unwrap_or_default();
        d.source = self.source.clone().unwrap_or_default();
        d.licence = self.licence.clone().unwrap_or_default();
        let columns = (manifest.targets.iter_mut())
            .map(|t| (&t.name, &mut t.unit, &mut t.label))
            .chain((manifest.conditions.iter_mut()).map(|c| (&c.name, &mut c.unit, &mut c.label)));
        for (name, unit, label) in columns {
            if let Some(u) = self.units.get(name) {
                unit.clone_from(u);
            }
            if let Some(l) = self.labels.get(name) {
                label.clone_from(l);
            }
        }
    }
}

/// Record where a trained model's data came from: the file's name, its rows and the SHA-256 of
/// its bytes (`data::sha256_hex`: a bundle can be traced to the exact file).
pub fn describe_dataset(manifest: &mut Manifest, file: &str, rows: usize, sha256: String) {
    manifest.dataset.file = file.to_string();
    manifest.dataset.rows = rows;
    manifest.dataset.sha256 = sha256;
}

/// Copy each row of a materials table (first column the material's name, the others its
/// metadata) into the manifest; returns the names the model does not have (skipped).
pub fn add_material_metadata(
    manifest: &mut Manifest,
    input: impl Read,
) -> Result<Vec<String>, DataError> {
    let mut records = records(input)?;
    let header = records.header.clone();
    let mut skipped = Vec::new();
    while let Some((_, cells)) = records.next_row()? {
        let name = cells[0];
        let Some(i) = manifest.material_index(name) else {
            skipped.push(name.to_string());
            continue;
        };
        for (key, value) in header.iter().zip(&cells).skip(1) {
            manifest.materials[i]
                .metadata
                .insert(key.clone(), value.to_string());
        }
    }
    Ok(skipped)
}

/// The name shown to people: the label, else the column name as it is (a prettified guess could
/// mislead, and an untrusted name must show as typed).
fn title<'a>(label: &'a str, name: &'a str) -> &'a str {
    if label.is_empty() { name } else { label }
}

/// "Title (unit)", or the title alone without a unit.
fn with_unit(title: &str, unit: &str) -> String {
    if unit.is_empty() {
        title.to_string()
    } else {
        format!("{title} ({unit})")
    }
}

impl Target {
    /// What people read for this target ("Viscosity at 10 s⁻¹").
    pub fn title(&self) -> &str {
        title(&self.label, &self.name)
    }

    /// [`Target::title`] with the unit: "Viscosity at 10 s⁻¹ (cP)".
    pub fn display_name(&self) -> String {
        with_unit(self.title(), &self.unit)
    }
}

impl Condition {
    /// What people read for this condition ("Age").
    pub fn title(&self) -> &str {
        title(&self.label, &self.name)
    }

    /// [`Condition::title`] with the unit: "Age (days)".
    pub fn display_name(&self) -> String {
        with_unit(self.title(), &self.unit)
    }
}

/// How a predicted value is shown: three significant digits, no exponent for everyday
/// magnitudes.
pub fn format_value(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::tests::tiny;

    #[test]
    fn notes_set_provenance_units_and_labels() {
        let mut m = tiny().manifest;
        let target = m.targets[0].name.clone();
        let condition = m.conditions[0].name.clone();
        let notes = DatasetNotes::from_json(&format!(
            r#"{{"name": "D", "licence": "CC0", "units": {{"{target}": "cP", "{condition}": "days"}},
                "labels": {{"{target}": "Viscosity at 10 s⁻¹"}}}}"#
        ))
        .unwrap();
        notes.apply(&mut m);
        assert_eq!(
            (m.dataset.name.as_str(), m.dataset.licence.as_str()),
            ("D", "CC0")
        );
        assert_eq!(m.targets[0].display_name(), "Viscosity at 10 s⁻¹ (cP)");
        assert_eq!(m.conditions[0].unit, "days");
        // Without a label, the column name as it is.
        m.conditions[0].name = "age_days".into();
        assert_eq!(m.conditions[0].display_name(), "age_days (days)");
        assert!(DatasetNotes::from_json("[1]").is_err());
    }

    #[test]
    fn materials_table_adds_metadata_and_names_the_unknown() {
        let mut m = tiny().manifest;
        let first = m.materials[0].name.clone();
        let table = format!("material;type;price\n{first};solvent;0,5\nunobtainium;metal;9\n");
        let skipped = add_material_metadata(&mut m, table.as_bytes()).unwrap();
        assert_eq!(skipped, vec!["unobtainium"]);
        assert_eq!(m.materials[0].metadata["type"], "solvent");
        assert_eq!(m.materials[0].metadata["price"], "0,5");
    }

    #[test]
    fn values_show_three_significant_digits() {
        assert_eq!(format_value(338.456), "338");
        assert_eq!(format_value(12.3456), "12.3");
        assert_eq!(format_value(0.012345), "0.0123");
        assert_eq!(format_value(1.0e6), "1000000");
        assert_eq!(format_value(0.0), "0");
    }
}
