//! The next experiments: from the recipes measured so far, a batch of `q` recipes to make next
//! that balances what should improve on the best so far (exploit) and what the model does not
//! know yet (explore).
//!
//! The ensemble's members are the samples of what the truth may be. Each member's own optimum is
//! a Thompson draw: the recipe that would be best if that member were right (where the members
//! agree these coincide with the mean's optimum; where the data is thin they spread out, which
//! is the exploring). A recipe's expected improvement is the mean over members of how much its
//! desirability would beat the best measured one, and its chance is the share of members that
//! say it beats it. The batch: the mean's best recipes in order for three quarters of it, the
//! draws with the largest expected improvement for the last quarter, then anything left by
//! expected improvement, with a diversity rule: no two suggestions within 8 % of mass moved,
//! none within 4 % of a measured recipe.

use std::collections::HashMap;

use super::goal::combine;
use super::problem::{DesignError, Problem};
use super::search::{Scored, Search};
use super::spec::DesignSpec;
use super::{Candidate, to_csv_with};
use crate::bundle::Manifest;
use crate::data::{DataError, Dataset, TargetSpec, WideSpec, read_dataset};
use crate::host_model::{HostModel, Row};
use crate::mapping::{self, How, Mapping};
use crate::model::Prediction;
use crate::table::records;

/// One measured recipe: fractions by model material, conditions, and each model target's
/// measured value where the file has one.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    pub recipe: Vec<(usize, f64)>,
    pub conditions: Vec<f64>,
    pub values: Vec<Option<f64>>,
}

/// Read a measured-recipes CSV (wide or long, as spreadsheets export it) with the model's
/// targets and conditions as columns where the file has them; `user` is a column mapping.
pub fn read_measured(
    bytes: &[u8],
    manifest: &Manifest,
    user: Option<&Mapping>,
) -> Result<Vec<Measured>, DesignError> {
    let bad = |e: DataError| DesignError::Spec(format!("the measured recipes: {e}"));
    let header = records(bytes).map_err(|e| bad(e.into()))?.header;
    // Headers that name the model's columns another way (case, units, aliases) or that the
    // user's mapping gives a role are read as them, as when scoring.
    let mut roles = Mapping::new(&manifest.name);
    if !crate::data::is_long_header(&header) {
        let columns = mapping::resolve(manifest, &header, user)
            .map_err(|e| DesignError::Spec(format!("the measured recipes: {e}")))?;
        for c in columns {
            if let (How::Recognised | How::Unnamed | How::Mapped, Some(role)) = (c.how, c.role) {
                roles.columns.insert(c.header, role);
            }
        }
    }
    let mut wide = WideSpec::default().with_mapping(&roles);
    let names: Vec<String> = header.iter().map(|h| wide.name_of(h).to_string()).collect();
    wide.targets = (manifest.targets.iter())
        .filter(|t| names.contains(&t.name))
        .map(|t| TargetSpec {
            name: t.name.clone(),
            kind: t.kind,
            transform: t.transform,
        })
        .collect();
    wide.conditions = (manifest.conditions.iter())
        .filter(|c| names.contains(&c.name))
        .map(|c| c.name.clone())
        .collect();
    let ds = read_dataset(bytes, None, &wide).map_err(bad)?;
    measured_from(&ds, manifest)
}

/// The measured recipes of `ds` (read with the model's targets and conditions as columns) in
/// the model's terms; materials the model does not know are named.
pub fn measured_from(ds: &Dataset, manifest: &Manifest) -> Result<Vec<Measured>, DesignError> {
    let index = manifest.material_positions();
    let unknown: Vec<&str> = ds
        .materials
        .iter()
        .filter(|m| !index.contains_key(m.as_str()))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(DesignError::Spec(format!(
            "the measured recipes use materials this model does not know: {} (fit them with \
             `mixlab fit-material` first, or leave those rows out)",
            unknown.join(", ")
        )));
    }
    let t = ds.targets.len();
    let c = ds.conditions.len();
    let defaults = manifest.default_condition_values();
    Ok((0..ds.rows())
        .map(|r| Measured {
            recipe: ds.entries[ds.row_start[r]..ds.row_start[r + 1]]
                .iter()
                .map(|&(m, f)| (index[ds.materials[m as usize].as_str()], f64::from(f)))
                .collect(),
            conditions: manifest
                .conditions
                .iter()
                .enumerate()
                .map(|(j, mc)| {
                    ds.conditions
                        .iter()
                        .position(|n| n == &mc.name)
                        .map_or(defaults[j], |k| f64::from(ds.condition_values[r * c + k]))
                })
                .collect(),
            values: manifest
                .targets
                .iter()
                .map(|mt| {
                    ds.targets
                        .iter()
                        .position(|dt| dt.name == mt.name)
                        .map(|k| ds.target_values[r * t + k])
                        .filter(|v| v.is_finite())
                })
                .collect(),
        })
        .collect())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Predicted to beat the best measured recipe.
    Exploit,
    /// Not predicted to, but the members disagree enough that it may.
    Explore,
}

