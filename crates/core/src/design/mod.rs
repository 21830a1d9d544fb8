//! Inverse design: goals per target and limits on the recipe in, ranked distinct recipes out.
//!
//! `DesignSpec` (what the user writes) → `Problem::new` (resolved against a model; every
//! contradiction reported before searching) → `Search` (ask/tell, so the CLI and the app's
//! worker drive it alike) → `Candidate`s (recipe, predictions ± spread, desirabilities, cost,
//! the limits it sits on, the domain verdict). `run` drives it natively.

mod export;
mod goal;
mod problem;
mod refine;
mod search;
mod spec;
mod suggest;

pub use export::{PeerProblem, peer_problem};
pub use goal::{Goal, Ramp, Shape, combine};
pub use problem::{CondVar, DesignError, LinearRow, Problem, Var};
pub use search::{Row, Scored, Search, fit_simplex};
pub use spec::{
    Combine, ConditionRule, CostGoal, CostRule, DesignSpec, DomainRule, GroupLimit, Limit,
    LinearLimit,
};
pub use suggest::{
    Measured, Reason, Suggestion, best_measured, distance, measured_from, read_measured, suggest,
    suggestions_csv,
};

use crate::bundle::Manifest;
use crate::host_model::HostModel;
use crate::spreadsheet;

/// A recipe the design found, ready to show or write.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    pub rank: usize,
    /// (material index in the model, fraction), largest first.
    pub recipe: Vec<(usize, f64)>,
    pub conditions: Vec<f64>,
    /// (mean, spread) per model target.
    pub predicted: Vec<(f64, f64)>,
    /// Desirability per goal (in the order of `Problem::goal_names`).
    pub goals: Vec<f64>,
    pub desirability: f64,
    pub cost: Option<f64>,
    /// The limits it sits on ("Water at its maximum 80 %").
    pub active: Vec<String>,
    /// How it leaves the training domain (empty: inside).
    pub domain: Vec<String>,
}

impl Candidate {
    pub fn from_scored(rank: usize, s: &Scored, problem: &Problem, manifest: &Manifest) -> Self {
        let mut recipe: Vec<(usize, f64)> =
            s.x.iter()
                .enumerate()
                .filter(|(_, v)| **v > 0.0)
                .map(|(k, &v)| (problem.vars[k].material, v))
                .collect();
        recipe.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Candidate {
            rank,
            recipe,
            conditions: s.conditions.clone(),
            predicted: s.predicted.clone(),
            goals: s.goals.clone(),
            desirability: s.desirability,
            cost: problem.cost(&s.x),
            active: active_limits(problem, manifest, &s.x),
            domain: s.warnings.iter().map(ToString::to_string).collect(),
        }
    }
}

/// The limits `x` sits on (within 10⁻⁶), in words.
pub fn active_limits(problem: &Problem, manifest: &Manifest, x: &[f64]) -> Vec<String> {
    const ON: f64 = 1e-6;
    let pct = |v: f64| format!("{:.4} %", 100.0 * v);
    let mut out = Vec::new();
    for (v, &f) in problem.vars.iter().zip(x) {
        let name = &manifest.materials[v.material].name;
        if f > 0.0 && v.lo > 0.0 && (f - v.lo).abs() < ON {
            out.push(format!("{name} at its minimum {}", pct(v.lo)));
        } else if f > 0.0 && v.hi < 1.0 && (f - v.hi).abs() < ON {
            out.push(format!("{name} at its maximum {}", pct(v.hi)));
        }
    }
    for r in &problem.rows {
        let s: f64 = r.terms.iter().map(|&(k, c)| c * x[k]).sum();
        if (s - r.min).abs() < ON {
            out.push(format!("{} at its minimum", r.name));
        } else if (s - r.max).abs() < ON {
            out.push(format!("{} at its maximum", r.name));
        }
    }
    if let (Some(limit), Some(c)) = (problem.cost_max, problem.cost(x))
        && (c - limit).abs() < ON * limit.abs().max(1.0)
    {
        out.push("cost at its limit".into());
    }
    let count = x.iter().filter(|v| **v > 0.0).count();
    if count == problem.max_ingredients {
        out.push(format!("{count} ingredients, the limit"));
    }
    out
}

