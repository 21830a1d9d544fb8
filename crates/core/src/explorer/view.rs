//! The explorer's whole view as the URL fragment of a share link:
//! `#x=1&h=3f9a0c21&proj=tsne.2.p30.lr0.it1000.s7&col=cluster.5&cam=…&sel=3-7.12&foc=4`.
//! Versioned (`x`), compact, readable, and checked entry by entry on the way in: a tampered
//! or outdated link gives a message that names the entry, and the app shows the default view.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use thiserror::Error;

use crate::neighbours::Distance;
use crate::projection::{Method, Spec};

/// The fragment format this build writes and reads.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, Error, PartialEq)]
pub enum ViewError {
    #[error(
        "the link was made by a newer Mixlab (view version {0}); this one reads version {VERSION}"
    )]
    Version(String),
    #[error("the link's {entry:?} entry ({text:?}) is not valid: {why}")]
    Entry {
        entry: String,
        text: String,
        why: String,
    },
    #[error("the link has an unknown entry {0:?}")]
    Unknown(String),
    #[error("the link was made with another version of this model (fingerprint {link}, now {now})")]
    Outdated { link: String, now: String },
}

fn entry_error(entry: &str, text: &str, why: impl Into<String>) -> ViewError {
    ViewError::Entry {
        entry: entry.into(),
        text: text.into(),
        why: why.into(),
    }
}

/// What colours the points.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Colour {
    /// ‖act(code)‖: near the origin = little effect.
    #[default]
    Influence,
    /// k-means cluster of the representations, k chosen by the user.
    Cluster(usize),
    /// A metadata column of the bundle's materials.
    Metadata(String),
    /// How many training formulations contain the material.
    Usage,
    /// Change of the target (by index) per +1 % of the material in the current formulation.
    Sensitivity(usize),
}

/// A 2-D zoom (axis ranges) or a 3-D camera (eye, centre, up).
#[derive(Clone, Debug, PartialEq)]
pub enum Camera {
    Ranges([f64; 4]),
    Eye([f64; 9]),
}

/// Everything that makes the picture.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// The model's fingerprint when the link was made (see [`fingerprint`]).
    pub fingerprint: String,
    pub spec: Spec,
    pub colour: Colour,
    pub size_by_usage: bool,
    pub camera: Option<Camera>,
    /// Selected materials (indices).
    pub selection: BTreeSet<usize>,
    /// The clicked material, whose nearest materials are listed and drawn.
    pub focus: Option<usize>,
    pub neighbours: usize,
    pub distance: Distance,
    /// Snapshot index of the learning-dynamics slider; `None` = the trained codes.
    pub step: Option<usize>,
    /// A second projection drawn beside the first, selection linked (by material name when
    /// it is of another model).
    pub compare: Option<Spec>,
    /// The other model the second projection shows; `None` = this one.
    pub other: Option<OtherModel>,
}

/// Another bundle, for a side-by-side comparison: its path relative to the page (only the
/// page's own site is ever asked for it) and its fingerprint when the link was made.
#[derive(Clone, Debug, PartialEq)]
pub struct OtherModel {
    pub path: String,
    pub fingerprint: String,
}

/// Longest bundle path a link may name.
pub const MAX_PATH: usize = 200;

/// Whether `path` may name another bundle: relative to the page, on its own site (no scheme,
/// no `//`, no `..`), in plain characters. Links come from chat; they must not make the
/// app ask another host for anything.
pub fn bundle_path_ok(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= MAX_PATH
        && !path.starts_with('/')
        && !path.contains("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_~./".contains(&b))
        && path.split('/').all(|seg| seg != ".." && seg != ".")
}

impl View {
    /// Check the loaded other model against the link: its fingerprint, and that the second
    /// projection fits its number of materials.
    pub fn check_other(&self, fingerprint: &str, materials: usize) -> Result<(), ViewError> {
        let Some(o) = &self.other else { return Ok(()) };
        if o.fingerprint != fingerprint {
            return Err(ViewError::Outdated {
                link: o.fingerprint.clone(),
                now: fingerprint.into(),
            });
        }
        if let Some(c) = &self.compare {
            c.validate(materials)
                .map_err(|e| entry_error("cmp", &c.to_string(), e.to_string()))?;
        }
        Ok(())
    }
}

impl View {
    /// The view a model opens with: PCA in 2-D, coloured by influence.
    pub fn default_for(fingerprint: &str) -> View {
        View {
            fingerprint: fingerprint.into(),
            spec: Spec::new(Method::Pca, 2),
            colour: Colour::Influence,
            size_by_usage: true,
            camera: None,
            selection: BTreeSet::new(),
            focus: None,
            neighbours: 5,
            distance: Distance::Euclidean,
            step: None,
            compare: None,
            other: None,
        }
    }
}

