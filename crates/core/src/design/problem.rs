//! A design spec resolved against a model: indices instead of names, fractions instead of %,
//! the training domain folded into the bounds — and every contradiction found before searching.

use std::collections::HashMap;

use thiserror::Error;

use super::goal::{Goal, Ramp, Shape};
use super::spec::{Combine, ConditionRule, DesignSpec, DomainRule};
use crate::bundle::{Manifest, TargetKind, Transform};

/// Why a design cannot start: each conflict says which limits to relax.
#[derive(Debug, Error, PartialEq)]
pub enum DesignError {
    #[error("the design spec is not valid JSON for a design: {0}")]
    Spec(String),
    #[error("the design cannot be met as written:\n- {}", .0.join("\n- "))]
    Infeasible(Vec<String>),
    #[error("no recipe meeting every limit was found; the closest {0}: relax that limit")]
    NotFound(String),
    #[error("the model could not predict: {0}")]
    Predict(String),
}

/// One variable of the search: a material of the pool with its bounds (fractions).
#[derive(Clone, Debug, PartialEq)]
pub struct Var {
    /// Index in the model's materials.
    pub material: usize,
    pub lo: f64,
    pub hi: f64,
    /// Always in the recipe (fixed, a minimum above 0, or the q.s.).
    pub required: bool,
}

