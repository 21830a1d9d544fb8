//! A resolved design problem with its model, written out for an outside solver: the peer
//! benchmark solves the same problem with SciPy on a NumPy copy of the model
//! (`bench/design_peers.py`), so the two can be compared on the same numbers.

use serde::Serialize;

use super::goal::Shape;
use super::problem::{CondVar, Problem};
use super::spec::{Combine, DomainRule};
use crate::bundle::{Bundle, TargetKind, Transform};
use crate::host_model::code_act;

#[derive(Serialize)]
pub struct PeerProblem {
    /// Pool materials (the search's variables), in order.
    pub materials: Vec<String>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    /// Always in the recipe; the others may be 0 or within `[lo, hi]`.
    pub required: Vec<bool>,
    pub max_ingredients: Option<usize>,
    pub rows: Vec<PeerRow>,
    pub price: Option<Vec<f64>>,
    pub cost_max: Option<f64>,
    pub goals: Vec<PeerGoal>,
    pub cost_goal: Option<PeerGoal>,
    pub kappa: f64,
    pub pareto: bool,
    pub conditions: Vec<PeerCondition>,
    pub targets: Vec<PeerTarget>,
    pub model: PeerModel,
    /// Pool pairs seen together in training (`i < j`); `None`: no pair rule.
    pub seen_pairs: Option<Vec<[usize; 2]>>,
}

