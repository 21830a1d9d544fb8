//! Model bundle format v2: `manifest.json` (what the model means) + `weights.safetensors`
//! (its numbers: the ensemble's members, optional code snapshots and projections). The loader checks every name, shape and value before a model is built, so a
//! broken or tampered bundle gives a typed error instead of a panic deep inside burn.

use std::collections::{BTreeMap, HashSet};

use safetensors::{Dtype, SafeTensors, View};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The schema version this build writes; it also reads version 1 (one member, no snapshots).
pub const SCHEMA_VERSION: u32 = 2;
const OLDEST_READABLE: u32 = 1;
/// Value of the manifest's `format` field.
pub const FORMAT: &str = "mixlab-bundle";
/// Limits that keep a hostile manifest from asking for absurd allocations.
const MAX_MATERIALS: usize = 1_000_000;
const MAX_WIDTH: usize = 4096;
const MAX_LAYERS: usize = 32;
const MAX_MEMBERS: usize = 64;
const MAX_SNAPSHOTS: usize = 1000;
const MAX_PROJECTIONS: usize = 64;

#[derive(Debug, Error, PartialEq)]
pub enum BundleError {
    #[error("manifest.json is not valid JSON for a Mixlab bundle: {0}")]
    ManifestJson(String),
    #[error("this is not a Mixlab bundle (format is {0:?}, expected \"{FORMAT}\")")]
    NotABundle(String),
    #[error(
        "bundle schema version {found} is not supported (this Mixlab reads versions {OLDEST_READABLE} to {SCHEMA_VERSION})"
    )]
    UnsupportedVersion { found: u32 },
    #[error("manifest is inconsistent: {0}")]
    Manifest(String),
    #[error(
        "weights.safetensors cannot be read ({0}): it must be the complete file saved with this manifest.json"
    )]
    Weights(String),
    #[error("weights.safetensors has no tensor named {0:?}")]
    MissingTensor(String),
    #[error("tensor {name:?} has shape {found:?}, the manifest implies {expected:?}")]
    Shape {
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("tensor {name:?} has dtype {found}, expected F32")]
    Dtype { name: String, found: String },
    #[error("tensor {name:?} holds a non-finite value at index {index}")]
    NonFinite { name: String, index: usize },
}

/// Activation applied to each material code before mixing (the study's tanh by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeActivation {
    #[default]
    Tanh,
    Sigmoid,
    Identity,
}

impl CodeActivation {
    /// The activation of one code value (the host-side twin of the tensor version in
    /// `model::representations`).
    pub fn apply(self, v: f64) -> f64 {
        match self {
            CodeActivation::Tanh => v.tanh(),
            CodeActivation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
            CodeActivation::Identity => v,
        }
    }
}

/// Activation between the regressor's hidden layers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HiddenActivation {
    #[default]
    Relu,
    Gelu,
    Silu,
    Tanh,
}

/// What the regression targets were trained to minimise (on standardised values): squared
/// error, absolute error (when the score is a MAE), or Huber (squared within one standard
/// deviation, absolute beyond). Binary targets always use cross-entropy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    #[default]
    Mse,
    L1,
    Huber,
}

fn is_mse(l: &LossKind) -> bool {
    *l == LossKind::Mse
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Length of each material's code.
    pub code_dim: usize,
    #[serde(default)]
    pub code_activation: CodeActivation,
    /// Widths of the hidden layers of the regressor.
    pub hidden: Vec<usize>,
    #[serde(default)]
    pub hidden_activation: HiddenActivation,
    /// Skip connections `x + h(x·W + b)` around hidden layers whose input and output widths
    /// agree.
    #[serde(default)]
    pub residual: bool,
    /// Dropout rate used in training (prediction does not drop anything).
    #[serde(default)]
    pub dropout: f64,
    /// Ensemble size: members share the data and differ by seed; prediction is their mean and
    /// uncertainty their spread.
    #[serde(default = "one_member")]
    pub members: usize,
    /// The regression loss it was trained with (fit-material uses the same).
    #[serde(default, skip_serializing_if = "is_mse")]
    pub loss: LossKind,
    /// A second code block on the log dose (`mixlab train --log-dose`): each code's first
    /// half is pooled with the fractions, its second half with `ln(1 + fraction /
    /// log_dose_scale)` (see [`Material::log_dose_scale`]), and the two sums are the mixture
    /// vector. `code_dim` is then even.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log_dose: bool,
}