/// `min ≤ Σ coefficient × fraction ≤ max` over pool variables (group sums have coefficient 1).
#[derive(Clone, Debug, PartialEq)]
pub struct LinearRow {
    pub name: String,
    pub terms: Vec<(usize, f64)>,
    pub min: f64,
    pub max: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CondVar {
    Fixed(f64),
    Free { min: f64, max: f64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The materials the search may use, with their bounds.
    pub vars: Vec<Var>,
    pub max_ingredients: usize,
    /// Group and general linear limits.
    pub rows: Vec<LinearRow>,
    /// Price per pool variable, when cost matters.
    pub price: Option<Vec<f64>>,
    pub cost_max: Option<f64>,
    /// Goals on model targets, then (index = number of targets) the cost goal.
    pub ramps: Vec<Ramp>,
    pub cost_ramp: Option<Ramp>,
    pub kappa: f64,
    pub combine: Combine,
    pub domain: DomainRule,
    pub conditions: Vec<CondVar>,
    /// The q.s. material's pool index.
    pub qs: Option<usize>,
    pub candidates: usize,
    pub seed: u64,
    pub generations: usize,
    /// Goal descriptions, in the order of `ramps` (then cost).
    pub goal_names: Vec<String>,
}

/// Amounts within this of a bound count as on it (and as inside).
pub const TOL: f64 = 1e-9;

fn pct(v: f64) -> String {
    let s = format!("{:.3}", v * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} %")
}

impl Problem {
    /// Resolve `spec` against `manifest`; every conflict is collected, not only the first.
    pub fn new(spec: &DesignSpec, manifest: &Manifest) -> Result<Problem, DesignError> {
        let mut bad: Vec<String> = Vec::new();
        let index = manifest.material_positions();
        let unknown = |what: &str, name: &str, bad: &mut Vec<String>| {
            bad.push(format!("{what} \"{name}\" is not a material of this model"));
        };
        let hard = spec.domain == DomainRule::Hard;

        // The pool: allowed materials (all by default); in the hard domain, seen ones only.
        let mut allowed: Vec<usize> = match &spec.allowed {
            Some(names) => names
                .iter()
                .filter_map(|n| {
                    let i = index.get(n.as_str()).copied();
                    if i.is_none() {
                        unknown("allowed material", n, &mut bad);
                    }
                    i
                })
                .collect(),
            None => (0..manifest.materials.len()).collect(),
        };
        let qs = spec.qs.as_ref().and_then(|n| {
            let i = index.get(n.as_str()).copied();
            if i.is_none() {
                unknown("the q.s. material", n, &mut bad);
            }
            i
        });
        for name in spec.limits.keys() {
            match index.get(name.as_str()) {
                None => unknown("limit on", name, &mut bad),
                Some(&i) if !allowed.contains(&i) => allowed.push(i),
                _ => {}
            }
        }
        if let Some(q) = qs.filter(|q| !allowed.contains(q)) {
            allowed.push(q);
        }
        // In the hard domain, a material every training formulation contains (water in
        // concrete) is in every candidate: without it the recipe is unlike any seen.
        let most = manifest
            .materials
            .iter()
            .map(|m| m.usage_count)
            .max()
            .unwrap_or(0);
        let always =
            |m: usize| hard && most > 0 && manifest.materials[m].usage_count * 100 >= most * 99;
        for m in (0..manifest.materials.len()).filter(|&m| always(m)) {
            if !allowed.contains(&m) {
                allowed.push(m);
            }
        }
        allowed.sort_unstable();
        allowed.dedup();

        let mut vars = Vec::new();
        for &m in &allowed {
            let mat = &manifest.materials[m];
            let limit = spec.limits.get(&mat.name).cloned().unwrap_or_default();
            let (mut lo, mut hi) = (
                limit.min.unwrap_or(0.0) / 100.0,
                limit.max.unwrap_or(100.0) / 100.0,
            );
            let mut required = qs == Some(m) || lo > 0.0 || always(m);
            if let Some(f) = limit.fixed {
                if !(0.0..=100.0).contains(&f) {
                    bad.push(format!("{} is fixed at {f} %, outside 0–100 %", mat.name));
                }
                (lo, hi) = (f / 100.0, f / 100.0);
                if f == 0.0 && always(m) {
                    bad.push(format!(
                        "{} is in every training formulation, so the training domain needs it: \
                         do not fix it at 0, or set \"domain\": \"penalty\"",
                        mat.name
                    ));
                }
                required = f > 0.0 || always(m);
            }
            if lo > hi + TOL {
                bad.push(format!(
                    "{}: its minimum {} is above its maximum {}",
                    mat.name,
                    pct(lo),
                    pct(hi)
                ));
            }
            if hard {
                if mat.usage_count == 0 {
                    if required {
                        bad.push(format!(
                            "{} is in no training formulation, so the training domain excludes \
                             it: drop its limit or set \"domain\": \"penalty\"",
                            mat.name
                        ));
                    }
                    continue;
                }
                // Present materials stay within their training range.
                let (dlo, dhi) = (mat.fraction_min, mat.fraction_max);
                if required && (hi < dlo - TOL || lo > dhi + TOL) {
                    let here = if (hi - lo).abs() < TOL {
                        format!("is fixed at {}", pct(lo))
                    } else {
                        format!("must be {}–{}", pct(lo), pct(hi))
                    };
                    bad.push(format!(
                        "{} {here} here but was {}–{} in training: widen its limits or set \
                         \"domain\": \"penalty\"",
                        mat.name,
                        pct(dlo),
                        pct(dhi)
                    ));
                }
                lo = lo.max(dlo);
                hi = hi.min(dhi);
                if lo > hi + TOL && !required {
                    continue; // its limits and its training range do not overlap
                }
            }
            vars.push(Var {
                material: m,
                lo,
                hi: hi.max(lo),
                required,
            });
        }
        let pos: HashMap<usize, usize> = vars
            .iter()
            .enumerate()
            .map(|(k, v)| (v.material, k))
            .collect();

        // Mass balance.
        let required: Vec<&Var> = vars.iter().filter(|v| v.required).collect();
        let min_sum: f64 = required.iter().map(|v| v.lo).sum();
        if min_sum > 1.0 + TOL {
            bad.push(format!(
                "the minimums and fixed amounts add up to {} (over 100 %): lower some of {}",
                pct(min_sum),
                names(
                    manifest,
                    required.iter().filter(|v| v.lo > 0.0).map(|v| v.material)
                )
            ));
        }
        let max_sum: f64 = vars.iter().map(|v| v.hi).sum();
        if max_sum < 1.0 - TOL && !vars.is_empty() {
            bad.push(format!(
                "the allowed materials can reach only {} together (their maximums{}): allow more \
                 materials or raise some maximums",
                pct(max_sum),
                if hard {
                    " within their training ranges"
                } else {
                    ""
                }
            ));
        }
        if vars.is_empty() {
            bad.push("no material may be used".into());
        }
        let max_ingredients = spec.max_ingredients.unwrap_or(usize::MAX).max(1);
        if required.len() > max_ingredients {
            bad.push(format!(
                "{} materials must be in every recipe ({}) but at most {max_ingredients} are \
                 allowed: raise the ingredient limit or free some of them",
                required.len(),
                names(manifest, required.iter().map(|v| v.material))
            ));
        }

        // Group and linear limits.
        let mut rows = Vec::new();
        for g in &spec.groups {
            let members: Vec<(usize, f64)> = vars
                .iter()
                .enumerate()
                .filter(|(_, v)| {
                    manifest.materials[v.material].metadata.get(&g.key) == Some(&g.value)
                })
                .map(|(k, _)| (k, 1.0))
                .collect();
            let label = format!("{}={}", g.key, g.value);
            let (min, max) = (g.min.unwrap_or(0.0) / 100.0, g.max.unwrap_or(100.0) / 100.0);
            if min > max + TOL {
                bad.push(format!("group {label}: its minimum is above its maximum"));
            }
            let reach: f64 = members.iter().map(|&(k, _)| vars[k].hi).sum();
            if min > reach + TOL {
                bad.push(format!(
                    "group {label} must reach {} but its {} allowed material(s) can give only {}",
                    pct(min),
                    members.len(),
                    pct(reach)
                ));
            }
            let floor: f64 = members
                .iter()
                .filter(|&&(k, _)| vars[k].required)
                .map(|&(k, _)| vars[k].lo)
                .sum();
            if floor > max + TOL {
                bad.push(format!(
                    "group {label} may hold at most {} but its minimums and fixed amounts need {}",
                    pct(max),
                    pct(floor)
                ));
            }
            rows.push(LinearRow {
                name: format!("group {label}"),
                terms: members,
                min,
                max,
            });
        }
        for (k, l) in spec.linear.iter().enumerate() {
            let name = l
                .name
                .clone()
                .unwrap_or_else(|| format!("linear limit {}", k + 1));
            let mut terms = Vec::new();
            for (mat, &c) in &l.terms {
                match index.get(mat.as_str()) {
                    None => unknown(&format!("{name} names"), mat, &mut bad),
                    Some(i) => {
                        if let Some(&p) = pos.get(i) {
                            terms.push((p, c));
                        }
                    }
                }
            }
            let (min, max) = (
                l.min.map_or(f64::NEG_INFINITY, |v| v / 100.0),
                l.max.map_or(f64::INFINITY, |v| v / 100.0),
            );
            if min > max + TOL {
                bad.push(format!("{name}: its minimum is above its maximum"));
            }
            rows.push(LinearRow {
                name,
                terms,
                min,
                max,
            });
        }

        // Prices and cost.
        let wants_cost = spec.cost.is_some();
        let mut price = None;
        if wants_cost {
            let mut p = Vec::with_capacity(vars.len());
            let mut missing = Vec::new();
            for v in &vars {
                let mat = &manifest.materials[v.material];
                let from_column = spec.price_column.as_ref().and_then(|c| {
                    mat.metadata
                        .get(c)
                        .and_then(|s| s.trim().replace(',', ".").parse::<f64>().ok())
                });
                match spec.prices.get(&mat.name).copied().or(from_column) {
                    Some(x) if x.is_finite() && x >= 0.0 => p.push(x),
                    _ => {
                        missing.push(mat.name.clone());
                        p.push(0.0);
                    }
                }
            }
            for name in spec.prices.keys() {
                if !index.contains_key(name.as_str()) {
                    unknown("a price for", name, &mut bad);
                }
            }
            if !missing.is_empty() {
                let shown: Vec<&String> = missing.iter().take(8).collect();
                bad.push(format!(
                    "cost needs a price for every allowed material; {} have none ({}{})",
                    missing.len(),
                    shown
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if missing.len() > 8 { ", …" } else { "" }
                ));
            }
            price = Some(p);
        }
        let cost_max = spec.cost.as_ref().and_then(|c| c.max);
        if let (Some(limit), Some(p)) = (cost_max, &price)
            && bad.is_empty()
        {
            let cheapest = cheapest_cost(&vars, p);
            if cheapest > limit + TOL {
                bad.push(format!(
                    "the cheapest recipe within the material limits costs {cheapest:.4}, above \
                     the cost limit {limit}: raise the limit or lower some minimums"
                ));
            }
        }

        // Goals.
        let mut ramps = Vec::new();
        let mut goal_names = Vec::new();
        if spec.goals.is_empty() && spec.cost.as_ref().is_none_or(|c| c.minimize.is_none()) {
            bad.push("the spec has no goal: add one per target you care about".into());
        }
        for g in &spec.goals {
            let Some(t) = manifest.targets.iter().position(|x| x.name == g.target()) else {
                bad.push(format!(
                    "goal on \"{}\", which this model does not predict (it predicts {})",
                    g.target(),
                    manifest
                        .targets
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                continue;
            };
            let target = &manifest.targets[t];
            let binary = target.kind == TargetKind::Binary;
            if g.weight() <= 0.0 || !g.weight().is_finite() {
                bad.push(format!(
                    "goal on {}: the weight must be above 0",
                    target.name
                ));
            }
            let shape = match g {
                Goal::Probability { at_least, .. } => {
                    if !binary {
                        bad.push(format!(
                            "a probability goal needs a binary target; {} is a number",
                            target.name
                        ));
                    }
                    Shape::Rising {
                        low: at_least - 0.2,
                        high: *at_least,
                    }
                }
                Goal::Maximize { low, high, .. } => {
                    let (lo, hi) = typical(target);
                    Shape::Rising {
                        low: low.unwrap_or(if binary { 0.0 } else { lo }),
                        high: high.unwrap_or(if binary { 1.0 } else { hi }),
                    }
                }
                Goal::Minimize { low, high, .. } => {
                    let (lo, hi) = typical(target);
                    Shape::Rising {
                        low: high.unwrap_or(if binary { 1.0 } else { hi }),
                        high: low.unwrap_or(if binary { 0.0 } else { lo }),
                    }
                }
                Goal::Target {
                    value, tolerance, ..
                } => {
                    if *tolerance <= 0.0 {
                        bad.push(format!(
                            "goal on {}: the tolerance must be above 0",
                            target.name
                        ));
                    }
                    Shape::Plateau {
                        min: *value,
                        max: *value,
                        margin: *tolerance,
                    }
                }
                Goal::Range {
                    min, max, margin, ..
                } => {
                    if min > max {
                        bad.push(format!("goal on {}: min is above max", target.name));
                    }
                    Shape::Plateau {
                        min: *min,
                        max: *max,
                        margin: margin.unwrap_or(0.1 * (max - min).abs()),
                    }
                }
            };
            if let Shape::Rising { low, high } = shape
                && (low - high).abs() < 1e-12
            {
                bad.push(format!("goal on {}: low and high are equal", target.name));
            }
            ramps.push(Ramp {
                target: t,
                weight: g.weight(),
                shape,
            });
            goal_names.push(g.describe_as(target.title()));
        }
        let cost_ramp = spec
            .cost
            .as_ref()
            .and_then(|c| c.minimize.as_ref())
            .map(|c| {
                goal_names.push(format!("minimise cost ({} → {})", c.high, c.low));
                Ramp {
                    target: manifest.targets.len(),
                    weight: c.weight,
                    shape: Shape::Rising {
                        low: c.high,
                        high: c.low,
                    },
                }
            });
        if spec.combine == Combine::Pareto && !(2..=3).contains(&goal_names.len()) {
            bad.push(format!(
                "a Pareto front needs two or three goals; this spec has {}",
                goal_names.len()
            ));
        }
        if !(spec.cautious >= 0.0 && spec.cautious.is_finite()) {
            bad.push("\"cautious\" must be 0 or more (how many spreads to allow for)".into());
        }

        // Conditions.
        let mut conditions = Vec::new();
        for name in spec.conditions.keys() {
            if !manifest.conditions.iter().any(|c| &c.name == name) {
                bad.push(format!(
                    "condition \"{name}\" is not an input of this model"
                ));
            }
        }
        let defaults = manifest.default_condition_values();
        for (c, default) in manifest.conditions.iter().zip(defaults) {
            let var = match spec.conditions.get(&c.name) {
                None => CondVar::Fixed(default),
                Some(ConditionRule::Fixed(v)) => {
                    if hard && (*v < c.min - TOL || *v > c.max + TOL) {
                        bad.push(format!(
                            "{} = {v} is outside its training range {}–{}",
                            c.name, c.min, c.max
                        ));
                    }
                    CondVar::Fixed(*v)
                }
                Some(ConditionRule::Free { min, max }) => {
                    let (mut lo, mut hi) = (*min, *max);
                    if hard {
                        lo = lo.max(c.min);
                        hi = hi.min(c.max);
                    }
                    if lo > hi {
                        bad.push(format!(
                            "{} may range {min}–{max}, which leaves nothing{}",
                            c.name,
                            if hard {
                                " inside its training range"
                            } else {
                                ""
                            }
                        ));
                    }
                    if c.transform == Transform::Log10 && lo <= 0.0 {
                        bad.push(format!(
                            "{} must stay above 0 (it is on a log scale)",
                            c.name
                        ));
                    }
                    CondVar::Free { min: lo, max: hi }
                }
            };
            conditions.push(var);
        }

        if !bad.is_empty() {
            return Err(DesignError::Infeasible(bad));
        }
        Ok(Problem {
            qs: qs.and_then(|q| pos.get(&q).copied()),
            vars,
            max_ingredients,
            rows,
            price,
            cost_max,
            ramps,
            cost_ramp,
            kappa: spec.cautious,
            combine: spec.combine,
            domain: spec.domain,
            conditions,
            candidates: spec.candidates.clamp(1, 200),
            seed: spec.seed,
            generations: spec.generations.clamp(1, 5000),
            goal_names,
        })
    }

    /// Total violation of the linear, group and cost limits by `x` (pool fractions); 0 inside.
    pub fn violation(&self, x: &[f64]) -> f64 {
        let mut v = 0.0;
        for r in &self.rows {
            let s: f64 = r.terms.iter().map(|&(k, c)| c * x[k]).sum();
            v += (r.min - s).max(0.0) + (s - r.max).max(0.0);
        }
        if let (Some(limit), Some(c)) = (self.cost_max, self.cost(x)) {
            v += (c - limit).max(0.0) / limit.abs().max(1e-9);
        }
        v
    }

    /// Each goal's desirability and weight for predicted `(mean, spread)` per target (`None`
    /// where a target has no value: then no desirability), judging the worse end of
    /// `mean ± kappa × spread`; the cost goal from `cost` when there is one.
    pub fn goals(
        &self,
        value: impl Fn(usize) -> Option<(f64, f64)>,
        cost: Option<f64>,
        kappa: f64,
    ) -> Option<(Vec<f64>, Vec<f64>)> {
        let mut ds = Vec::with_capacity(self.ramps.len() + 1);
        let mut ws = Vec::with_capacity(self.ramps.len() + 1);
        for r in &self.ramps {
            let (m, s) = value(r.target)?;
            ds.push(r.shape.cautious(m, s, kappa));
            ws.push(r.weight);
        }
        if let (Some(r), Some(c)) = (&self.cost_ramp, cost) {
            ds.push(r.shape.at(c));
            ws.push(r.weight);
        }
        Some((ds, ws))
    }

    /// The limits `x` misses, in words (for the closest recipe when none meets them all).
    pub fn misses(&self, x: &[f64]) -> Vec<String> {
        let pct = |v: f64| format!("{:.2} %", 100.0 * v);
        let mut out = Vec::new();
        for r in &self.rows {
            let s: f64 = r.terms.iter().map(|&(k, c)| c * x[k]).sum();
            if s < r.min - TOL {
                out.push(format!(
                    "has {} at {} (minimum {})",
                    r.name,
                    pct(s),
                    pct(r.min)
                ));
            } else if s > r.max + TOL {
                out.push(format!(
                    "has {} at {} (maximum {})",
                    r.name,
                    pct(s),
                    pct(r.max)
                ));
            }
        }
        if let (Some(limit), Some(c)) = (self.cost_max, self.cost(x))
            && c > limit + TOL
        {
            out.push(format!("costs {c:.4} (limit {limit})"));
        }
        out
    }

    /// The recipe's cost per unit mass, when prices are known.
    pub fn cost(&self, x: &[f64]) -> Option<f64> {
        self.price
            .as_ref()
            .map(|p| p.iter().zip(x).map(|(p, x)| p * x).sum())
    }
}

/// The model's typical range of a regression target (mean ± 2 std of training, in the
/// target's units): the default ends of a maximise/minimise ramp.
fn typical(t: &crate::bundle::Target) -> (f64, f64) {
    let back = |z: f64| match t.transform {
        Transform::Log10 => libm::pow(10.0, z),
        Transform::None => z,
    };
    (back(t.mean), back(t.mean + 2.0 * t.std))
}

/// The least a recipe within the variables' bounds can cost (ignoring group limits and the
/// ingredient limit, so a lower bound): minimums first, then the cheapest up to their maximum.
fn cheapest_cost(vars: &[Var], price: &[f64]) -> f64 {
    let mut cost: f64 = vars
        .iter()
        .zip(price)
        .filter(|(v, _)| v.required)
        .map(|(v, p)| v.lo * p)
        .sum();
    let mut left = 1.0
        - vars
            .iter()
            .filter(|v| v.required)
            .map(|v| v.lo)
            .sum::<f64>();
    let mut order: Vec<usize> = (0..vars.len()).collect();
    order.sort_by(|&a, &b| price[a].total_cmp(&price[b]));
    for k in order {
        if left <= 0.0 {
            break;
        }
        let room = if vars[k].required {
            vars[k].hi - vars[k].lo
        } else {
            vars[k].hi
        };
        let take = room.min(left).max(0.0);
        cost += take * price[k];
        left -= take;
    }
    cost
}

fn names(manifest: &Manifest, ms: impl Iterator<Item = usize>) -> String {
    let all: Vec<&str> = ms.map(|m| manifest.materials[m].name.as_str()).collect();
    let shown = all.iter().take(8).copied().collect::<Vec<_>>().join(", ");
    if all.len() > 8 {
        format!("{shown}, …")
    } else {
        shown
    }
}
