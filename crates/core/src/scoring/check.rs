//! The first pass over an uploaded CSV: what each column is, and every row the model could not
//! score as it stands, with its row and column, so the user decides before anything is scored.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Format;
use crate::bundle::Manifest;
use crate::data::{LONG_AMOUNT, LONG_ID, LONG_MATERIAL};
use crate::mapping::{self, Column, Mapping, MappingError, Role};
use crate::table::Dialect;
use crate::table::number::boolean;

/// How many issues of each kind the report lists (all are counted).
pub const LISTED: usize = 100;

/// Relative distance from 1 (fractions) or 100 (percentages) that still counts as summing to it.
pub const SUM_TOLERANCE: f64 = 0.005;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    UnknownMaterial,
    OffSum,
    DuplicateId,
    Negative,
    NotNumeric,
    EmptyCell,
    ZeroSum,
    Malformed,
    Conflict,
}

impl IssueKind {
    pub const ALL: [IssueKind; 9] = [
        IssueKind::UnknownMaterial,
        IssueKind::OffSum,
        IssueKind::DuplicateId,
        IssueKind::Negative,
        IssueKind::NotNumeric,
        IssueKind::EmptyCell,
        IssueKind::ZeroSum,
        IssueKind::Malformed,
        IssueKind::Conflict,
    ];

    pub fn title(self) -> &'static str {
        match self {
            IssueKind::UnknownMaterial => "Materials the model does not know",
            IssueKind::OffSum => "Rows that do not sum to 1 or 100",
            IssueKind::DuplicateId => "Duplicate ids",
            IssueKind::Negative => "Negative amounts",
            IssueKind::NotNumeric => "Cells that are not numbers",
            IssueKind::EmptyCell => "Empty cells that need a value",
            IssueKind::ZeroSum => "Rows with no material",
            IssueKind::Malformed => "Rows with the wrong number of cells",
            IssueKind::Conflict => "Formulations whose rows disagree",
        }
    }

    /// Whether the user chooses what happens to these rows; the others cannot be scored and
    /// are skipped (and listed in the output with the reason).
    pub fn decided(self) -> bool {
        matches!(
            self,
            IssueKind::UnknownMaterial | IssueKind::OffSum | IssueKind::DuplicateId
        )
    }
}

/// One problem at a spreadsheet row (the header is row 1) and 1-based column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    pub row: usize,
    pub column: Option<usize>,
    /// The column's name (empty for a whole-row issue).
    pub name: String,
    pub problem: String,
}

