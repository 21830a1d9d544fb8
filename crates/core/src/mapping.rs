//! Column roles: what each header of a user's file is to a model — a material, a condition,
//! a target, the id, or ignored. Exact names need nothing; a header that names a model's
//! column the way people write it (`Cement (kg/m3)`, `WATER`, the UCI source's long name, a
//! material's INCI name when only one material has it) is recognised by its normalised form;
//! anything else gets ranked suggestions (case and spacing, shared words, edit distance, the
//! materials' metadata) that the user confirms in a [`Mapping`], saved as a small JSON file that
//! `mixlab score --mapping` and the app read.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::bundle::Manifest;

pub const FORMAT: &str = "mixlab-mapping";
pub const VERSION: u32 = 1;

/// What a column is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "role", content = "name", rename_all = "snake_case")]
pub enum Role {
    Material(String),
    Condition(String),
    Target(String),
    Id,
    Ignore,
}

impl Role {
    /// The role as one word, for a form's value: `material:cement`, `id`, `ignore`.
    pub fn token(&self) -> String {
        match self {
            Role::Material(n) => format!("material:{n}"),
            Role::Condition(n) => format!("condition:{n}"),
            Role::Target(n) => format!("target:{n}"),
            Role::Id => "id".into(),
            Role::Ignore => "ignore".into(),
        }
    }

    /// The role a [`Role::token`] stands for; `None` for anything else (such as "").
    pub fn from_token(token: &str) -> Option<Role> {
        let (kind, name) = token.split_once(':').unwrap_or((token, ""));
        Some(match kind {
            "material" => Role::Material(name.into()),
            "condition" => Role::Condition(name.into()),
            "target" => Role::Target(name.into()),
            "id" => Role::Id,
            "ignore" => Role::Ignore,
            _ => return None,
        })
    }

    /// "material cement", "the id", "ignored".
    pub fn describe(&self) -> String {
        match self {
            Role::Material(n) => format!("material {n:?}"),
            Role::Condition(n) => format!("condition {n:?}"),
            Role::Target(n) => format!("target {n:?}"),
            Role::Id => "the id".into(),
            Role::Ignore => "ignored".into(),
        }
    }
}

/// Confirmed roles of a file's headers, for one model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    pub format: String,
    pub version: u32,
    /// The model it was made for (its name; informative).
    #[serde(default)]
    pub model: String,
    /// Header (trimmed, inner spaces made one) → role.
    pub columns: BTreeMap<String, Role>,
}

#[derive(Debug, Error, PartialEq)]
pub enum MappingError {
    #[error("the mapping file is not valid JSON for a Mixlab mapping: {0}")]
    Json(String),
    #[error("this is not a Mixlab mapping (format is {0:?}, expected \"mixlab-mapping\")")]
    Format(String),
    #[error("mapping version {0} is not supported (this Mixlab reads version 1)")]
    Version(u32),
    #[error("the mapping sends column {column:?} to {role}, which this model does not have")]
    Unknown { column: String, role: String },
    #[error(
        "columns {first} ({a:?}) and {second} ({b:?}) are both {role}: map one of them elsewhere"
    )]
    Twice {
        first: usize,
        a: String,
        second: usize,
        b: String,
        role: String,
    },
}

impl Mapping {
    pub fn new(model: &str) -> Self {
        Mapping {
            format: FORMAT.into(),
            version: VERSION,
            model: model.into(),
            columns: BTreeMap::new(),
        }
    }

    /// Read a mapping (format and version checked), for data without a model (training).
    pub fn parse(text: &str) -> Result<Mapping, MappingError> {
        let m: Mapping =
            serde_json::from_str(text).map_err(|e| MappingError::Json(e.to_string()))?;
        if m.format != FORMAT {
            return Err(MappingError::Format(m.format));
        }
        if m.version != VERSION {
            return Err(MappingError::Version(m.version));
        }
        Ok(m)
    }

