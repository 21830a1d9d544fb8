//! A new material from a few formulations: only its code is trained, the regressor and every
//! other code stay frozen (the study's way of adding a raw material without retraining).

use std::collections::BTreeMap;

use burn_tensor::{Device, Tensor};
use serde::Serialize;
use serde_json::json;
use thiserror::Error;

use crate::bundle::Manifest;
use crate::bundle::{Bundle, Material};
use crate::data::{DataError, Dataset, TargetSpec, WideSpec};
use crate::metrics::{Scores, score_rows};
use crate::model::{MixModel, Params, forward};
use crate::train::{Adam, RowTensors, loss};
pub use crate::train_setup::FitConfig;

#[derive(Debug, Error, PartialEq)]
pub enum FitError {
    #[error("{0:?} is already a material of this model")]
    Known(String),
    #[error("{0:?} does not appear in the formulations")]
    Absent(String),
    #[error("material {0:?} is not in the model; only the new material may be unknown")]
    UnknownMaterial(String),
    #[error("column {0:?} is neither a condition nor a target of this model")]
    UnknownColumn(String),
    #[error("the model's condition {0:?} is missing from the data")]
    MissingCondition(String),
    #[error("no formulation has a measured value of any of the model's targets")]
    NoTargets,
    #[error("start material {0:?} is not in the model")]
    UnknownStart(String),
}

/// Errors on the given formulations before and after fitting, per target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FitReport {
    pub material: String,
    pub rows: usize,
    pub before: BTreeMap<String, Scores>,
    pub after: BTreeMap<String, Scores>,
}

/// How to read a file of trials for `manifest`: the model's targets that the header has, and
/// all its conditions (the file must give them); every other column is a material (the new
/// one among them). What the app asks nothing more for; `mixlab fit-material` says it with
/// `--targets` and `--conditions`.
pub fn trials_spec(manifest: &Manifest, bytes: &[u8]) -> Result<WideSpec, DataError> {
    let records = crate::table::records(bytes)?;
    let header = &records.header;
    let targets: Vec<TargetSpec> = (manifest.targets.iter())
        .filter(|t| header.contains(&t.name))
        .map(|t| TargetSpec {
            name: t.name.clone(),
            kind: t.kind,
            transform: t.transform,
        })
        .collect();
    Ok(WideSpec {
        id_column: None,
        targets,
        conditions: manifest.conditions.iter().map(|c| c.name.clone()).collect(),
        drop: Vec::new(),
        rename: Vec::new(),
    })
}

/// `ds` re-expressed in the bundle's columns plus the new material as the last one.
fn align(bundle: &Bundle, name: &str, ds: &Dataset) -> Result<Dataset, FitError> {
    let m = &bundle.manifest;
    let mut materials: Vec<String> = m.materials.iter().map(|x| x.name.clone()).collect();
    materials.push(name.to_string());
    let index: Vec<u32> = ds
        .materials
        .iter()
        .map(|x| {
            materials
                .iter()
                .position(|y| y == x)
                .map(|i| i as u32)
                .ok_or_else(|| FitError::UnknownMaterial(x.clone()))
        })
        .collect::<Result<_, _>>()?;
    for c in &ds.conditions {
        if !m.conditions.iter().any(|k| &k.name == c) {
            return Err(FitError::UnknownColumn(c.clone()));
        }
    }
    for t in &ds.targets {
        if !m.targets.iter().any(|k| k.name == t.name) {
            return Err(FitError::UnknownColumn(t.name.clone()));
        }
    }
    let cond_src: Vec<usize> = m
        .conditions
        .iter()
        .map(|c| {
            ds.conditions
                .iter()
                .position(|x| x == &c.name)
                .ok_or_else(|| FitError::MissingCondition(c.name.clone()))
        })
        .collect::<Result<_, _>>()?;
    let targets: Vec<TargetSpec> = m
        .targets
        .iter()
        .map(|t| TargetSpec {
            name: t.name.clone(),
            kind: t.kind,
            transform: t.transform,
        })
        .collect();
    let target_src: Vec<Option<usize>> = m
        .targets
        .iter()
        .map(|t| ds.targets.iter().position(|x| x.name == t.name))
        .collect();
    let conditions = m.conditions.iter().map(|c| c.name.clone()).collect();
    let mut out = Dataset::new(materials, conditions, targets);
    let (c, t) = (ds.conditions.len(), ds.targets.len());
    for r in 0..ds.rows() {
        let entries = ds
            .row(r)
            .iter()
            .map(|&(i, f)| (index[i as usize], f))
            .collect();
        let conds: Vec<f32> = cond_src
            .iter()
            .map(|&j| ds.condition_values[r * c + j])
            .collect();
        let ys: Vec<f64> = target_src
            .iter()
            .map(|j| j.map_or(f64::NAN, |j| ds.target_values[r * t + j]))
            .collect();
        out.push_sparse_row(ds.ids[r].clone(), entries, &conds, &ys);
    }
    Ok(out)
}

