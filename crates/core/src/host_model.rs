//! The model evaluated on the host in f64, with the same elementary functions on every platform
//! (`libm`): the design search's model. Burn's f32 kernels differ in the last bits between the
//! browser and native code (SIMD widths, fused multiply-adds), and a search that compares
//! thousands of close scores would follow different paths on each; this forward pass gives the
//! same bits everywhere, so `mixlab design` and the app's Design page find the same recipes.
//! Rows are mixed sparsely (a recipe uses a few of possibly thousands of materials).

use crate::bundle::{Bundle, CodeActivation, HiddenActivation, Manifest, Transform};
use crate::model::{Batch, PredictError, Prediction, decode_f64};

#[derive(Clone)]
struct Layer {
    weight: Vec<f64>,
    bias: Vec<f64>,
    d_in: usize,
    d_out: usize,
}

#[derive(Clone)]
struct Member {
    /// `act(code)` per material, `[n, d]`.
    reps: Vec<f64>,
    layers: Vec<Layer>,
}

/// A recipe to predict: (material, fraction) pairs and the condition values (raw units).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub recipe: Vec<(usize, f64)>,
    pub conditions: Vec<f64>,
}

pub struct HostModel {
    pub manifest: Manifest,
    members: Vec<Member>,
}

pub(crate) fn code_act(a: CodeActivation, v: f64) -> f64 {
    match a {
        CodeActivation::Tanh => libm::tanh(v),
        CodeActivation::Sigmoid => 1.0 / (1.0 + libm::exp(-v)),
        CodeActivation::Identity => v,
    }
}

fn hidden_act(a: HiddenActivation, v: f64) -> f64 {
    match a {
        HiddenActivation::Relu => v.max(0.0),
        HiddenActivation::Gelu => 0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2)),
        HiddenActivation::Silu => v / (1.0 + libm::exp(-v)),
        HiddenActivation::Tanh => libm::tanh(v),
    }
}

impl HostModel {
    pub fn new(bundle: &Bundle) -> HostModel {
        let m = &bundle.manifest;
        let act = m.architecture.code_activation;
        let d = m.architecture.code_dim.max(1);
        // Dose multipliers folded into the (linear block's) representations, as the tensor
        // model pools.
        let mult = m
            .dose_multipliers()
            .unwrap_or_else(|| vec![1.0; m.materials.len()]);
        let linear = m.architecture.linear_dim();
        let members = bundle
            .members
            .iter()
            .map(|w| Member {
                reps: (w.codes.iter().enumerate())
                    .map(|(j, &c)| {
                        let scale = if j % d < linear { mult[j / d] } else { 1.0 };
                        code_act(act, f64::from(c)) * scale
                    })
                    .collect(),
                layers: w
                    .layers
                    .iter()
                    .map(|l| Layer {
                        weight: l.weight.iter().map(|&v| f64::from(v)).collect(),
                        bias: l.bias.iter().map(|&v| f64::from(v)).collect(),
                        d_in: l.d_in,
                        d_out: l.d_out,
                    })
                    .collect(),
            })
            .collect();
        HostModel {
            manifest: m.clone(),
            members,
        }
    }

    /// Member `k` alone, as a model of its own (a sample of what the truth may be; `None` past
    /// the last member).
    pub fn member(&self, k: usize) -> Option<HostModel> {
        Some(HostModel {
            manifest: self.manifest.clone(),
            members: vec![self.members.get(k)?.clone()],
        })
    }

    pub fn members(&self) -> usize {
        self.members.len()
    }

