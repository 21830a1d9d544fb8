//! The Mixlab model: mixture vector `m = Σ fᵢ · act(codeᵢ)`, standardised conditions
//! concatenated, then a shared MLP. One definition serves the trainer and the app.

use burn_tensor::activation::{gelu, relu, sigmoid, silu};
use burn_tensor::{Device, Tensor, TensorData};
use thiserror::Error;

use crate::bundle::{
    Bundle, CodeActivation, Dense, HiddenActivation, Manifest, TargetKind, Transform, Weights,
};

#[derive(Debug, Error, PartialEq)]
pub enum PredictError {
    #[error("input has {found} values per row, the model expects {expected}")]
    Width { found: usize, expected: usize },
    #[error("row {row}: {what} is not a finite number")]
    NotFinite { row: usize, what: String },
    #[error("row {row}: {what} is {value}, but the model takes its logarithm (must be > 0)")]
    NotPositive {
        row: usize,
        what: String,
        value: f64,
    },
    #[error("the compute backend failed: {0}")]
    Backend(String),
}

/// The trainable numbers as burn tensors. Autodiff or not depends only on the device.
#[derive(Clone, Debug)]
pub struct Params {
    /// `[materials, code_dim]`.
    pub codes: Tensor<2>,
    /// Weight `[d_in, d_out]` and bias `[d_out]` of each layer; the last is the output head.
    pub layers: Vec<(Tensor<2>, Tensor<1>)>,
}

impl Params {
    pub fn from_weights(w: &Weights, code_dim: usize, device: &Device) -> Self {
        let n = w.codes.len() / code_dim.max(1);
        let codes = Tensor::from_data(TensorData::new(w.codes.clone(), [n, code_dim]), device);
        let layers = w
            .layers
            .iter()
            .map(|l| {
                (
                    Tensor::from_data(TensorData::new(l.weight.clone(), [l.d_in, l.d_out]), device),
                    Tensor::from_data(TensorData::new(l.bias.clone(), [l.d_out]), device),
                )
            })
            .collect();
        Params { codes, layers }
    }

    /// Read the numbers back to the host (asynchronously: the browser's WebGPU cannot block).
    pub async fn read_weights(&self) -> Weights {
        let mut layers = Vec::with_capacity(self.layers.len());
        for (w, b) in &self.layers {
            let [d_in, d_out] = w.dims();
            layers.push(Dense {
                d_in,
                d_out,
                weight: read(w.clone()).await,
                bias: read(b.clone()).await,
            });
        }
        Weights {
            codes: read(self.codes.clone()).await,
            layers,
        }
    }
}

/// A tensor's numbers on the host, read asynchronously (the only way in a browser's WebGPU).
pub(crate) async fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    match t.into_data_async().await {
        Ok(data) => data
            .as_slice::<f32>()
            .map(<[f32]>::to_vec)
            .unwrap_or_default(),
        Err(e) => panic!("the compute device failed to read a tensor back: {e:?}"),
    }
}

/// `act(code)` for every material: `[materials, code_dim]`.
pub fn representations<const D: usize>(codes: Tensor<D>, act: CodeActivation) -> Tensor<D> {
    match act {
        CodeActivation::Tanh => codes.tanh(),
        CodeActivation::Sigmoid => sigmoid(codes),
        CodeActivation::Identity => codes,
    }
}

/// What the fractions are pooled with: `act(code)`, each material's row multiplied by its
/// dose multiplier when the model scales doses (`[.., materials, code_dim]`, materials second
/// to last). In a log-dose model only the first (linear) block is multiplied.
pub fn pooled_representations<const D: usize>(codes: Tensor<D>, manifest: &Manifest) -> Tensor<D> {
    let reps = representations(codes, manifest.architecture.code_activation);
    match manifest.dose_multipliers() {
        None => reps,
        Some(mult) => {
            let (n, d) = (mult.len(), manifest.architecture.code_dim);
            let linear = manifest.architecture.linear_dim();
            let data: Vec<f32> = (mult.iter())
                .flat_map(|&v| (0..d).map(move |k| if k < linear { v as f32 } else { 1.0 }))
                .collect();
            let mut shape = [1usize; D];
            shape[D - 2] = n;
            shape[D - 1] = d;
            let scale = Tensor::<D>::from_data(TensorData::new(data, shape), &reps.device());
            reps * scale
        }
    }
}

