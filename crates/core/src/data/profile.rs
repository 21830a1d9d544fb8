//! A first look at a training file for the app's "New model" page: what each column holds
//! (numbers, text, blanks, range, 0/1 only) and a guess at its role, which the user confirms.
//!
//! The guess follows how formulation tables are laid out: an id column, then the materials
//! (their amounts add up to the same total on every row — 1, 100 or a batch mass), then the
//! conditions and the measured properties. Columns of text are set aside.

use std::io::Read;

use serde::{Deserialize, Serialize};

use super::{DataError, Format, is_long_header};
use crate::table::{self, number::boolean};

/// What a column is to the trainer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnRole {
    /// An amount of a raw material (wide files).
    Material,
    /// A measured property to learn.
    Target,
    /// A process input (age, temperature...).
    Condition,
    /// The formulation's name or number.
    Id,
    /// Not used.
    Ignore,
    /// One of a long file's `formulation_id, material, amount` columns.
    Long,
}

/// One column of the file as read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    pub name: String,
    /// Cells holding a number (for a binary target, TRUE/FALSE count too).
    pub numbers: usize,
    pub empty: usize,
    /// Cells that are neither, and the first of them: (row, text).
    pub text: usize,
    pub first_text: Option<(usize, String)>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Every value is 0 or 1 (or TRUE/FALSE).
    pub binary: bool,
    /// The guess: role, and whether a log10 transform suits it (positive values spanning two
    /// decades or more).
    pub role: ColumnRole,
    pub log10: bool,
}

impl ColumnProfile {
    fn new(name: &str) -> Self {
        ColumnProfile {
            name: name.to_string(),
            numbers: 0,
            empty: 0,
            text: 0,
            first_text: None,
            min: None,
            max: None,
            binary: true,
            role: ColumnRole::Ignore,
            log10: false,
        }
    }

    fn add(&mut self, row: usize, cell: &str, value: Result<Option<f64>, String>) {
        match value {
            Ok(None) => self.empty += 1,
            Ok(Some(v)) => self.number(v),
            Err(_) => match boolean(cell) {
                Some(v) => self.number(v),
                None => {
                    self.text += 1;
                    if self.first_text.is_none() {
                        self.first_text = Some((row, cell.chars().take(40).collect()));
                    }
                }
            },
        }
    }

    fn number(&mut self, v: f64) {
        self.numbers += 1;
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
        self.binary &= v == 0.0 || v == 1.0;
    }

    /// Numbers only (blanks allowed).
    fn numeric(&self) -> bool {
        self.numbers > 0 && self.text == 0
    }

    /// Positive and spanning at least two decades.
    fn spans_decades(&self) -> bool {
        matches!((self.min, self.max), (Some(lo), Some(hi)) if lo > 0.0 && hi / lo >= 100.0)
    }
}

/// A file's columns, its size and how it was read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub format: Format,
    /// Data rows.
    pub rows: usize,
    pub columns: Vec<ColumnProfile>,
    /// How the file was read (encoding, rows set aside...).
    pub notes: Vec<String>,
}

/// Rows kept to guess which columns add up to a constant total (fewer for wide files: at most
/// about 2 million cells, 16 MB).
const SAMPLE_ROWS: usize = 200;
const SAMPLE_CELLS: usize = 2_000_000;

/// Words in a column name that make it a condition rather than a property.
const CONDITION_WORDS: [&str; 15] = [
    "age",
    "time",
    "day",
    "days",
    "hour",
    "hours",
    "temperature",
    "temp",
    "ph",
    "speed",
    "rate",
    "pressure",
    "cure",
    "curing",
    "total",
];

/// Words that make a numeric column after the materials something to leave out.
const IGNORE_WORDS: [&str; 8] = [
    "error",
    "err",
    "std",
    "sd",
    "stdev",
    "uncertainty",
    "class",
    "type",
];

