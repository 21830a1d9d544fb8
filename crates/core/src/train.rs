//! Training: masked multi-target loss, Adam, seeded and deterministic on the CPU backend.
//!
//! Adam is written out here (a few tensor lines) rather than taken from burn-optim so the app's
//! wasm build carries no optimiser code and the update order is fixed by this file.

use std::collections::BTreeMap;

use burn_tensor::activation::relu;
use burn_tensor::{Device, Tensor, TensorData};
use serde_json::json;

use crate::bundle::{
    Architecture, Bundle, CodeActivation, Condition, DatasetInfo, Dense, Example, FORMAT,
    HiddenActivation, LossKind, Manifest, Material, SCHEMA_VERSION, Target, TargetKind, Transform,
    Weights,
};
use crate::data::Dataset;
use crate::model::{Params, forward, forward_with, read, standardise_conditions};
use crate::rng::Rng;
use crate::train_setup::TrainOptions;
pub use crate::train_setup::{CurvePoint, Schedule};

#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub code_dim: usize,
    pub code_activation: CodeActivation,
    pub hidden: Vec<usize>,
    pub hidden_activation: HiddenActivation,
    pub steps: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
    /// Fraction of rows held out to report validation error (and to stop early on).
    pub validation_fraction: f64,
    /// Decoupled (AdamW-style) weight decay on the regressor's weights; 0 = off.
    pub weight_decay: f64,
    /// Stop when the validation loss has not improved for this many checks (one every
    /// [`CHECK_EVERY`] steps) and keep the best weights; `None` = train all steps.
    pub early_stopping: Option<usize>,
    /// Skip connections around square hidden layers.
    pub residual: bool,
    /// Dropout rate on hidden activations during training.
    pub dropout: f64,
    /// Ensemble size K (members differ by seed).
    pub members: usize,
    /// Steps at which member 0's codes are recorded (0 = the initial codes).
    pub snapshot_steps: Vec<usize>,
    /// Condition columns fed to the model as log10 (values must be > 0).
    pub log_conditions: Vec<String>,
    /// Pool fractions divided by each material's training spread (see
    /// [`crate::bundle::Material::dose_scale`]).
    pub dose_scale: bool,
    /// The regression loss.
    pub loss: LossKind,
    /// Regression targets trained with another loss than `loss` (by name).
    pub target_losses: BTreeMap<String, LossKind>,
    /// A second code block on the log dose ([`Architecture::log_dose`]): codes of
    /// 2 × `code_dim`.
    pub log_dose: bool,
    /// Descriptor-informed codes (see [`CodeDescriptors`]); `None` = one free code per material.
    pub descriptors: Option<CodeDescriptors>,
    pub schedule: Schedule,
    /// Where training runs: the CPU (Flex; bit-identical for a seed) or a GPU device
    /// (`Device::wgpu_options().init()` with the `wgpu` feature). Metrics and the bundle's
    /// numbers are always read back to the host.
    pub device: Device,
}

/// Descriptor-informed codes: each material's code is `A·descriptor + b + offset`, with `A`, `b`
/// and the offsets trained jointly with the regressor (one map per member). The loss adds
/// `offset_penalty` × the mean squared offset of the described materials and `map_penalty` ×
/// the mean squared entry of `A`, so materials with alike descriptors get alike codes unless
/// the data say otherwise, and a material absent from the training rows keeps the code its
/// descriptor gives (its offset starts at 0 and nothing moves it). A material the table lacks
/// gets a free, unpenalised offset (a plain code).
#[derive(Clone, Debug, PartialEq)]
pub struct CodeDescriptors {
    pub table: crate::descriptors::DescriptorTable,
    pub offset_penalty: f64,
    pub map_penalty: f64,
}

/// `count` snapshot steps from 0 to `steps`, spaced evenly in log(1 + step) so the early
/// spreading of the codes is as visible as the late settling.
pub fn log_spaced_steps(steps: usize, count: usize) -> Vec<usize> {
    match count {
        0 => Vec::new(),
        1 => vec![steps],
        _ => {
            // Non-decreasing, from 0 to exactly `steps`; early repeats collapse.
            let mut out: Vec<usize> = (0..count)
                .map(|i| {
                    let t = i as f64 / (count - 1) as f64;
                    ((1.0 + steps as f64).powf(t) - 1.0).round() as usize
                })
                .collect();
            out.dedup();
            out
        }
    }
}

/// Steps between validation checks (and progress reports).
pub const CHECK_EVERY: usize = 50;

impl TrainConfig {
    /// The length of the codes the model stores (two blocks with the log-dose block).
    pub fn stored_code_dim(&self) -> usize {
        if self.log_dose {
            2 * self.code_dim
        } else {
            self.code_dim
        }
    }
}

impl Default for TrainConfig {
    /// `mixlab train`'s defaults ([`TrainOptions`]), without snapshots.
    fn default() -> Self {
        TrainOptions {
            snapshots: 0,
            ..TrainOptions::default()
        }
        .to_config(Vec::new())
    }
}

/// Standardisation of the finite values: their mean and standard deviation (floored so that
/// constants stay usable; 0 and 1 when there are none).
fn standardisation(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: Vec<f64> = values.collect();
    match crate::metrics::mean_std(&v) {
        (mean, _) if mean.is_nan() => (0.0, 1.0),
        (mean, std) => (mean, std.max(1e-6)),
    }
}

fn transformed(v: f64, t: Transform) -> f64 {
    match t {
        Transform::None => v,
        Transform::Log10 => v.log10(),
    }
}

/// The manifest a dataset and config give, before any weights exist.
/// A material's dose scale from the mean and mean square of its fraction over the training
/// rows (zeros included): the standard deviation, or 1 for one that never varies.
pub fn dose_scale(mean: f64, mean_square: f64) -> f64 {
    let sd = (mean_square - mean * mean).max(0.0).sqrt();
    if sd > 1e-9 { sd } else { 1.0 }
}

/// Each material's median nonzero fraction over the training rows (1 for one never used):
/// where its log-dose input turns from linear to logarithmic.
pub fn log_dose_scales(ds: &Dataset, train_rows: &[usize]) -> Vec<f64> {
    let mut doses: Vec<Vec<f64>> = vec![Vec::new(); ds.materials.len()];
    for &r in train_rows {
        for &(i, f) in ds.row(r) {
            doses[i as usize].push(f64::from(f));
        }
    }
    doses.into_iter().map(log_dose_scale).collect()
}

/// The log-dose scale of one material's doses: the median of the nonzero ones (the upper one of
/// an even count), 1 when there is none.
pub fn log_dose_scale(mut doses: Vec<f64>) -> f64 {
    doses.retain(|&f| f > 0.0);
    if doses.is_empty() {
        return 1.0;
    }
    doses.sort_by(f64::total_cmp);
    doses[doses.len() / 2]
}