/// The mixture vector: fractions `[.., rows, materials]` pooled with the representations
/// `[.., materials, code_dim]` — all of them linearly, or in a log-dose model the first block
/// with the fractions and the second with `ln(1 + fraction / log_dose_scale)`.
pub fn mixture_vectors<const D: usize>(
    fractions: Tensor<D>,
    reps: Tensor<D>,
    manifest: &Manifest,
) -> Tensor<D> {
    let Some(inverse) = manifest.log_dose_inverse_scales() else {
        return fractions.matmul(reps);
    };
    let (d, linear) = (
        manifest.architecture.code_dim,
        manifest.architecture.linear_dim(),
    );
    let mut shape = [1usize; D];
    shape[D - 1] = inverse.len();
    let data: Vec<f32> = inverse.iter().map(|&v| v as f32).collect();
    let inverse = Tensor::<D>::from_data(TensorData::new(data, shape), &fractions.device());
    let logs = (fractions.clone() * inverse).log1p();
    let first = fractions.matmul(reps.clone().narrow(D - 1, 0, linear));
    let second = logs.matmul(reps.narrow(D - 1, linear, d - linear));
    Tensor::cat(vec![first, second], D - 1)
}

fn hidden_act<const D: usize>(x: Tensor<D>, act: HiddenActivation) -> Tensor<D> {
    match act {
        HiddenActivation::Relu => relu(x),
        HiddenActivation::Gelu => gelu(x),
        HiddenActivation::Silu => silu(x),
        HiddenActivation::Tanh => x.tanh(),
    }
}

/// Raw head outputs `[batch, targets]` (standardised values / logits) for fractions
/// `[batch, materials]` and standardised conditions `[batch, conditions]`.
pub fn forward(
    params: &Params,
    manifest: &Manifest,
    fractions: Tensor<2>,
    conditions: Option<Tensor<2>>,
) -> Tensor<2> {
    forward_with(params, manifest, fractions, conditions, |x| x)
}

/// [`forward`] with `after_hidden` applied to each hidden layer's activations (training uses
/// it for dropout).
pub fn forward_with(
    params: &Params,
    manifest: &Manifest,
    fractions: Tensor<2>,
    conditions: Option<Tensor<2>>,
    mut after_hidden: impl FnMut(Tensor<2>) -> Tensor<2>,
) -> Tensor<2> {
    let arch = &manifest.architecture;
    let reps = pooled_representations(params.codes.clone(), manifest);
    let mut x = mixture_vectors(fractions, reps, manifest);
    if let Some(c) = conditions {
        x = Tensor::cat(vec![x, c], 1);
    }
    let last = params.layers.len().saturating_sub(1);
    for (i, (w, b)) in params.layers.iter().enumerate() {
        let z = x.clone().matmul(w.clone()) + b.clone().unsqueeze_dim(0);
        if i == last {
            return z;
        }
        let h = after_hidden(hidden_act(z, arch.hidden_activation));
        let [d_in, d_out] = w.dims();
        x = if arch.residual && d_in == d_out {
            x + h
        } else {
            h
        };
    }
    x
}

/// A batch of formulations in the model's column order, on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub rows: usize,
    /// `[rows, materials]` fractions, row-major.
    pub fractions: Vec<f32>,
    /// `[rows, conditions]` raw (not standardised) condition values.
    pub conditions: Vec<f32>,
}

