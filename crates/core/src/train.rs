//! Training: masked multi-target loss, Adam, seeded and deterministic on the CPU backend.
//!
//! Adam is written out here (a few tensor lines) rather than taken from burn-optim so the app's
//! wasm build carries no optimiser code and the update order is fixed by this file.

use std::collections::BTreeMap;

use burn_tensor::activation::relu;
use burn_tensor::{Device, Tensor, TensorData};
use serde_json::json;

use crate::bundle::{
    Architecture, Bundle, CodeActivation, Condition, DatasetInfo, Dense, FORMAT, HiddenActivation,
    Manifest, Material, SCHEMA_VERSION, Target, TargetKind, Transform, Weights,
};
use crate::data::Dataset;
use crate::model::{Params, forward, standardise_conditions};
use crate::rng::Rng;

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
}

/// Steps between validation checks (and progress reports).
pub const CHECK_EVERY: usize = 50;

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            code_dim: 8,
            code_activation: CodeActivation::Tanh,
            hidden: vec![64, 64],
            hidden_activation: HiddenActivation::Relu,
            steps: 3000,
            batch_size: 64,
            learning_rate: 3e-3,
            seed: 1,
            validation_fraction: 0.1,
            weight_decay: 0.0,
            early_stopping: None,
        }
    }
}

/// Mean and standard deviation of the finite values (std floored so constants stay usable).
fn mean_std(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
    (mean, var.sqrt().max(1e-6))
}

fn transformed(v: f64, t: Transform) -> f64 {
    match t {
        Transform::None => v,
        Transform::Log10 => v.log10(),
    }
}

/// The manifest a dataset and config give, before any weights exist.
fn manifest_for(ds: &Dataset, cfg: &TrainConfig, train_rows: &[usize]) -> Manifest {
    let n = ds.materials.len();
    let c = ds.conditions.len();
    let t = ds.targets.len();
    let materials = ds
        .materials
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let used: Vec<f64> = train_rows
                .iter()
                .map(|&r| f64::from(ds.fractions[r * n + i]))
                .filter(|&f| f > 0.0)
                .collect();
            Material {
                name: name.clone(),
                metadata: BTreeMap::new(),
                usage_count: used.len() as u64,
                fraction_min: used.iter().copied().fold(f64::INFINITY, f64::min).min(1.0),
                fraction_max: used.iter().copied().fold(0.0, f64::max),
            }
        })
        .collect();
    let conditions = ds
        .conditions
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let vals: Vec<f64> = train_rows
                .iter()
                .map(|&r| f64::from(ds.condition_values[r * c + j]))
                .collect();
            let (mean, std) = mean_std(vals.iter().copied());
            Condition {
                name: name.clone(),
                unit: String::new(),
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
                TargetKind::Regression => mean_std(
                    train_rows
                        .iter()
                        .map(|&r| transformed(ds.target_values[r * t + k], spec.transform)),
                ),
            };
            Target {
                name: spec.name.clone(),
                unit: String::new(),
                kind: spec.kind,
                transform: spec.transform,
                mean,
                std,
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
            code_dim: cfg.code_dim,
            code_activation: cfg.code_activation,
            hidden: cfg.hidden.clone(),
            hidden_activation: cfg.hidden_activation,
        },
        dataset: DatasetInfo::default(),
        metrics: BTreeMap::new(),
        training: BTreeMap::new(),
        default_formulation: BTreeMap::new(),
        default_conditions: BTreeMap::new(),
    }
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
struct Rows {
    fractions: Vec<f32>,
    conditions: Option<Vec<f32>>,
    targets: Vec<f32>,
    mask: Vec<f32>,
}