fn manifest_for(ds: &Dataset, cfg: &TrainConfig, train_rows: &[usize]) -> Manifest {
    let c = ds.conditions.len();
    let t = ds.targets.len();
    let mut materials: Vec<Material> = ds
        .materials
        .iter()
        .map(|name| Material {
            name: name.clone(),
            metadata: BTreeMap::new(),
            usage_count: 0,
            fraction_min: f64::INFINITY,
            fraction_max: 0.0,
            dose_scale: 1.0,
            log_dose_scale: 1.0,
        })
        .collect();
    let (mut sum, mut sum2) = (vec![0.0f64; materials.len()], vec![0.0f64; materials.len()]);
    for &r in train_rows {
        for &(i, f) in ds.row(r) {
            let m = &mut materials[i as usize];
            let f = f64::from(f);
            m.usage_count += 1;
            m.fraction_min = m.fraction_min.min(f);
            m.fraction_max = m.fraction_max.max(f);
            sum[i as usize] += f;
            sum2[i as usize] += f * f;
        }
    }
    let rows = train_rows.len().max(1) as f64;
    let log_dose_scales = cfg.log_dose.then(|| log_dose_scales(ds, train_rows));
    for (i, m) in materials.iter_mut().enumerate() {
        m.fraction_min = m.fraction_min.min(1.0);
        if cfg.dose_scale {
            m.dose_scale = dose_scale(sum[i] / rows, sum2[i] / rows);
        }
        if let Some(scales) = &log_dose_scales {
            m.log_dose_scale = scales[i];
        }
    }
    let conditions = ds
        .conditions
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let vals: Vec<f64> = train_rows
                .iter()
                .map(|&r| f64::from(ds.condition_values[r * c + j]))
                .collect();
            let transform = if cfg.log_conditions.contains(name) {
                Transform::Log10
            } else {
                Transform::None
            };
            let (mean, std) = standardisation(vals.iter().map(|&v| transformed(v, transform)));
            Condition {
                name: name.clone(),
                unit: String::new(),
                label: String::new(),
                transform,
                mean,
                std,
                min: vals.iter().copied().fold(f64::INFINITY, f64::min),
                max: vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            }
        })
        .collect();
    let targets = ds
        .targets
        .iter()
        .enumerate()
        .map(|(k, spec)| {
            let (mean, std) = match spec.kind {
                TargetKind::Binary => (0.0, 1.0),
                TargetKind::Regression => standardisation(
                    train_rows
                        .iter()
                        .map(|&r| transformed(ds.target_values[r * t + k], spec.transform)),
                ),
            };
            Target {
                name: spec.name.clone(),
                unit: String::new(),
                label: String::new(),
                kind: spec.kind,
                transform: spec.transform,
                mean,
                std,
                loss: (cfg.target_losses.get(&spec.name).copied())
                    .filter(|&l| l != cfg.loss && spec.kind == TargetKind::Regression),
            }
        })
        .collect();
    Manifest {
        format: FORMAT.into(),
        schema_version: SCHEMA_VERSION,
        name: String::new(),
        description: String::new(),
        materials,
        conditions,
        targets,
        architecture: Architecture {
            // A log-dose model's code is two blocks of `code_dim`.
            code_dim: cfg.stored_code_dim(),
            log_dose: cfg.log_dose,
            code_activation: cfg.code_activation,
            hidden: cfg.hidden.clone(),
            hidden_activation: cfg.hidden_activation,
            residual: cfg.residual,
            dropout: cfg.dropout,
            members: cfg.members.max(1),
            loss: cfg.loss,
        },
        dataset: DatasetInfo::default(),
        metrics: BTreeMap::new(),
        training: BTreeMap::new(),
        default_formulation: BTreeMap::new(),
        default_conditions: BTreeMap::new(),
        snapshot_steps: Vec::new(),
        projections: Vec::new(),
        examples: Vec::new(),
        seen_pairs: seen_pairs(ds, train_rows),
    }
}

/// Every pair of materials that occurs together in a training formulation (the editor warns
/// about the others). Capped, so a bundle over thousands of materials stays small: beyond
/// the cap the list is left empty and no combination warning is given.
fn seen_pairs(ds: &Dataset, train_rows: &[usize]) -> Vec<[u32; 2]> {
    const MAX_PAIRS: usize = 200_000;
    let mut pairs = std::collections::BTreeSet::new();
    for &r in train_rows {
        let row = ds.row(r);
        for (a, &(i, _)) in row.iter().enumerate() {
            for &(j, _) in &row[a + 1..] {
                pairs.insert([i.min(j), i.max(j)]);
            }
        }
        if pairs.len() > MAX_PAIRS {
            return Vec::new();
        }
    }
    pairs.into_iter().collect()
}