impl Reason {
    pub fn key(self) -> &'static str {
        match self {
            Reason::Exploit => "exploit",
            Reason::Explore => "explore",
        }
    }
}

/// A recipe to make next, and why.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Suggestion {
    pub candidate: Candidate,
    /// Mean over members of max(0, desirability − best measured).
    pub expected_improvement: f64,
    /// Share of members by which it beats the best measured recipe.
    pub chance: f64,
    pub reason: Reason,
}

/// Recipes closer than this (L1 over fractions) count as the same experiment.
const SAME: f64 = 0.04;

/// L1 distance between two recipes' fractions (2: nothing in common).
pub fn distance(a: &[(usize, f64)], b: &[(usize, f64)]) -> f64 {
    let mut d = 0.0;
    for &(m, f) in a {
        d += (f - b.iter().find(|x| x.0 == m).map_or(0.0, |x| x.1)).abs();
    }
    for &(m, f) in b {
        if !a.iter().any(|x| x.0 == m) {
            d += f;
        }
    }
    d
}

/// The desirability of target values `ys` (model units) under `problem`'s goals; `None` when a
/// goal's target has no value.
fn desirability_of(problem: &Problem, ys: &[Option<f64>], cost: Option<f64>) -> Option<f64> {
    let (ds, ws) = problem.goals(
        |t| ys.get(t).copied().flatten().map(|y| (y, 0.0)),
        cost,
        0.0,
    )?;
    Some(combine(&ds, &ws))
}

/// Everything `suggest` needs from a finished pool search: the recipes and the problem.
struct Pool {
    problem: Problem,
    found: Vec<Scored>,
}

fn search(problem: Problem, manifest: &Manifest, model: &HostModel) -> Result<Pool, DesignError> {
    let mut s = Search::new(problem.clone(), manifest);
    while let Some(rows) = s.ask() {
        s.tell_members(&model.predict_rows_members(&rows));
    }
    Ok(Pool {
        problem,
        found: s.finish(),
    })
}

/// The best measured desirability (0 when no measured recipe has every goal's value).
pub fn best_measured(problem: &Problem, measured: &[Measured]) -> f64 {
    let price: HashMap<usize, f64> = problem
        .price
        .as_ref()
        .map(|p| {
            problem
                .vars
                .iter()
                .zip(p)
                .map(|(v, &x)| (v.material, x))
                .collect()
        })
        .unwrap_or_default();
    measured
        .iter()
        .filter_map(|m| {
            let cost = problem.price.as_ref().map(|_| {
                m.recipe
                    .iter()
                    .map(|(k, f)| f * price.get(k).copied().unwrap_or(0.0))
                    .sum()
            });
            desirability_of(problem, &m.values, cost)
        })
        .fold(0.0, f64::max)
}