    /// Read and check a mapping against `manifest` (every role it names exists).
    pub fn from_json(text: &str, manifest: &Manifest) -> Result<Mapping, MappingError> {
        let m = Mapping::parse(text)?;
        for (column, role) in &m.columns {
            if !exists(manifest, role) {
                return Err(MappingError::Unknown {
                    column: column.clone(),
                    role: role.describe(),
                });
            }
        }
        Ok(m)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn exists(manifest: &Manifest, role: &Role) -> bool {
    match role {
        Role::Material(n) => manifest.material_index(n).is_some(),
        Role::Condition(n) => manifest.conditions.iter().any(|c| &c.name == n),
        Role::Target(n) => manifest.targets.iter().any(|t| &t.name == n),
        Role::Id | Role::Ignore => true,
    }
}

/// How a column's role was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// The header is the model's name for it.
    Exact,
    /// The header names it with other case, spacing, punctuation or units, or by an alias
    /// in the model's metadata, and names nothing else.
    Recognised,
    /// Given by the user's mapping.
    Mapped,
    /// An unnamed column (an index pandas or R writes, empty columns after the data).
    Unnamed,
    /// Not the model's: see the suggestions.
    Unknown,
}

/// A possible role for a header, with how sure and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub role: Role,
    /// 0..=1.
    pub score: f64,
    pub why: String,
}

/// One header's role as resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub header: String,
    /// `None` when unknown.
    pub role: Option<Role>,
    pub how: How,
    /// Best first; for unknown columns, and for recognised ones (the alternatives).
    pub suggestions: Vec<Suggestion>,
}

/// Every header's role: the mapping's, else the exact name, else a unique recognised name;
/// unnamed columns are the id when first (pandas' index, R's row names) and ignored elsewhere.
/// Two columns with one role is an error naming both.
pub fn resolve(
    manifest: &Manifest,
    header: &[String],
    mapping: Option<&Mapping>,
) -> Result<Vec<Column>, MappingError> {
    // Built only when a header is not the model's own name (the usual file needs neither
    // the aliases nor a per-header scan of thousands of materials).
    let keys = std::cell::OnceCell::new();
    let keys = || keys.get_or_init(|| Keys::of(manifest));
    let materials = manifest.material_positions();
    let has_id = header.iter().any(|h| h.eq_ignore_ascii_case("id"));
    let mut out: Vec<Column> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut column = Column {
                header: h.clone(),
                role: None,
                how: How::Unknown,
                suggestions: Vec::new(),
            };
            if let Some(role) = mapping.and_then(|m| m.columns.get(h)) {
                column.role = Some(role.clone());
                column.how = How::Mapped;
            } else if h.is_empty() {
                column.role = Some(if i == 0 && !has_id {
                    Role::Id
                } else {
                    Role::Ignore
                });
                column.how = How::Unnamed;
            } else if let Some(role) = exact(manifest, &materials, h) {
                column.role = Some(role);
                column.how = How::Exact;
            } else if i == 0 && !has_id && is_id_name(h) {
                column.role = Some(Role::Id);
                column.how = How::Recognised;
            } else {
                column.suggestions = keys().rank(h);
                if let Some(role) = keys().recognise(h) {
                    // A condition or target in other units than the model's is not the same
                    // column (`Age (weeks)` is not `age_days`): suggested, with why.
                    match other_unit(manifest, &role, h) {
                        Some(why) => {
                            if let Some(s) = column.suggestions.iter_mut().find(|s| s.role == role)
                            {
                                s.why = why;
                            }
                        }
                        None => {
                            column.role = Some(role);
                            column.how = How::Recognised;
                        }
                    }
                }
            }
            column
        })
        .collect();
    // A role two columns have: a recognised one is left to the user (all of them, when
    // none was given exactly or by the mapping); two given ones are an error.
    let mut by_role: HashMap<Role, Vec<usize>> = HashMap::new();
    for (i, c) in out.iter().enumerate() {
        if let Some(role) = c.role.clone().filter(|r| *r != Role::Ignore) {
            by_role.entry(role).or_default().push(i);
        }
    }
    let mut shared: Vec<(Role, Vec<usize>)> = by_role
        .into_iter()
        .filter(|(_, cols)| cols.len() > 1)
        .collect();
    shared.sort_by_key(|(_, cols)| cols[0]);
    for (role, cols) in shared {
        let given: Vec<usize> = cols
            .iter()
            .copied()
            .filter(|&i| out[i].how != How::Recognised)
            .collect();
        if let [j, i, ..] = given[..] {
            return Err(MappingError::Twice {
                first: j + 1,
                a: out[j].header.clone(),
                second: i + 1,
                b: out[i].header.clone(),
                role: role.describe(),
            });
        }
        for i in cols.into_iter().filter(|i| !given.contains(i)) {
            out[i].role = None;
            out[i].how = How::Unknown;
        }
    }
    Ok(out)
}