/// Add material `name` to `bundle`, fitting its code (in every ensemble member) to the
/// measured targets of `ds`'s formulations by Adam on that code alone.
/// The median of the model's dose scales (1 when it does not scale doses).
fn median_dose_scale(m: &crate::bundle::Manifest) -> f64 {
    let mut scales: Vec<f64> = m.materials.iter().map(|x| x.dose_scale).collect();
    scales.sort_by(f64::total_cmp);
    scales.get(scales.len() / 2).copied().unwrap_or(1.0)
}

pub fn fit_material(
    bundle: &Bundle,
    name: &str,
    ds: &Dataset,
    cfg: &FitConfig,
    mut progress: impl FnMut(usize, f64),
) -> Result<(Bundle, FitReport), FitError> {
    let m = &bundle.manifest;
    if m.material_index(name).is_some() {
        return Err(FitError::Known(name.to_string()));
    }
    let data = align(bundle, name, ds)?;
    let new = m.materials.len() as u32;
    let rows: Vec<usize> = (0..data.rows()).collect();
    let used: Vec<f64> = rows
        .iter()
        .flat_map(|&r| {
            data.row(r)
                .iter()
                .filter(|e| e.0 == new)
                .map(|e| f64::from(e.1))
        })
        .collect();
    if used.is_empty() {
        return Err(FitError::Absent(name.to_string()));
    }
    if !data.target_values.iter().any(|v| v.is_finite()) {
        return Err(FitError::NoTargets);
    }
    let d = m.architecture.code_dim;
    let start: Vec<f32> = match &cfg.start_from {
        Some(s) => {
            let i = m
                .material_index(s)
                .ok_or_else(|| FitError::UnknownStart(s.clone()))?;
            // Member k starts from the similar material's code in member k.
            bundle
                .members
                .iter()
                .flat_map(|w| w.codes[i * d..(i + 1) * d].to_vec())
                .collect()
        }
        None => vec![0.0; d * bundle.members.len()],
    };

    let mut grown = bundle.clone();
    grown.manifest.materials.push(Material {
        name: name.to_string(),
        metadata: [(
            "fitted".to_string(),
            format!("from {} formulations, other codes frozen", data.rows()),
        )]
        .into(),
        usage_count: used.len() as u64,
        fraction_min: used.iter().copied().fold(f64::INFINITY, f64::min),
        fraction_max: used.iter().copied().fold(0.0, f64::max),
        // A few trials say little about a dose's spread: in a model that scales doses the
        // newcomer gets the median material's scale (1 in one that does not).
        dose_scale: median_dose_scale(m),
        // Its own median dose in the trials, as training measures it (1 without the block).
        log_dose_scale: if m.architecture.log_dose {
            crate::train::log_dose_scale(used.clone())
        } else {
            1.0
        },
    });
    for (k, w) in grown.members.iter_mut().enumerate() {
        w.codes.extend_from_slice(&start[k * d..(k + 1) * d]);
    }
    let before = score_rows(&MixModel::new(&grown, &Device::flex()), &data, &rows);

    let device = Device::flex();
    let ad = device.clone().autodiff();
    let gm = grown.manifest.clone();
    let batch = RowTensors::new(&data, &gm, &rows, &ad);
    let n_old = m.materials.len();
    for (k, w) in grown.members.iter_mut().enumerate() {
        let frozen = Params::from_weights(w, d, &ad);
        let old_codes = frozen.codes.clone().slice([0..n_old, 0..d]);
        let mut code = frozen.codes.clone().slice([n_old..n_old + 1, 0..d]).inner();
        let mut adam = Adam::new(&[[1, d]], &device);
        for step in 1..=cfg.steps {
            let trainable = code.clone().autodiff().require_grad();
            let params = Params {
                codes: Tensor::cat(vec![old_codes.clone(), trainable.clone()], 0),
                layers: frozen.layers.clone(),
            };
            let out = forward(&params, &gm, batch.x.clone(), batch.cond.clone());
            let l = loss(&gm, out, batch.y.clone(), batch.mask.clone(), &ad);
            let grads = l.backward();
            adam.step += 1;
            code = match trainable.grad(&grads) {
                Some(g) => adam.update(0, code, g, cfg.learning_rate),
                None => code,
            };
            if step % 50 == 0 || step == cfg.steps {
                progress(
                    k * cfg.steps + step,
                    f64::from(l.inner().into_scalar::<f32>()),
                );
            }
        }
        let fitted = code.into_data();
        let fitted = fitted.as_slice::<f32>().unwrap_or_default();
        let at = n_old * d;
        w.codes[at..at + d].copy_from_slice(&fitted[..d.min(fitted.len())]);
    }
    // Snapshots show the original training; the new material sits at its fitted code in each.
    let steps = grown.manifest.snapshot_steps.len();
    if steps > 0 {
        let nd = n_old * d;
        let fitted = grown.members[0].codes[nd..nd + d].to_vec();
        let old = std::mem::take(&mut grown.snapshots);
        for s in 0..steps {
            grown
                .snapshots
                .extend_from_slice(&old[s * nd..(s + 1) * nd]);
            grown.snapshots.extend_from_slice(&fitted);
        }
    }
    crate::maps::refresh(&mut grown);
    let after = score_rows(&MixModel::new(&grown, &device), &data, &rows);
    let report = FitReport {
        material: name.to_string(),
        rows: data.rows(),
        before,
        after,
    };
    let mut fitted_list = grown
        .manifest
        .training
        .get("fitted_materials")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    fitted_list.push(json!({
        "name": name,
        "rows": report.rows,
        "steps": cfg.steps,
        "learning_rate": cfg.learning_rate,
        "start_from": cfg.start_from,
        "before": report.before,
        "after": report.after,
    }));
    grown
        .manifest
        .training
        .insert("fitted_materials".into(), json!(fitted_list));
    Ok((grown, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{TargetKind, Transform};
    use crate::rng::Rng;
    use crate::train::{TrainConfig, train};

    /// y = 3·salt − 2·oil + 1·sugar; the model is trained without sugar.
    fn rows(with_sugar: bool, count: usize, seed: u64) -> Dataset {
        let mut rng = Rng::new(seed);
        let mut names = vec!["water".to_string(), "salt".into(), "oil".into()];
        if with_sugar {
            names.push("sugar".into());
        }
        let mut ds = Dataset::new(
            names,
            vec![],
            vec![TargetSpec {
                name: "y".into(),
                kind: TargetKind::Regression,
                transform: Transform::None,
            }],
        );
        for i in 0..count {
            let (s, o) = (rng.uniform() * 0.4, rng.uniform() * 0.4);
            let g = if with_sugar { rng.uniform() * 0.3 } else { 0.0 };
            let w = 1.0 - s - o - g;
            let mut f = vec![w as f32, s as f32, o as f32];
            if with_sugar {
                f.push(g as f32);
            }
            ds.push_row(format!("r{i}"), &f, &[], &[3.0 * s - 2.0 * o + g]);
        }
        ds
    }

    #[test]
    fn fitting_a_new_code_lowers_its_error_and_freezes_the_rest() {
        let cfg = TrainConfig {
            code_dim: 4,
            hidden: vec![16],
            steps: 1500,
            learning_rate: 1e-2,
            members: 2,
            snapshot_steps: vec![0, 1500],
            ..TrainConfig::default()
        };
        let (bundle, _) = train(&rows(false, 300, 1), &cfg, |_| {});
        let few = rows(true, 12, 2);
        let (grown, report) =
            fit_material(&bundle, "sugar", &few, &FitConfig::default(), |_, _| {}).unwrap();
        let (b, a) = (report.before["y"].mae, report.after["y"].mae);
        assert!(a < 0.5 * b, "MAE on the new formulations {b} -> {a}");
        // Everything but the new code is untouched, in every member.
        assert_eq!(grown.manifest.materials.len(), 4);
        for (old, new) in bundle.members.iter().zip(&grown.members) {
            assert_eq!(old.layers, new.layers);
            assert_eq!(old.codes[..], new.codes[..old.codes.len()]);
        }
        assert_eq!(grown.snapshots.len(), 2 * 4 * 4);
        // The grown bundle is a valid bundle.
        let back = Bundle::from_bytes(grown.manifest.to_json().as_bytes(), &grown.weights_bytes())
            .unwrap();
        assert_eq!(back, grown);

        // Starting from a named material; errors for the usual mistakes.
        let start = FitConfig {
            start_from: Some("salt".into()),
            steps: 0,
            ..FitConfig::default()
        };
        let (g0, _) = fit_material(&bundle, "sugar", &few, &start, |_, _| {}).unwrap();
        assert_eq!(g0.members[1].codes[12..16], bundle.members[1].codes[4..8]);
        let err = |name: &str, ds: &Dataset| {
            fit_material(&bundle, name, ds, &FitConfig::default(), |_, _| {})
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("salt", &few),
            "\"salt\" is already a material of this model"
        );
        assert!(err("honey", &few).contains("\"sugar\" is not in the model"));
    }
}