impl Batch {
    /// The manifest's default formulation and conditions as a one-row batch.
    pub fn default_of(manifest: &Manifest) -> Batch {
        let mut fractions = vec![0.0; manifest.materials.len()];
        for (name, f) in &manifest.default_formulation {
            if let Some(i) = manifest.material_index(name) {
                fractions[i] = *f as f32;
            }
        }
        let conditions = manifest
            .default_condition_values()
            .into_iter()
            .map(|v| v as f32)
            .collect();
        Batch {
            rows: 1,
            fractions,
            conditions,
        }
    }

    pub(crate) fn check(&self, manifest: &Manifest) -> Result<(), PredictError> {
        let n = manifest.materials.len();
        let c = manifest.conditions.len();
        if self.fractions.len() != self.rows * n {
            return Err(PredictError::Width {
                found: self.fractions.len() / self.rows.max(1),
                expected: n,
            });
        }
        if self.conditions.len() != self.rows * c {
            return Err(PredictError::Width {
                found: self.conditions.len() / self.rows.max(1),
                expected: c,
            });
        }
        if let Some(i) = self.fractions.iter().position(|v| !v.is_finite()) {
            return Err(PredictError::NotFinite {
                row: i / n,
                what: format!("the fraction of {:?}", manifest.materials[i % n].name),
            });
        }
        if let Some(i) = self.conditions.iter().position(|v| !v.is_finite()) {
            return Err(PredictError::NotFinite {
                row: i / c,
                what: format!("condition {:?}", manifest.conditions[i % c].name),
            });
        }
        let log_of_non_positive = |(i, v): &(usize, &f32)| {
            manifest.conditions[i % c].transform == Transform::Log10 && **v <= 0.0
        };
        if let Some((i, v)) = self.conditions.iter().enumerate().find(log_of_non_positive) {
            return Err(PredictError::NotPositive {
                row: i / c,
                what: format!("condition {:?}", manifest.conditions[i % c].name),
                value: f64::from(*v),
            });
        }
        Ok(())
    }
}

/// Predictions in user units: `values[row * targets + t]` is a value for regression targets
/// and a probability for binary ones; for an ensemble, the members' mean, with their standard
/// deviation in `spread` (0 for a single model).
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub rows: usize,
    pub targets: usize,
    pub values: Vec<f64>,
    pub spread: Vec<f64>,
}

impl Prediction {
    pub fn row(&self, r: usize) -> &[f64] {
        &self.values[r * self.targets..(r + 1) * self.targets]
    }

    pub fn spread_row(&self, r: usize) -> &[f64] {
        &self.spread[r * self.targets..(r + 1) * self.targets]
    }

    /// Mean and sample standard deviation over members' predictions of the same rows.
    pub fn ensemble(members: &[Prediction]) -> Prediction {
        let Some(first) = members.first() else {
            return Prediction {
                rows: 0,
                targets: 0,
                values: Vec::new(),
                spread: Vec::new(),
            };
        };
        let k = members.len() as f64;
        let len = first.values.len();
        let mut values = vec![0.0; len];
        let mut spread = vec![0.0; len];
        for (i, (v, s)) in values.iter_mut().zip(spread.iter_mut()).enumerate() {
            let mean = members.iter().map(|p| p.values[i]).sum::<f64>() / k;
            *v = mean;
            if members.len() > 1 {
                let ss: f64 = members.iter().map(|p| (p.values[i] - mean).powi(2)).sum();
                *s = (ss / (k - 1.0)).sqrt();
            }
        }
        Prediction {
            rows: first.rows,
            targets: first.targets,
            values,
            spread,
        }
    }
}

/// Decode `[rows, k * targets]` (the members' outputs side by side) into one prediction per
/// member.
fn split_members(manifest: &Manifest, raw: &[f32], k: usize) -> Vec<Prediction> {
    let t = manifest.targets.len();
    let width = k * t;
    (0..k)
        .map(|member| {
            let mine: Vec<f32> = raw
                .chunks_exact(width.max(1))
                .flat_map(|row| &row[member * t..(member + 1) * t])
                .copied()
                .collect();
            decode(manifest, &mine)
        })
        .collect()
}