fn gather(ds: &Dataset, m: &Manifest, rows: &[usize]) -> Rows {
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
fn loss(m: &Manifest, out: Tensor<2>, y: Tensor<2>, mask: Tensor<2>, device: &Device) -> Tensor<1> {
    let t = m.targets.len();
    let is_binary: Vec<f32> = m
        .targets
        .iter()
        .map(|tg| f32::from(u8::from(tg.kind == TargetKind::Binary)))
        .collect();
    let bin = Tensor::<1>::from_data(TensorData::new(is_binary, [t]), device).unsqueeze_dim::<2>(0);
    let reg = bin.clone().neg().add_scalar(1.0);
    let sq = (out.clone() - y.clone()).square();
    // log(1 + e^z) - y z, written stably.
    let bce = relu(out.clone()) - out.clone() * y + out.abs().neg().exp().log1p();
    let per = sq * reg + bce * bin;
    let counts = mask.clone().sum_dim(0).clamp_min(1.0);
    ((per * mask).sum_dim(0) / counts).sum()
}

struct Adam {
    beta1: f64,
    beta2: f64,
    eps: f64,
    step: i32,
    moments: Vec<(Tensor<2>, Tensor<2>)>,
}

impl Adam {
    fn new(shapes: &[[usize; 2]], device: &Device) -> Self {
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
    fn update(&mut self, i: usize, p: Tensor<2>, g: Tensor<2>, lr: f64) -> Tensor<2> {
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
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    pub losses: Vec<f64>,
    pub train_rows: Vec<usize>,
    pub validation_rows: Vec<usize>,
}

/// Train a model on `ds`; `progress(step, loss)` is called every few steps.
pub fn train(
    ds: &Dataset,
    cfg: &TrainConfig,
    progress: impl FnMut(usize, f64),
) -> (Bundle, TrainReport) {
    let mut rng = Rng::new(cfg.seed);
    let mut order: Vec<usize> = (0..ds.rows()).collect();
    rng.shuffle(&mut order);
    let n_val = ((ds.rows() as f64) * cfg.validation_fraction).round() as usize;
    let n_val = n_val.min(ds.rows().saturating_sub(1));
    let validation_rows = order[..n_val].to_vec();
    let mut train_rows = order[n_val..].to_vec();
    train_rows.sort_unstable();
    fit(ds, cfg, train_rows, validation_rows, &mut rng, progress)
}

/// Train on exactly `train_rows` (the evaluation protocol chooses them); seeded by `cfg.seed`.
pub fn train_on_rows(
    ds: &Dataset,
    cfg: &TrainConfig,
    train_rows: &[usize],
    progress: impl FnMut(usize, f64),
) -> Bundle {
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
    fit(ds, cfg, fit_rows, validation_rows, &mut rng, progress).0
}

fn fit(
    ds: &Dataset,
    cfg: &TrainConfig,
    train_rows: Vec<usize>,
    validation_rows: Vec<usize>,
    rng: &mut Rng,
    mut progress: impl FnMut(usize, f64),
) -> (Bundle, TrainReport) {
    let device = Device::flex();
    let ad = device.clone().autodiff();
    let mut manifest = manifest_for(ds, cfg, &train_rows);
    let weights = init_weights(&manifest, rng);
    let n = manifest.materials.len();
    let (c, t) = (manifest.conditions.len(), manifest.targets.len());

    let inner = Params::from_weights(&weights, cfg.code_dim, &device);
    let mut params: Vec<Tensor<2>> = flat(&inner)
        .into_iter()
        .map(|p| p.autodiff().require_grad())
        .collect();
    let shapes: Vec<[usize; 2]> = params.iter().map(Tensor::dims).collect();
    let mut adam = Adam::new(&shapes, &device);

    // Validation rows as constant tensors, for early stopping.
    let validation = (cfg.early_stopping.is_some() && !validation_rows.is_empty()).then(|| {
        let v = gather(ds, &manifest, &validation_rows);
        let rows = validation_rows.len();
        (
            Tensor::<2>::from_data(TensorData::new(v.fractions, [rows, n]), &device),
            v.conditions
                .map(|x| Tensor::<2>::from_data(TensorData::new(x, [rows, c]), &device)),
            Tensor::<2>::from_data(TensorData::new(v.targets, [rows, t]), &device),
            Tensor::<2>::from_data(TensorData::new(v.mask, [rows, t]), &device),
        )
    });
    let mut best: Option<(f64, usize, Vec<Tensor<2>>)> = None;
    let mut checks_since_best = 0;

    let mut losses = Vec::new();
    let mut epoch = train_rows.clone();
    let mut cursor = epoch.len();
    let bs = cfg.batch_size.clamp(1, train_rows.len().max(1));
    for step in 1..=cfg.steps {
        if cursor + bs > epoch.len() {
            rng.shuffle(&mut epoch);
            cursor = 0;
        }
        let rows = &epoch[cursor..cursor + bs];
        cursor += bs;
        let b = gather(ds, &manifest, rows);
        let x = Tensor::from_data(TensorData::new(b.fractions, [bs, n]), &ad);
        let cond = b
            .conditions
            .map(|v| Tensor::from_data(TensorData::new(v, [bs, c]), &ad));
        let y = Tensor::from_data(TensorData::new(b.targets, [bs, t]), &ad);
        let mask = Tensor::from_data(TensorData::new(b.mask, [bs, t]), &ad);
        let p = unflat(params.clone());
        let out = forward(&p, &manifest, x, cond);
        let l = loss(&manifest, out, y, mask, &ad);
        let grads = l.backward();
        let loss_value = f64::from(l.inner().into_scalar::<f32>());
        adam.step += 1;
        // Cosine decay to 10 % of the base rate.
        let progress_frac = step as f64 / cfg.steps as f64;
        let lr = cfg.learning_rate
            * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * progress_frac).cos()));
        params = params
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let g = p.grad(&grads);
                let inner_p = p.inner();
                let updated = match g {
                    Some(g) => adam.update(i, inner_p, g, lr),
                    None => inner_p,
                };
                // Decay the regressor's weight matrices (odd indices after the codes), not
                // the codes or the biases.
                let decays = cfg.weight_decay > 0.0 && i % 2 == 1;
                if decays {
                    updated.clone() - updated.mul_scalar(lr * cfg.weight_decay)
                } else {
                    updated
                }
                .autodiff()
                .require_grad()
            })
            .collect();
        losses.push(loss_value);
        if step % CHECK_EVERY == 0 || step == cfg.steps {
            progress(step, loss_value);
            if let (Some((x, cond, y, mask)), Some(patience)) = (&validation, cfg.early_stopping) {
                let plain: Vec<Tensor<2>> = params.iter().map(|p| p.clone().inner()).collect();
                let out = forward(&unflat(plain.clone()), &manifest, x.clone(), cond.clone());
                let v = f64::from(
                    loss(&manifest, out, y.clone(), mask.clone(), &device).into_scalar::<f32>(),
                );
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
    }
    let best_step = best.as_ref().map(|(_, s, _)| *s);
    let final_params = match best {
        Some((_, _, plain)) => unflat(plain),
        None => unflat(params.into_iter().map(Tensor::inner).collect()),
    };
    let weights = final_params.to_weights();

    // A default formulation for the app: the first training row with every target present.
    let default_row = train_rows
        .iter()
        .copied()
        .find(|&r| (0..t).all(|k| ds.target_values[r * t + k].is_finite()))
        .unwrap_or(train_rows[0]);
    manifest.default_formulation = (0..n)
        .filter(|&i| ds.fractions[default_row * n + i] > 0.0)
        .map(|i| {
            (
                ds.materials[i].clone(),
                f64::from(ds.fractions[default_row * n + i]),
            )
        })
        .collect();
    manifest.default_conditions = (0..c)
        .map(|j| {
            (
                ds.conditions[j].clone(),
                f64::from(ds.condition_values[default_row * c + j]),
            )
        })
        .collect();
    manifest.training = [
        ("steps".to_string(), json!(cfg.steps)),
        ("batch_size".to_string(), json!(bs)),
        ("learning_rate".to_string(), json!(cfg.learning_rate)),
        ("seed".to_string(), json!(cfg.seed)),
        ("train_rows".to_string(), json!(train_rows.len())),
        ("validation_rows".to_string(), json!(validation_rows.len())),
        (
            "final_loss".to_string(),
            json!(losses.last().copied().unwrap_or(f64::NAN)),
        ),
        ("steps_run".to_string(), json!(losses.len())),
        ("best_step".to_string(), json!(best_step)),
        ("weight_decay".to_string(), json!(cfg.weight_decay)),
        ("early_stopping".to_string(), json!(cfg.early_stopping)),
    ]
    .into();
    let mut bundle = Bundle { manifest, weights };
    bundle.manifest.metrics = evaluate(&bundle, ds, &train_rows, &validation_rows);
    (
        bundle,
        TrainReport {
            losses,
            train_rows,
            validation_rows,
        },
    )
}