/// Run a design to the end; `progress(fraction, stage)` is called after every batch. The model
/// is the host f64 one, so the app's worker and the CLI find the same recipes.
pub fn run(
    spec: &DesignSpec,
    manifest: &Manifest,
    model: &HostModel,
    mut progress: impl FnMut(f64, &str),
) -> Result<(Problem, Vec<Candidate>), DesignError> {
    let problem = Problem::new(spec, manifest)?;
    let mut search = Search::new(problem.clone(), manifest);
    while let Some(rows) = search.ask() {
        search.tell_members(&model.predict_rows_members(&rows));
        progress(search.progress(), search.stage());
    }
    Ok((problem, conclude(search, manifest)?))
}

/// The best distinct recipes so far, as candidates (a preview while the search goes on).
pub fn preview(search: &Search<'_>, manifest: &Manifest) -> Vec<Candidate> {
    let problem = search.problem();
    search
        .peek(problem.candidates)
        .iter()
        .enumerate()
        .map(|(i, s)| Candidate::from_scored(i + 1, s, problem, manifest))
        .collect()
}

/// The candidates of a finished search, or why there are none.
pub fn conclude(search: Search<'_>, manifest: &Manifest) -> Result<Vec<Candidate>, DesignError> {
    if !search.found_any() {
        let why = match search.closest() {
            Some(c) => {
                let mut misses = search.problem().misses(&c.x);
                misses.extend(
                    c.warnings
                        .iter()
                        .map(|w| format!("leaves the training domain: {w}")),
                );
                if misses.is_empty() {
                    "misses the sum or the bounds".to_string()
                } else {
                    misses.join("; ")
                }
            }
            None => "was not evaluated".to_string(),
        };
        return Err(DesignError::NotFound(why));
    }
    let problem = search.problem().clone();
    let found = search.finish();
    Ok(found
        .iter()
        .enumerate()
        .map(|(i, s)| Candidate::from_scored(i + 1, s, &problem, manifest))
        .collect())
}

/// The candidates as CSV: rank, desirability (overall and per goal), cost, each target's
/// prediction and spread, the conditions, the domain verdict, the limits it sits on, then one
/// column per material used by any candidate (mass %).
pub fn to_csv(manifest: &Manifest, problem: &Problem, candidates: &[Candidate]) -> String {
    to_csv_with(manifest, problem, candidates, &[], |_| Vec::new())
}

/// [`to_csv`] with `extra` columns first (`cells(i)` gives candidate `i`'s).
pub fn to_csv_with(
    manifest: &Manifest,
    problem: &Problem,
    candidates: &[Candidate],
    extra: &[&str],
    cells: impl Fn(usize) -> Vec<String>,
) -> String {
    let mut used: Vec<usize> = candidates
        .iter()
        .flat_map(|c| c.recipe.iter().map(|&(m, _)| m))
        .collect();
    used.sort_unstable();
    used.dedup();
    let text = |s: &str| spreadsheet::neutralise_str(s).into_owned();
    let mut head: Vec<String> = extra.iter().map(|h| h.to_string()).collect();
    head.extend(["rank".to_string(), "desirability".into()]);
    head.extend(problem.goal_names.iter().map(|g| text(&format!("d: {g}"))));
    head.push("cost".into());
    for t in &manifest.targets {
        head.push(text(&t.name));
        head.push(text(&format!("{}_spread", t.name)));
    }
    head.extend(manifest.conditions.iter().map(|c| text(&c.name)));
    head.push("domain".into());
    head.push("active_limits".into());
    head.extend(used.iter().map(|&m| text(&manifest.materials[m].name)));
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(&head);
    for (i, c) in candidates.iter().enumerate() {
        let mut row = cells(i);
        row.extend([c.rank.to_string(), format!("{:.6}", c.desirability)]);
        row.extend(c.goals.iter().map(|d| format!("{d:.6}")));
        row.push(c.cost.map_or(String::new(), |v| format!("{v:.6}")));
        for &(m, s) in &c.predicted {
            row.push(format!("{m}"));
            row.push(format!("{s}"));
        }
        row.extend(c.conditions.iter().map(|v| format!("{v}")));
        row.push(text(&if c.domain.is_empty() {
            "inside".to_string()
        } else {
            c.domain.join("; ")
        }));
        row.push(text(&c.active.join("; ")));
        for &m in &used {
            let f = c.recipe.iter().find(|r| r.0 == m).map_or(0.0, |r| r.1);
            row.push(format!("{}", 100.0 * f));
        }
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests;