#[derive(Serialize)]
pub struct PeerRow {
    pub name: String,
    pub terms: Vec<(usize, f64)>,
    /// `None` for an open end.
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// `rising`: 0 at `low`, 1 at `high` (either order). `plateau`: 1 in `[min, max]`, 0 beyond
/// `margin` outside.
#[derive(Serialize)]
pub struct PeerGoal {
    pub target: usize,
    pub weight: f64,
    pub shape: &'static str,
    pub a: f64,
    pub b: f64,
    pub margin: f64,
}

#[derive(Serialize)]
pub struct PeerCondition {
    pub log10: bool,
    pub mean: f64,
    pub std: f64,
    /// Fixed: `min == max`.
    pub min: f64,
    pub max: f64,
}

#[derive(Serialize)]
pub struct PeerTarget {
    pub binary: bool,
    pub log10: bool,
    pub mean: f64,
    pub std: f64,
}

#[derive(Serialize)]
pub struct PeerModel {
    pub hidden_activation: String,
    pub residual: bool,
    pub members: Vec<PeerMember>,
}

#[derive(Serialize)]
pub struct PeerMember {
    /// `act(code)` per pool material, `[pool][code_dim]`.
    pub reps: Vec<Vec<f64>>,
    /// Per layer: `weight` as `[d_in][d_out]`, `bias` `[d_out]`.
    pub layers: Vec<(Vec<Vec<f64>>, Vec<f64>)>,
}

fn goal(r: &super::goal::Ramp) -> PeerGoal {
    let (shape, a, b, margin) = match r.shape {
        Shape::Rising { low, high } => ("rising", low, high, 0.0),
        Shape::Plateau { min, max, margin } => ("plateau", min, max, margin),
    };
    PeerGoal {
        target: r.target,
        weight: r.weight,
        shape,
        a,
        b,
        margin,
    }
}

/// `problem` (resolved against `bundle`) and the model restricted to its pool.
pub fn peer_problem(problem: &Problem, bundle: &Bundle) -> PeerProblem {
    let m = &bundle.manifest;
    let d = m.architecture.code_dim;
    let pool: Vec<usize> = problem.vars.iter().map(|v| v.material).collect();
    let mut at = vec![usize::MAX; m.materials.len()];
    for (k, &i) in pool.iter().enumerate() {
        at[i] = k;
    }
    let seen_pairs = (problem.domain == DomainRule::Hard && !m.seen_pairs.is_empty()).then(|| {
        let mut p: Vec<[usize; 2]> = m
            .seen_pairs
            .iter()
            .filter_map(|&[i, j]| {
                let (a, b) = (*at.get(i as usize)?, *at.get(j as usize)?);
                (a != usize::MAX && b != usize::MAX).then_some([a.min(b), a.max(b)])
            })
            .collect();
        p.sort_unstable();
        p.dedup();
        p
    });
    let act = m.architecture.code_activation;
    let mult = m
        .dose_multipliers()
        .unwrap_or_else(|| vec![1.0; m.materials.len()]);
    PeerProblem {
        materials: pool.iter().map(|&i| m.materials[i].name.clone()).collect(),
        lo: problem.vars.iter().map(|v| v.lo).collect(),
        hi: problem.vars.iter().map(|v| v.hi).collect(),
        required: problem.vars.iter().map(|v| v.required).collect(),
        max_ingredients: (problem.max_ingredients < problem.vars.len())
            .then_some(problem.max_ingredients),
        rows: problem
            .rows
            .iter()
            .map(|r| PeerRow {
                name: r.name.clone(),
                terms: r.terms.clone(),
                min: r.min.is_finite().then_some(r.min),
                max: r.max.is_finite().then_some(r.max),
            })
            .collect(),
        price: problem.price.clone(),
        cost_max: problem.cost_max,
        goals: problem.ramps.iter().map(goal).collect(),
        cost_goal: problem.cost_ramp.as_ref().map(goal),
        kappa: problem.kappa,
        pareto: problem.combine == Combine::Pareto,
        conditions: m
            .conditions
            .iter()
            .zip(&problem.conditions)
            .map(|(c, v)| {
                let (min, max) = match *v {
                    CondVar::Fixed(x) => (x, x),
                    CondVar::Free { min, max } => (min, max),
                };
                PeerCondition {
                    log10: c.transform == Transform::Log10,
                    mean: c.mean,
                    std: c.std,
                    min,
                    max,
                }
            })
            .collect(),
        targets: m
            .targets
            .iter()
            .map(|t| PeerTarget {
                binary: t.kind == TargetKind::Binary,
                log10: t.transform == Transform::Log10,
                mean: t.mean,
                std: t.std,
            })
            .collect(),
        model: PeerModel {
            hidden_activation: format!("{:?}", m.architecture.hidden_activation).to_lowercase(),
            residual: m.architecture.residual,
            members: bundle
                .members
                .iter()
                .map(|w| PeerMember {
                    // With the dose multipliers folded in: the peer pools fractions plainly.
                    reps: pool
                        .iter()
                        .map(|&i| {
                            w.codes[i * d..(i + 1) * d]
                                .iter()
                                .map(|&c| code_act(act, f64::from(c)) * mult[i])
                                .collect()
                        })
                        .collect(),
                    layers: w
                        .layers
                        .iter()
                        .map(|l| {
                            (
                                l.weight
                                    .chunks(l.d_out)
                                    .map(|r| r.iter().map(|&v| f64::from(v)).collect())
                                    .collect(),
                                l.bias.iter().map(|&v| f64::from(v)).collect(),
                            )
                        })
                        .collect(),
                })
                .collect(),
        },
        seen_pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::{DesignSpec, combine, run};
    use crate::host_model::HostModel;

    /// The forward pass and desirability from the export alone, as the Python peer does them.
    fn desirability(p: &PeerProblem, x: &[f64], conds: &[f64]) -> f64 {
        let act = |v: f64| match p.model.hidden_activation.as_str() {
            "relu" => v.max(0.0),
            "tanh" => v.tanh(),
            "silu" => v / (1.0 + (-v).exp()),
            other => panic!("{other}"),
        };
        let mut outs: Vec<Vec<f64>> = Vec::new();
        for m in &p.model.members {
            let d = m.reps[0].len();
            let mut h: Vec<f64> = (0..d)
                .map(|j| x.iter().zip(&m.reps).map(|(f, r)| f * r[j]).sum())
                .collect();
            h.extend(p.conditions.iter().zip(conds).map(|(c, &v)| {
                let v = if c.log10 { v.log10() } else { v };
                (v - c.mean) / c.std
            }));
            for (li, (w, b)) in m.layers.iter().enumerate() {
                let mut y = b.clone();
                for (xi, row) in h.iter().zip(w) {
                    y.iter_mut().zip(row).for_each(|(yo, wo)| *yo += xi * wo);
                }
                if li + 1 < m.layers.len() {
                    y.iter_mut().for_each(|v| *v = act(*v));
                    if p.model.residual && y.len() == h.len() {
                        y.iter_mut().zip(&h).for_each(|(v, xi)| *v += xi);
                    }
                }
                h = y;
            }
            let decoded = h
                .iter()
                .zip(&p.targets)
                .map(|(&z, t)| {
                    if t.binary {
                        1.0 / (1.0 + (-z).exp())
                    } else if t.log10 {
                        10f64.powf(z * t.std + t.mean)
                    } else {
                        z * t.std + t.mean
                    }
                })
                .collect();
            outs.push(decoded);
        }
        let k = outs.len() as f64;
        let shape = |g: &PeerGoal, y: f64| match g.shape {
            "rising" => ((y - g.a) / (g.b - g.a)).clamp(0.0, 1.0),
            _ => (1.0 - (g.a - y).max(y - g.b).max(0.0) / g.margin).clamp(0.0, 1.0),
        };
        let mut ds = Vec::new();
        let mut ws = Vec::new();
        for g in &p.goals {
            let mean = outs.iter().map(|o| o[g.target]).sum::<f64>() / k;
            let sd = (outs
                .iter()
                .map(|o| (o[g.target] - mean).powi(2))
                .sum::<f64>()
                / (k - 1.0))
                .sqrt();
            let (lo, hi) = (mean - p.kappa * sd, mean + p.kappa * sd);
            let mut d = shape(g, lo).min(shape(g, hi));
            if g.shape == "plateau" {
                d = d.min(shape(g, mean));
            }
            ds.push(d);
            ws.push(g.weight);
        }
        if let (Some(g), Some(price)) = (&p.cost_goal, &p.price) {
            ds.push(shape(g, price.iter().zip(x).map(|(a, b)| a * b).sum()));
            ws.push(g.weight);
        }
        combine(&ds, &ws)
    }

    #[test]
    fn the_export_alone_scores_the_candidates_as_mixlab_does() {
        for name in ["concrete", "shampoo"] {
            let dir = format!("{}/../../public/", env!("CARGO_MANIFEST_DIR"));
            let m = std::fs::read(format!("{dir}models/{name}/manifest.json")).unwrap();
            let w = std::fs::read(format!("{dir}models/{name}/weights.safetensors")).unwrap();
            let bundle = Bundle::from_bytes(&m, &w).unwrap();
            let text = std::fs::read_to_string(format!("{dir}examples/design-{name}.json"));
            let mut spec = DesignSpec::from_json(&text.unwrap()).unwrap();
            spec.generations = 30;
            let model = HostModel::new(&bundle);
            let (problem, found) = run(&spec, &bundle.manifest, &model, |_, _| {}).unwrap();
            let p = peer_problem(&problem, &bundle);
            assert_eq!(p.materials.len(), problem.vars.len());
            // JSON round trip: what the peer reads.
            let json = serde_json::to_string(&p).unwrap();
            assert!(json.contains("\"seen_pairs\""));
            for c in found.iter().take(3) {
                let mut x = vec![0.0; p.materials.len()];
                for &(mat, f) in &c.recipe {
                    let k = problem.vars.iter().position(|v| v.material == mat).unwrap();
                    x[k] = f;
                }
                let d = desirability(&p, &x, &c.conditions);
                assert!(
                    (d - c.desirability).abs() < 1e-5,
                    "{name}: {d} vs {}",
                    c.desirability
                );
            }
        }
    }
}