/// The unit a header states: in brackets, or after a comma (`Age (weeks)`, `Strength, psi`).
fn stated_unit(header: &str) -> Option<String> {
    let after_comma = header.split_once(',').map(|(_, u)| u);
    // `(MPa, megapascals)`: the unit, then words about it.
    let bracketed = header.rfind(['(', '[']).map(|i| {
        let inside = header[i + 1..].trim_end_matches([')', ']', ' ']);
        inside.split(',').next().unwrap_or(inside)
    });
    let unit = bracketed.or(after_comma)?.trim();
    (!unit.is_empty()).then(|| unit_key(unit))
}

/// A unit reduced for comparison: `kg/m³` = `kg/m3`, `days` = `d`, `mPa·s` = `cp`.
fn unit_key(unit: &str) -> String {
    let u: String = unit
        .to_lowercase()
        .replace('³', "3")
        .replace('²', "2")
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '^' | '.' | '·' | '*'))
        .collect();
    let same = [
        (&["d", "day", "days"][..], "d"),
        (&["h", "hr", "hrs", "hour", "hours"][..], "h"),
        (&["min", "mins", "minute", "minutes"][..], "min"),
        (&["°c", "degc", "c", "celsius"][..], "°c"),
        (&["cp", "mpas", "centipoise"][..], "cp"),
        (&["%", "percent", "pct", "wt%"][..], "%"),
        (&["mpa", "n/mm2"][..], "mpa"),
    ];
    for (names, key) in same {
        if names.contains(&u.as_str()) {
            return key.to_string();
        }
    }
    u
}

/// Why a recognised condition or target is not taken: the header states another unit than
/// the model's.
fn other_unit(manifest: &Manifest, role: &Role, header: &str) -> Option<String> {
    let unit = match role {
        Role::Condition(n) => &manifest.conditions.iter().find(|c| &c.name == n)?.unit,
        Role::Target(n) => &manifest.targets.iter().find(|t| &t.name == n)?.unit,
        _ => return None,
    };
    let stated = stated_unit(header)?;
    (!unit.is_empty() && stated != unit_key(unit)).then(|| {
        format!(
            "the same name, but in {stated} where the model uses {unit}: convert the values first"
        )
    })
}

/// The header as the model names a column.
fn exact(manifest: &Manifest, materials: &HashMap<&str, usize>, h: &str) -> Option<Role> {
    if h.eq_ignore_ascii_case("id") || h == crate::data::LONG_ID {
        return Some(Role::Id);
    }
    if manifest.conditions.iter().any(|c| c.name == h) {
        return Some(Role::Condition(h.into()));
    }
    if manifest.targets.iter().any(|t| t.name == h) {
        return Some(Role::Target(h.into()));
    }
    materials.contains_key(h).then(|| Role::Material(h.into()))
}

/// Metadata keys whose values are other names for a material.
const ALIAS_KEYS: [&str; 8] = [
    "name",
    "inci",
    "inci_name",
    "inci_name_guess",
    "alias",
    "aliases",
    "source_column",
    "trade_name",
];

/// Units and words written beside a name that do not change what it names.
const NOISE: [&str; 26] = [
    "kg", "g", "mg", "m3", "m", "per", "mpa", "gpa", "cp", "mpas", "ntu", "days", "day", "d", "wt",
    "w", "percent", "pct", "qs", "q", "s", "ad", "phr", "ppm", "c", "k",
];

/// Whether a header is what people call the id column (`Sample`, `Mix no.`, `ID`).
pub fn is_id_name(header: &str) -> bool {
    ID_WORDS.contains(&normalise(header).as_str())
}