    /// Predictions of every member (in user units) for a dense batch.
    pub fn predict_members(&self, batch: &Batch) -> Result<Vec<Prediction>, PredictError> {
        batch.check(&self.manifest)?;
        let n = self.manifest.materials.len();
        let c = self.manifest.conditions.len();
        let rows: Vec<Row> = (0..batch.rows)
            .map(|r| Row {
                recipe: batch.fractions[r * n..(r + 1) * n]
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| **f != 0.0)
                    .map(|(i, &f)| (i, f64::from(f)))
                    .collect(),
                conditions: batch.conditions[r * c..(r + 1) * c]
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect(),
            })
            .collect();
        Ok(self.predict_rows_members(&rows))
    }

    /// Every member's predictions of sparse rows (the design's recipes use a few of possibly
    /// thousands of materials).
    pub fn predict_rows_members(&self, rows: &[Row]) -> Vec<Prediction> {
        let m = &self.manifest;
        let d = m.architecture.code_dim;
        // Standardised in f64 (the design's gradient probes move a condition by 1e-7 of its
        // range), with libm's log10 as everywhere in the host model.
        let conds: Vec<f64> = rows
            .iter()
            .flat_map(|r| {
                r.conditions.iter().zip(&m.conditions).map(|(&v, c)| {
                    let v = match c.transform {
                        Transform::None => v,
                        Transform::Log10 => libm::log10(v),
                    };
                    (v - c.mean) / c.std
                })
            })
            .collect();
        // In material order, so a recipe's prediction does not depend on how its entries are
        // listed (f64 sums differ in the last bit otherwise).
        let recipes: Vec<Vec<(usize, f64)>> = rows
            .iter()
            .map(|r| {
                let mut recipe = r.recipe.clone();
                recipe.sort_by_key(|e| e.0);
                recipe
            })
            .collect();
        let c = m.conditions.len();
        let hidden = m.architecture.hidden_activation;
        let inverse = m.log_dose_inverse_scales();
        let linear = m.architecture.linear_dim();
        self.members
            .iter()
            .map(|member| {
                let mut raw = Vec::with_capacity(rows.len() * m.targets.len());
                for (r, recipe) in recipes.iter().enumerate() {
                    let mut x = vec![0.0f64; d];
                    for &(i, f) in recipe {
                        let reps = &member.reps[i * d..(i + 1) * d];
                        for (xk, rk) in x[..linear].iter_mut().zip(&reps[..linear]) {
                            *xk += f * rk;
                        }
                        if let Some(inv) = &inverse {
                            let g = libm::log1p(f * inv[i]);
                            for (xk, rk) in x[linear..].iter_mut().zip(&reps[linear..]) {
                                *xk += g * rk;
                            }
                        }
                    }
                    x.extend_from_slice(&conds[r * c..(r + 1) * c]);
                    let last = member.layers.len() - 1;
                    for (li, l) in member.layers.iter().enumerate() {
                        let mut y = l.bias.clone();
                        for (xi, w) in x.iter().zip(l.weight.chunks(l.d_out)) {
                            for (yo, wo) in y.iter_mut().zip(w) {
                                *yo += xi * wo;
                            }
                        }
                        if li < last {
                            y.iter_mut().for_each(|v| *v = hidden_act(hidden, *v));
                            if m.architecture.residual && l.d_in == l.d_out {
                                y.iter_mut().zip(&x).for_each(|(v, xi)| *v += xi);
                            }
                        }
                        x = y;
                    }
                    raw.extend_from_slice(&x);
                }
                decode_f64(m, &raw)
            })
            .collect()
    }

    /// The ensemble's prediction of sparse rows.
    pub fn predict_rows(&self, rows: &[Row]) -> Prediction {
        Prediction::ensemble(&self.predict_rows_members(rows))
    }

    /// The ensemble's prediction (members' mean and spread), as `MixModel::predict` gives.
    pub fn predict(&self, batch: &Batch) -> Result<Prediction, PredictError> {
        Ok(Prediction::ensemble(&self.predict_members(batch)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::reference_predict;

    #[test]
    fn matches_the_reference_forward_pass() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../public/models/shampoo/");
        let m = std::fs::read(format!("{dir}manifest.json")).unwrap();
        let w = std::fs::read(format!("{dir}weights.safetensors")).unwrap();
        let bundle = Bundle::from_bytes(&m, &w).unwrap();
        let f = crate::formulation::Formulation::default_of(&bundle.manifest);
        let batch = crate::formulation::batch_of(&bundle.manifest, [&f], &[]);
        let host = HostModel::new(&bundle).predict(&batch).unwrap();
        let reference = reference_predict(&bundle, &batch);
        for (a, b) in host.values.iter().zip(&reference.values) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1e-3), "{a} vs {b}");
        }
        assert_eq!(host.rows, 1);
        assert!(
            host.spread.iter().all(|s| *s > 0.0),
            "an ensemble has a spread"
        );
    }
}