/// Undo the target standardisation/transform of raw head outputs.
pub fn decode(manifest: &Manifest, raw: &[f32]) -> Prediction {
    let raw: Vec<f64> = raw.iter().map(|&z| f64::from(z)).collect();
    decode_f64(manifest, &raw)
}

/// [`decode`] of f64 outputs (the host model keeps f64 to the end: the design's gradient
/// steps difference predictions a millionth apart).
pub fn decode_f64(manifest: &Manifest, raw: &[f64]) -> Prediction {
    let t = manifest.targets.len();
    let values: Vec<f64> = raw
        .iter()
        .enumerate()
        .map(|(i, &z)| {
            let target = &manifest.targets[i % t];
            match target.kind {
                // libm: the same bits in the browser and natively (the design search relies on it).
                TargetKind::Binary => 1.0 / (1.0 + libm::exp(-z)),
                TargetKind::Regression => {
                    let v = z * target.std + target.mean;
                    match target.transform {
                        Transform::None => v,
                        Transform::Log10 => libm::pow(10.0, v),
                    }
                }
            }
        })
        .collect();
    Prediction {
        rows: raw.len() / t.max(1),
        targets: t,
        spread: vec![0.0; values.len()],
        values,
    }
}

/// An ensemble's weights stacked on a leading member axis, so one batched pass computes
/// every member: K times fewer kernel launches than member by member, which is what a GPU
/// (and SwiftShader's emulation of one) spends its time on for a live, one-row prediction.
struct Stacked {
    /// `[K, materials, code_dim]`.
    codes: Tensor<3>,
    /// `[K, d_in, d_out]` weights and `[K, 1, d_out]` biases per layer.
    layers: Vec<(Tensor<3>, Tensor<3>)>,
}

impl Stacked {
    fn new(bundle: &Bundle, device: &Device) -> Self {
        let k = bundle.members.len();
        let d = bundle.manifest.architecture.code_dim;
        let n = bundle.manifest.materials.len();
        let stack = |parts: Vec<f32>, shape: [usize; 3]| {
            Tensor::from_data(TensorData::new(parts, shape), device)
        };
        let codes = stack(
            bundle
                .members
                .iter()
                .flat_map(|w| w.codes.iter().copied())
                .collect(),
            [k, n, d],
        );
        let layers = (0..bundle.weights().layers.len())
            .map(|i| {
                let l = &bundle.weights().layers[i];
                let w = bundle
                    .members
                    .iter()
                    .flat_map(|m| m.layers[i].weight.iter().copied());
                let b = bundle
                    .members
                    .iter()
                    .flat_map(|m| m.layers[i].bias.iter().copied());
                (
                    stack(w.collect(), [k, l.d_in, l.d_out]),
                    stack(b.collect(), [k, 1, l.d_out]),
                )
            })
            .collect();
        Stacked { codes, layers }
    }

    /// Raw head outputs `[rows, K * targets]`: each row holds member 0's outputs, then
    /// member 1's... (what [`split_members`] reads).
    fn forward(
        &self,
        manifest: &Manifest,
        fractions: Tensor<2>,
        conditions: Option<Tensor<2>>,
    ) -> Tensor<2> {
        let arch = &manifest.architecture;
        let [k, _, _] = self.codes.dims();
        let rows = fractions.dims()[0];
        let reps = pooled_representations(self.codes.clone(), manifest);
        let fractions = fractions.unsqueeze_dim::<3>(0).repeat_dim(0, k);
        let mut x = mixture_vectors(fractions, reps, manifest);
        if let Some(c) = conditions {
            x = Tensor::cat(vec![x, c.unsqueeze_dim::<3>(0).repeat_dim(0, k)], 2);
        }
        let last = self.layers.len().saturating_sub(1);
        for (i, (w, b)) in self.layers.iter().enumerate() {
            let z = x.clone().matmul(w.clone()) + b.clone();
            if i == last {
                x = z;
                break;
            }
            let h = hidden_act(z, arch.hidden_activation);
            let [_, d_in, d_out] = w.dims();
            x = if arch.residual && d_in == d_out {
                x + h
            } else {
                h
            };
        }
        let t = x.dims()[2];
        x.swap_dims(0, 1).reshape([rows, k * t])
    }
}