/// What people call the id column (normalised), recognised in the first column.
const ID_WORDS: [&str; 20] = [
    "id",
    "sample",
    "sample id",
    "sample no",
    "sample name",
    "name",
    "formulation",
    "formulation id",
    "formulation no",
    "recipe",
    "recipe id",
    "recipe no",
    "mix",
    "mix id",
    "mix no",
    "batch",
    "batch no",
    "code",
    "no",
    "nr",
];

/// A header or name reduced to what identifies it: lower case, bracketed parts and anything
/// after a comma dropped (`Cement (kg/m3)`, `Water, kg/m3`), punctuation as spaces, unit words
/// removed from the end (`strength_mpa` → `strength`).
pub fn normalise(text: &str) -> String {
    let mut kept = String::new();
    let mut depth = 0usize;
    for c in text.split(',').next().unwrap_or("").chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => kept.push(c),
            _ => {}
        }
    }
    let lower = kept.to_lowercase();
    let mut words: Vec<String> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.replace(['³'], "3"))
        .collect();
    while words.len() > 1 && words.last().is_some_and(|w| NOISE.contains(&w.as_str())) {
        words.pop();
    }
    words.join(" ")
}

/// The model's names and aliases, normalised, with the role each names.
struct Keys {
    /// (normalised key, role, what it is, only for suggestions).
    keys: Vec<(String, Role, &'static str, bool)>,
}

impl Keys {
    fn of(manifest: &Manifest) -> Keys {
        let mut keys = Vec::new();
        for m in &manifest.materials {
            let role = Role::Material(m.name.clone());
            keys.push((normalise(&m.name), role.clone(), "the name", false));
            for (k, v) in &m.metadata {
                if ALIAS_KEYS.contains(&k.as_str()) {
                    for alias in v.split(['|', ';']) {
                        let why = if k.starts_with("inci") {
                            "its INCI name"
                        } else {
                            "an alias in the model"
                        };
                        keys.push((normalise(alias), role.clone(), why, false));
                    }
                } else if k == "description" {
                    // Words in brackets count here: `fine aggregate (sand)`.
                    let loose = v.replace(['(', ')', '[', ']', '/', ','], " ");
                    keys.push((normalise(&loose), role.clone(), "its description", true));
                }
            }
        }
        for c in &manifest.conditions {
            let role = Role::Condition(c.name.clone());
            keys.push((normalise(&c.name), role.clone(), "the name", false));
            keys.push((normalise(&c.label), role, "its label", false));
        }
        for t in &manifest.targets {
            let role = Role::Target(t.name.clone());
            keys.push((normalise(&t.name), role.clone(), "the name", false));
            keys.push((normalise(&t.label), role, "its label", false));
        }
        keys.retain(|k| !k.0.is_empty());
        Keys { keys }
    }

    /// The one role whose normalised name or alias equals the header's, if exactly one.
    /// Failing that, the one role with a name of two words or more that all appear in the
    /// header (`Concrete compressive strength` → `Compressive strength`).
    fn recognise(&self, header: &str) -> Option<Role> {
        let n = normalise(header);
        let unique = |roles: Vec<&Role>| -> Option<Role> {
            let first = *roles.first()?;
            roles.iter().all(|r| *r == first).then(|| first.clone())
        };
        let named = || self.keys.iter().filter(|k| !k.3);
        let same: Vec<&Role> = named().filter(|k| k.0 == n).map(|k| &k.1).collect();
        if !same.is_empty() {
            return unique(same);
        }
        let words: Vec<&str> = n.split(' ').collect();
        let within: Vec<&Role> = named()
            .filter(|k| k.0.contains(' ') && k.0.split(' ').all(|w| words.contains(&w)))
            .map(|k| &k.1)
            .collect();
        unique(within)
    }