/// Up to `count` training formulations with every target measured, spread evenly over the
/// training rows, as named starting points for the app.
fn examples(ds: &Dataset, train_rows: &[usize], count: usize) -> Vec<Example> {
    let t = ds.targets.len();
    let c = ds.conditions.len();
    let complete: Vec<usize> = train_rows
        .iter()
        .copied()
        .filter(|&r| (0..t).all(|k| ds.target_values[r * t + k].is_finite()))
        .collect();
    let count = count.min(complete.len());
    (0..count)
        .map(|k| {
            let r = complete[k * complete.len() / count];
            Example {
                name: format!("Example {} ({})", k + 1, ds.ids[r]),
                formulation: ds
                    .row(r)
                    .iter()
                    .map(|&(i, f)| (ds.materials[i as usize].clone(), f64::from(f)))
                    .collect(),
                conditions: (0..c)
                    .map(|j| {
                        (
                            ds.conditions[j].clone(),
                            f64::from(ds.condition_values[r * c + j]),
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Seeded initial weights: codes near the origin (they spread as training goes on, as in the
/// study), He-uniform hidden layers, zero biases.
fn init_weights(m: &Manifest, rng: &mut Rng) -> Weights {
    let n = m.materials.len();
    let d = m.architecture.code_dim;
    let codes = (0..n * d).map(|_| (0.1 * rng.normal()) as f32).collect();
    let layers = m
        .layer_shapes()
        .into_iter()
        .map(|(d_in, d_out)| {
            let bound = (6.0 / d_in as f64).sqrt();
            Dense {
                d_in,
                d_out,
                weight: (0..d_in * d_out)
                    .map(|_| ((2.0 * rng.uniform() - 1.0) * bound) as f32)
                    .collect(),
                bias: vec![0.0; d_out],
            }
        })
        .collect();
    Weights { codes, layers }
}

/// Host-side tensors for a set of rows: fractions, standardised conditions, standardised
/// targets (0 where missing), the mask of present targets.
pub(crate) struct Rows {
    fractions: Vec<f32>,
    conditions: Option<Vec<f32>>,
    targets: Vec<f32>,
    mask: Vec<f32>,
}

pub(crate) fn gather(ds: &Dataset, m: &Manifest, rows: &[usize]) -> Rows {
    let t = ds.targets.len();
    let batch = ds.batch(rows);
    let mut targets = Vec::with_capacity(rows.len() * t);
    let mut mask = Vec::with_capacity(rows.len() * t);
    for &r in rows {
        for (k, target) in m.targets.iter().enumerate() {
            let v = ds.target_values[r * t + k];
            if v.is_finite() {
                let z = match target.kind {
                    TargetKind::Binary => v,
                    TargetKind::Regression => {
                        (transformed(v, target.transform) - target.mean) / target.std
                    }
                };
                targets.push(z as f32);
                mask.push(1.0);
            } else {
                targets.push(0.0);
                mask.push(0.0);
            }
        }
    }
    Rows {
        conditions: standardise_conditions(m, &batch.conditions),
        fractions: batch.fractions,
        targets,
        mask,
    }
}

/// Per-target mean loss, summed over targets: squared error for regression, binary
/// cross-entropy on logits for binary targets; missing values masked out.
pub(crate) fn loss(
    m: &Manifest,
    out: Tensor<2>,
    y: Tensor<2>,
    mask: Tensor<2>,
    device: &Device,
) -> Tensor<1> {
    let t = m.targets.len();
    let is_binary: Vec<f32> = m
        .targets
        .iter()
        .map(|tg| f32::from(u8::from(tg.kind == TargetKind::Binary)))
        .collect();
    let bin = Tensor::<1>::from_data(TensorData::new(is_binary, [t]), device).unsqueeze_dim::<2>(0);
    let reg = bin.clone().neg().add_scalar(1.0);
    let err = out.clone() - y.clone();
    let of = |e: Tensor<2>, kind: LossKind| match kind {
        LossKind::Mse => e.square(),
        LossKind::L1 => e.abs(),
        LossKind::Huber => {
            // ½e² within one standard deviation, |e| − ½ beyond.
            let a = e.abs();
            let q = a.clone().clamp_max(1.0);
            q.clone().square().mul_scalar(0.5) + (a - q)
        }
    };
    let kinds: Vec<LossKind> = (m.targets.iter())
        .map(|tg| tg.loss_in(&m.architecture))
        .collect();
    let regression = if kinds.iter().all(|&k| k == m.architecture.loss) {
        of(err, m.architecture.loss)
    } else {
        // Each loss on its own targets' columns (0/1 masks over the targets).
        let mut sum: Option<Tensor<2>> = None;
        for kind in [LossKind::Mse, LossKind::L1, LossKind::Huber] {
            if !kinds.contains(&kind) {
                continue;
            }
            let on: Vec<f32> = kinds
                .iter()
                .map(|&k| f32::from(u8::from(k == kind)))
                .collect();
            let on = Tensor::<1>::from_data(TensorData::new(on, [t]), device).unsqueeze_dim::<2>(0);
            let part = of(err.clone(), kind) * on;
            sum = Some(match sum {
                Some(s) => s + part,
                None => part,
            });
        }
        sum.unwrap_or_else(|| err.square())
    };
    // log(1 + e^z) - y z, written stably.
    let bce = relu(out.clone()) - out.clone() * y + out.abs().neg().exp().log1p();
    let per = regression * reg + bce * bin;
    let counts = mask.clone().sum_dim(0).clamp_min(1.0);
    ((per * mask).sum_dim(0) / counts).sum()
}

pub(crate) struct Adam {
    beta1: f64,
    beta2: f64,
    eps: f64,
    pub(crate) step: i32,
    moments: Vec<(Tensor<2>, Tensor<2>)>,
}

impl Adam {
    pub(crate) fn new(shapes: &[[usize; 2]], device: &Device) -> Self {
        Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 0,
            moments: shapes
                .iter()
                .map(|&s| (Tensor::zeros(s, device), Tensor::zeros(s, device)))
                .collect(),
        }
    }

    /// One update of parameter `i` (non-autodiff tensors in, non-autodiff out).
    pub(crate) fn update(&mut self, i: usize, p: Tensor<2>, g: Tensor<2>, lr: f64) -> Tensor<2> {
        let (m, v) = self.moments[i].clone();
        let m = m.mul_scalar(self.beta1) + g.clone().mul_scalar(1.0 - self.beta1);
        let v = v.mul_scalar(self.beta2) + g.square().mul_scalar(1.0 - self.beta2);
        let c1 = 1.0 - self.beta1.powi(self.step);
        let c2 = 1.0 - self.beta2.powi(self.step);
        let upd = m.clone().div_scalar(c1) / v.clone().div_scalar(c2).sqrt().add_scalar(self.eps);
        self.moments[i] = (m, v);
        p - upd.mul_scalar(lr)
    }
}

/// Flatten params into 2-D tensors (biases as `[1, d]`) so one Adam loop serves all.
fn flat(p: &Params) -> Vec<Tensor<2>> {
    let mut v = vec![p.codes.clone()];
    for (w, b) in &p.layers {
        v.push(w.clone());
        v.push(b.clone().unsqueeze_dim(0));
    }
    v
}

fn unflat(mut v: Vec<Tensor<2>>) -> Params {
    let codes = v.remove(0);
    let mut layers = Vec::new();
    while v.len() >= 2 {
        let w = v.remove(0);
        let b = v.remove(0);
        let [_, d] = b.dims();
        layers.push((w, b.reshape([d])));
    }
    Params { codes, layers }
}

/// What training reports besides the bundle.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainReport {
    /// Mini-batch loss at every step of member 0.
    pub losses: Vec<f64>,
    pub train_rows: Vec<usize>,
    pub validation_rows: Vec<usize>,
    /// Member 0's learning curve, one point per check.
    pub curve: Vec<CurvePoint>,
}

/// What training tells its caller after every step: a progress bar can move however slow the
/// steps; the learning curve's point and the codes come every [`CHECK_EVERY`] steps (and at the
/// last).
pub struct Tick<'a> {
    /// The ensemble member being trained (0-based).
    pub member: usize,
    /// Steps done over all members, and how many there are in all.
    pub step: usize,
    pub total: usize,
    /// The last mini-batch loss.
    pub loss: f64,
    /// At a check: the learning curve's newest point (every member has its own curve).
    pub point: Option<CurvePoint>,
    /// At a check: the member's current codes `[materials, code_dim]` (raw, before the
    /// activation), read back to the host.
    codes: Option<&'a [f32]>,
}

impl Tick<'_> {
    /// The current codes, at a check.
    pub fn codes(&self) -> Option<Vec<f32>> {
        self.codes.map(<[f32]>::to_vec)
    }
}

/// Steps between reading the mini-batch losses back from a GPU: a read waits for the device's
/// queue to drain, so reading at every step would make the host and the GPU take turns. On the
/// CPU the loss is there at once and is read at every step.
pub const GPU_READ_EVERY: usize = 10;

fn read_every(device: &Device) -> usize {
    if *device == Device::flex() {
        1
    } else {
        GPU_READ_EVERY
    }
}

/// Run a training future to its end outside a browser: on the CPU its reads are ready at once,
/// on a native GPU they block. In wasm only the CPU can be waited on this way (the browser's
/// WebGPU needs [`train_async`] awaited by its event loop).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    #[cfg(not(target_family = "wasm"))]
    {
        futures_lite::future::block_on(f)
    }
    #[cfg(target_family = "wasm")]
    {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => {
                panic!("a GPU read cannot block in a browser: await the training instead")
            }
        }
    }
}

/// Train a model on `ds`; `progress` hears of every step (see [`Tick`]).
pub fn train(
    ds: &Dataset,
    cfg: &TrainConfig,
    progress: impl FnMut(&Tick),
) -> (Bundle, TrainReport) {
    block_on(train_async(ds, cfg, progress))
}

/// [`train`] for callers that can await its reads (the browser's WebGPU). On a GPU the losses
/// are read back every [`GPU_READ_EVERY`] steps, so `progress` hears of steps in bursts.
pub async fn train_async(
    ds: &Dataset,
    cfg: &TrainConfig,
    progress: impl FnMut(&Tick),
) -> (Bundle, TrainReport) {
    let mut rng = Rng::new(cfg.seed);
    let mut order: Vec<usize> = (0..ds.rows()).collect();
    rng.shuffle(&mut order);
    let n_val = ((ds.rows() as f64) * cfg.validation_fraction).round() as usize;
    let n_val = n_val.min(ds.rows().saturating_sub(1));
    let validation_rows = order[..n_val].to_vec();
    let mut train_rows = order[n_val..].to_vec();
    train_rows.sort_unstable();
    fit(
        ds,
        cfg,
        train_rows,
        validation_rows,
        &[],
        &mut rng,
        read_every(&cfg.device),
        progress,
    )
    .await
}

/// Train on exactly `train_rows` (the evaluation protocol chooses them); seeded by `cfg.seed`.
/// The loss on `monitor_rows` is recorded in the learning curve but never used for training.
pub fn train_on_rows(
    ds: &Dataset,
    cfg: &TrainConfig,
    train_rows: &[usize],
    monitor_rows: &[usize],
    progress: impl FnMut(&Tick),
) -> (Bundle, TrainReport) {
    let mut rng = Rng::new(cfg.seed);
    let (fit_rows, validation_rows) = if cfg.early_stopping.is_some() {
        let mut order = train_rows.to_vec();
        rng.shuffle(&mut order);
        let n_val = ((order.len() as f64) * cfg.validation_fraction).round() as usize;
        let n_val = n_val.clamp(1, order.len().saturating_sub(1).max(1));
        let mut fit_rows = order[n_val..].to_vec();
        fit_rows.sort_unstable();
        (fit_rows, order[..n_val].to_vec())
    } else {
        (train_rows.to_vec(), Vec::new())
    };
    block_on(fit(
        ds,
        cfg,
        fit_rows,
        validation_rows,
        monitor_rows,
        &mut rng,
        read_every(&cfg.device),
        progress,
    ))
}

/// Host rows turned into constant tensors on `device`.
pub(crate) struct RowTensors {
    pub(crate) x: Tensor<2>,
    pub(crate) cond: Option<Tensor<2>>,
    pub(crate) y: Tensor<2>,
    pub(crate) mask: Tensor<2>,
}

impl RowTensors {
    pub(crate) fn new(ds: &Dataset, m: &Manifest, rows: &[usize], device: &Device) -> Self {
        let (n, c, t) = (m.materials.len(), m.conditions.len(), m.targets.len());
        let v = gather(ds, m, rows);
        let b = rows.len();
        RowTensors {
            x: Tensor::from_data(TensorData::new(v.fractions, [b, n]), device),
            cond: v
                .conditions
                .map(|x| Tensor::from_data(TensorData::new(x, [b, c]), device)),
            y: Tensor::from_data(TensorData::new(v.targets, [b, t]), device),
            mask: Tensor::from_data(TensorData::new(v.mask, [b, t]), device),
        }
    }

    /// The loss of `params` (plain tensors) on these rows.
    async fn loss(&self, params: &[Tensor<2>], m: &Manifest, device: &Device) -> f64 {
        let out = forward(
            &unflat(params.to_vec()),
            m,
            self.x.clone(),
            self.cond.clone(),
        );
        let l = loss(m, out, self.y.clone(), self.mask.clone(), device);
        read(l).await.first().copied().map_or(f64::NAN, f64::from)
    }
}

/// The seed of ensemble member `k`: member 0 continues the split's generator, the others get
/// well-separated streams.
fn member_rng(base: &Rng, seed: u64, k: usize) -> Rng {
    if k == 0 {
        base.clone()
    } else {
        Rng::new(seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// One trained member: its weights, member-0-style report figures and snapshots.
struct Member {
    weights: Weights,
    losses: Vec<f64>,
    curve: Vec<CurvePoint>,
    best_step: Option<usize>,
    snapshots: Vec<f32>,
}

#[allow(clippy::too_many_arguments)]
async fn fit(
    ds: &Dataset,
    cfg: &TrainConfig,
    train_rows: Vec<usize>,
    validation_rows: Vec<usize>,
    monitor_rows: &[usize],
    rng: &mut Rng,
    read_every: usize,
    mut progress: impl FnMut(&Tick),
) -> (Bundle, TrainReport) {
    let device = cfg.device.clone();
    let mut cfg = cfg.clone();
    cfg.snapshot_steps.sort_unstable();
    cfg.snapshot_steps.dedup();
    cfg.snapshot_steps.retain(|&s| s <= cfg.steps);
    let cfg = &cfg;
    let mut manifest = manifest_for(ds, cfg, &train_rows);
    let (c, t) = (manifest.conditions.len(), manifest.targets.len());
    let validation = (!validation_rows.is_empty())
        .then(|| RowTensors::new(ds, &manifest, &validation_rows, &device));
    let monitor =
        (!monitor_rows.is_empty()).then(|| RowTensors::new(ds, &manifest, monitor_rows, &device));
    let k = cfg.members.max(1);
    let mut members = Vec::with_capacity(k);
    for member in 0..k {
        let mut member_rng = member_rng(rng, cfg.seed, member);
        let snapshot_steps: &[usize] = if member == 0 {
            &cfg.snapshot_steps
        } else {
            &[]
        };
        members.push(
            fit_member(
                ds,
                cfg,
                &manifest,
                &train_rows,
                validation.as_ref(),
                if member == 0 { monitor.as_ref() } else { None },
                snapshot_steps,
                &mut member_rng,
                read_every,
                |tick: &Tick| {
                    progress(&Tick {
                        member,
                        step: member * cfg.steps + tick.step,
                        total: k * cfg.steps,
                        ..*tick
                    })
                },
            )
            .await,
        );
    }
    let bs = cfg.batch_size.clamp(1, train_rows.len().max(1));

    // A default formulation for the app: the first training row with every target present.
    let default_row = train_rows
        .iter()
        .copied()
        .find(|&r| (0..t).all(|k| ds.target_values[r * t + k].is_finite()))
        .unwrap_or(train_rows[0]);
    manifest.default_formulation = ds
        .row(default_row)
        .iter()
        .map(|&(i, f)| (ds.materials[i as usize].clone(), f64::from(f)))
        .collect();
    manifest.default_conditions = (0..c)
        .map(|j| {
            (
                ds.conditions[j].clone(),
                f64::from(ds.condition_values[default_row * c + j]),
            )
        })
        .collect();
    manifest.examples = examples(ds, &train_rows, 8);
    let first = &members[0];
    manifest.training = [
        ("steps".to_string(), json!(cfg.steps)),
        ("batch_size".to_string(), json!(bs)),
        ("learning_rate".to_string(), json!(cfg.learning_rate)),
        ("seed".to_string(), json!(cfg.seed)),
        ("members".to_string(), json!(k)),
        ("train_rows".to_string(), json!(train_rows.len())),
        ("validation_rows".to_string(), json!(validation_rows.len())),
        (
            "final_loss".to_string(),
            json!(first.losses.last().copied().unwrap_or(f64::NAN)),
        ),
        ("steps_run".to_string(), json!(first.losses.len())),
        ("best_step".to_string(), json!(first.best_step)),
        ("weight_decay".to_string(), json!(cfg.weight_decay)),
        ("early_stopping".to_string(), json!(cfg.early_stopping)),
        ("dropout".to_string(), json!(cfg.dropout)),
        (
            "descriptors".to_string(),
            json!(cfg.descriptors.as_ref().map(|d| json!({
                "table": d.table.name,
                "features": d.table.features.len(),
                "offset_penalty": d.offset_penalty,
                "map_penalty": d.map_penalty,
            }))),
        ),
        (
            "schedule".to_string(),
            json!(format!("{:?}", cfg.schedule).to_lowercase()),
        ),
    ]
    .into();
    manifest.snapshot_steps = cfg
        .snapshot_steps
        .iter()
        .filter(|&&s| s <= first.losses.len())
        .map(|&s| s as u64)
        .collect();
    let first = members.remove(0);
    let mut bundle = Bundle {
        manifest,
        members: std::iter::once(first.weights)
            .chain(members.into_iter().map(|m| m.weights))
            .collect(),
        snapshots: first.snapshots,
        projections: Vec::new(),
    };
    crate::maps::refresh(&mut bundle);
    bundle.manifest.metrics = manifest_metrics(&bundle, ds, &train_rows, &validation_rows);
    (
        bundle,
        TrainReport {
            losses: first.losses,
            train_rows,
            validation_rows,
            curve: first.curve,
        },
    )
}

/// Adam on one member, with optional dropout, early stopping, monitoring and snapshots. The
/// losses are read back every `read_every` steps (and at every check), which changes when
/// `progress` hears of a step, never a number.
#[allow(clippy::too_many_arguments)]
async fn fit_member(
    ds: &Dataset,
    cfg: &TrainConfig,
    manifest: &Manifest,
    train_rows: &[usize],
    validation: Option<&RowTensors>,
    monitor: Option<&RowTensors>,
    snapshot_steps: &[usize],
    rng: &mut Rng,
    read_every: usize,
    mut progress: impl FnMut(&Tick),
) -> Member {
    let device = cfg.device.clone();
    let mut stepper = Stepper::new(ds, cfg, manifest, train_rows, rng);
    let mut snapshots = Vec::new();
    if snapshot_steps.contains(&0) {
        snapshots.extend(read(stepper.plain()[0].clone()).await);
    }

    let mut best: Option<(f64, usize, Vec<Tensor<2>>)> = None;
    let mut checks_since_best = 0;
    let mut losses: Vec<f64> = Vec::new();
    let mut pending: Vec<Tensor<1>> = Vec::new();
    let mut curve = Vec::new();
    for step in 1..=cfg.steps {
        pending.push(stepper.step(step, rng));
        if snapshot_steps.contains(&step) {
            snapshots.extend(read(stepper.plain()[0].clone()).await);
        }
        let check = step % CHECK_EVERY == 0 || step == cfg.steps;
        if check || pending.len() >= read_every {
            let read_back = match pending.len() {
                1 => read(pending.remove(0)).await,
                _ => read(Tensor::cat(std::mem::take(&mut pending), 0)).await,
            };
            let first = step + 1 - read_back.len();
            for (i, &value) in read_back.iter().enumerate() {
                losses.push(f64::from(value));
                if !check || first + i < step {
                    progress(&Tick {
                        member: 0,
                        step: first + i,
                        total: cfg.steps,
                        loss: f64::from(value),
                        point: None,
                        codes: None,
                    });
                }
            }
        }
        if !check {
            continue;
        }
        let since = curve.last().map_or(0, |p: &CurvePoint| p.step);
        let recent = &losses[since..];
        let plain = stepper.plain();
        let validation_loss = match validation {
            Some(v) => Some(v.loss(&plain, manifest, &device).await),
            None => None,
        };
        let point = CurvePoint {
            step,
            train: recent.iter().sum::<f64>() / recent.len().max(1) as f64,
            validation: validation_loss,
            monitor: match monitor {
                Some(m) => Some(m.loss(&plain, manifest, &device).await),
                None => None,
            },
        };
        curve.push(point);
        let codes = read(plain[0].clone()).await;
        progress(&Tick {
            member: 0,
            step,
            total: cfg.steps,
            loss: losses.last().copied().unwrap_or(f64::NAN),
            point: Some(point),
            codes: Some(&codes),
        });
        if let (Some(v), Some(patience)) = (validation_loss, cfg.early_stopping) {
            if best.as_ref().is_none_or(|(b, _, _)| v < *b) {
                best = Some((v, step, plain));
                checks_since_best = 0;
            } else {
                checks_since_best += 1;
                if checks_since_best >= patience {
                    break;
                }
            }
        }
    }
    let best_step = best.as_ref().map(|(_, s, _)| *s);
    let final_params = match best {
        Some((_, _, plain)) => unflat(plain),
        None => unflat(stepper.plain()),
    };
    Member {
        weights: final_params.read_weights().await,
        losses,
        curve,
        best_step,
        snapshots,
    }
}

/// One member's parameters and optimiser, and the step that moves them: a mini-batch drawn
/// from the member's generator, the loss, its gradients, Adam.
struct Stepper<'a> {
    ds: &'a Dataset,
    cfg: &'a TrainConfig,
    manifest: &'a Manifest,
    ad: Device,
    desc: Option<DescriptorInputs>,
    /// Where the regressor's layers start in `params` (after the codes or the descriptor map).
    head: usize,
    params: Vec<Tensor<2>>,
    adam: Adam,
    epoch: Vec<usize>,
    cursor: usize,
    batch: usize,
}

impl<'a> Stepper<'a> {
    fn new(
        ds: &'a Dataset,
        cfg: &'a TrainConfig,
        manifest: &'a Manifest,
        train_rows: &[usize],
        rng: &mut Rng,
    ) -> Self {
        let device = cfg.device.clone();
        let weights = init_weights(manifest, rng);
        let inner = Params::from_weights(&weights, manifest.architecture.code_dim, &device);
        let desc = (cfg.descriptors.as_ref())
            .and_then(|d| DescriptorInputs::new(d, manifest, &device, rng));
        let params: Vec<Tensor<2>> = match &desc {
            Some(d) => d.initial(&inner),
            None => flat(&inner),
        }
        .into_iter()
        .map(|p| p.autodiff().require_grad())
        .collect();
        let shapes: Vec<[usize; 2]> = params.iter().map(Tensor::dims).collect();
        let epoch = train_rows.to_vec();
        Stepper {
            ds,
            cfg,
            manifest,
            ad: device.clone().autodiff(),
            head: if desc.is_some() { 3 } else { 1 },
            desc,
            params,
            adam: Adam::new(&shapes, &device),
            cursor: epoch.len(),
            batch: cfg.batch_size.clamp(1, train_rows.len().max(1)),
            epoch,
        }
    }

    /// The model's parameters now, without gradients (`codes`, then the layers).
    fn plain(&self) -> Vec<Tensor<2>> {
        let plain: Vec<Tensor<2>> = self.params.iter().map(|p| p.clone().inner()).collect();
        match &self.desc {
            Some(d) => d.resolve(&plain, false),
            None => plain,
        }
    }

    /// Step `step` (1-based): returns its mini-batch loss, still on the device.
    fn step(&mut self, step: usize, rng: &mut Rng) -> Tensor<1> {
        let (cfg, manifest, ad, bs) = (self.cfg, self.manifest, &self.ad, self.batch);
        let (n, c, t) = (
            manifest.materials.len(),
            manifest.conditions.len(),
            manifest.targets.len(),
        );
        if self.cursor + bs > self.epoch.len() {
            rng.shuffle(&mut self.epoch);
            self.cursor = 0;
        }
        let rows = &self.epoch[self.cursor..self.cursor + bs];
        self.cursor += bs;
        let b = gather(self.ds, manifest, rows);
        let x = Tensor::from_data(TensorData::new(b.fractions, [bs, n]), ad);
        let cond = b
            .conditions
            .map(|v| Tensor::from_data(TensorData::new(v, [bs, c]), ad));
        let y = Tensor::from_data(TensorData::new(b.targets, [bs, t]), ad);
        let mask = Tensor::from_data(TensorData::new(b.mask, [bs, t]), ad);
        let p = unflat(match &self.desc {
            Some(d) => d.resolve(&self.params, true),
            None => self.params.clone(),
        });
        let out = if cfg.dropout > 0.0 {
            // Inverted dropout with masks drawn from the seeded generator (deterministic).
            let keep = 1.0 - cfg.dropout;
            forward_with(&p, manifest, x, cond, |h| {
                let dims = h.dims();
                let m: Vec<f32> = (0..dims[0] * dims[1])
                    .map(|_| {
                        if rng.uniform() < keep {
                            (1.0 / keep) as f32
                        } else {
                            0.0
                        }
                    })
                    .collect();
                h * Tensor::from_data(TensorData::new(m, dims), ad)
            })
        } else {
            forward(&p, manifest, x, cond)
        };
        let mut l = loss(manifest, out, y, mask, ad);
        if let Some(d) = &self.desc {
            l = l + d.penalty(&self.params);
        }
        let grads = l.backward();
        self.adam.step += 1;
        let lr = cfg.schedule.rate(cfg.learning_rate, step, cfg.steps);
        let (adam, head) = (&mut self.adam, self.head);
        self.params = std::mem::take(&mut self.params)
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let g = p.grad(&grads);
                let inner_p = p.inner();
                let updated = match g {
                    Some(g) => adam.update(i, inner_p, g, lr),
                    None => inner_p,
                };
                // Decay the regressor's weight matrices (every other entry from `head`), not
                // the codes, the descriptor map or the biases.
                let decays = cfg.weight_decay > 0.0 && i >= head && (i - head) % 2 == 0;
                if decays {
                    updated.clone() - updated.mul_scalar(lr * cfg.weight_decay)
                } else {
                    updated
                }
                .autodiff()
                .require_grad()
            })
            .collect();
        l.inner()
    }
}

/// Training steps per second of `cfg`'s model on `cfg.device`, timed by `now` (seconds) over
/// `timed` steps after `warm` untimed ones (a GPU compiles its kernels in the first steps).
/// Nothing is kept: the page runs it on each device to choose where to train. `progress` hears
/// of every step (on the CPU the trial holds the thread: it is the only way to report).
pub async fn step_rate(
    ds: &Dataset,
    cfg: &TrainConfig,
    warm: usize,
    timed: usize,
    now: impl Fn() -> f64,
    mut progress: impl FnMut(usize),
) -> f64 {
    let rows: Vec<usize> = (0..ds.rows()).collect();
    let manifest = manifest_for(ds, cfg, &rows);
    let mut rng = Rng::new(cfg.seed);
    let mut stepper = Stepper::new(ds, cfg, &manifest, &rows, &mut rng);
    let mut started = now();
    for step in 1..=warm + timed {
        let l = stepper.step(step, &mut rng);
        // Reading the loss waits for the device, so the clock sees finished steps.
        if step == warm {
            read(l).await;
            started = now();
        } else if step == warm + timed {
            read(l).await;
        }
        progress(step);
    }
    timed as f64 / (now() - started).max(1e-9)
}

/// The constant inputs of descriptor-informed codes for one member, and the map between its
/// parameters (`offset, A, b`, then the regressor's) and the model's (`codes`, then the same).
struct DescriptorInputs {
    /// Standardised descriptors `[materials, features]`.
    x: Tensor<2>,
    /// 1 for a described material (its offset is penalised), 0 otherwise: `[materials, 1]`.
    known: Tensor<2>,
    known_count: usize,
    features: usize,
    offset_penalty: f64,
    map_penalty: f64,
    /// `A`'s initial entries, drawn from the member's generator.
    initial_map: Vec<f32>,
}

impl DescriptorInputs {
    /// `None` when no material of the model is in the table (the callers check first).
    fn new(d: &CodeDescriptors, m: &Manifest, device: &Device, rng: &mut Rng) -> Option<Self> {
        let names: Vec<String> = m.materials.iter().map(|x| x.name.clone()).collect();
        let matrix = d.table.matrix(&names).ok()?;
        let (n, p, dim) = (names.len(), matrix.features, m.architecture.code_dim);
        // Codes start near the origin as free ones do: standardised inputs, entries of A with
        // spread 0.1 / sqrt(p).
        let scale = 0.1 / (p as f64).sqrt();
        let initial_map = (0..p * dim)
            .map(|_| (scale * rng.normal()) as f32)
            .collect();
        let known: Vec<f32> = matrix
            .known
            .iter()
            .map(|&k| f32::from(u8::from(k)))
            .collect();
        Some(DescriptorInputs {
            x: Tensor::from_data(TensorData::new(matrix.values, [n, p]), device),
            known: Tensor::from_data(TensorData::new(known, [n, 1]), device),
            known_count: matrix.known.iter().filter(|&&k| k).count(),
            features: p,
            offset_penalty: d.offset_penalty,
            map_penalty: d.map_penalty,
            initial_map,
        })
    }

    /// The member's starting parameters: zero offsets, the drawn map, zero bias, the layers.
    fn initial(&self, inner: &Params) -> Vec<Tensor<2>> {
        let [n, dim] = inner.codes.dims();
        let device = inner.codes.device();
        let mut v = flat(inner);
        v[0] = Tensor::zeros([n, dim], &device);
        v.insert(
            1,
            Tensor::from_data(
                TensorData::new(self.initial_map.clone(), [self.features, dim]),
                &device,
            ),
        );
        v.insert(2, Tensor::zeros([1, dim], &device));
        v
    }

    /// Plain parameters → the model's (`codes`, layers...); with `autodiff`, parameters that
    /// carry gradients (the descriptors then join them as constants).
    fn resolve(&self, params: &[Tensor<2>], autodiff: bool) -> Vec<Tensor<2>> {
        let x = if autodiff {
            self.x.clone().autodiff()
        } else {
            self.x.clone()
        };
        let codes = x.matmul(params[1].clone()) + params[2].clone() + params[0].clone();
        let mut v = vec![codes];
        v.extend_from_slice(&params[3..]);
        v
    }

    /// The penalty on the offsets of described materials and on the map's entries.
    fn penalty(&self, params: &[Tensor<2>]) -> Tensor<1> {
        let [_, dim] = params[0].dims();
        let known = self.known.clone().autodiff();
        let offsets = (params[0].clone() * known).square().sum();
        let offsets =
            offsets.mul_scalar(self.offset_penalty / (self.known_count.max(1) * dim) as f64);
        let map = params[1]
            .clone()
            .square()
            .mean()
            .mul_scalar(self.map_penalty);
        offsets + map
    }
}

/// Per-target error on the train and validation rows, for the manifest: MAE for regression
/// targets (in the target's units), accuracy for binary ones.
pub fn manifest_metrics(
    bundle: &Bundle,
    ds: &Dataset,
    train_rows: &[usize],
    validation_rows: &[usize],
) -> BTreeMap<String, serde_json::Value> {
    let model = crate::model::MixModel::new(bundle, &Device::flex());
    let mut out = BTreeMap::new();
    for (split, rows) in [("train", train_rows), ("validation", validation_rows)] {
        for (target, s) in crate::metrics::score_rows(&model, ds, rows) {
            let (name, value) = if s.accuracy.is_nan() {
                ("mae", s.mae)
            } else {
                ("accuracy", s.accuracy)
            };
            out.insert(
                format!("{target}.{split}.{name}"),
                json!({"value": value, "rows": s.rows}),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::TargetSpec;

    /// y = 3·salt − 2·oil (+ a binary "salty" flag): learnable by any mixture model.
    fn synthetic() -> Dataset {
        let mut rng = Rng::new(5);
        let mut ds = Dataset::new(
            vec!["water".into(), "salt".into(), "oil".into()],
            vec![],
            vec![
                TargetSpec {
                    name: "y".into(),
                    kind: TargetKind::Regression,
                    transform: Transform::None,
                },
                TargetSpec {
                    name: "salty".into(),
                    kind: TargetKind::Binary,
                    transform: Transform::None,
                },
            ],
        );
        for i in 0..200 {
            let (s, o) = (rng.uniform() * 0.5, rng.uniform() * 0.5);
            let y = 3.0 * f64::from(s as f32) - 2.0 * f64::from(o as f32);
            // Every third row has no binary label: the mask must handle it.
            let salty = if i % 3 == 0 {
                f64::NAN
            } else {
                f64::from(u8::from(s > 0.25))
            };
            ds.push_row(
                format!("r{i}"),
                &[(1.0 - s - o) as f32, s as f32, o as f32],
                &[],
                &[y, salty],
            );
        }
        ds
    }

    fn cfg() -> TrainConfig {
        TrainConfig {
            code_dim: 4,
            hidden: vec![16],
            steps: 400,
            batch_size: 32,
            learning_rate: 1e-2,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn training_learns_and_is_deterministic() {
        let ds = synthetic();
        let (a, report) = train(&ds, &cfg(), |_| {});
        let first: f64 = report.losses[..20].iter().sum::<f64>() / 20.0;
        let last: f64 = report.losses[report.losses.len() - 20..]
            .iter()
            .sum::<f64>()
            / 20.0;
        assert!(last < 0.25 * first, "loss {first} -> {last}");
        let mae = a.manifest.metrics["y.validation.mae"]["value"]
            .as_f64()
            .unwrap();
        // y spans about [-1, 1.5]; a learned model is far better than predicting the mean.
        assert!(mae < 0.15, "validation MAE {mae}");
        let acc = a.manifest.metrics["salty.train.accuracy"]["value"]
            .as_f64()
            .unwrap();
        assert!(acc > 0.85, "train accuracy {acc}");
        let (b, _) = train(&ds, &cfg(), |_| {});
        assert_eq!(
            a.members, b.members,
            "same seed must give bit-identical weights"
        );
        let (c, _) = train(&ds, &TrainConfig { seed: 2, ..cfg() }, |_| {});
        assert_ne!(a.members, c.members);
    }

    #[test]
    fn early_stopping_keeps_the_best_step_and_weight_decay_shrinks_weights() {
        let ds = synthetic();
        let long = TrainConfig {
            steps: 20_000,
            learning_rate: 3e-2,
            early_stopping: Some(3),
            ..cfg()
        };
        let (bundle, report) = train(&ds, &long, |_| {});
        let best = bundle.manifest.training["best_step"].as_u64().unwrap() as usize;
        assert!(report.losses.len() < 20_000, "did not stop early");
        assert_eq!(
            report.losses.len(),
            best + 3 * CHECK_EVERY,
            "stops 3 checks after the best"
        );
        let norm = |b: &Bundle| -> f64 {
            b.weights()
                .layers
                .iter()
                .flat_map(|l| &l.weight)
                .map(|w| f64::from(*w).powi(2))
                .sum()
        };
        let (plain, _) = train(&ds, &cfg(), |_| {});
        let (decayed, _) = train(
            &ds,
            &TrainConfig {
                weight_decay: 0.5,
                ..cfg()
            },
            |_| {},
        );
        assert!(
            norm(&decayed) < 0.9 * norm(&plain),
            "{} vs {}",
            norm(&decayed),
            norm(&plain)
        );
    }

    #[test]
    fn schedules() {
        let c = Schedule::Cosine;
        assert!((c.rate(1.0, 0, 100) - 1.0).abs() < 1e-12);
        assert!((c.rate(1.0, 50, 100) - 0.55).abs() < 1e-12);
        assert!((c.rate(1.0, 100, 100) - 0.1).abs() < 1e-12);
        assert_eq!(Schedule::Constant.rate(0.3, 77, 100), 0.3);
        // The schedule is part of training: a constant rate gives other weights.
        let ds = synthetic();
        let short = TrainConfig { steps: 60, ..cfg() };
        let constant = TrainConfig {
            schedule: Schedule::Constant,
            ..short.clone()
        };
        assert_ne!(
            train(&ds, &short, |_| {}).0.members,
            train(&ds, &constant, |_| {}).0.members
        );
    }

    #[test]
    fn progress_hears_every_step_and_the_curve_at_checks() {
        let ds = synthetic();
        let cfg = TrainConfig {
            steps: 120,
            members: 2,
            ..cfg()
        };
        let mut ticks = Vec::new();
        let (_, report) = train(&ds, &cfg, |t| {
            ticks.push((
                t.step,
                t.total,
                t.point.map(|p| p.step),
                t.codes().map(|c| c.len()),
            ))
        });
        // Every step of both members, in order, the total known from the first.
        assert_eq!(
            ticks.iter().map(|t| t.0).collect::<Vec<_>>(),
            (1..=240).collect::<Vec<_>>()
        );
        assert!(ticks.iter().all(|t| t.1 == 240));
        // The curve's points and the codes only at the checks (every 50 steps and the last).
        let checks: Vec<_> = ticks.iter().filter_map(|t| t.2).collect();
        assert_eq!(checks, vec![50, 100, 120, 50, 100, 120]);
        let n = ds.materials.len() * cfg.code_dim;
        assert!(ticks.iter().all(|t| t.3 == t.2.map(|_| n)));
        assert_eq!(report.curve.len(), 3);
    }

    #[test]
    fn reading_the_losses_in_bursts_changes_no_number_and_no_tick() {
        // A GPU reads the losses back every few steps: the same steps must be heard of, in
        // order, with the same losses, curve and weights as reading at every step. Early
        // stopping and dropout make the loop's exits and random draws part of the check.
        let ds = synthetic();
        let cfg = TrainConfig {
            steps: 400,
            members: 2,
            dropout: 0.1,
            early_stopping: Some(2),
            snapshot_steps: vec![0, 3, 77, 400],
            ..cfg()
        };
        let run = |every: usize| {
            let mut rng = Rng::new(cfg.seed);
            let rows: Vec<usize> = (0..ds.rows()).collect();
            let (validation, fit_rows) = rows.split_at(ds.rows() / 5);
            let mut ticks = Vec::new();
            let (bundle, report) = block_on(fit(
                &ds,
                &cfg,
                fit_rows.to_vec(),
                validation.to_vec(),
                &[],
                &mut rng,
                every,
                |t| ticks.push((t.step, t.loss.to_bits(), t.point.map(|p| p.step))),
            ));
            (bundle, report, ticks)
        };
        let (a, ra, ta) = run(1);
        let (b, rb, tb) = run(7);
        assert_eq!(a.members, b.members);
        assert_eq!(a.snapshots, b.snapshots);
        assert_eq!(ra, rb);
        assert_eq!(ta, tb);
        assert!(!ta.is_empty());
    }

    #[test]
    fn step_rate_times_the_steps_after_the_warm_ones_and_reports_each() {
        let ds = synthetic();
        let clock = std::cell::Cell::new(0.0);
        let mut heard = Vec::new();
        // A clock that moves 0.5 s per reading: started after the warm steps, read at the end.
        let rate = block_on(step_rate(
            &ds,
            &cfg(),
            3,
            10,
            || {
                clock.set(clock.get() + 0.5);
                clock.get()
            },
            |s| heard.push(s),
        ));
        assert_eq!(heard, (1..=13).collect::<Vec<_>>());
        assert_eq!(rate, 10.0 / 0.5);
    }

    #[test]
    fn log_spaced_snapshot_steps_cover_start_and_end() {
        let s = log_spaced_steps(1000, 8);
        assert_eq!(s.len(), 8);
        assert_eq!((s[0], s[7]), (0, 1000));
        assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
        // Denser early on: half the snapshots fall in the first 10 % of training.
        assert!(s[4] <= 100, "{s:?}");
        assert!(log_spaced_steps(1000, 0).is_empty());
    }

    #[test]
    fn ensembles_snapshots_and_dropout() {
        let ds = synthetic();
        let cfg = TrainConfig {
            steps: 200,
            members: 3,
            dropout: 0.2,
            residual: true,
            hidden: vec![16, 16],
            snapshot_steps: vec![200, 0, 50, 50, 5000],
            ..cfg()
        };
        let (bundle, report) = train(&ds, &cfg, |_| {});
        assert_eq!(bundle.members.len(), 3);
        assert_ne!(bundle.members[0], bundle.members[1]);
        // Steps sorted, deduplicated, beyond-the-end dropped; one code matrix per step.
        assert_eq!(bundle.manifest.snapshot_steps, vec![0, 50, 200]);
        let nd = 3 * cfg.code_dim;
        assert_eq!(bundle.snapshots.len(), 3 * nd);
        assert_eq!(&bundle.snapshots[2 * nd..], &bundle.weights().codes[..]);
        let spread = |s: &[f32]| s.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
        assert!(
            spread(&bundle.snapshots[..nd]) < 0.5 && spread(&bundle.snapshots[2 * nd..]) > 0.5,
            "codes start near the origin and spread"
        );
        assert_eq!(report.curve.len(), 200 / CHECK_EVERY);
        // PCA projections are precomputed for the explorer.
        assert_eq!(bundle.manifest.projections.len(), 2);
        assert_eq!(bundle.projections[1].len(), 3 * 3);
        // The ensemble still learns, has a spread, and is reproducible with dropout on.
        let pred = crate::model::MixModel::new(&bundle, &Device::flex())
            .predict(&ds.batch(&[0, 1, 2]))
            .unwrap();
        assert!(pred.spread.iter().all(|s| *s > 0.0));
        let (again, _) = train(&ds, &cfg, |_| {});
        assert_eq!(again, bundle);
        let back = Bundle::from_bytes(
            bundle.manifest.to_json().as_bytes(),
            &bundle.weights_bytes(),
        )
        .unwrap();
        assert_eq!(back, bundle);
    }

    #[test]
    fn a_target_can_have_its_own_loss() {
        let mut m = crate::bundle::tests::tiny().manifest;
        m.targets[1] = crate::bundle::Target {
            name: "v2".into(),
            kind: TargetKind::Regression,
            loss: Some(LossKind::L1),
            ..m.targets[0].clone()
        };
        let device = Device::flex();
        let t2 = |v: [f32; 2]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [1, 2]), &device);
        let value = |m: &Manifest| {
            let l = loss(m, t2([1.0, -2.0]), t2([0.0, 0.0]), t2([1.0, 1.0]), &device);
            f64::from(l.into_scalar::<f32>())
        };
        // Squared error on the first (the model's MSE), absolute on the second: 1 + 2.
        assert_eq!(value(&m), 3.0);
        m.targets[1].loss = None;
        assert_eq!(value(&m), 5.0);
        // Recorded by training only where it differs from the model's.
        let ds = synthetic();
        let cfg = TrainConfig {
            steps: 20,
            target_losses: [("y".to_string(), LossKind::Huber)].into(),
            ..cfg()
        };
        let (bundle, _) = train(&ds, &cfg, |_| {});
        assert_eq!(bundle.manifest.targets[0].loss, Some(LossKind::Huber));
        assert_eq!(
            bundle.manifest.targets[1].loss, None,
            "binary targets keep theirs"
        );
        let back = Bundle::from_bytes(
            bundle.manifest.to_json().as_bytes(),
            &bundle.weights_bytes(),
        )
        .unwrap();
        assert_eq!(back.manifest.targets[0].loss, Some(LossKind::Huber));
    }

    #[test]
    fn losses_are_squared_absolute_or_huber_and_the_bundle_keeps_which() {
        let ds = synthetic();
        let rows: Vec<usize> = (0..ds.rows()).collect();
        let device = Device::flex();
        let mut m = manifest_for(&ds, &cfg(), &rows);
        let t = m.targets.len();
        // (Binary targets always use cross-entropy: here every target counts as regression.)
        m.targets
            .iter_mut()
            .for_each(|x| x.kind = TargetKind::Regression);
        let tensor = |v: [f32; 2]| {
            let data: Vec<f32> = v.iter().flat_map(|&x| std::iter::repeat_n(x, t)).collect();
            Tensor::<2>::from_data(TensorData::new(data, [2, t]), &device)
        };
        // Errors 1 and 3 in every target: per target mean 5 (squared), 2 (absolute), 1.5 (Huber).
        for (kind, want) in [
            (LossKind::Mse, 5.0),
            (LossKind::L1, 2.0),
            (LossKind::Huber, 1.5),
        ] {
            m.architecture.loss = kind;
            let got = loss(
                &m,
                tensor([0.0, 3.0]),
                tensor([1.0, 0.0]),
                tensor([1.0, 1.0]),
                &device,
            );
            let got = f64::from(got.into_scalar::<f32>());
            assert!((got - want * t as f64).abs() < 1e-5, "{kind:?}: {got}");
        }
        // Each trains (the error falls) and is recorded in the bundle.
        for kind in [LossKind::L1, LossKind::Huber] {
            let (bundle, report) = train(
                &ds,
                &TrainConfig {
                    steps: 300,
                    loss: kind,
                    ..cfg()
                },
                |_| {},
            );
            assert_eq!(bundle.manifest.architecture.loss, kind);
            let back = Manifest::from_json(bundle.manifest.to_json().as_bytes()).unwrap();
            assert_eq!(back.architecture.loss, kind);
            let first = report.curve.first().map(|c| c.train).unwrap_or(f64::NAN);
            let last = report.curve.last().map(|c| c.train).unwrap_or(f64::NAN);
            assert!(last < first, "{kind:?}: {first} → {last}");
        }
    }

    #[test]
    fn dose_scales_are_the_training_spreads_and_every_path_pools_with_them() {
        let ds = synthetic();
        let (bundle, _) = train(
            &ds,
            &TrainConfig {
                steps: 50,
                dose_scale: true,
                ..cfg()
            },
            |_| {},
        );
        let m = &bundle.manifest;
        // The spread of material 0's fraction over the training rows, as computed here.
        let rows: Vec<f64> = (0..ds.rows())
            .map(|r| f64::from(ds.dense_row(r)[0]))
            .collect();
        assert!(
            m.materials
                .iter()
                .all(|x| x.dose_scale > 0.0 && x.dose_scale < 1.0)
        );
        let mean = rows.iter().sum::<f64>() / rows.len() as f64;
        let sd = (rows.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / rows.len() as f64).sqrt();
        assert!(
            (m.materials[0].dose_scale - sd).abs() < 0.05 * sd,
            "{} vs {sd}",
            m.materials[0].dose_scale
        );
        let back = Bundle::from_bytes(m.to_json().as_bytes(), &bundle.weights_bytes()).unwrap();
        assert_eq!(back, bundle);
        let batch = crate::model::Batch::default_of(m);
        let got = crate::model::MixModel::new(&bundle, &Device::flex())
            .predict(&batch)
            .unwrap();
        let want = crate::model::reference_predict(&bundle, &batch);
        let host = crate::host_model::HostModel::new(&bundle)
            .predict(&batch)
            .unwrap();
        for ((g, w), h) in got.values.iter().zip(&want.values).zip(&host.values) {
            assert!((g - w).abs() <= 1e-5 * w.abs().max(1e-3), "{g} vs {w}");
            assert!((h - w).abs() <= 1e-6 * w.abs().max(1e-3), "{h} vs {w}");
        }
        // The scale changes the model: the same weights without it predict otherwise.
        let mut plain = bundle.clone();
        plain
            .manifest
            .materials
            .iter_mut()
            .for_each(|x| x.dose_scale = 1.0);
        let other = crate::model::reference_predict(&plain, &batch);
        assert!(
            other
                .values
                .iter()
                .zip(&want.values)
                .any(|(a, b)| (a - b).abs() > 1e-6)
        );
    }

    #[test]
    fn trained_bundle_round_trips_and_predicts_like_the_reference() {
        let ds = synthetic();
        let (bundle, _) = train(&ds, &TrainConfig { steps: 50, ..cfg() }, |_| {});
        let back = Bundle::from_bytes(
            bundle.manifest.to_json().as_bytes(),
            &bundle.weights_bytes(),
        )
        .unwrap();
        assert_eq!(back, bundle);
        let batch = crate::model::Batch::default_of(&bundle.manifest);
        let model = crate::model::MixModel::new(&bundle, &Device::flex());
        let got = model.predict(&batch).unwrap();
        let want = crate::model::reference_predict(&bundle, &batch);
        for (g, w) in got.values.iter().zip(&want.values) {
            assert!((g - w).abs() <= 1e-5 * w.abs().max(1e-3), "{g} vs {w}");
        }
    }

    #[test]
    fn log_dose_blocks_learn_a_saturating_dose_and_round_trip() {
        // The plain pooling sees only the (tiny, linear) fraction; the block its log.
        let ds = crate::auto::tests::saturating();
        let mut doses: Vec<f32> = (0..ds.rows())
            .flat_map(|r| ds.row(r).iter().filter(|e| e.0 == 1).map(|e| e.1))
            .filter(|&f| f > 0.0)
            .collect();
        let cfg = TrainConfig {
            code_dim: 2,
            hidden: vec![16],
            steps: 1500,
            learning_rate: 1e-2,
            validation_fraction: 0.0,
            ..TrainConfig::default()
        };
        let mae = |cfg: &TrainConfig| {
            let (bundle, _) = train(&ds, cfg, |_| {});
            let model = crate::model::MixModel::new(&bundle, &Device::flex());
            let rows: Vec<usize> = (0..ds.rows()).collect();
            let scores = crate::metrics::score_rows(&model, &ds, &rows);
            (bundle, scores["y"].mae)
        };
        let (_, plain) = mae(&cfg);
        let (bundle, logged) = mae(&TrainConfig {
            log_dose: true,
            ..cfg.clone()
        });
        assert!(
            logged < 0.05 && logged < 0.25 * plain,
            "MAE {logged} with the block, {plain} without"
        );
        let m = &bundle.manifest;
        assert!(m.architecture.log_dose && m.architecture.code_dim == 4);
        doses.sort_by(f32::total_cmp);
        assert_eq!(
            m.materials[1].log_dose_scale,
            f64::from(doses[doses.len() / 2])
        );
        // The bundle reads back the same and every path predicts alike.
        let back = Bundle::from_bytes(m.to_json().as_bytes(), &bundle.weights_bytes()).unwrap();
        assert_eq!(back, bundle);
        let batch = ds.batch(&[1, 2, 3]);
        let got = crate::model::MixModel::new(&back, &Device::flex())
            .predict(&batch)
            .unwrap();
        let want = crate::model::reference_predict(&back, &batch);
        for (g, w) in got.values.iter().zip(&want.values) {
            assert!((g - w).abs() <= 1e-5 * w.abs().max(1e-3), "{g} vs {w}");
        }
    }

    #[test]
    fn descriptor_codes_give_a_material_absent_from_training_its_descriptors_code() {
        // Ten materials whose effect on y is their descriptor `e`; m9 is in no training row.
        let effects = [-1.0, -0.8, -0.5, -0.3, 0.0, 0.2, 0.4, 0.6, 1.0, 0.8];
        let names: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
        let mut rng = Rng::new(3);
        let mut csv = String::from("material,e,noise\n");
        for (name, e) in names.iter().zip(effects) {
            csv += &format!("{name},{e},{}\n", rng.uniform());
        }
        let table = crate::descriptors::DescriptorTable::parse("test", csv.as_bytes()).unwrap();
        let target = TargetSpec {
            name: "y".into(),
            kind: TargetKind::Regression,
            transform: Transform::None,
        };
        let mut ds = Dataset::new(names.clone(), vec![], vec![target]);
        for r in 0..300 {
            let mut f = [0.0f32; 10];
            for _ in 0..3 {
                f[(rng.uniform() * 9.0) as usize] += rng.uniform() as f32 + 0.1;
            }
            let total: f32 = f.iter().sum();
            f.iter_mut().for_each(|v| *v /= total);
            let y = (f.iter().zip(effects))
                .map(|(&v, e)| f64::from(v) * e)
                .sum();
            ds.push_row(format!("r{r}"), &f, &[], &[y]);
        }
        let mut probe = [0.0f32; 10];
        (probe[9], probe[0]) = (0.5, 0.5);
        ds.push_row("probe".into(), &probe, &[], &[0.5 * (0.8 - 1.0)]);
        let cfg = TrainConfig {
            code_dim: 2,
            hidden: vec![16],
            steps: 1500,
            batch_size: 32,
            learning_rate: 1e-2,
            ..TrainConfig::default()
        };
        let rows: Vec<usize> = (0..300).collect();
        let probe_error = |cfg: &TrainConfig| {
            let (bundle, _) = train_on_rows(&ds, cfg, &rows, &[], |_| {});
            let p = crate::model::reference_predict(&bundle, &ds.batch(&[300]));
            (p.row(0)[0] - (-0.1)).abs()
        };
        let free = probe_error(&cfg);
        let described = probe_error(&TrainConfig {
            descriptors: Some(CodeDescriptors {
                table,
                offset_penalty: 1.0,
                map_penalty: 0.0,
            }),
            ..cfg.clone()
        });
        assert!(
            described < 0.1 && described < 0.5 * free,
            "the unseen material's prediction error: {described} with descriptors, {free} without"
        );
    }
}