/// A bundle's model built on one device, ready to predict.
pub struct MixModel {
    pub manifest: Manifest,
    stacked: Stacked,
    members: usize,
    device: Device,
}

impl MixModel {
    pub fn new(bundle: &Bundle, device: &Device) -> Self {
        MixModel {
            stacked: Stacked::new(bundle, device),
            members: bundle.members.len(),
            manifest: bundle.manifest.clone(),
            device: device.clone(),
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Head outputs of every member for the batch, `[rows, K * targets]`.
    fn raw_outputs(&self, batch: &Batch) -> Result<Tensor<2>, PredictError> {
        batch.check(&self.manifest)?;
        let n = self.manifest.materials.len();
        let fractions = Tensor::from_data(
            TensorData::new(batch.fractions.clone(), [batch.rows, n]),
            &self.device,
        );
        let conditions = standardise_conditions(&self.manifest, &batch.conditions).map(|c| {
            let w = self.manifest.conditions.len();
            Tensor::from_data(TensorData::new(c, [batch.rows, w]), &self.device)
        });
        Ok(self.stacked.forward(&self.manifest, fractions, conditions))
    }

    fn decode_all(&self, raw: &[f32]) -> Prediction {
        Prediction::ensemble(&split_members(&self.manifest, raw, self.members))
    }

    /// Predict a batch, reading the result back asynchronously (required in the browser):
    /// one batched pass for all members, one readback.
    pub async fn predict_async(&self, batch: &Batch) -> Result<Prediction, PredictError> {
        let data = self
            .raw_outputs(batch)?
            .into_data_async()
            .await
            .map_err(|e| PredictError::Backend(format!("{e:?}")))?;
        let raw = data
            .as_slice::<f32>()
            .map_err(|e| PredictError::Backend(format!("{e:?}")))?;
        Ok(self.decode_all(raw))
    }

    /// Predict a batch with a blocking readback (native only).
    #[cfg(any(not(target_arch = "wasm32"), feature = "train"))]
    pub fn predict(&self, batch: &Batch) -> Result<Prediction, PredictError> {
        let data = self.raw_outputs(batch)?.into_data();
        let raw = data
            .as_slice::<f32>()
            .map_err(|e| PredictError::Backend(format!("{e:?}")))?;
        Ok(self.decode_all(raw))
    }
}

/// `(t(x) - mean) / std` per condition column; `None` when the model has no conditions.
pub fn standardise_conditions(manifest: &Manifest, raw: &[f32]) -> Option<Vec<f32>> {
    let w = manifest.conditions.len();
    if w == 0 {
        return None;
    }
    Some(
        raw.iter()
            .enumerate()
            .map(|(i, &x)| {
                let c = &manifest.conditions[i % w];
                let x = match c.transform {
                    Transform::None => f64::from(x),
                    Transform::Log10 => libm::log10(f64::from(x)),
                };
                ((x - c.mean) / c.std) as f32
            })
            .collect(),
    )
}

/// The same forward pass in plain f64 on the host: the reference the burn model is tested
/// against (and a readable statement of the method).
pub fn reference_predict(bundle: &Bundle, batch: &Batch) -> Prediction {
    let members: Vec<Prediction> = bundle
        .members
        .iter()
        .map(|w| reference_member(&bundle.manifest, w, batch))
        .collect();
    Prediction::ensemble(&members)
}

fn reference_member(m: &Manifest, weights: &Weights, batch: &Batch) -> Prediction {
    let (n, d) = (m.materials.len(), m.architecture.code_dim);
    let act = |v: f64| m.architecture.code_activation.apply(v);
    let hidden = |v: f64| match m.architecture.hidden_activation {
        HiddenActivation::Relu => v.max(0.0),
        HiddenActivation::Gelu => 0.5 * v * (1.0 + erf(v / std::f64::consts::SQRT_2)),
        HiddenActivation::Silu => v / (1.0 + (-v).exp()),
        HiddenActivation::Tanh => v.tanh(),
    };
    let conds = standardise_conditions(m, &batch.conditions).unwrap_or_default();
    let c = m.conditions.len();
    let mult = m.dose_multipliers().unwrap_or_else(|| vec![1.0; n]);
    let inverse = m.log_dose_inverse_scales();
    let linear = m.architecture.linear_dim();
    let mut raw = Vec::new();
    for r in 0..batch.rows {
        let mut x = vec![0.0f64; d];
        for (i, m_i) in mult.iter().enumerate() {
            let f = f64::from(batch.fractions[r * n + i]);
            for (k, xk) in x.iter_mut().enumerate() {
                let input = match &inverse {
                    Some(inv) if k >= linear => (f * inv[i]).ln_1p(),
                    _ => f * m_i,
                };
                *xk += input * act(f64::from(weights.codes[i * d + k]));
            }
        }
        x.extend(conds[r * c..(r + 1) * c].iter().map(|&v| f64::from(v)));
        let last = weights.layers.len() - 1;
        for (li, l) in weights.layers.iter().enumerate() {
            let mut y: Vec<f64> = l.bias.iter().map(|&b| f64::from(b)).collect();
            for (i, xi) in x.iter().enumerate() {
                for (o, yo) in y.iter_mut().enumerate() {
                    *yo += xi * f64::from(l.weight[i * l.d_out + o]);
                }
            }
            if li < last {
                y.iter_mut().for_each(|v| *v = hidden(*v));
                if m.architecture.residual && l.d_in == l.d_out {
                    y.iter_mut().zip(&x).for_each(|(v, xi)| *v += xi);
                }
            }
            x = y;
        }
        raw.extend(x.iter().map(|&v| v as f32));
    }
    decode(m, &raw)
}

/// Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7), enough for a reference GELU.
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    if x >= 0.0 { y } else { -y }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Dense;
    use crate::bundle::tests::tiny;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-5 * b.abs().max(1e-3)
    }