    /// Up to five roles ranked by similarity to the header (≥ 0.5), each with why.
    fn rank(&self, header: &str) -> Vec<Suggestion> {
        let n = normalise(header);
        let squash = |s: &str| s.replace(' ', "");
        let words: Vec<&str> = n.split(' ').filter(|w| !w.is_empty()).collect();
        // `GGBS`, `SLES`: letters that may be a name's initials.
        let acronym = {
            let t = header.trim();
            ((2..=6).contains(&t.len()) && t.chars().all(|c| c.is_ascii_uppercase()))
                .then(|| t.to_ascii_lowercase())
        };
        let mut best: Vec<Suggestion> = Vec::new();
        for (key, role, alias, _) in &self.keys {
            let (score, why) = if *key == n {
                (
                    1.0,
                    format!("same as {alias} but for case, spacing or units"),
                )
            } else {
                let edit = strsim::normalized_levenshtein(&squash(&n), &squash(key));
                let theirs: Vec<&str> = key.split(' ').collect();
                let shared = words.iter().filter(|w| theirs.contains(w)).count();
                let overlap = shared as f64 / (words.len() + theirs.len() - shared).max(1) as f64;
                let contains = !n.is_empty() && (key.contains(&n) || n.contains(key.as_str()));
                let (mut score, mut why) = (edit, format!("spelt like {alias}"));
                if overlap > score {
                    (score, why) = (overlap, format!("words shared with {alias}"));
                }
                if contains && score < 0.75 {
                    (score, why) = (0.75, format!("contains or is contained in {alias}"));
                }
                let word = words.iter().any(|w| {
                    w.len() >= 4 && w.chars().all(char::is_alphabetic) && theirs.contains(w)
                });
                if word && score < 0.6 {
                    (score, why) = (0.6, format!("a word of {alias}"));
                }
                let initials: String = theirs.iter().filter_map(|w| w.chars().next()).collect();
                if let Some(a) = &acronym
                    && initials.len() <= a.len() + 1
                    && initials.starts_with(&a[..1])
                    && is_subsequence(a, &initials)
                    && score < 0.7
                {
                    (score, why) = (0.7, format!("the initials of {alias}"));
                }
                (score, why)
            };
            if score < 0.5 {
                continue;
            }
            match best.iter_mut().find(|s| &s.role == role) {
                Some(s) if s.score >= score => {}
                Some(s) => {
                    s.score = score;
                    s.why = why;
                }
                None => best.push(Suggestion {
                    role: role.clone(),
                    score,
                    why,
                }),
            }
        }
        best.sort_by(|a, b| b.score.total_cmp(&a.score));
        best.truncate(5);
        best
    }
}

/// Whether the letters of `short` appear in `long` in order.
fn is_subsequence(short: &str, long: &str) -> bool {
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|l| l == c))
}