/// Read `input` and guess each column's role.
pub fn profile(input: impl Read) -> Result<Profile, DataError> {
    let mut records = table::records(input)?;
    let dialect = records.dialect;
    let header = records.header.clone();
    let long = is_long_header(&header);
    let mut columns: Vec<ColumnProfile> = header.iter().map(|h| ColumnProfile::new(h)).collect();
    let mut sample: Vec<Vec<f64>> = Vec::new();
    let sample_rows = SAMPLE_ROWS.min(SAMPLE_CELLS / header.len().max(1)).max(1);
    let mut rows = 0;
    while let Some((row, cells)) = records.next_row()? {
        rows += 1;
        let mut values = Vec::with_capacity(cells.len());
        for (c, cell) in cells.iter().enumerate() {
            let v = dialect.parse_number(cell);
            values.push(match &v {
                Ok(Some(x)) => *x,
                Ok(None) => 0.0,
                Err(_) => f64::NAN,
            });
            columns[c].add(row, cell, v);
        }
        if sample.len() < sample_rows {
            sample.push(values);
        }
    }
    if rows == 0 {
        return Err(table::ReadError::NoRows.into());
    }
    if long {
        guess_long(&mut columns);
    } else {
        guess_wide(&mut columns, &sample);
    }
    Ok(Profile {
        format: if long { Format::Long } else { Format::Wide },
        rows,
        columns,
        notes: records.notes(),
    })
}

/// The lower-case words of a name (`Age (days)` → age, days).
fn words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn has_word(name: &str, list: &[&str]) -> bool {
    words(name).iter().any(|w| list.contains(&w.as_str()))
}

/// Columns after the materials: a condition by its name, a 0/1 column a binary target, an
/// error bar or class left out, the rest targets.
fn after_materials(c: &mut ColumnProfile) {
    c.role = if !c.numeric() || has_word(&c.name, &IGNORE_WORDS) {
        ColumnRole::Ignore
    } else if has_word(&c.name, &CONDITION_WORDS) {
        ColumnRole::Condition
    } else {
        ColumnRole::Target
    };
    c.log10 = c.role != ColumnRole::Ignore && !c.binary && c.spans_decades();
}

fn guess_long(columns: &mut [ColumnProfile]) {
    for c in columns.iter_mut() {
        if [super::LONG_ID, super::LONG_MATERIAL, super::LONG_AMOUNT].contains(&c.name.as_str()) {
            c.role = ColumnRole::Long;
        } else {
            after_materials(c);
        }
    }
}

fn guess_wide(columns: &mut [ColumnProfile], sample: &[Vec<f64>]) {
    // The id: a column named so, else a first column of text.
    let id = columns
        .iter()
        .position(|c| crate::mapping::is_id_name(&c.name))
        .or_else(|| (!columns.is_empty() && !columns[0].numeric()).then_some(0));
    if let Some(i) = id {
        columns[i].role = ColumnRole::Id;
    }
    let candidates: Vec<usize> = (0..columns.len())
        .filter(|&i| Some(i) != id && columns[i].numeric() && columns[i].min >= Some(0.0))
        .collect();
    let materials = closed_prefix(&candidates, sample).unwrap_or_else(|| {
        // Amounts that do not add up (masses per batch of varying size): every non-negative
        // numeric column but the last one and those named like conditions.
        let mut m: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| !has_word(&columns[i].name, &CONDITION_WORDS))
            .collect();
        m.pop();
        m.len()
    });
    let material_columns = &candidates[..materials.min(candidates.len())];
    for (i, c) in columns.iter_mut().enumerate() {
        if Some(i) == id {
            continue;
        }
        if material_columns.contains(&i) {
            c.role = ColumnRole::Material;
        } else {
            after_materials(c);
        }
    }
}