/// Suggest `q` recipes to make next (native: the model predicts on this machine).
pub fn suggest(
    spec: &DesignSpec,
    manifest: &Manifest,
    model: &HostModel,
    measured: &[Measured],
    q: usize,
) -> Result<(Problem, f64, Vec<Suggestion>), DesignError> {
    let mut exploit = Problem::new(spec, manifest)?;
    exploit.kappa = 0.0;
    exploit.candidates = (6 * q).clamp(12, 200);
    let best = best_measured(&exploit, measured);
    let mean = search(exploit.clone(), manifest, model)?;
    // One draw per member: its own optimum (a few candidates, so a measured one can be passed).
    let mut draws = Vec::new();
    for k in 0..model.members() {
        let Some(member) = model.member(k) else { break };
        let mut own = exploit.clone();
        own.candidates = 4;
        own.seed = exploit.seed.wrapping_add(1 + k as u64);
        draws.push(search(own, manifest, &member)?);
    }
    // Every pooled recipe once, none already measured: the mean's search in its order (best
    // first), then each member's best.
    let candidates = |p: &Pool| -> Vec<Candidate> {
        (p.found.iter())
            .map(|s| Candidate::from_scored(0, s, &p.problem, manifest))
            .collect()
    };
    let fresh = |c: &Candidate| {
        measured
            .iter()
            .all(|m| distance(&c.recipe, &m.recipe) >= SAME)
    };
    let mut pool: Vec<Candidate> = Vec::new();
    let mut drawn: Vec<bool> = Vec::new();
    let from_mean = candidates(&mean).into_iter().map(|c| (c, false));
    let from_draws = (draws.iter()).filter_map(|d| candidates(d).into_iter().find(|c| fresh(c)));
    for (c, draw) in from_mean.chain(from_draws.map(|c| (c, true))) {
        if !fresh(&c) || pool.iter().any(|o| distance(&c.recipe, &o.recipe) < SAME) {
            continue;
        }
        pool.push(c);
        drawn.push(draw);
    }
    if pool.is_empty() {
        return Ok((exploit, best, Vec::new()));
    }
    // The members' view of each pooled recipe.
    let rows: Vec<Row> = pool
        .iter()
        .map(|c| Row {
            recipe: c.recipe.clone(),
            conditions: c.conditions.clone(),
        })
        .collect();
    let members = model.predict_rows_members(&rows);
    let t = manifest.targets.len();
    let scores: Vec<(f64, f64)> = pool
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let ds: Vec<f64> = members
                .iter()
                .filter_map(|m| {
                    let ys: Vec<Option<f64>> = (0..t).map(|j| Some(m.values[i * t + j])).collect();
                    desirability_of(&exploit, &ys, c.cost)
                })
                .collect();
            let k = ds.len().max(1) as f64;
            let ei = ds.iter().map(|d| (d - best).max(0.0)).sum::<f64>() / k;
            let chance = ds.iter().filter(|d| **d > best).count() as f64 / k;
            (ei, chance)
        })
        .collect();
    // The batch: the mean's best recipes in its order, then the most promising draws (by
    // expected improvement) for a quarter of the batch, then anything left by expected
    // improvement; never two within 2 × `SAME` of each other.
    let draw_share = if drawn.contains(&true) { q / 4 } else { 0 };
    let by_ei = |a: &usize, b: &usize| {
        (scores[*b].0.total_cmp(&scores[*a].0))
            .then(scores[*b].1.total_cmp(&scores[*a].1))
            .then(a.cmp(b))
    };
    let mut draws_by_ei: Vec<usize> = (0..pool.len()).filter(|&i| drawn[i]).collect();
    draws_by_ei.sort_by(by_ei);
    let mut all_by_ei: Vec<usize> = (0..pool.len()).collect();
    all_by_ei.sort_by(by_ei);
    let mut picked: Vec<usize> = Vec::new();
    let take = |from: &mut dyn Iterator<Item = usize>, upto: usize, picked: &mut Vec<usize>| {
        for i in from {
            if picked.len() >= upto {
                break;
            }
            let near = |j: &usize| distance(&pool[i].recipe, &pool[*j].recipe) < 2.0 * SAME;
            // A recipe already picked is near itself.
            if !picked.iter().any(near) {
                picked.push(i);
            }
        }
    };
    take(
        &mut (0..pool.len()).filter(|&i| !drawn[i]),
        q - draw_share,
        &mut picked,
    );
    take(&mut draws_by_ei.into_iter(), q, &mut picked);
    take(&mut all_by_ei.into_iter(), q, &mut picked);
    // Shown as the ensemble's mean (a draw was searched on one member alone).
    let mean = Prediction::ensemble(&members);
    let out = picked
        .into_iter()
        .enumerate()
        .map(|(rank, i)| {
            let (ei, chance) = scores[i];
            let mut candidate = pool[i].clone();
            candidate.rank = rank + 1;
            candidate.predicted = (0..t)
                .map(|j| (mean.values[i * t + j], mean.spread[i * t + j]))
                .collect();
            let (goals, weights) = exploit
                .goals(
                    |j| candidate.predicted.get(j).map(|p| (p.0, 0.0)),
                    candidate.cost,
                    0.0,
                )
                .unwrap_or_default();
            candidate.desirability = combine(&goals, &weights);
            candidate.goals = goals;
            let reason = if candidate.desirability > best {
                Reason::Exploit
            } else {
                Reason::Explore
            };
            Suggestion {
                candidate,
                expected_improvement: ei,
                chance,
                reason,
            }
        })
        .collect();
    Ok((exploit, best, out))
}

/// The suggestions as CSV: `reason`, `expected_improvement` and `chance_to_beat_best`, then
/// the design's columns.
pub fn suggestions_csv(manifest: &Manifest, problem: &Problem, s: &[Suggestion]) -> String {
    let candidates: Vec<Candidate> = s.iter().map(|x| x.candidate.clone()).collect();
    to_csv_with(
        manifest,
        problem,
        &candidates,
        &["reason", "expected_improvement", "chance_to_beat_best"],
        |i| {
            vec![
                s[i].reason.key().to_string(),
                format!("{:.6}", s[i].expected_improvement),
                format!("{:.3}", s[i].chance),
            ]
        },
    )
}