/// A mapping holding every column's resolved role (unknown columns with their best
/// suggestion when `take_suggestions`, else ignored): what `mixlab map` writes for review.
pub fn mapping_of(model: &str, columns: &[Column], take_suggestions: bool) -> Mapping {
    let mut m = Mapping::new(model);
    for c in columns
        .iter()
        .filter(|c| c.how != How::Exact && c.how != How::Unnamed)
    {
        let role = match (&c.role, c.suggestions.first()) {
            (Some(r), _) => r.clone(),
            (None, Some(s)) if take_suggestions => s.role.clone(),
            _ => Role::Ignore,
        };
        m.columns.insert(c.header.clone(), role);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Manifest;

    fn concrete() -> Manifest {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../public/models/concrete/manifest.json"
        ))
        .unwrap();
        Manifest::from_json(text.as_bytes()).unwrap()
    }

    fn roles(m: &Manifest, header: &[&str], mapping: Option<&Mapping>) -> Vec<Option<Role>> {
        let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
        resolve(m, &header, mapping)
            .unwrap()
            .into_iter()
            .map(|c| c.role)
            .collect()
    }

    #[test]
    fn normalises_what_people_write() {
        assert_eq!(normalise("Cement (kg/m3)"), "cement");
        assert_eq!(normalise("Water, kg/m3"), "water");
        assert_eq!(normalise("  PLANTACARE  818 "), "plantacare 818");
        assert_eq!(
            normalise("Cement (component 1)(kg in a m^3 mixture)"),
            "cement"
        );
        assert_eq!(normalise("strength_mpa"), "strength");
        assert_eq!(normalise("Fly ash [kg/m³]"), "fly ash");
        assert_eq!(normalise("Water q.s."), "water");
    }

    #[test]
    fn recognises_units_labels_and_aliases_and_suggests_the_rest() {
        let m = concrete();
        let got = roles(
            &m,
            &[
                "Mix",
                "Cement (kg/m3)",
                "Age (days)",
                "Compressive strength (MPa)",
                "Fly ash [kg/m3]",
                "Coarse agg.",
            ],
            None,
        );
        assert_eq!(got[0], Some(Role::Id));
        assert_eq!(got[1], Some(Role::Material("cement".into())));
        assert_eq!(got[2], Some(Role::Condition("age_days".into())));
        assert_eq!(got[3], Some(Role::Target("strength_mpa".into())));
        assert_eq!(got[4], Some(Role::Material("fly_ash".into())));
        assert_eq!(got[5], None);
        let header = vec!["Coarse agg.".to_string()];
        let c = &resolve(&m, &header, None).unwrap()[0];
        assert_eq!(
            c.suggestions[0].role,
            Role::Material("coarse_aggregate".into())
        );
        // The description's words and initials suggest, never decide.
        let header = vec!["Sand".to_string(), "GGBS".to_string()];
        let got = resolve(&m, &header, None).unwrap();
        assert_eq!(got[0].role, None);
        assert_eq!(
            got[0].suggestions[0].role,
            Role::Material("fine_aggregate".into())
        );
        assert_eq!(
            got[1].suggestions[0].role,
            Role::Material("blast_furnace_slag".into())
        );
        // Another unit than the model's: only suggested, with why.
        let header = vec!["Age (weeks)".to_string(), "Strength, psi".to_string()];
        let got = resolve(&m, &header, None).unwrap();
        assert_eq!((got[0].role.clone(), got[1].role.clone()), (None, None));
        assert!(
            got[0].suggestions[0]
                .why
                .contains("in weeks where the model uses days")
        );
        assert_eq!(
            roles(&m, &["Age [d]"], None)[0],
            Some(Role::Condition("age_days".into()))
        );
        // All the words of a label: recognised.
        let long = roles(
            &m,
            &["Concrete compressive strength(MPa, megapascals) "],
            None,
        );
        assert_eq!(long[0], Some(Role::Target("strength_mpa".into())));
        // The UCI source's long names are aliases in the model's metadata.
        let uci = roles(&m, &["Water  (component 4)(kg in a m^3 mixture)"], None);
        assert_eq!(uci[0], Some(Role::Material("water".into())));
    }

    #[test]
    fn a_mapping_decides_and_two_columns_cannot_share_a_role() {
        let m = concrete();
        let mut map = Mapping::new("concrete");
        map.columns.insert("Mix".into(), Role::Id);
        map.columns.insert(
            "Coarse agg.".into(),
            Role::Material("coarse_aggregate".into()),
        );
        let got = roles(&m, &["Mix", "Coarse agg."], Some(&map));
        assert_eq!(
            got,
            vec![
                Some(Role::Id),
                Some(Role::Material("coarse_aggregate".into()))
            ]
        );
        // Recognised twice: neither is taken.
        let got = roles(&m, &["Cement (kg)", "cement [kg/m3]"], None);
        assert_eq!(got, vec![None, None]);
        // Exact and mapped to the same: an error naming both.
        map.columns
            .insert("Cement (kg)".into(), Role::Material("cement".into()));
        let header = vec!["cement".to_string(), "Cement (kg)".to_string()];
        let err = resolve(&m, &header, Some(&map)).unwrap_err().to_string();
        assert!(err.contains("columns 1 (\"cement\") and 2"), "{err}");
        for role in map.columns.values() {
            assert_eq!(Role::from_token(&role.token()).as_ref(), Some(role));
        }
        assert_eq!(Role::from_token(""), None);
        // Round trip, and a role the model lacks is refused.
        let back = Mapping::from_json(&map.to_json(), &m).unwrap();
        assert_eq!(back, map);
        let bad = map.to_json().replace("coarse_aggregate", "gravel");
        assert!(
            Mapping::from_json(&bad, &m)
                .unwrap_err()
                .to_string()
                .contains("\"gravel\"")
        );
        // Unnamed columns: pandas' index is the id.
        let got = roles(&m, &["", "cement", ""], None);
        assert_eq!(
            got,
            vec![
                Some(Role::Id),
                Some(Role::Material("cement".into())),
                Some(Role::Ignore)
            ]
        );
    }
}