    #[test]
    fn burn_forward_matches_the_f64_reference() {
        let bundle = tiny();
        let model = MixModel::new(&bundle, &Device::flex());
        let batch = Batch {
            rows: 3,
            fractions: vec![0.7, 0.3, 0.0, 0.2, 0.2, 0.6, 1.0, 0.0, 0.0],
            conditions: vec![7.0, 28.0, 1.0],
        };
        let got = model.predict(&batch).unwrap();
        let want = reference_predict(&bundle, &batch);
        assert_eq!(got.rows, 3);
        for (g, w) in got.values.iter().zip(&want.values) {
            assert!(close(*g, *w), "{g} vs {w}");
        }
        // Binary target is a probability, regression is back in user units (log10 undone).
        assert!(
            got.values
                .iter()
                .skip(1)
                .step_by(2)
                .all(|p| (0.0..=1.0).contains(p))
        );
        assert!(got.values.iter().step_by(2).all(|v| *v > 0.0));
    }

    #[test]
    fn ensembles_and_residual_links_match_the_reference() {
        let mut bundle = crate::bundle::tests::tiny_ensemble();
        // A square hidden layer so the residual link applies: 3 → 3 → 3 → 2.
        bundle.manifest.architecture.hidden = vec![3, 3];
        bundle.manifest.architecture.residual = true;
        for (k, w) in bundle.members.iter_mut().enumerate() {
            let seq = |n: usize, s: f32| {
                (0..n)
                    .map(|i| ((i + k) as f32 * s).cos())
                    .collect::<Vec<_>>()
            };
            w.layers = vec![
                Dense {
                    d_in: 3,
                    d_out: 3,
                    weight: seq(9, 0.4),
                    bias: seq(3, 0.2),
                },
                Dense {
                    d_in: 3,
                    d_out: 3,
                    weight: seq(9, 0.7),
                    bias: seq(3, 0.5),
                },
                Dense {
                    d_in: 3,
                    d_out: 2,
                    weight: seq(6, 0.3),
                    bias: seq(2, 0.9),
                },
            ];
        }
        let batch = Batch {
            rows: 2,
            fractions: vec![0.7, 0.3, 0.0, 0.1, 0.1, 0.8],
            conditions: vec![7.0, 20.0],
        };
        let model = MixModel::new(&bundle, &Device::flex());
        let got = model.predict(&batch).unwrap();
        let want = reference_predict(&bundle, &batch);
        // The browser's path (members joined on the device, one readback) agrees exactly.
        let joined = futures_lite::future::block_on(model.predict_async(&batch)).unwrap();
        assert_eq!(joined, got);
        for (g, w) in got.values.iter().zip(&want.values) {
            assert!(close(*g, *w), "{g} vs {w}");
        }
        for (g, w) in got.spread.iter().zip(&want.spread) {
            assert!((g - w).abs() <= 1e-5 * w.abs().max(1e-3), "{g} vs {w}");
        }
        // Members differ, so there is a spread; the residual link changes the answer.
        assert!(got.spread.iter().all(|s| *s > 0.0), "{:?}", got.spread);
        bundle.manifest.architecture.residual = false;
        let plain = reference_predict(&bundle, &batch);
        assert!(
            plain
                .values
                .iter()
                .zip(&want.values)
                .any(|(a, b)| !close(*a, *b)),
            "residual links had no effect"
        );
        // The ensemble mean is the mean of the members.
        let member = |k: usize| {
            let mut one = bundle.clone();
            one.members = vec![bundle.members[k].clone()];
            one.manifest.architecture.members = 1;
            reference_predict(&one, &batch).values[0]
        };
        let mean = (member(0) + member(1) + member(2)) / 3.0;
        assert!(close(plain.values[0], mean));
    }