/// A short fingerprint of a model's codes (first 8 hex digits of their SHA-256): a link made
/// with other codes would put the points elsewhere.
pub fn fingerprint(codes: &[f32]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for c in codes {
        h.update(c.to_le_bytes());
    }
    h.finalize()[..4].iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A projection's spec token from the link entry `entry`, errors naming the entry.
fn spec_entry(entry: &str, text: &str) -> Result<Spec, ViewError> {
    text.parse()
        .map_err(|why: String| entry_error(entry, text, why))
}

/// `3-7.12.40`: sorted indices as runs.
fn selection_text(sel: &BTreeSet<usize>) -> String {
    let mut out = Vec::new();
    let mut iter = sel.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        out.push(if end == start {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    out.join(".")
}

fn colour_text(c: &Colour) -> String {
    match c {
        Colour::Influence => "influence".into(),
        Colour::Cluster(k) => format!("cluster.{k}"),
        Colour::Metadata(key) => format!("meta.{}", escape(key)),
        Colour::Usage => "usage".into(),
        Colour::Sensitivity(t) => format!("sens.{t}"),
    }
}

/// Fragment-safe text (metadata keys are free-form).
fn escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn unescape(entry: &str, s: &str) -> Result<String, ViewError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| entry_error(entry, s, "a broken %-escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| entry_error(entry, s, "not UTF-8 text"))
}

/// The fragment (without `#`) for a view; entries at their defaults are left out.
pub fn to_fragment(view: &View) -> String {
    let mut parts = vec![format!("x={VERSION}"), format!("h={}", view.fingerprint)];
    parts.push(format!("proj={}", view.spec));
    parts.push(format!("col={}", colour_text(&view.colour)));
    if !view.size_by_usage {
        parts.push("size=none".into());
    }
    match &view.camera {
        Some(Camera::Ranges(r)) => parts.push(format!(
            "cam={}",
            r.iter().map(f64::to_string).collect::<Vec<_>>().join(",")
        )),
        Some(Camera::Eye(e)) => parts.push(format!(
            "cam={}",
            e.iter().map(f64::to_string).collect::<Vec<_>>().join(",")
        )),
        None => {}
    }
    if !view.selection.is_empty() {
        parts.push(format!("sel={}", selection_text(&view.selection)));
    }
    if let Some(f) = view.focus {
        parts.push(format!("foc={f}"));
    }
    if view.neighbours != 5 {
        parts.push(format!("nk={}", view.neighbours));
    }
    if view.distance == Distance::Cosine {
        parts.push("dist=cos".into());
    }
    if let Some(s) = view.step {
        parts.push(format!("step={s}"));
    }
    if let Some(c) = &view.compare {
        parts.push(format!("cmp={c}"));
    }
    if let Some(o) = &view.other {
        parts.push(format!("om={}", o.path));
        parts.push(format!("oh={}", o.fingerprint));
    }
    parts.join("&")
}

/// What a link is checked against: the open model's size and fingerprint.
#[derive(Clone, Debug)]
pub struct Limits<'a> {
    pub fingerprint: &'a str,
    pub materials: usize,
    pub targets: usize,
    pub snapshots: usize,
    /// Metadata keys of the model's materials.
    pub metadata: &'a [String],
}

/// Read a fragment (with or without `#`). Every entry is checked against `limits`.
pub fn from_fragment(fragment: &str, limits: &Limits<'_>) -> Result<View, ViewError> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    let mut view = View::default_for(limits.fingerprint);
    let mut version_seen = false;
    let (mut other_path, mut other_hash) = (None, None);
    let n = limits.materials;
    let index = |entry: &str, text: &str, below: usize, what: &str| {
        text.parse::<usize>()
            .ok()
            .filter(|i| *i < below)
            .ok_or_else(|| entry_error(entry, text, format!("not a {what} index below {below}")))
    };
    for pair in fragment.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "x" => {
                if value != VERSION.to_string() {
                    return Err(ViewError::Version(value.into()));
                }
                version_seen = true;
            }
            "h" => {
                if value != limits.fingerprint {
                    return Err(ViewError::Outdated {
                        link: value.into(),
                        now: limits.fingerprint.into(),
                    });
                }
            }
            "proj" => view.spec = spec_entry(key, value)?,
            "cmp" => view.compare = Some(spec_entry(key, value)?),
            "om" => {
                if !bundle_path_ok(value) {
                    return Err(entry_error(
                        key,
                        value,
                        "not a bundle path on this site (letters, digits, - _ ~ . / only)",
                    ));
                }
                other_path = Some(value.to_string());
            }
            "oh" => {
                if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(entry_error(key, value, "not a model fingerprint"));
                }
                other_hash = Some(value.to_string());
            }
            "col" => {
                let (kind, arg) = value.split_once('.').unwrap_or((value, ""));
                view.colour = match kind {
                    "influence" => Colour::Influence,
                    "usage" => Colour::Usage,
                    "cluster" => Colour::Cluster(
                        arg.parse::<usize>()
                            .ok()
                            .filter(|k| (2..=50).contains(k))
                            .ok_or_else(|| entry_error(key, value, "k must be 2 to 50"))?,
                    ),
                    "meta" => {
                        let name = unescape(key, arg)?;
                        if !limits.metadata.contains(&name) {
                            return Err(entry_error(
                                key,
                                value,
                                format!("the materials have no metadata {name:?}"),
                            ));
                        }
                        Colour::Metadata(name)
                    }
                    "sens" => Colour::Sensitivity(index(key, arg, limits.targets, "target")?),
                    _ => return Err(entry_error(key, value, "not a colouring")),
                };
            }
            "size" => match value {
                "none" => view.size_by_usage = false,
                "usage" => view.size_by_usage = true,
                _ => return Err(entry_error(key, value, "size is usage or none")),
            },
            "cam" => {
                let nums: Vec<f64> = value
                    .split(',')
                    .map(|v| v.parse::<f64>().ok().filter(|v| v.is_finite()))
                    .collect::<Option<_>>()
                    .ok_or_else(|| entry_error(key, value, "not a list of numbers"))?;
                view.camera = Some(match nums.len() {
                    4 => Camera::Ranges([nums[0], nums[1], nums[2], nums[3]]),
                    9 => {
                        let mut e = [0.0; 9];
                        e.copy_from_slice(&nums);
                        Camera::Eye(e)
                    }
                    _ => return Err(entry_error(key, value, "4 ranges or 9 camera numbers")),
                });
            }
            "sel" => {
                for run in value.split('.').filter(|r| !r.is_empty()) {
                    let (a, b) = run.split_once('-').unwrap_or((run, run));
                    let (a, b) = (index(key, a, n, "material")?, index(key, b, n, "material")?);
                    if b < a {
                        return Err(entry_error(key, value, format!("run {run} goes backwards")));
                    }
                    view.selection.extend(a..=b);
                }
            }
            "foc" => view.focus = Some(index(key, value, n, "material")?),
            "nk" => {
                view.neighbours = value
                    .parse::<usize>()
                    .ok()
                    .filter(|k| (1..=50).contains(k))
                    .ok_or_else(|| entry_error(key, value, "1 to 50 neighbours"))?;
            }
            "dist" => {
                view.distance = match value {
                    "cos" => Distance::Cosine,
                    "euc" => Distance::Euclidean,
                    _ => return Err(entry_error(key, value, "cos or euc")),
                }
            }
            "step" => view.step = Some(index(key, value, limits.snapshots, "snapshot")?),
            _ => return Err(ViewError::Unknown(key.into())),
        }
    }
    if !version_seen {
        return Err(entry_error("x", "", "the view version is missing"));
    }
    match (other_path, other_hash) {
        (None, None) => {}
        (Some(path), Some(fingerprint)) => {
            if view.compare.is_none() {
                return Err(entry_error(
                    "om",
                    &path,
                    "another model needs its projection (cmp)",
                ));
            }
            view.other = Some(OtherModel { path, fingerprint });
        }
        (Some(path), None) => {
            return Err(entry_error(
                "om",
                &path,
                "the other model's fingerprint (oh) is missing",
            ));
        }
        (None, Some(h)) => return Err(entry_error("oh", &h, "no other model (om) is named")),
    }
    // 3-D pictures have no 2-D ranges and vice versa.
    let camera_fits = !matches!(
        (&view.camera, view.spec.dims),
        (Some(Camera::Ranges(_)), 3) | (Some(Camera::Eye(_)), 2)
    );
    if !camera_fits {
        return Err(entry_error(
            "cam",
            "",
            format!("the camera does not fit a {}-D picture", view.spec.dims),
        ));
    }
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits<'a>(meta: &'a [String]) -> Limits<'a> {
        Limits {
            fingerprint: "0badf00d",
            materials: 40,
            targets: 2,
            snapshots: 10,
            metadata: meta,
        }
    }

    #[test]
    fn a_view_round_trips_through_its_fragment() {
        let meta = vec!["group name".to_string()];
        let mut v = View::default_for("0badf00d");
        v.spec = Spec::new(Method::Tsne, 3);
        v.spec.params.perplexity = 12.5;
        v.spec.params.learning_rate = 0.1 + 0.2; // not a short decimal: written exactly
        v.spec.seed = 42;
        v.colour = Colour::Metadata("group name".into());
        v.camera = Some(Camera::Eye([
            1.25, -0.5, 0.75, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0,
        ]));
        v.selection = [3, 4, 5, 6, 7, 12, 39].into_iter().collect();
        v.focus = Some(12);
        v.neighbours = 8;
        v.distance = Distance::Cosine;
        v.step = Some(9);
        v.compare = Some(Spec::new(Method::Umap, 2));
        v.other = Some(OtherModel {
            path: "models/glass-tg/".into(),
            fingerprint: "12ab34cd".into(),
        });
        let text = to_fragment(&v);
        assert!(text.contains("om=models/glass-tg/&oh=12ab34cd"), "{text}");
        assert!(text.contains("sel=3-7.12.39"), "{text}");
        assert!(text.contains("col=meta.group%20name"), "{text}");
        assert_eq!(from_fragment(&format!("#{text}"), &limits(&meta)), Ok(v));
        for method in Method::ALL {
            let mut v = View::default_for("0badf00d");
            v.spec = Spec::new(method, 2);
            v.spec.params.min_dist = 0.25;
            v.spec.params.k = 7;
            v.camera = Some(Camera::Ranges([-1.5, 2.0, -3.0, 1e-3]));
            let back = from_fragment(&to_fragment(&v), &limits(&meta)).unwrap();
            assert_eq!(back.spec.to_string(), v.spec.to_string());
            assert_eq!(back.camera, v.camera);
        }
    }

    #[test]
    fn tampered_links_say_which_entry_is_wrong() {
        let meta = vec![];
        let l = limits(&meta);
        let bad = |frag: &str| from_fragment(frag, &l).unwrap_err().to_string();
        assert!(bad("x=2&h=0badf00d").contains("newer Mixlab"));
        assert!(bad("h=0badf00d").contains("version is missing"));
        assert!(bad("x=1&h=12345678").contains("another version of this model"));
        assert!(bad("x=1&proj=tsne.2.p9000").contains("perplexity"));
        assert!(bad("x=1&proj=tsne.2.k5").contains("not a parameter of t-SNE"));
        assert!(bad("x=1&proj=magic.2").contains("not a projection"));
        assert!(bad("x=1&proj=pca.4").contains("dimensions must be 2 or 3"));
        assert!(bad("x=1&sel=3-99").contains("\"sel\""));
        assert!(bad("x=1&sel=7-3").contains("backwards"));
        assert!(bad("x=1&foc=-1").contains("\"foc\""));
        assert!(bad("x=1&col=meta.nope").contains("no metadata"));
        assert!(bad("x=1&col=sens.2").contains("target index below 2"));
        assert!(bad("x=1&cam=1,2,3").contains("4 ranges"));
        assert!(bad("x=1&cam=1,2,3,NaN").contains("not a list of numbers"));
        assert!(bad("x=1&proj=pca.3&cam=1,2,3,4").contains("does not fit a 3-D"));
        assert!(bad("x=1&step=10").contains("snapshot index below 10"));
        assert!(bad("x=1&evil=<script>").contains("unknown entry"));
        assert!(bad("x=1&col=meta.%zz").contains("%-escape"));
        // Another model: on this site only, with its fingerprint and projection.
        let other = |om: &str| format!("x=1&cmp=pca.2&om={om}&oh=12ab34cd");
        for path in [
            "https:/evil.example/",
            "//evil.example/m/",
            "/models/x/",
            "models/../../x/",
            "models/<b>/",
            "models/a%2F/",
        ] {
            assert!(bad(&other(path)).contains("\"om\""), "{path}");
        }
        assert!(from_fragment(&other("models/glass-tg/"), &l).is_ok());
        assert!(bad("x=1&cmp=pca.2&om=models/a/").contains("fingerprint (oh) is missing"));
        assert!(bad("x=1&om=models/a/&oh=12ab34cd").contains("needs its projection"));
        assert!(bad("x=1&cmp=pca.2&om=models/a/&oh=xyz").contains("not a model fingerprint"));
        assert!(bad("x=1&oh=12ab34cd").contains("no other model"));
        // The other model is checked once it is loaded.
        let v = from_fragment("x=1&cmp=tsne.2.p30&om=models/a/&oh=12ab34cd", &l).unwrap();
        assert!(v.check_other("12ab34cd", 200).is_ok());
        let outdated = v.check_other("00000000", 200).unwrap_err().to_string();
        assert!(
            outdated.contains("another version of this model"),
            "{outdated}"
        );
        let small = v.check_other("12ab34cd", 20).unwrap_err().to_string();
        assert!(
            small.contains("\"cmp\"") && small.contains("needs at least 92"),
            "{small}"
        );
        // A minimal link is the default view.
        assert_eq!(from_fragment("x=1", &l), Ok(View::default_for("0badf00d")));
    }
}