impl Architecture {
    /// Where the log-dose block starts in a code (`code_dim` when there is none).
    pub fn linear_dim(&self) -> usize {
        if self.log_dose {
            self.code_dim / 2
        } else {
            self.code_dim
        }
    }
}

fn one_member() -> usize {
    1
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Material {
    pub name: String,
    /// Free-form metadata (type, group, supplier...), shown as text.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// How many training formulations contain it, and its fraction range there: the
    /// applicability domain.
    #[serde(default)]
    pub usage_count: u64,
    #[serde(default)]
    pub fraction_min: f64,
    #[serde(default)]
    pub fraction_max: f64,
    /// Its fraction's spread over the training formulations (standard deviation, zeros
    /// included) when the model pools doses scaled by it (`mixlab train --dose-scale`): the
    /// mixture vector is Σ (fraction / dose_scale) · act(code), so a material dosed at 0.2 %
    /// moves it as far as one dosed at 20 %. 1 (absent) in models without it.
    #[serde(default = "unit_scale", skip_serializing_if = "is_unit_scale")]
    pub dose_scale: f64,
    /// In models with a log-dose block: the dose at which the block's input,
    /// `ln(1 + fraction / log_dose_scale)`, passes from linear to logarithmic — the median of
    /// its nonzero fractions in training. Continuous at 0 (absent = 0), so the design search
    /// sees no cliff where a material enters a recipe. 1 (absent) otherwise.
    #[serde(default = "unit_scale", skip_serializing_if = "is_unit_scale")]
    pub log_dose_scale: f64,
}

fn unit_scale() -> f64 {
    1.0
}

fn is_unit_scale(v: &f64) -> bool {
    *v == 1.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    pub name: String,
    #[serde(default)]
    pub unit: String,
    /// Name shown to people ("Age"); empty: one is made from `name` ([`Condition::display_name`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// Applied before standardising (log10 for inputs that span decades, such as age).
    #[serde(default)]
    pub transform: Transform,
    /// Standardisation used in training: x' = (t(x) - mean) / std.
    pub mean: f64,
    pub std: f64,
    /// Range seen in training.
    pub min: f64,
    pub max: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// Standardised (optionally log-transformed) continuous value.
    Regression,
    /// Logit of a 0/1 outcome.
    Binary,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transform {
    #[default]
    None,
    /// The model learns log10(value); values must be > 0.
    Log10,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub name: String,
    #[serde(default)]
    pub unit: String,
    /// Name shown to people ("Viscosity at 10 s⁻¹"); empty: one is made from `name`
    /// ([`Target::display_name`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    pub kind: TargetKind,
    #[serde(default)]
    pub transform: Transform,
    /// Standardisation of the (transformed) value; unused for binary targets.
    #[serde(default)]
    pub mean: f64,
    #[serde(default = "one")]
    pub std: f64,
    /// This target's regression loss when it differs from the model's
    /// ([`Architecture::loss`]): `mixlab train --target-loss NAME=l1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossKind>,
}

impl Target {
    /// The regression loss this target was trained with.
    pub fn loss_in(&self, arch: &Architecture) -> LossKind {
        self.loss.unwrap_or(arch.loss)
    }
}

fn one() -> f64 {
    1.0
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    pub name: String,
    pub file: String,
    pub sha256: String,
    pub rows: usize,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub licence: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub schema_version: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub materials: Vec<Material>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    pub targets: Vec<Target>,
    pub architecture: Architecture,
    #[serde(default)]
    pub dataset: DatasetInfo,
    /// Free-form training figures (per-target errors, steps, seed...).
    #[serde(default)]
    pub metrics: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub training: BTreeMap<String, serde_json::Value>,
    /// A formulation to show when the app opens: material name → fraction.
    #[serde(default)]
    pub default_formulation: BTreeMap<String, f64>,
    /// Condition values for the default view: condition name → value.
    #[serde(default)]
    pub default_conditions: BTreeMap<String, f64>,
    /// Training steps at which member 0's codes were recorded (tensor `snapshots.codes`).
    #[serde(default)]
    pub snapshot_steps: Vec<u64>,
    /// Precomputed projections of member 0's representations (tensor `projections.<name>`).
    #[serde(default)]
    pub projections: Vec<ProjectionInfo>,
    /// Training formulations the app offers as starting points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<Example>,
    /// Pairs of material indices `[i, j]` (i < j) that occur together in at least one training
    /// formulation: a formulation with a pair outside this list is an unseen combination.
    /// Empty when the bundle does not record it (no warning is given then).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_pairs: Vec<[u32; 2]>,
}

/// A formulation from the training data, offered as a starting point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub name: String,
    /// Material name → fraction.
    pub formulation: BTreeMap<String, f64>,
    /// Condition name → value.
    #[serde(default)]
    pub conditions: BTreeMap<String, f64>,
}

/// A precomputed low-dimensional map of the materials' representations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectionInfo {
    /// Unique key; the tensor is `projections.<name>`.
    pub name: String,
    /// `pca`, `tsne`, `umap`, `isomap`, `lle`...
    pub method: String,
    /// 2 or 3.
    pub dims: usize,
    /// Parameters and seed that reproduce it.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
}