    #[test]
    fn log_dose_blocks_pool_the_same_on_every_path() {
        let mut bundle = crate::bundle::tests::tiny_ensemble();
        bundle.manifest.architecture.log_dose = true;
        for (m, (scale, log_scale)) in
            (bundle.manifest.materials.iter_mut()).zip([(0.3, 0.5), (0.05, 0.02), (0.2, 0.1)])
        {
            m.dose_scale = scale;
            m.log_dose_scale = log_scale;
        }
        bundle.manifest.validate().unwrap();
        let batch = Batch {
            rows: 3,
            fractions: vec![0.7, 0.3, 0.0, 0.1, 0.1, 0.8, 0.98, 0.02, 0.0],
            conditions: vec![7.0, 20.0, 28.0],
        };
        let model = MixModel::new(&bundle, &Device::flex());
        let got = model.predict(&batch).unwrap();
        let want = reference_predict(&bundle, &batch);
        let host = crate::host_model::HostModel::new(&bundle)
            .predict(&batch)
            .unwrap();
        for ((g, w), h) in got.values.iter().zip(&want.values).zip(&host.values) {
            assert!(
                close(*g, *w) && close(*h, *w),
                "burn {g}, host {h}, reference {w}"
            );
        }
        // By hand, member 0, row 0: the first entry pools fraction / dose scale, the second
        // ln(1 + fraction / log-dose scale), each times act(code).
        let w = &bundle.members[0];
        let act = |c: f32| f64::from(c).tanh();
        let x0 = 0.7 / 0.3 * act(w.codes[0]) + 0.3 / 0.05 * act(w.codes[2]);
        let x1 = (1.0 + 0.7 / 0.5f64).ln() * act(w.codes[1])
            + (1.0 + 0.3 / 0.02f64).ln() * act(w.codes[3]);
        let mut one = bundle.clone();
        one.members.truncate(1);
        one.manifest.architecture.members = 1;
        let mut plain = one.clone();
        plain.manifest.architecture.log_dose = false;
        for m in &mut plain.manifest.materials {
            m.dose_scale = 1.0;
        }
        // The same regressor fed (x0, x1) through a plain model: fractions that pool to them.
        plain.members[0].codes = vec![10.0, 0.0, 0.0, 10.0, 0.0, 0.0];
        let fed = Batch {
            rows: 1,
            fractions: vec![
                x0 as f32 / 10f64.tanh() as f32,
                x1 as f32 / 10f64.tanh() as f32,
                0.0,
            ],
            conditions: vec![7.0],
        };
        let first = Batch {
            rows: 1,
            fractions: batch.fractions[..3].to_vec(),
            conditions: vec![7.0],
        };
        let a = reference_predict(&one, &first).values;
        let b = reference_predict(&plain, &fed).values;
        for (a, b) in a.iter().zip(&b) {
            assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{a} vs {b}");
        }
    }