impl Issue {
    /// A problem with a whole row (no one column).
    fn whole_row(row: usize, problem: String) -> Issue {
        Issue {
            row,
            column: None,
            name: String::new(),
            problem,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssueGroup {
    pub kind: IssueKind,
    pub count: usize,
    /// The first [`LISTED`], by row.
    pub listed: Vec<Issue>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnknownMaterial {
    pub name: String,
    /// Its column in a wide file.
    pub column: Option<usize>,
    /// Formulations with a non-zero amount of it.
    pub formulations: usize,
    /// The model's materials with the closest names, closest first.
    pub suggestions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MissingCondition {
    pub name: String,
    pub unit: String,
    /// The value offered to fill it with: the model's default (middle of its training range).
    pub default: f64,
}

/// What the first pass found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub format: Format,
    pub dialect: Dialect,
    /// Data rows in the file (lines after the header).
    pub lines: usize,
    /// Formulations (= rows for a wide file).
    pub formulations: usize,
    /// Formulations without any issue.
    pub clean: usize,
    /// Non-empty groups, in [`IssueKind::ALL`] order.
    pub groups: Vec<IssueGroup>,
    pub unknown_materials: Vec<UnknownMaterial>,
    pub missing_conditions: Vec<MissingCondition>,
    /// Columns that are not inputs of the model and hold text: copied to the output unscored.
    pub carried: Vec<String>,
    /// Targets whose true values are in the file (for the parity plot and metrics).
    pub truth: Vec<String>,
    /// Each header's role and how it was found, with suggestions for unknown ones (wide).
    #[serde(default)]
    pub columns: Vec<Column>,
    /// How the file was read: encoding if not UTF-8, titles, units row, rows set aside.
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Report {
    pub fn count(&self, kind: IssueKind) -> usize {
        self.groups
            .iter()
            .find(|g| g.kind == kind)
            .map_or(0, |g| g.count)
    }

    /// Whether scoring needs the user's choice first.
    pub fn needs_decision(&self) -> bool {
        !self.groups.is_empty() || !self.missing_conditions.is_empty()
    }
}

/// What each column of the file is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Col {
    Id,
    Material(usize),
    Condition(usize),
    Target(usize),
    /// Not the model's: an unknown material if it holds only numbers, else carried text.
    Unknown,
    /// Named by the caller to be copied through.
    Carried,
    LongMaterial,
    LongAmount,
}

#[derive(Clone, Debug)]
pub struct Layout {
    pub format: Format,
    pub header: Vec<String>,
    /// Each header's role and how it was found (wide files).
    pub columns: Vec<Column>,
    pub(crate) cols: Vec<Col>,
    pub(crate) id: Option<usize>,
    /// Per column: an unknown column found to hold only numbers (known after the first pass).
    pub(crate) unknown_material: Vec<bool>,
    /// Per model target: whether it is binary (its truth may be written TRUE/FALSE).
    pub(crate) binary: Vec<bool>,
    /// Condition index → column, `None` when the file lacks it.
    pub(crate) condition_cols: Vec<Option<usize>>,
    pub(crate) truth_cols: Vec<Option<usize>>,
}

impl Layout {
    /// What each column is: for a wide file, the mapping's roles, then exact and recognised
    /// names (see [`mapping::resolve`]); `carry` names unknown columns to copy through.
    pub fn new(
        manifest: &Manifest,
        header: Vec<String>,
        carry: &[String],
        mapping: Option<&Mapping>,
    ) -> Result<Layout, MappingError> {
        // The header was checked by `table::records` (not blank, no name twice).
        let has = |name: &str| header.iter().any(|h| h == name);
        let format = if has(LONG_ID) && has(LONG_MATERIAL) && has(LONG_AMOUNT) {
            Format::Long
        } else {
            Format::Wide
        };
        let columns = match format {
            Format::Wide => mapping::resolve(manifest, &header, mapping)?,
            Format::Long => Vec::new(),
        };
        let materials = manifest.material_positions();
        let cols: Vec<Col> = header
            .iter()
            .enumerate()
            .map(|(i, h)| match format {
                Format::Long => {
                    if h == LONG_ID {
                        Col::Id
                    } else if h == LONG_MATERIAL {
                        Col::LongMaterial
                    } else if h == LONG_AMOUNT {
                        Col::LongAmount
                    } else if let Some(k) = manifest.conditions.iter().position(|c| &c.name == h) {
                        Col::Condition(k)
                    } else if let Some(k) = manifest.targets.iter().position(|t| &t.name == h) {
                        Col::Target(k)
                    } else if carry.contains(h) {
                        Col::Carried
                    } else {
                        Col::Unknown
                    }
                }
                Format::Wide => match &columns[i].role {
                    Some(Role::Id) => Col::Id,
                    Some(Role::Ignore) => Col::Carried,
                    Some(Role::Material(n)) => materials
                        .get(n.as_str())
                        .map_or(Col::Unknown, |&k| Col::Material(k)),
                    Some(Role::Condition(n)) => (manifest.conditions.iter())
                        .position(|c| &c.name == n)
                        .map_or(Col::Unknown, Col::Condition),
                    Some(Role::Target(n)) => (manifest.targets.iter())
                        .position(|t| &t.name == n)
                        .map_or(Col::Unknown, Col::Target),
                    None if carry.contains(h) => Col::Carried,
                    None => Col::Unknown,
                },
            })
            .collect();
        let position = |want: Col| cols.iter().position(|&c| c == want);
        Ok(Layout {
            format,
            id: match format {
                Format::Long => header.iter().position(|h| h == LONG_ID),
                Format::Wide => position(Col::Id),
            },
            unknown_material: vec![false; cols.len()],
            binary: (manifest.targets.iter())
                .map(|t| t.kind == crate::bundle::TargetKind::Binary)
                .collect(),
            condition_cols: (0..manifest.conditions.len())
                .map(|k| position(Col::Condition(k)))
                .collect(),
            truth_cols: (0..manifest.targets.len())
                .map(|k| position(Col::Target(k)))
                .collect(),
            cols,
            header,
            columns,
        })
    }

    fn issue(&self, row: usize, c: usize, problem: String) -> Issue {
        Issue {
            row,
            column: Some(c + 1),
            name: self.header[c].clone(),
            problem,
        }
    }

    pub(crate) fn col_of(&self, want: Col) -> Option<usize> {
        self.cols.iter().position(|&c| c == want)
    }

    /// The cells of `unknown` (column, amount) whose column turned out to be a material.
    fn unknown_materials<'a>(
        &'a self,
        unknown: &'a [(usize, f64)],
    ) -> impl Iterator<Item = &'a (usize, f64)> + 'a {
        unknown.iter().filter(|(c, _)| self.unknown_material[*c])
    }
}

/// Whether a positive total is 1 or 100 within [`SUM_TOLERANCE`].
pub fn sums_to_whole(total: f64) -> bool {
    (total - 1.0).abs() <= SUM_TOLERANCE || (total - 100.0).abs() <= 100.0 * SUM_TOLERANCE
}

/// One wide row, read: what the model can use and what is wrong with it.
#[derive(Debug, Default)]
pub(crate) struct WideRow {
    pub id: String,
    /// Known materials with a positive amount.
    pub amounts: Vec<(usize, f64)>,
    /// Cells of unknown columns holding a positive number: (column, amount).
    pub unknown: Vec<(usize, f64)>,
    /// Unknown columns holding text in this row.
    pub text: Vec<usize>,
    pub conditions: Vec<Option<f64>>,
    pub truth: Vec<Option<f64>>,
    /// Problems that keep the row from being scored.
    pub fatal: Vec<(IssueKind, Issue)>,
}

impl WideRow {
    pub fn known_sum(&self) -> f64 {
        self.amounts.iter().map(|a| a.1).sum()
    }

    /// The amount of unknown columns that are materials.
    pub fn unknown_sum(&self, layout: &Layout) -> f64 {
        layout.unknown_materials(&self.unknown).map(|a| a.1).sum()
    }
}

/// The issue for a row whose cell count is not the header's.
fn wrong_width(record: &csv::ByteRecord, layout: &Layout, row: usize) -> Issue {
    let problem = format!(
        "{} cells where the header has {}",
        record.len(),
        layout.header.len()
    );
    Issue::whole_row(row, problem)
}

/// The issue of a formulation (`what`) whose amounts sum to `total`: none, zero or off 1/100.
fn sum_issue(total: f64, what: &str) -> Option<(IssueKind, String)> {
    if total <= 0.0 {
        Some((
            IssueKind::ZeroSum,
            format!("{what} has no material with an amount"),
        ))
    } else if !sums_to_whole(total) {
        Some((
            IssueKind::OffSum,
            format!("{what} sums to {}", round_sig(total)),
        ))
    } else {
        None
    }
}

pub(crate) fn read_wide_row(
    layout: &Layout,
    dialect: &Dialect,
    record: &csv::ByteRecord,
    row: usize,
) -> WideRow {
    let mut out = WideRow {
        conditions: vec![None; layout.condition_cols.len()],
        truth: vec![None; layout.truth_cols.len()],
        ..WideRow::default()
    };
    let text_of = |c: usize| String::from_utf8_lossy(record.get(c).unwrap_or(b""));
    out.id = match layout.id {
        Some(c) => text_of(c).trim().to_string(),
        None => format!("row {row}"),
    };
    if record.len() != layout.header.len() {
        out.fatal
            .push((IssueKind::Malformed, wrong_width(record, layout, row)));
        return out;
    }
    for (c, col) in layout.cols.iter().enumerate() {
        let raw = text_of(c);
        let number = dialect.parse_number(&raw);
        match (*col, number) {
            (Col::Material(_), Err(p)) | (Col::Condition(_), Err(p)) => {
                out.fatal
                    .push((IssueKind::NotNumeric, layout.issue(row, c, p)));
            }
            (Col::Material(_) | Col::Unknown, Ok(Some(v))) if v < 0.0 => {
                let issue = layout.issue(row, c, format!("negative amount {v}"));
                out.fatal.push((IssueKind::Negative, issue));
            }
            (Col::Material(k), Ok(Some(v))) if v > 0.0 => out.amounts.push((k, v)),
            (Col::Unknown, Ok(Some(v))) if v > 0.0 => out.unknown.push((c, v)),
            (Col::Unknown, Err(_)) => out.text.push(c),
            (Col::Condition(k), Ok(Some(v))) => out.conditions[k] = Some(v),
            (Col::Condition(_), Ok(None)) => {
                let issue = layout.issue(row, c, "the condition is empty".into());
                out.fatal.push((IssueKind::EmptyCell, issue));
            }
            // A truth cell that is not a number is treated as missing: the row still scores
            // (a binary one may say TRUE/FALSE, yes/no).
            (Col::Target(k), Ok(v)) => out.truth[k] = v,
            (Col::Target(k), Err(_)) if layout.binary[k] => out.truth[k] = boolean(&raw),
            _ => {}
        }
    }
    out
}

/// A formulation of a long file, gathered over its rows.
#[derive(Clone, Debug, Default)]
pub(crate) struct LongFormulation {
    pub id: String,
    pub first_row: usize,
    pub amounts: Vec<(usize, f64)>,
    /// Amounts of materials the model does not know, and their names' indices.
    pub unknown: Vec<(usize, f64)>,
    pub conditions: Vec<Option<(f64, usize)>>,
    pub truth: Vec<Option<(f64, usize)>>,
    /// Why it cannot be scored, if it cannot.
    pub fatal: Option<(IssueKind, Issue)>,
}

/// A wide row with numbers in unknown columns: (row, known amount, (column, amount)s).
type Deferred = (usize, f64, Vec<(usize, f64)>);

/// The first pass: fed the records one by one, then finished into a report and the plan the
/// scoring pass follows.
pub struct Checker<'m> {
    manifest: &'m Manifest,
    pub(crate) layout: Layout,
    dialect: Dialect,
    lines: usize,
    groups: HashMap<IssueKind, (usize, Vec<Issue>)>,
    /// Formulations with an issue (wide: rows; long: formulation indices).
    troubled: std::collections::HashSet<usize>,
    ids: HashMap<String, usize>,
    /// Wide rows with unknown numeric cells: judged once the columns' kinds are known.
    deferred: Vec<Deferred>,
    text_columns: Vec<bool>,
    // Long files.
    pub(crate) long: Vec<LongFormulation>,
    long_index: HashMap<String, usize>,
    pub(crate) unknown_names: Vec<String>,
    unknown_index: HashMap<String, usize>,
}

/// The first pass's result that the scoring pass needs.
pub struct Plan {
    pub layout: Layout,
    pub dialect: Dialect,
    pub(crate) long: Vec<LongFormulation>,
    pub report: Report,
}

impl<'m> Checker<'m> {
    pub fn new(manifest: &'m Manifest, layout: Layout, dialect: Dialect) -> Self {
        let width = layout.cols.len();
        Checker {
            manifest,
            layout,
            dialect,
            lines: 0,
            groups: HashMap::new(),
            troubled: Default::default(),
            ids: HashMap::new(),
            deferred: Vec::new(),
            text_columns: vec![false; width],
            long: Vec::new(),
            long_index: HashMap::new(),
            unknown_names: Vec::new(),
            unknown_index: HashMap::new(),
        }
    }

    fn add(&mut self, kind: IssueKind, issue: Issue, formulation: usize) {
        self.troubled.insert(formulation);
        let (count, listed) = self.groups.entry(kind).or_default();
        *count += 1;
        if listed.len() < LISTED {
            listed.push(issue);
        }
    }

    /// One data record at spreadsheet row `row`.
    pub fn record(&mut self, record: &csv::ByteRecord, row: usize) {
        self.lines += 1;
        match self.layout.format {
            Format::Wide => self.wide(record, row),
            Format::Long => self.long_line(record, row),
        }
    }

    fn duplicate(&mut self, id: &str, row: usize, formulation: usize) {
        let Some(c) = self.layout.id else { return };
        if let Some(&first) = self.ids.get(id) {
            let issue = self
                .layout
                .issue(row, c, format!("id {id:?} is also in row {first}"));
            self.add(IssueKind::DuplicateId, issue, formulation);
        } else {
            self.ids.insert(id.to_string(), row);
        }
    }

    fn wide(&mut self, record: &csv::ByteRecord, row: usize) {
        let r = read_wide_row(&self.layout, &self.dialect, record, row);
        for &c in &r.text {
            self.text_columns[c] = true;
        }
        self.duplicate(&r.id, row, row);
        let known = r.known_sum();
        let fatal = !r.fatal.is_empty();
        for (kind, issue) in r.fatal {
            self.add(kind, issue, row);
        }
        if fatal {
            return;
        }
        if r.unknown.is_empty() {
            self.judge_sum(row, known);
        } else {
            self.deferred.push((row, known, r.unknown));
        }
    }

    /// A wide row's sum (known + unknown materials) judged.
    fn judge_sum(&mut self, row: usize, total: f64) {
        if let Some((kind, problem)) = sum_issue(total, "the row") {
            self.add(kind, Issue::whole_row(row, problem), row);
        }
    }

    fn long_line(&mut self, record: &csv::ByteRecord, row: usize) {
        let l = &self.layout;
        let text_of = |c: usize| {
            String::from_utf8_lossy(record.get(c).unwrap_or(b""))
                .trim()
                .to_string()
        };
        let (Some(id_c), Some(mat_c), Some(amt_c)) =
            (l.id, l.col_of(Col::LongMaterial), l.col_of(Col::LongAmount))
        else {
            return;
        };
        if record.len() != l.header.len() {
            let issue = wrong_width(record, l, row);
            self.add(IssueKind::Malformed, issue, usize::MAX - row);
            return;
        }
        let id = text_of(id_c);
        if id.is_empty() {
            let issue = l.issue(row, id_c, "the formulation id is empty".into());
            self.add(IssueKind::EmptyCell, issue, usize::MAX - row);
            return;
        }
        let f = match self.long_index.get(&id) {
            Some(&f) => f,
            None => {
                self.long.push(LongFormulation {
                    id: id.clone(),
                    first_row: row,
                    conditions: vec![None; l.condition_cols.len()],
                    truth: vec![None; l.truth_cols.len()],
                    ..Default::default()
                });
                self.long_index.insert(id, self.long.len() - 1);
                self.long.len() - 1
            }
        };
        let mut problems = Vec::new();
        let name = text_of(mat_c);
        let amount = match self.dialect.parse_number(&text_of(amt_c)) {
            Err(p) => {
                problems.push((IssueKind::NotNumeric, l.issue(row, amt_c, p)));
                None
            }
            Ok(None) => {
                let issue = l.issue(row, amt_c, "the amount is empty".into());
                problems.push((IssueKind::EmptyCell, issue));
                None
            }
            Ok(Some(v)) if v < 0.0 => {
                let issue = l.issue(row, amt_c, format!("negative amount {v}"));
                problems.push((IssueKind::Negative, issue));
                None
            }
            Ok(Some(v)) => Some(v),
        };
        if name.is_empty() {
            let issue = l.issue(row, mat_c, "the material name is empty".into());
            problems.push((IssueKind::EmptyCell, issue));
        } else if let Some(v) = amount.filter(|&v| v > 0.0) {
            match self.manifest.material_index(&name) {
                Some(k) => self.long[f].amounts.push((k, v)),
                None => {
                    let u = match self.unknown_index.get(&name) {
                        Some(&u) => u,
                        None => {
                            self.unknown_names.push(name.clone());
                            self.unknown_index
                                .insert(name.clone(), self.unknown_names.len() - 1);
                            self.unknown_names.len() - 1
                        }
                    };
                    self.long[f].unknown.push((u, v));
                    let issue = l.issue(
                        row,
                        mat_c,
                        format!("{name:?} is not a material of this model"),
                    );
                    problems.push((IssueKind::UnknownMaterial, issue));
                }
            }
        }
        // Conditions and truth: every row of a formulation that gives one must agree.
        let cols: Vec<(bool, usize, usize)> = (l.condition_cols.iter().enumerate())
            .filter_map(|(k, c)| c.map(|c| (true, k, c)))
            .chain(
                l.truth_cols
                    .iter()
                    .enumerate()
                    .filter_map(|(k, c)| c.map(|c| (false, k, c))),
            )
            .collect();
        for (is_condition, k, c) in cols {
            let v = match self.dialect.parse_number(&text_of(c)) {
                Ok(Some(v)) => v,
                Ok(None) => continue,
                Err(p) if is_condition => {
                    problems.push((IssueKind::NotNumeric, l.issue(row, c, p)));
                    continue;
                }
                Err(_) => continue,
            };
            let slot = if is_condition {
                &mut self.long[f].conditions[k]
            } else {
                &mut self.long[f].truth[k]
            };
            match *slot {
                Some((old, old_row)) if old != v => {
                    let issue = l.issue(row, c, format!("{v} here but {old} in row {old_row}"));
                    problems.push((IssueKind::Conflict, issue));
                }
                Some(_) => {}
                None => *slot = Some((v, row)),
            }
        }
        for (kind, issue) in problems {
            if kind != IssueKind::UnknownMaterial && self.long[f].fatal.is_none() {
                self.long[f].fatal = Some((kind, issue.clone()));
            }
            self.add(kind, issue, f);
        }
    }

    /// The report and the plan for the scoring pass.
    pub fn finish(mut self) -> Plan {
        let m = self.manifest;
        let mut unknown_materials = Vec::new();
        let mut carried = Vec::new();
        match self.layout.format {
            Format::Wide => {
                for (c, col) in self.layout.cols.iter().enumerate() {
                    match col {
                        Col::Unknown if self.text_columns[c] => {
                            carried.push(self.layout.header[c].clone())
                        }
                        Col::Carried => carried.push(self.layout.header[c].clone()),
                        Col::Unknown => self.layout.unknown_material[c] = true,
                        _ => {}
                    }
                }
                let mut users = vec![0usize; self.layout.cols.len()];
                for (row, known, unknown) in std::mem::take(&mut self.deferred) {
                    let materials: Vec<(usize, f64)> =
                        self.layout.unknown_materials(&unknown).copied().collect();
                    if let Some(&(first, _)) = materials.first() {
                        let names: Vec<&str> = (materials.iter())
                            .map(|&(c, _)| {
                                users[c] += 1;
                                self.layout.header[c].as_str()
                            })
                            .collect();
                        let problem = format!(
                            "has {} of this model's unknown material(s) {}",
                            names.len(),
                            names.join(", ")
                        );
                        let issue = self.layout.issue(row, first, problem);
                        self.add(IssueKind::UnknownMaterial, issue, row);
                    }
                    let total = known + materials.iter().map(|a| a.1).sum::<f64>();
                    self.judge_sum(row, total);
                }
                for (c, &is) in self.layout.unknown_material.iter().enumerate() {
                    if is {
                        let name = &self.layout.header[c];
                        let ranked = (self.layout.columns[c].suggestions.iter())
                            .filter_map(|s| match &s.role {
                                Role::Material(n) => Some(n.clone()),
                                _ => None,
                            })
                            .take(3)
                            .collect();
                        unknown_materials.push(UnknownMaterial {
                            name: name.clone(),
                            column: Some(c + 1),
                            formulations: users[c],
                            suggestions: ranked,
                        });
                    }
                }
            }
            Format::Long => {
                for (c, col) in self.layout.cols.iter().enumerate() {
                    if matches!(col, Col::Unknown | Col::Carried) {
                        carried.push(self.layout.header[c].clone());
                    }
                }
                let mut users = vec![0usize; self.unknown_names.len()];
                let mut sums = Vec::new();
                for (f, lf) in self.long.iter().enumerate() {
                    let mut seen: Vec<usize> = lf.unknown.iter().map(|u| u.0).collect();
                    seen.sort_unstable();
                    seen.dedup();
                    for u in seen {
                        users[u] += 1;
                    }
                    if lf.fatal.is_none() {
                        let total: f64 = lf.amounts.iter().chain(&lf.unknown).map(|a| a.1).sum();
                        sums.push((f, lf.first_row, total));
                    }
                }
                for (f, row, total) in sums {
                    self.judge_sum_long(f, row, total);
                }
                for (u, name) in self.unknown_names.iter().enumerate() {
                    unknown_materials.push(UnknownMaterial {
                        name: name.clone(),
                        column: self.layout.col_of(Col::LongMaterial).map(|c| c + 1),
                        formulations: users[u],
                        suggestions: suggestions(m, name),
                    });
                }
            }
        }
        let formulations = match self.layout.format {
            Format::Wide => self.lines,
            Format::Long => self.long.len(),
        };
        let mut groups = Vec::new();
        for kind in IssueKind::ALL {
            if let Some((count, mut listed)) = self.groups.remove(&kind) {
                listed.sort_by_key(|i| (i.row, i.column));
                listed.truncate(LISTED);
                groups.push(IssueGroup {
                    kind,
                    count,
                    listed,
                });
            }
        }
        let defaults = m.default_condition_values();
        let missing_conditions = (self.layout.condition_cols.iter().enumerate())
            .filter(|(_, c)| c.is_none())
            .map(|(k, _)| MissingCondition {
                name: m.conditions[k].name.clone(),
                unit: m.conditions[k].unit.clone(),
                default: defaults[k],
            })
            .collect();
        let truth = (self.layout.truth_cols.iter().enumerate())
            .filter(|(_, c)| c.is_some())
            .map(|(k, _)| m.targets[k].name.clone())
            .collect();
        let troubled_formulations = match self.layout.format {
            Format::Wide => self.troubled.len(),
            Format::Long => self
                .troubled
                .iter()
                .filter(|&&f| f < self.long.len())
                .count(),
        };
        let report = Report {
            format: self.layout.format,
            dialect: self.dialect,
            lines: self.lines,
            formulations,
            clean: formulations.saturating_sub(troubled_formulations),
            groups,
            unknown_materials,
            missing_conditions,
            carried,
            truth,
            columns: self.layout.columns.clone(),
            notes: Vec::new(),
        };
        Plan {
            layout: self.layout,
            dialect: self.dialect,
            long: self.long,
            report,
        }
    }

    /// A long formulation's sum judged; no amount at all makes it unscorable.
    fn judge_sum_long(&mut self, f: usize, row: usize, total: f64) {
        let what = format!("formulation {:?}", self.long[f].id);
        if let Some((kind, problem)) = sum_issue(total, &what) {
            let issue = Issue::whole_row(row, problem);
            if kind == IssueKind::ZeroSum {
                self.long[f].fatal = Some((kind, issue.clone()));
            }
            self.add(kind, issue, f);
        }
    }
}

/// `v` to 6 significant digits, for messages.
fn round_sig(v: f64) -> String {
    // 1e308 written out is 309 digits: large sums are shown in scientific notation.
    if v.abs() >= 1e9 {
        return format!("{v:.4e}");
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Up to three of the model's materials whose names are closest to `name` (case and
/// punctuation ignored), closest first; none when nothing is reasonably close.
pub fn suggestions(manifest: &Manifest, name: &str) -> Vec<String> {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let target = norm(name);
    let mut scored: Vec<(f64, &str)> = manifest
        .materials
        .iter()
        .map(|mat| {
            let other = norm(&mat.name);
            let mut s = strsim::normalized_levenshtein(&target, &other);
            if !target.is_empty() && (other.contains(&target) || target.contains(&other)) {
                s = s.max(0.75);
            }
            (s, mat.name.as_str())
        })
        .filter(|(s, _)| *s >= 0.5)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(3)
        .map(|(_, n)| n.to_string())
        .collect()
}