/// The number of leading candidate columns whose sum is the same on (nearly) every sampled
/// row: the materials of a table of fractions, percentages or fixed-size batches.
fn closed_prefix(candidates: &[usize], sample: &[Vec<f64>]) -> Option<usize> {
    if sample.is_empty() {
        return None;
    }
    let mut sums = vec![0.0; sample.len()];
    let mut best: Option<(f64, usize)> = None;
    for (k, &c) in candidates.iter().enumerate() {
        for (s, row) in sums.iter_mut().zip(sample) {
            *s += row[c];
        }
        let mut sorted = sums.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        if median <= 0.0 {
            continue;
        }
        let close = sums
            .iter()
            .filter(|s| (*s - median).abs() <= 0.005 * median)
            .count() as f64
            / sums.len() as f64;
        // The longest prefix with the best agreement: trailing all-zero columns still count.
        if close >= 0.9 && best.is_none_or(|(b, _)| close >= b) {
            best = Some((close, k + 1));
        }
    }
    best.map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(p: &Profile) -> Vec<(&str, ColumnRole, bool)> {
        p.columns
            .iter()
            .map(|c| (c.name.as_str(), c.role, c.log10))
            .collect()
    }

    #[test]
    fn fractions_then_conditions_and_targets() {
        let csv = "id,cement,water,sand,age_days,strength_mpa,batch_note\n\
                   a,0.2,0.1,0.7,1,10,x\n\
                   b,0.3,0.1,0.6,28,40,y\n\
                   c,0.25,0.15,0.6,365,55,z\n";
        let p = profile(csv.as_bytes()).unwrap();
        use ColumnRole::*;
        assert_eq!(
            roles(&p),
            vec![
                ("id", Id, false),
                ("cement", Material, false),
                ("water", Material, false),
                ("sand", Material, false),
                ("age_days", Condition, true),
                ("strength_mpa", Target, false),
                ("batch_note", Ignore, false),
            ]
        );
        assert_eq!((p.rows, p.format), (3, Format::Wide));
        assert_eq!(p.columns[6].first_text, Some((2, "x".into())));
        assert_eq!(
            (p.columns[4].min, p.columns[4].max),
            (Some(1.0), Some(365.0))
        );
    }

    #[test]
    fn binary_targets_error_bars_and_percentages() {
        let csv = "Sample;A;B;Water;stable;visc;visc_error\n\
                   S1;10;0;90;1;100;3\n\
                   S2;5;5;90;FALSE;20000;5\n\
                   S3;0;20;80;0;300;1\n";
        let p = profile(csv.as_bytes()).unwrap();
        use ColumnRole::*;
        assert_eq!(
            roles(&p),
            vec![
                ("Sample", Id, false),
                ("A", Material, false),
                ("B", Material, false),
                ("Water", Material, false),
                ("stable", Target, false),
                ("visc", Target, true),
                ("visc_error", Ignore, false),
            ]
        );
        assert!(p.columns[4].binary && !p.columns[5].binary);
    }

    #[test]
    fn masses_that_do_not_add_up_leave_the_last_column_as_target() {
        let csv =
            "cement,water,Temperature (C),strength\n300,150,20,30\n400,180,25,45\n350,160,20,38\n";
        let p = profile(csv.as_bytes()).unwrap();
        use ColumnRole::*;
        assert_eq!(
            p.columns.iter().map(|c| c.role).collect::<Vec<_>>(),
            vec![Material, Material, Condition, Target]
        );
    }

    #[test]
    fn long_files_keep_their_three_columns() {
        let csv = "formulation_id,material,amount,tg\nf1,SiO2,0.7,500\nf1,Na2O,0.3,500\n";
        let p = profile(csv.as_bytes()).unwrap();
        assert_eq!(p.format, Format::Long);
        use ColumnRole::*;
        assert_eq!(
            p.columns.iter().map(|c| c.role).collect::<Vec<_>>(),
            vec![Long, Long, Long, Target]
        );
    }

    /// The bundled datasets are guessed as `scripts/build-bundles.sh` trains them.
    #[test]
    fn the_bundled_datasets_are_guessed_as_their_bundles_were_trained() {
        let read = |name: &str| {
            let path = format!("{}/../../data/{name}/data.csv", env!("CARGO_MANIFEST_DIR"));
            profile(std::fs::File::open(path).unwrap()).unwrap()
        };
        let chosen = |p: &Profile, role: ColumnRole| -> Vec<String> {
            (p.columns.iter())
                .filter(|c| c.role == role)
                .map(|c| format!("{}{}", c.name, if c.log10 { ":log10" } else { "" }))
                .collect()
        };
        let shampoo = read("shampoo");
        assert_eq!(chosen(&shampoo, ColumnRole::Material).len(), 19);
        assert_eq!(
            chosen(&shampoo, ColumnRole::Target),
            [
                "stable",
                "turbidity_ntu:log10",
                "viscosity_10_per_s_cp:log10"
            ]
        );
        assert!(
            shampoo
                .columns
                .iter()
                .any(|c| c.name == "stable" && c.binary)
        );
        let concrete = read("concrete");
        assert_eq!(chosen(&concrete, ColumnRole::Material).len(), 7);
        assert_eq!(
            chosen(&concrete, ColumnRole::Condition),
            ["age_days:log10", "total_mass_kg_per_m3"]
        );
        assert_eq!(chosen(&concrete, ColumnRole::Target), ["strength_mpa"]);
        for name in ["steels", "glass-tg"] {
            let p = read(name);
            assert_eq!(chosen(&p, ColumnRole::Target).len(), 1, "{name}");
            assert_eq!(chosen(&p, ColumnRole::Condition).len(), 0, "{name}");
        }
    }

    #[test]
    fn empty_and_header_only_files_are_refused() {
        assert!(profile(&b""[..]).is_err());
        assert!(profile(&b"a,b\n"[..]).is_err());
    }
}