    #[test]
    fn a_material_with_zero_code_contributes_nothing() {
        let mut bundle = tiny();
        // Code of "oil" at the origin: swapping salt for oil equals removing salt.
        bundle.members[0].codes[4] = 0.0;
        bundle.members[0].codes[5] = 0.0;
        let model = MixModel::new(&bundle, &Device::flex());
        let with_oil = Batch {
            rows: 1,
            fractions: vec![0.7, 0.0, 0.3],
            conditions: vec![7.0],
        };
        let without = Batch {
            rows: 1,
            fractions: vec![0.7, 0.0, 0.0],
            conditions: vec![7.0],
        };
        assert_eq!(
            model.predict(&with_oil).unwrap(),
            model.predict(&without).unwrap()
        );
    }

    #[test]
    fn bad_batches_are_errors_not_panics() {
        let bundle = tiny();
        let model = MixModel::new(&bundle, &Device::flex());
        let wide = Batch {
            rows: 1,
            fractions: vec![0.5; 4],
            conditions: vec![7.0],
        };
        assert_eq!(
            model.predict(&wide).unwrap_err(),
            PredictError::Width {
                found: 4,
                expected: 3
            }
        );
        let nan = Batch {
            rows: 2,
            fractions: vec![0.5, 0.5, 0.0, 0.5, f32::NAN, 0.5],
            conditions: vec![7.0, 7.0],
        };
        let err = model.predict(&nan).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 1: the fraction of \"salt\" is not a finite number"
        );
        // A log-transformed condition takes log10 before standardising, and refuses 0.
        let mut logged = bundle.clone();
        logged.manifest.conditions[0].transform = Transform::Log10;
        logged.manifest.conditions[0].mean = 1.0;
        let model = MixModel::new(&logged, &Device::flex());
        let at = |age: f32| Batch {
            rows: 1,
            fractions: vec![0.5, 0.5, 0.0],
            conditions: vec![age],
        };
        let (a, b) = (
            model.predict(&at(10.0)).unwrap(),
            model.predict(&at(1000.0)).unwrap(),
        );
        let mut plain = bundle.clone();
        plain.manifest.conditions[0].mean = 1.0;
        let plain = MixModel::new(&plain, &Device::flex());
        // log10(10) = 1 and log10(1000) = 3 standardise like raw values 1 and 3.
        assert_eq!(a, plain.predict(&at(1.0)).unwrap());
        assert_eq!(b, plain.predict(&at(3.0)).unwrap());
        assert_eq!(
            model.predict(&at(0.0)).unwrap_err().to_string(),
            "row 0: condition \"age\" is 0, but the model takes its logarithm (must be > 0)"
        );
    }

    #[test]
    fn default_batch_follows_the_manifest() {
        let b = Batch::default_of(&tiny().manifest);
        assert_eq!(b.fractions, vec![0.7, 0.3, 0.0]);
        assert_eq!(b.conditions, vec![7.0]);
    }
}