/// One dense layer, `y = x · weight + bias`, `weight` row-major `[d_in, d_out]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    pub d_in: usize,
    pub d_out: usize,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// The numbers of a model: codes `[materials, code_dim]` row-major, then the regressor.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    pub codes: Vec<f32>,
    pub layers: Vec<Dense>,
}

/// A validated bundle: manifest and weights that agree with each other.
#[derive(Clone, Debug, PartialEq)]
pub struct Bundle {
    pub manifest: Manifest,
    /// The ensemble's members (at least one), each a complete model.
    pub members: Vec<Weights>,
    /// `[snapshot_steps, materials, code_dim]` codes of member 0 during training.
    pub snapshots: Vec<f32>,
    /// `[materials, dims]` coordinates for each entry of `manifest.projections`.
    pub projections: Vec<Vec<f32>>,
}

impl Manifest {
    /// Width of the regressor's input: mixture vector + standardised conditions.
    pub fn input_width(&self) -> usize {
        self.architecture.code_dim + self.conditions.len()
    }

    /// `(d_in, d_out)` of each dense layer, hidden layers then the output head.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        let mut shapes = Vec::new();
        let mut d_in = self.input_width();
        for &w in &self.architecture.hidden {
            shapes.push((d_in, w));
            d_in = w;
        }
        shapes.push((d_in, self.targets.len()));
        shapes
    }

    /// Position of a material by exact name.
    /// Per material, what its fraction is multiplied by before pooling (1 / dose_scale);
    /// `None` when every material's is 1 (the pooling is then the plain fraction-weighted sum).
    pub fn dose_multipliers(&self) -> Option<Vec<f64>> {
        // (The log-dose block's inputs are not multiplied: see `log_dose_inverse_scales`.)
        (self.materials.iter().any(|m| m.dose_scale != 1.0))
            .then(|| self.materials.iter().map(|m| 1.0 / m.dose_scale).collect())
    }

    /// Per material, 1 / log_dose_scale, when the model has a log-dose block.
    pub fn log_dose_inverse_scales(&self) -> Option<Vec<f64>> {
        (self.architecture.log_dose).then(|| {
            self.materials
                .iter()
                .map(|m| 1.0 / m.log_dose_scale)
                .collect()
        })
    }

    pub fn material_index(&self, name: &str) -> Option<usize> {
        self.materials.iter().position(|m| m.name == name)
    }

    /// Every material's position by name (for many lookups in a large library).
    pub fn material_positions(&self) -> std::collections::HashMap<&str, usize> {
        self.materials
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.as_str(), i))
            .collect()
    }

    /// Condition values in column order: the stored defaults, the training mean where none
    /// is stored.
    pub fn default_condition_values(&self) -> Vec<f64> {
        self.conditions
            .iter()
            .map(|c| {
                self.default_conditions
                    .get(&c.name)
                    .copied()
                    .unwrap_or(c.mean)
            })
            .collect()
    }

    /// Parse and check a manifest on its own (before any weights are read).
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleError> {
        // Read the envelope first so a future version gets "unsupported version", not a
        // confusing field error.
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| BundleError::ManifestJson(e.to_string()))?;
        let format = value.get("format").and_then(|v| v.as_str()).unwrap_or("");
        if format != FORMAT {
            return Err(BundleError::NotABundle(format.to_string()));
        }
        let found = value
            .get("schema_version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| BundleError::Manifest("schema_version is missing".into()))?;
        if !(u64::from(OLDEST_READABLE)..=u64::from(SCHEMA_VERSION)).contains(&found) {
            return Err(BundleError::UnsupportedVersion {
                found: u32::try_from(found).unwrap_or(u32::MAX),
            });
        }
        let manifest: Manifest =
            serde_json::from_value(value).map_err(|e| BundleError::ManifestJson(e.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    pub(crate) fn validate(&self) -> Result<(), BundleError> {
        let bad = |msg: String| Err(BundleError::Manifest(msg));
        let arch = &self.architecture;
        if self.materials.is_empty() || self.materials.len() > MAX_MATERIALS {
            return bad(format!(
                "it lists {} materials (1 to {MAX_MATERIALS} allowed)",
                self.materials.len()
            ));
        }
        if !(1..=128).contains(&arch.code_dim) {
            return bad(format!("code_dim {} is outside 1..=128", arch.code_dim));
        }
        if arch.hidden.len() > MAX_LAYERS || arch.hidden.iter().any(|&w| w == 0 || w > MAX_WIDTH) {
            return bad(format!(
                "hidden layers {:?} (at most {MAX_LAYERS}, widths 1..={MAX_WIDTH})",
                arch.hidden
            ));
        }
        if self.targets.is_empty() {
            return bad("it has no targets".into());
        }
        if !(1..=MAX_MEMBERS).contains(&arch.members) {
            return bad(format!(
                "ensemble of {} members (1 to {MAX_MEMBERS} allowed)",
                arch.members
            ));
        }
        if !(0.0..1.0).contains(&arch.dropout) {
            return bad(format!("dropout {} is outside 0..1", arch.dropout));
        }
        if self.snapshot_steps.len() > MAX_SNAPSHOTS {
            return bad(format!(
                "{} snapshots (at most {MAX_SNAPSHOTS})",
                self.snapshot_steps.len()
            ));
        }
        if self.projections.len() > MAX_PROJECTIONS {
            return bad(format!(
                "{} projections (at most {MAX_PROJECTIONS})",
                self.projections.len()
            ));
        }
        unique(
            "projection",
            self.projections.iter().map(|p| p.name.as_str()),
        )?;
        if let Some(p) = self.projections.iter().find(|p| !(1..=3).contains(&p.dims)) {
            return bad(format!("projection {:?} has {} dimensions", p.name, p.dims));
        }
        unique("material", self.materials.iter().map(|m| m.name.as_str()))?;
        if let Some(m) =
            (self.materials.iter()).find(|m| !(m.dose_scale.is_finite() && m.dose_scale > 0.0))
        {
            return bad(format!(
                "material {:?} has dose_scale {} (must be > 0)",
                m.name, m.dose_scale
            ));
        }
        if let Some(m) = (self.materials.iter())
            .find(|m| !(m.log_dose_scale.is_finite() && m.log_dose_scale > 0.0))
        {
            return bad(format!(
                "material {:?} has log_dose_scale {} (must be > 0)",
                m.name, m.log_dose_scale
            ));
        }
        if self.architecture.log_dose && !self.architecture.code_dim.is_multiple_of(2) {
            return bad(format!(
                "a log-dose model's code_dim must be even (two blocks), not {}",
                self.architecture.code_dim
            ));
        }
        unique("condition", self.conditions.iter().map(|c| c.name.as_str()))?;
        unique("target", self.targets.iter().map(|t| t.name.as_str()))?;
        for c in &self.conditions {
            if !(c.std.is_finite() && c.std > 0.0 && c.mean.is_finite()) {
                return bad(format!("condition {:?} has an invalid mean/std", c.name));
            }
        }
        for t in &self.targets {
            if !(t.std.is_finite() && t.std > 0.0 && t.mean.is_finite()) {
                return bad(format!("target {:?} has an invalid mean/std", t.name));
            }
        }
        for e in &self.examples {
            if let Some(name) = e
                .formulation
                .keys()
                .find(|n| self.material_index(n).is_none())
            {
                return bad(format!(
                    "example {:?} names unknown material {name:?}",
                    e.name
                ));
            }
        }
        let n = self.materials.len() as u32;
        if let Some(p) = self.seen_pairs.iter().find(|[i, j]| !(i < j && *j < n)) {
            return bad(format!(
                "seen pair {p:?} is not two material indices i < j < {n}"
            ));
        }
        for (name, f) in &self.default_formulation {
            if self.material_index(name).is_none() {
                return bad(format!(
                    "default formulation names unknown material {name:?}"
                ));
            }
            if !(f.is_finite() && (0.0..=1.0).contains(f)) {
                return bad(format!("default fraction of {name:?} is {f}, not in 0..=1"));
            }
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        // A manifest is plain data; serialising it cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn unique<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> Result<(), BundleError> {
    let mut seen = HashSet::new();
    for n in names {
        if n.trim().is_empty() {
            return Err(BundleError::Manifest(format!("a {what} has an empty name")));
        }
        if !seen.insert(n) {
            return Err(BundleError::Manifest(format!("{what} {n:?} appears twice")));
        }
    }
    Ok(())
}

fn read_f32(st: &SafeTensors<'_>, name: &str, expected: &[usize]) -> Result<Vec<f32>, BundleError> {
    let view = st
        .tensor(name)
        .map_err(|_| BundleError::MissingTensor(name.to_string()))?;
    if view.dtype() != Dtype::F32 {
        return Err(BundleError::Dtype {
            name: name.into(),
            found: format!("{:?}", view.dtype()),
        });
    }
    if view.shape() != expected {
        return Err(BundleError::Shape {
            name: name.into(),
            found: view.shape().to_vec(),
            expected: expected.to_vec(),
        });
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(BundleError::NonFinite {
            name: name.into(),
            index,
        });
    }
    Ok(values)
}

/// Tensor names inside `weights.safetensors`: member 0 keeps the version-1 names (`codes`,
/// `layers.i.weight`, `layers.i.bias`); member k > 0 prefixes them with `members.k.`.
fn member_prefix(k: usize) -> String {
    if k == 0 {
        String::new()
    } else {
        format!("members.{k}.")
    }
}
pub fn layer_names(member: usize, i: usize) -> (String, String) {
    let p = member_prefix(member);
    (
        format!("{p}layers.{i}.weight"),
        format!("{p}layers.{i}.bias"),
    )
}
pub fn codes_name(member: usize) -> String {
    format!("{}codes", member_prefix(member))
}
pub const SNAPSHOTS: &str = "snapshots.codes";
pub fn projection_name(name: &str) -> String {
    format!("projections.{name}")
}

impl Bundle {
    /// A single-member bundle with no snapshots or projections.
    pub fn single(manifest: Manifest, weights: Weights) -> Self {
        Bundle {
            manifest,
            members: vec![weights],
            snapshots: Vec::new(),
            projections: Vec::new(),
        }
    }

    /// Member 0: the model whose codes the explorer shows.
    pub fn weights(&self) -> &Weights {
        &self.members[0]
    }

    /// Read and check a bundle from the bytes of its two files.
    pub fn from_bytes(manifest_json: &[u8], safetensors_bytes: &[u8]) -> Result<Self, BundleError> {
        let manifest = Manifest::from_json(manifest_json)?;
        let st = SafeTensors::deserialize(safetensors_bytes)
            .map_err(|e| BundleError::Weights(e.to_string()))?;
        let n = manifest.materials.len();
        let d = manifest.architecture.code_dim;
        let mut members = Vec::new();
        for k in 0..manifest.architecture.members {
            let codes = read_f32(&st, &codes_name(k), &[n, d])?;
            let mut layers = Vec::new();
            for (i, (d_in, d_out)) in manifest.layer_shapes().into_iter().enumerate() {
                let (wn, bn) = layer_names(k, i);
                layers.push(Dense {
                    d_in,
                    d_out,
                    weight: read_f32(&st, &wn, &[d_in, d_out])?,
                    bias: read_f32(&st, &bn, &[d_out])?,
                });
            }
            members.push(Weights { codes, layers });
        }
        let mut expected = members.len() * (1 + 2 * manifest.layer_shapes().len());
        let snapshots = if manifest.snapshot_steps.is_empty() {
            Vec::new()
        } else {
            expected += 1;
            read_f32(&st, SNAPSHOTS, &[manifest.snapshot_steps.len(), n, d])?
        };
        let mut projections = Vec::new();
        for p in &manifest.projections {
            projections.push(read_f32(&st, &projection_name(&p.name), &[n, p.dims])?);
            expected += 1;
        }
        if st.len() != expected {
            return Err(BundleError::Weights(format!(
                "it holds {} tensors, the manifest implies {expected}",
                st.len()
            )));
        }
        Ok(Bundle {
            manifest,
            members,
            snapshots,
            projections,
        })
    }

    /// The bytes of `weights.safetensors` (little-endian f32, sorted names).
    pub fn weights_bytes(&self) -> Vec<u8> {
        let n = self.manifest.materials.len();
        let d = self.manifest.architecture.code_dim;
        let mut tensors: Vec<(String, F32Tensor)> = Vec::new();
        for (k, w) in self.members.iter().enumerate() {
            tensors.push((codes_name(k), F32Tensor::new(&w.codes, vec![n, d])));
            for (i, l) in w.layers.iter().enumerate() {
                let (wn, bn) = layer_names(k, i);
                tensors.push((wn, F32Tensor::new(&l.weight, vec![l.d_in, l.d_out])));
                tensors.push((bn, F32Tensor::new(&l.bias, vec![l.d_out])));
            }
        }
        if !self.manifest.snapshot_steps.is_empty() {
            let s = self.manifest.snapshot_steps.len();
            tensors.push((
                SNAPSHOTS.to_string(),
                F32Tensor::new(&self.snapshots, vec![s, n, d]),
            ));
        }
        for (p, coords) in self.manifest.projections.iter().zip(&self.projections) {
            tensors.push((
                projection_name(&p.name),
                F32Tensor::new(coords, vec![n, p.dims]),
            ));
        }
        // Serialising in-memory f32 tensors with consistent shapes cannot fail.
        safetensors::serialize(tensors, None).unwrap_or_default()
    }

    /// Write `manifest.json` and `weights.safetensors` into `dir` (created if needed).
    pub fn write_to_dir(&self, dir: &std::path::Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("manifest.json"), self.manifest.to_json() + "\n")?;
        std::fs::write(dir.join("weights.safetensors"), self.weights_bytes())
    }

    /// Read a bundle from a directory holding its two files.
    pub fn read_dir(dir: &std::path::Path) -> Result<Self, BundleError> {
        let read = |f: &str| {
            std::fs::read(dir.join(f))
                .map_err(|e| BundleError::Weights(format!("{}: {e}", dir.join(f).display())))
        };
        Self::from_bytes(&read("manifest.json")?, &read("weights.safetensors")?)
    }
}

struct F32Tensor {
    bytes: Vec<u8>,
    shape: Vec<usize>,
}

impl F32Tensor {
    fn new(values: &[f32], shape: Vec<usize>) -> Self {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Self { bytes, shape }
    }
}

impl View for F32Tensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny valid bundle: 3 materials, code 2, one hidden layer of 4, one condition,
    /// a regression and a binary target.
    pub fn tiny() -> Bundle {
        let mat = |name: &str| Material {
            dose_scale: 1.0,
            log_dose_scale: 1.0,
            name: name.into(),
            metadata: BTreeMap::new(),
            usage_count: 10,
            fraction_min: 0.0,
            fraction_max: 1.0,
        };
        let manifest = Manifest {
            format: FORMAT.into(),
            schema_version: SCHEMA_VERSION,
            name: "tiny".into(),
            description: String::new(),
            materials: vec![mat("water"), mat("salt"), mat("oil")],
            conditions: vec![Condition {
                name: "age".into(),
                unit: "d".into(),
                label: String::new(),
                transform: Transform::None,
                mean: 10.0,
                std: 5.0,
                min: 1.0,
                max: 28.0,
            }],
            targets: vec![
                Target {
                    name: "viscosity".into(),
                    unit: "cP".into(),
                    label: String::new(),
                    kind: TargetKind::Regression,
                    transform: Transform::Log10,
                    mean: 2.0,
                    std: 0.5,
                    loss: None,
                },
                Target {
                    name: "stable".into(),
                    unit: String::new(),
                    label: String::new(),
                    kind: TargetKind::Binary,
                    transform: Transform::None,
                    mean: 0.0,
                    std: 1.0,
                    loss: None,
                },
            ],
            architecture: Architecture {
                code_dim: 2,
                code_activation: CodeActivation::Tanh,
                hidden: vec![4],
                hidden_activation: HiddenActivation::Relu,
                residual: false,
                dropout: 0.0,
                members: 1,
                loss: LossKind::Mse,
                log_dose: false,
            },
            dataset: DatasetInfo::default(),
            metrics: BTreeMap::new(),
            training: BTreeMap::new(),
            default_formulation: [("water".to_string(), 0.7), ("salt".to_string(), 0.3)].into(),
            default_conditions: [("age".to_string(), 7.0)].into(),
            snapshot_steps: Vec::new(),
            projections: Vec::new(),
            examples: Vec::new(),
            seen_pairs: Vec::new(),
        };
        let seq = |n: usize, s: f32| (0..n).map(|i| ((i as f32) * s).sin()).collect::<Vec<_>>();
        let weights = Weights {
            codes: seq(6, 0.7),
            layers: vec![
                Dense {
                    d_in: 3,
                    d_out: 4,
                    weight: seq(12, 0.3),
                    bias: seq(4, 0.9),
                },
                Dense {
                    d_in: 4,
                    d_out: 2,
                    weight: seq(8, 0.5),
                    bias: seq(2, 1.1),
                },
            ],
        };
        Bundle::single(manifest, weights)
    }

    #[test]
    fn round_trip_through_bytes() {
        let b = tiny();
        let back = Bundle::from_bytes(b.manifest.to_json().as_bytes(), &b.weights_bytes()).unwrap();
        assert_eq!(back, b);
    }

    /// `tiny()` as a 3-member ensemble with 2 snapshots and a 2-D projection.
    pub fn tiny_ensemble() -> Bundle {
        let mut b = tiny();
        let shift = |w: &Weights, by: f32| Weights {
            codes: w.codes.iter().map(|c| c + by).collect(),
            layers: w.layers.clone(),
        };
        let m0 = b.members[0].clone();
        b.members = vec![m0.clone(), shift(&m0, 0.2), shift(&m0, -0.3)];
        b.manifest.architecture.members = 3;
        b.manifest.snapshot_steps = vec![0, 100];
        b.snapshots = [vec![0.0; 6], m0.codes.clone()].concat();
        b.manifest.projections = vec![ProjectionInfo {
            name: "pca2".into(),
            method: "pca".into(),
            dims: 2,
            params: BTreeMap::new(),
        }];
        b.projections = vec![vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]];
        b
    }

    #[test]
    fn ensemble_snapshots_and_projections_round_trip() {
        let b = tiny_ensemble();
        let bytes = b.weights_bytes();
        let back = Bundle::from_bytes(b.manifest.to_json().as_bytes(), &bytes).unwrap();
        assert_eq!(back, b);
        // The manifest must account for every tensor: dropping a member is an error.
        let mut fewer = b.clone();
        fewer.manifest.architecture.members = 2;
        let err = Bundle::from_bytes(fewer.manifest.to_json().as_bytes(), &bytes).unwrap_err();
        assert!(
            err.to_string()
                .contains("holds 17 tensors, the manifest implies 12"),
            "{err}"
        );
        // A snapshot tensor that disagrees with the listed steps is named.
        let mut more = b.clone();
        more.manifest.snapshot_steps.push(200);
        let err = Bundle::from_bytes(more.manifest.to_json().as_bytes(), &bytes).unwrap_err();
        assert!(matches!(err, BundleError::Shape { ref name, .. } if name == SNAPSHOTS));
    }

    #[test]
    fn reads_schema_version_1() {
        let b = tiny();
        let v1 = b
            .manifest
            .to_json()
            .replace("\"schema_version\": 2", "\"schema_version\": 1");
        let mut value: serde_json::Value = serde_json::from_str(&v1).unwrap();
        // Version 1 had none of the fields version 2 added.
        for key in ["snapshot_steps", "projections"] {
            value.as_object_mut().unwrap().remove(key);
        }
        let arch = value["architecture"].as_object_mut().unwrap();
        for key in ["residual", "dropout", "members"] {
            arch.remove(key);
        }
        let back = Bundle::from_bytes(value.to_string().as_bytes(), &b.weights_bytes()).unwrap();
        assert_eq!(back.members, b.members);
        assert_eq!(back.manifest.architecture.members, 1);
    }

    #[test]
    fn rejects_unknown_version_with_a_clear_error() {
        let b = tiny();
        let json = b
            .manifest
            .to_json()
            .replace("\"schema_version\": 2", "\"schema_version\": 7");
        let err = Bundle::from_bytes(json.as_bytes(), &b.weights_bytes()).unwrap_err();
        assert_eq!(err, BundleError::UnsupportedVersion { found: 7 });
        assert!(err.to_string().contains("version 7"));
    }

    #[test]
    fn rejects_non_bundle_json() {
        let b = tiny();
        let err = Bundle::from_bytes(b"{\"hello\": 1}", &b.weights_bytes()).unwrap_err();
        assert!(matches!(err, BundleError::NotABundle(_)));
        let err = Bundle::from_bytes(b"not json", &b.weights_bytes()).unwrap_err();
        assert!(matches!(err, BundleError::ManifestJson(_)));
    }

    #[test]
    fn rejects_shape_disagreeing_with_manifest() {
        let mut b = tiny();
        let good = b.weights_bytes();
        b.manifest.architecture.hidden = vec![5];
        let err = Bundle::from_bytes(b.manifest.to_json().as_bytes(), &good).unwrap_err();
        assert_eq!(
            err,
            BundleError::Shape {
                name: "layers.0.weight".into(),
                found: vec![3, 4],
                expected: vec![3, 5]
            }
        );
    }

    #[test]
    fn rejects_truncated_weights_and_nan() {
        let b = tiny();
        let bytes = b.weights_bytes();
        let err = Bundle::from_bytes(b.manifest.to_json().as_bytes(), &bytes[..bytes.len() - 9])
            .unwrap_err();
        assert!(matches!(err, BundleError::Weights(_)), "{err:?}");
        let mut nan = tiny();
        nan.members[0].layers[1].bias[1] = f32::NAN;
        let err = Bundle::from_bytes(nan.manifest.to_json().as_bytes(), &nan.weights_bytes())
            .unwrap_err();
        assert_eq!(
            err,
            BundleError::NonFinite {
                name: "layers.1.bias".into(),
                index: 1
            }
        );
    }

    #[test]
    fn rejects_duplicate_material_and_bad_default() {
        let mut b = tiny();
        b.manifest.materials[2].name = "water".into();
        let err =
            Bundle::from_bytes(b.manifest.to_json().as_bytes(), &b.weights_bytes()).unwrap_err();
        assert!(err.to_string().contains("\"water\" appears twice"), "{err}");
        let mut b = tiny();
        b.manifest.default_formulation.insert("sugar".into(), 0.1);
        let err =
            Bundle::from_bytes(b.manifest.to_json().as_bytes(), &b.weights_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("unknown material \"sugar\""),
            "{err}"
        );
    }
}