/// Per-target error on the train and validation rows, for the manifest: MAE for regression
/// targets (in the target's units), accuracy for binary ones.
pub fn evaluate(
    bundle: &Bundle,
    ds: &Dataset,
    train_rows: &[usize],
    validation_rows: &[usize],
) -> BTreeMap<String, serde_json::Value> {
    let model = crate::model::MixModel::new(bundle, &Device::flex());
    let mut out = BTreeMap::new();
    for (split, rows) in [("train", train_rows), ("validation", validation_rows)] {
        for (target, s) in crate::evaluate::score_rows(&model, ds, rows) {
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
        let mut ds = Dataset {
            ids: vec![],
            materials: vec!["water".into(), "salt".into(), "oil".into()],
            conditions: vec![],
            targets: vec![
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
            fractions: vec![],
            condition_values: vec![],
            target_values: vec![],
        };
        for i in 0..200 {
            let (s, o) = (rng.uniform() * 0.5, rng.uniform() * 0.5);
            ds.ids.push(format!("r{i}"));
            ds.fractions
                .extend([(1.0 - s - o) as f32, s as f32, o as f32]);
            let y = 3.0 * f64::from(s as f32) - 2.0 * f64::from(o as f32);
            ds.target_values.push(y);
            // Every third row has no binary label: the mask must handle it.
            ds.target_values.push(if i % 3 == 0 {
                f64::NAN
            } else {
                f64::from(u8::from(s > 0.25))
            });
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
        let (a, report) = train(&ds, &cfg(), |_, _| {});
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
        let (b, _) = train(&ds, &cfg(), |_, _| {});
        assert_eq!(
            a.weights, b.weights,
            "same seed must give bit-identical weights"
        );
        let (c, _) = train(&ds, &TrainConfig { seed: 2, ..cfg() }, |_, _| {});
        assert_ne!(a.weights, c.weights);
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
        let (bundle, report) = train(&ds, &long, |_, _| {});
        let best = bundle.manifest.training["best_step"].as_u64().unwrap() as usize;
        assert!(report.losses.len() < 20_000, "did not stop early");
        assert_eq!(
            report.losses.len(),
            best + 3 * CHECK_EVERY,
            "stops 3 checks after the best"
        );
        let norm = |b: &Bundle| -> f64 {
            b.weights
                .layers
                .iter()
                .flat_map(|l| &l.weight)
                .map(|w| f64::from(*w).powi(2))
                .sum()
        };
        let (plain, _) = train(&ds, &cfg(), |_, _| {});
        let (decayed, _) = train(
            &ds,
            &TrainConfig {
                weight_decay: 0.5,
                ..cfg()
            },
            |_, _| {},
        );
        assert!(
            norm(&decayed) < 0.9 * norm(&plain),
            "{} vs {}",
            norm(&decayed),
            norm(&plain)
        );
    }

    #[test]
    fn trained_bundle_round_trips_and_predicts_like_the_reference() {
        let ds = synthetic();
        let (bundle, _) = train(&ds, &TrainConfig { steps: 50, ..cfg() }, |_, _| {});
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
}
