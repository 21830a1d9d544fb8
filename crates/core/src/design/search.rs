//! The search, as ask/tell: `ask` gives a batch of recipes to predict, `tell` takes the
//! predictions, until `ask` has none left and `finish` ranks what was found. The CLI predicts
//! each batch natively, the app in a worker with progress and cancel; both get the same
//! candidates for the same spec and seed.
//!
//! Phases: (1) for large libraries, screening — every allowed material added to a base recipe,
//! the best few dozen kept as the working pool; (2) differential evolution (rand/1/bin) over
//! one gene per pool material (on above ½, its amount from the rest) and per free condition,
//! every gene decoded into a recipe that meets the sum, the bounds and the ingredient limit
//! exactly (the predictions come from `HostModel`, the same bits in the browser and natively,
//! so both follow the same path); group, linear and cost limits by feasibility-first comparison (Deb's rules);
//! (3) refining the best distinct recipes by projected gradient steps on their materials and
//! free conditions: the gradient from finite differences (one batch of probes, so the model
//! stays a black box that predicts rows, in the worker as natively), each step projected back
//! onto the sum and the bounds exactly, several step lengths tried at once and the best kept
//! by the same feasibility-first rule. The global phase finds the region and the ingredients;
//! the gradient finds the amounts (it took concrete's best from 0.8994 to 1.0, where SciPy's
//! SLSQP had shown the pairwise moves used before stopped short). The refinement is now an LP
//! step (`refine`) from the global phase's best distinct recipes and, for a small library, from
//! `RANDOM_STARTS` random recipes besides; starts that meet go on as one, one that has stopped
//! gaining is done, and after `HALVE_AT` rounds only the better half of those still moving go on.

use std::collections::HashMap;

use super::goal::{combine, search_score};
use super::problem::{CondVar, Problem, TOL};
use super::refine::{self, Linear};
use super::spec::{Combine, DomainRule};
use crate::bundle::Manifest;
use crate::domain::{Domain, Warning};
use crate::formulation::Formulation;
pub use crate::host_model::Row;
use crate::model::Prediction;
use crate::rng::Rng;

/// Pools larger than this are screened down to it first.
const POOL_MAX: usize = 48;
/// Rows per screening batch.
const SCREEN_BATCH: usize = 512;
/// A gene at or above this puts its material in the recipe.
const ON: f64 = 0.5;
/// Rounds of the refinement (each: a batch of probes, a batch of steps).
const REFINE_ROUNDS: usize = 30;
/// Distinct recipes the refinement starts from (at least): local optima differ, and the best
/// basin is not always the global phase's best recipe.
const REFINE_STARTS: usize = 24;
/// The first step (the most mass one material moves), and the step below which a recipe is
/// done.
const FIRST_STEP: f64 = 0.02;
const LAST_STEP: f64 = 1e-7;
/// Finite-difference probes on both sides, this share of the trust radius (of a material's
/// amount, or of a condition's range), no less than `PROBE_MIN`.
const PROBE: f64 = 0.1;
/// Rescreening a large library around the best recipe: this much of each material outside
/// the working pool, and the most helpful few kept as possible entrants.
const RESCREEN_DOSE: f64 = 0.01;
const RESCREEN_KEEP: usize = 24;
const PROBE_MIN: f64 = 1e-7;
/// After this many rounds, only the better half of the recipes still moving go on (those that
/// reach concrete's D = 1 are among the best by round 9–12; halving at 8 lost it for 2 seeds of
/// 12).
const HALVE_AT: usize = 12;
/// A refined recipe whose score gained less than `GAIN` in `PATIENCE` rounds is done.
const GAIN: f64 = 1e-6;
const PATIENCE: usize = 6;
/// Two refined recipes closer than this (L1, twice the mass moved) have met: one of them goes
/// on (2e-2 lost concrete's D = 1 on 1 seed of 12).
const MET: f64 = 1e-2;
/// Random recipes refined besides the global phase's best (small libraries only): a
/// target value that every ensemble member must agree on (a cautious goal) is met on a few
/// isolated recipes, far from where the global search's population gathers (concrete: the
/// nearest recipe the global phase evaluated was 7 % of mass away from the D = 1 one; about
/// one random start in four reaches it).
const RANDOM_STARTS: usize = 16;
/// Generations without a better recipe after which the global search stops. 30 (was 40): since
/// the refinement's random starts and spread cuts, the last ten generations changed no best
/// recipe (concrete D = 1 on 12 of 12 seeds, shampoo 6 of 6, study scale 0.6358) and cost
/// concrete a fifth of its time.
const STALL: usize = 30;
/// Two recipes closer than this (L1 over fractions, i.e. twice the mass moved) are one.
const DISTINCT: f64 = 0.04;

/// One evaluated recipe.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    /// Fraction per pool variable (all of them, zero when absent).
    pub x: Vec<f64>,
    pub conditions: Vec<f64>,
    /// (mean, spread) per model target.
    pub predicted: Vec<(f64, f64)>,
    /// Desirability per goal (targets' goals, then cost).
    pub goals: Vec<f64>,
    pub desirability: f64,
    /// What the search ranks by (desirability, softened and with the domain penalty).
    pub score: f64,
    /// How far outside the limits (0: every limit met).
    pub violation: f64,
    pub warnings: Vec<Warning>,
    /// The variables present (`x` > 0), ascending: distances between recipes of a large
    /// library run over these, not over every material.
    present: Vec<usize>,
}

impl Scored {
    /// L1 distance between two recipes' fractions.
    fn distance(&self, other: &Scored) -> f64 {
        let (a, b) = (&self.present, &other.present);
        let (mut i, mut j, mut d) = (0, 0, 0.0);
        while i < a.len() || j < b.len() {
            match (a.get(i), b.get(j)) {
                (Some(&p), Some(&q)) if p == q => {
                    d += (self.x[p] - other.x[q]).abs();
                    i += 1;
                    j += 1;
                }
                (Some(&p), Some(&q)) if p < q => {
                    d += self.x[p];
                    i += 1;
                }
                (Some(&p), None) => {
                    d += self.x[p];
                    i += 1;
                }
                (_, Some(&q)) => {
                    d += other.x[q];
                    j += 1;
                }
                (None, None) => break,
            }
        }
        d
    }

    fn better_than(&self, other: &Scored) -> bool {
        let (a, b) = (self.violation, other.violation);
        if a <= TOL && b <= TOL {
            self.score > other.score
        } else {
            a < b
        }
    }

    pub fn feasible(&self) -> bool {
        self.violation <= TOL
    }
}

/// A refinement probe row: the recipe itself, or one coordinate moved by a signed amount.
#[derive(Clone, Copy)]
enum Probe {
    Base,
    /// An absent material probed from 0 (one side).
    Enter(usize, f64),
    Amount(usize, f64),
    Condition(usize, f64),
}

/// A decoded recipe: fractions per pool variable, condition values.
type Genome = (Vec<f64>, Vec<f64>);

enum Phase {
    Screen {
        next: usize,
        scores: Vec<f64>,
    },
    Evolve,
    /// `probe`: the next batch measures the gradient (else it tries steps along it).
    Refine {
        round: usize,
        probe: bool,
    },
    Done,
}

/// What a batch asked for was: whom each row belongs to.
enum Pending {
    Screen {
        from: usize,
    },
    Population,
    Trials,
    /// Which recipe and probe each row is.
    Probes(Vec<(usize, Probe)>),
    /// The polished recipe each trial row is a step of.
    Steps(Vec<usize>),
    /// The best recipe with a little of each material outside the working pool (rows in the
    /// order of the variables listed).
    Rescreen(Vec<usize>),
    /// Random recipes, more starts for the refinement.
    Starts,
}

pub struct Search<'m> {
    problem: Problem,
    manifest: &'m Manifest,
    domain: Domain,
    rng: Rng,
    /// Pool variables the genes stand for (all of them, or the screened few).
    pool: Vec<usize>,
    free_conditions: Vec<usize>,
    phase: Phase,
    pending: Option<(Pending, Vec<Genome>)>,
    genes: Vec<Vec<f64>>,
    population: Vec<Scored>,
    trials: Vec<Vec<f64>>,
    generation: usize,
    /// The best score so far and the generation it was reached (the search stops early when
    /// it has not moved for `STALL` generations).
    best: (f64, usize),
    archive: Vec<Scored>,
    polished: Vec<Scored>,
    /// Per polished recipe: its trust radius (0 when done).
    steps: Vec<f64>,
    /// Per polished recipe: its score when it last gained `GAIN`, and the rounds since.
    since: Vec<(f64, usize)>,
    /// Whether the refinement halves its starts at `HALVE_AT` (always, but in some tests).
    halving: bool,
    /// The refinement's next trial per polished recipe (from the last probes).
    next_steps: Vec<(usize, Genome)>,
    /// Whether the refinement has screened the library around its best recipe.
    rescreened: bool,
    /// Every member's outputs of the last batch, when the driver gave them.
    members: Option<Vec<Vec<f64>>>,
    pub evaluations: usize,
}

impl<'m> Search<'m> {
    pub fn new(problem: Problem, manifest: &'m Manifest) -> Search<'m> {
        let free_conditions = problem
            .conditions
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, CondVar::Free { .. }))
            .map(|(i, _)| i)
            .collect();
        let n = problem.vars.len();
        let phase = if n > POOL_MAX {
            Phase::Screen {
                next: 0,
                scores: vec![f64::NEG_INFINITY; n],
            }
        } else {
            Phase::Evolve
        };
        Search {
            rng: Rng::new(problem.seed),
            domain: Domain::new(manifest),
            pool: (0..n).collect(),
            free_conditions,
            phase,
            pending: None,
            genes: Vec::new(),
            population: Vec::new(),
            trials: Vec::new(),
            generation: 0,
            best: (f64::NEG_INFINITY, 0),
            archive: Vec::new(),
            polished: Vec::new(),
            steps: Vec::new(),
            since: Vec::new(),
            halving: true,
            next_steps: Vec::new(),
            rescreened: false,
            members: None,
            evaluations: 0,
            problem,
            manifest,
        }
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// How far the search is, 0 to 1.
    pub fn progress(&self) -> f64 {
        let g = self.problem.generations as f64;
        match &self.phase {
            Phase::Screen { next, .. } => 0.1 * *next as f64 / self.problem.vars.len() as f64,
            Phase::Evolve => 0.1 + 0.75 * (self.generation as f64 / g).min(1.0),
            Phase::Refine { round, .. } => 0.85 + 0.15 * *round as f64 / REFINE_ROUNDS as f64,
            Phase::Done => 1.0,
        }
    }

    /// What the search is doing, in words.
    pub fn stage(&self) -> &'static str {
        match self.phase {
            Phase::Screen { .. } => "screening the materials",
            Phase::Evolve => "searching",
            Phase::Refine { .. } => "refining the best recipes",
            Phase::Done => "done",
        }
    }

    fn dims(&self) -> usize {
        self.pool.len() + self.free_conditions.len()
    }

    fn population_size(&self) -> usize {
        (8 * self.dims()).clamp(40, 120)
    }

    /// The next batch to predict, or `None` when the search is over.
    pub fn ask(&mut self) -> Option<Vec<Row>> {
        loop {
            match &mut self.phase {
                Phase::Done => return None,
                Phase::Screen { next, .. } => {
                    let from = *next;
                    let n = self.problem.vars.len();
                    if from >= n {
                        self.end_screening();
                        continue;
                    }
                    let to = (from + SCREEN_BATCH).min(n);
                    *next = to;
                    let rows: Vec<(Vec<f64>, Vec<f64>)> =
                        (from..to).map(|k| self.screen_recipe(k)).collect();
                    return Some(self.submit(Pending::Screen { from }, rows));
                }
                Phase::Evolve => {
                    if self.population.is_empty() {
                        let np = self.population_size();
                        self.genes = (0..np).map(|_| self.first_genes()).collect();
                        let rows = self.genes.iter().map(|g| self.decode(g)).collect();
                        return Some(self.submit(Pending::Population, rows));
                    }
                    let stalled = self.best.0.is_finite() && self.generation - self.best.1 >= STALL;
                    if self.generation >= self.problem.generations || stalled {
                        self.phase = Phase::Refine {
                            round: 0,
                            probe: true,
                        };
                        self.polished = self.distinct(self.problem.candidates.max(REFINE_STARTS));
                        self.steps = vec![FIRST_STEP; self.polished.len()];
                        // Random recipes as more starts (a small library only).
                        let rows = self.random_starts();
                        if !rows.is_empty() {
                            return Some(self.submit(Pending::Starts, rows));
                        }
                        continue;
                    }
                    self.trials = self.mutants();
                    let rows = self.trials.iter().map(|g| self.decode(g)).collect();
                    return Some(self.submit(Pending::Trials, rows));
                }
                Phase::Refine { round, probe } => {
                    if *round >= REFINE_ROUNDS || self.steps.iter().all(|&d| d == 0.0) {
                        self.phase = Phase::Done;
                        continue;
                    }
                    // A large library: which materials outside the working pool would help
                    // the best recipe most (screened once around it, not around a base).
                    if *round == 0
                        && *probe
                        && !self.rescreened
                        && self.pool.len() < self.problem.vars.len()
                    {
                        self.rescreened = true;
                        if let Some(best) = self.polished.first() {
                            let outside: Vec<usize> = (0..self.problem.vars.len())
                                .filter(|k| self.pool.binary_search(k).is_err())
                                .collect();
                            let rows = outside
                                .iter()
                                .map(|&k| {
                                    let mut x = best.x.clone();
                                    x[k] = RESCREEN_DOSE;
                                    (x, best.conditions.clone())
                                })
                                .collect();
                            return Some(self.submit(Pending::Rescreen(outside), rows));
                        }
                    }
                    let (who, rows) = if *probe {
                        let (who, rows) = self.probes();
                        (Pending::Probes(who), rows)
                    } else {
                        let (owners, rows) =
                            std::mem::take(&mut self.next_steps).into_iter().unzip();
                        (Pending::Steps(owners), rows)
                    };
                    if rows.is_empty() {
                        self.phase = Phase::Done;
                        continue;
                    }
                    return Some(self.submit(who, rows));
                }
            }
        }
    }

    fn submit(&mut self, why: Pending, rows: Vec<(Vec<f64>, Vec<f64>)>) -> Vec<Row> {
        let out = rows
            .iter()
            .map(|(x, c)| Row {
                recipe: x
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v > 0.0)
                    .map(|(k, &v)| (self.problem.vars[k].material, v))
                    .collect(),
                conditions: c.clone(),
            })
            .collect();
        self.pending = Some((why, rows));
        out
    }

    /// The recipe `x` (pool fractions) as a formulation of the model's materials.
    pub fn formulation(&self, x: &[f64]) -> Formulation {
        let mut f = Formulation::from_fractions(
            x.iter()
                .enumerate()
                .filter(|(_, v)| **v > 0.0)
                .map(|(k, &v)| (self.problem.vars[k].material, v)),
        );
        f.qs = self
            .problem
            .qs
            .and_then(|q| f.position(self.problem.vars[q].material));
        f
    }

    /// Take the predictions of the last batch.
    /// Take every member's predictions of the last batch: the refinement models each member,
    /// so it can find where they agree (a cautious goal's spread); the ensemble is their mean
    /// and spread, as [`Search::tell`] takes it.
    pub fn tell_members(&mut self, members: &[Prediction]) {
        if let Some(first) = members.first() {
            let t = first.targets;
            self.members = Some(
                (0..first.rows)
                    .map(|r| {
                        members
                            .iter()
                            .flat_map(|m| m.values[r * t..(r + 1) * t].iter().copied())
                            .collect()
                    })
                    .collect(),
            );
        }
        self.tell(&Prediction::ensemble(members));
    }

    pub fn tell(&mut self, p: &Prediction) {
        let Some((why, rows)) = self.pending.take() else {
            return;
        };
        self.evaluations += rows.len();
        let scored: Vec<Scored> = rows
            .into_iter()
            .enumerate()
            .map(|(r, (x, c))| self.score(x, c, p, r))
            .collect();
        match why {
            Pending::Screen { from } => {
                if let Phase::Screen { scores, .. } = &mut self.phase {
                    for (k, s) in scored.iter().enumerate() {
                        scores[from + k] = s.score - s.violation;
                    }
                }
            }
            Pending::Population => {
                self.archive
                    .extend(scored.iter().filter(|s| s.feasible()).cloned());
                self.population = scored;
            }
            Pending::Trials => {
                let trials = std::mem::take(&mut self.trials);
                for (i, (s, g)) in scored.into_iter().zip(trials).enumerate() {
                    if s.feasible() {
                        self.archive.push(s.clone());
                    }
                    if !self.population[i].better_than(&s) {
                        self.population[i] = s;
                        self.genes[i] = g;
                    }
                }
                self.generation += 1;
                let top = self
                    .population
                    .iter()
                    .filter(|s| s.feasible())
                    .map(|s| s.score)
                    .fold(f64::NEG_INFINITY, f64::max);
                if top > self.best.0 + 1e-9 {
                    self.best = (top, self.generation);
                }
                self.trim_archive();
            }
            Pending::Probes(who) => {
                // Without the members (a driver that gives only the ensemble), the mean
                // stands in for them.
                let members = self.members.take().unwrap_or_else(|| {
                    scored
                        .iter()
                        .map(|s| s.predicted.iter().map(|p| p.0).collect())
                        .collect()
                });
                self.take_probes(&who, &members);
                if let Phase::Refine { probe, .. } = &mut self.phase {
                    *probe = false;
                }
            }
            Pending::Starts => {
                self.steps.extend(scored.iter().map(|_| FIRST_STEP));
                self.polished.extend(scored);
            }
            Pending::Rescreen(outside) => {
                let base = self.polished.first().map_or(0.0, |b| b.score);
                let mut gain: Vec<(f64, usize)> = outside
                    .iter()
                    .zip(&scored)
                    .filter(|(_, s)| s.score > base)
                    .map(|(&k, s)| (s.score - base, k))
                    .collect();
                gain.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                self.pool
                    .extend(gain.iter().take(RESCREEN_KEEP).map(|g| g.1));
                self.pool.sort_unstable();
            }
            Pending::Steps(owners) => {
                self.take_trials(&owners, scored);
                if let Phase::Refine { round, probe } = &mut self.phase {
                    *round += 1;
                    *probe = true;
                    if *round == HALVE_AT && self.halving {
                        self.halve();
                    }
                }
            }
        }
    }

    /// The best distinct recipes found so far (a preview while the search goes on).
    pub fn peek(&self, n: usize) -> Vec<Scored> {
        let mut all: Vec<Scored> = self
            .archive
            .iter()
            .chain(&self.polished)
            .filter(|s| s.feasible())
            .cloned()
            .collect();
        all.sort_by(|a, b| b.desirability.total_cmp(&a.desirability));
        pick_distinct(all, n)
    }

    /// Whether any evaluated recipe met every limit.
    pub fn found_any(&self) -> bool {
        !self.archive.is_empty() || self.polished.iter().any(Scored::feasible)
    }

    /// The evaluated recipe that came nearest to meeting every limit.
    pub fn closest(&self) -> Option<&Scored> {
        self.population
            .iter()
            .chain(&self.polished)
            .min_by(|a, b| a.violation.total_cmp(&b.violation))
    }

    /// The ranked, distinct candidates (the Pareto set when asked for).
    pub fn finish(mut self) -> Vec<Scored> {
        let mut all = std::mem::take(&mut self.polished);
        all.append(&mut self.archive);
        all.retain(Scored::feasible);
        all.sort_by(|a, b| {
            b.desirability
                .total_cmp(&a.desirability)
                .then(b.score.total_cmp(&a.score))
        });
        if self.problem.combine == Combine::Pareto {
            all = pareto(all);
        }
        // Recipes that meet no goal at all are only worth showing when nothing does better.
        if all.iter().any(|s| s.desirability > 0.0) {
            all.retain(|s| s.desirability > 0.0);
        }
        pick_distinct(all, self.problem.candidates)
    }

    fn score(&self, x: Vec<f64>, conditions: Vec<f64>, p: &Prediction, row: usize) -> Scored {
        let pr = &self.problem;
        let t = p.targets;
        let predicted: Vec<(f64, f64)> = (0..t)
            .map(|j| (p.values[row * t + j], p.spread[row * t + j]))
            .collect();
        let (goals, weights) = pr
            .goals(|t| predicted.get(t).copied(), pr.cost(&x), pr.kappa)
            .unwrap_or_default();
        let desirability = combine(&goals, &weights);
        let mut score = search_score(&goals, &weights);
        let f = self.formulation(&x);
        let warnings = self.domain.check(self.manifest, &f, &conditions);
        let mut violation = pr.violation(&x) + structural(pr, &x);
        match pr.domain {
            DomainRule::Hard => {
                violation += warnings
                    .iter()
                    .filter(|w| !matches!(w, Warning::Empty))
                    .count() as f64;
            }
            DomainRule::Penalty => score -= 0.1 * warnings.len() as f64,
            DomainRule::Off => {}
        }
        Scored {
            present: (0..x.len()).filter(|&k| x[k] > 0.0).collect(),
            x,
            conditions,
            predicted,
            goals,
            desirability,
            score,
            violation,
            warnings,
        }
    }

    /// Genes → a recipe that meets the sum, the bounds and the ingredient limit exactly
    /// (when the bounds allow; otherwise the shortfall shows as a violation).
    fn decode(&self, g: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let pr = &self.problem;
        let np = self.pool.len();
        let mut x = vec![0.0; pr.vars.len()];
        // Required materials, then the pool's "on" genes by strength, up to the limit.
        let mut on: Vec<(usize, f64)> = Vec::new();
        let mut optional: Vec<(usize, f64)> = Vec::new();
        for (&v, &gene) in self.pool.iter().zip(g) {
            if pr.vars[v].required {
                on.push((v, 0.05 + gene.clamp(0.0, 1.0)));
            } else if gene >= ON {
                optional.push((v, (gene - ON) / (1.0 - ON) + 0.05));
            }
        }
        optional.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let room = pr.max_ingredients.saturating_sub(on.len());
        on.extend(optional.iter().take(room).copied());
        // Too little reach: add the strongest genes that are off until the maximums can reach
        // 100 % (or the ingredient limit stops it).
        let mut reach: f64 = on.iter().map(|&(v, _)| pr.vars[v].hi).sum();
        if reach < 1.0 {
            let mut off: Vec<(usize, f64)> = self
                .pool
                .iter()
                .zip(g)
                .filter(|(v, _)| !on.iter().any(|(w, _)| w == *v))
                .map(|(&v, &k)| (v, k))
                .collect();
            off.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            for (v, _) in off {
                if reach >= 1.0 || on.len() >= pr.max_ingredients {
                    break;
                }
                on.push((v, 0.05));
                reach += pr.vars[v].hi;
            }
        }
        // The minimums of the materials on must leave room: drop the weakest optional ones
        // until they do (a required one is never dropped).
        while on.iter().map(|&(v, _)| pr.vars[v].lo).sum::<f64>() > 1.0 {
            let weakest = on
                .iter()
                .enumerate()
                .filter(|(_, (v, _))| !pr.vars[*v].required)
                .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
                .map(|(i, _)| i);
            match weakest {
                Some(i) => {
                    on.remove(i);
                }
                None => break,
            }
        }
        let total: f64 = on.iter().map(|(_, w)| w).sum();
        let want: Vec<f64> = on.iter().map(|(_, w)| w / total.max(1e-12)).collect();
        let lo: Vec<f64> = on.iter().map(|&(v, _)| pr.vars[v].lo).collect();
        let hi: Vec<f64> = on.iter().map(|&(v, _)| pr.vars[v].hi).collect();
        let fit = fit_simplex(&want, &lo, &hi);
        for (&(v, _), f) in on.iter().zip(fit) {
            x[v] = f;
        }
        let conditions = pr
            .conditions
            .iter()
            .enumerate()
            .map(|(i, c)| match *c {
                CondVar::Fixed(v) => v,
                CondVar::Free { min, max } => {
                    let j = self
                        .free_conditions
                        .iter()
                        .position(|&f| f == i)
                        .unwrap_or(0);
                    min + g.get(np + j).copied().unwrap_or(0.5).clamp(0.0, 1.0) * (max - min)
                }
            })
            .collect();
        (x, conditions)
    }

    /// A random starting point with few materials on (a handful, up to the ingredient limit):
    /// recipes of every allowed material at once would mostly break the training minimums.
    fn first_genes(&mut self) -> Vec<f64> {
        let np = self.pool.len();
        let optional = self
            .pool
            .iter()
            .filter(|&&v| !self.problem.vars[v].required)
            .count();
        let required = np - optional;
        let most = self
            .problem
            .max_ingredients
            .saturating_sub(required)
            .min(optional)
            .min(8);
        let on = if most == 0 {
            0
        } else {
            1 + self.rng.below(most)
        };
        // Which optional ones are on: a random `on` of them.
        let mut pick: Vec<usize> = (0..np).collect();
        for j in 0..np {
            let k = j + self.rng.below(np - j);
            pick.swap(j, k);
        }
        let mut chosen = vec![false; np];
        let mut count = 0;
        for &j in &pick {
            if count >= on {
                break;
            }
            if !self.problem.vars[self.pool[j]].required {
                chosen[j] = true;
                count += 1;
            }
        }
        let mut g: Vec<f64> = (0..np)
            .map(|j| {
                let u = self.rng.uniform();
                if chosen[j] || self.problem.vars[self.pool[j]].required {
                    ON + u * (1.0 - ON)
                } else {
                    u * ON
                }
            })
            .collect();
        g.extend((0..self.free_conditions.len()).map(|_| self.rng.uniform()));
        g
    }

    /// rand/1/bin trial genes, one per member of the population.
    fn mutants(&mut self) -> Vec<Vec<f64>> {
        let np = self.genes.len();
        let d = self.dims();
        let (f, cr) = (0.6, 0.9);
        (0..np)
            .map(|i| {
                let pick = |rng: &mut Rng, not: &[usize]| loop {
                    let r = rng.below(np);
                    if !not.contains(&r) {
                        break r;
                    }
                };
                let a = pick(&mut self.rng, &[i]);
                let b = pick(&mut self.rng, &[i, a]);
                let c = pick(&mut self.rng, &[i, a, b]);
                let forced = self.rng.below(d);
                (0..d)
                    .map(|j| {
                        if j == forced || self.rng.uniform() < cr {
                            let v = self.genes[a][j] + f * (self.genes[b][j] - self.genes[c][j]);
                            // Reflect into [0, 1].
                            let v = if v < 0.0 {
                                -v
                            } else if v > 1.0 {
                                2.0 - v
                            } else {
                                v
                            };
                            v.clamp(0.0, 1.0)
                        } else {
                            self.genes[i][j]
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// A base recipe plus 10 % of pool variable `k` (screening).
    fn screen_recipe(&self, k: usize) -> (Vec<f64>, Vec<f64>) {
        let pr = &self.problem;
        let mut want = vec![0.0; pr.vars.len()];
        let required: Vec<usize> = (0..pr.vars.len())
            .filter(|&v| pr.vars[v].required)
            .collect();
        for &v in &required {
            want[v] = pr.vars[v].lo.max(0.5 / required.len().max(1) as f64);
        }
        want[k] += 0.1_f64.max(pr.vars[k].lo);
        let on: Vec<usize> = (0..pr.vars.len()).filter(|&v| want[v] > 0.0).collect();
        let fit = fit_simplex(
            &on.iter().map(|&v| want[v]).collect::<Vec<_>>(),
            &on.iter().map(|&v| pr.vars[v].lo).collect::<Vec<_>>(),
            &on.iter().map(|&v| pr.vars[v].hi).collect::<Vec<_>>(),
        );
        let mut x = vec![0.0; pr.vars.len()];
        for (&v, f) in on.iter().zip(fit) {
            x[v] = f;
        }
        let conditions = middle_conditions(pr);
        (x, conditions)
    }

    fn end_screening(&mut self) {
        let Phase::Screen { scores, .. } = &self.phase else {
            return;
        };
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let mut pool: Vec<usize> = (0..self.problem.vars.len())
            .filter(|&v| self.problem.vars[v].required)
            .collect();
        for v in order {
            if pool.len() >= POOL_MAX {
                break;
            }
            if !pool.contains(&v) {
                pool.push(v);
            }
        }
        pool.sort_unstable();
        self.pool = pool;
        self.phase = Phase::Evolve;
    }

    /// Keep the archive to the best few hundred recipes (it feeds the distinct picks).
    fn trim_archive(&mut self) {
        let keep = 40 * self.problem.candidates.max(5);
        if self.archive.len() > 2 * keep {
            // The best, but not all copies of one: what is kept feeds distinct candidates.
            let mut all = std::mem::take(&mut self.archive);
            all.sort_by(|a, b| b.score.total_cmp(&a.score));
            self.archive = pick_apart(all, keep, DISTINCT / 4.0);
        }
    }

    fn distinct(&mut self, n: usize) -> Vec<Scored> {
        let mut all: Vec<Scored> = self.archive.clone();
        all.extend(self.population.iter().filter(|s| s.feasible()).cloned());
        all.sort_by(|a, b| b.score.total_cmp(&a.score));
        pick_distinct(all, n)
    }

    /// A free condition's range (0 for fixed ones).
    fn range(&self, j: usize) -> f64 {
        match self.problem.conditions[j] {
            CondVar::Free { min, max } => max - min,
            CondVar::Fixed(_) => 0.0,
        }
    }

    /// `RANDOM_STARTS` random recipes for the refinement (none for a screened library): the
    /// required materials and a random few others (as many as the ingredient limit allows at
    /// most), amounts from a flat Dirichlet fitted into the bounds; in the hard domain only
    /// ones inside it (a few redraws, then fewer starts).
    fn random_starts(&mut self) -> Vec<Genome> {
        let pr = &self.problem.clone();
        if self.pool.len() < pr.vars.len() || RANDOM_STARTS == 0 {
            return Vec::new();
        }
        let n = pr.vars.len();
        let required: Vec<usize> = (0..n).filter(|&k| pr.vars[k].required).collect();
        let optional: Vec<usize> = (0..n)
            .filter(|&k| !pr.vars[k].required && pr.vars[k].hi > 0.0)
            .collect();
        let room = pr
            .max_ingredients
            .saturating_sub(required.len())
            .min(optional.len());
        let conditions = middle_conditions(pr);
        let mut out = Vec::new();
        for _ in 0..4 * RANDOM_STARTS {
            if out.len() >= RANDOM_STARTS {
                break;
            }
            let mut others = optional.clone();
            self.rng.shuffle(&mut others);
            let take = if room == 0 {
                0
            } else {
                1 + self.rng.below(room)
            };
            let mut on = required.clone();
            on.extend(others.iter().take(take).copied());
            on.sort_unstable();
            let want: Vec<f64> = on
                .iter()
                .map(|_| -libm::log(1.0 - self.rng.uniform()))
                .collect();
            let total: f64 = want.iter().sum::<f64>().max(1e-12);
            let want: Vec<f64> = want.iter().map(|w| w / total).collect();
            let fit = fit_simplex(
                &want,
                &on.iter().map(|&k| pr.vars[k].lo).collect::<Vec<_>>(),
                &on.iter().map(|&k| pr.vars[k].hi).collect::<Vec<_>>(),
            );
            let mut x = vec![0.0; n];
            for (&k, f) in on.iter().zip(fit) {
                x[k] = f;
            }
            let mut c = conditions.clone();
            for (j, cv) in pr.conditions.iter().enumerate() {
                if let CondVar::Free { min, max } = *cv {
                    c[j] = min + self.rng.uniform() * (max - min);
                }
            }
            if structural(pr, &x) > 0.0 {
                continue;
            }
            if pr.domain == DomainRule::Hard
                && self
                    .domain
                    .check(self.manifest, &self.formulation(&x), &c)
                    .iter()
                    .any(|w| !matches!(w, Warning::Empty))
            {
                continue;
            }
            out.push((x, c));
        }
        out
    }

    /// Absent materials of the working pool that may join `s` (in the hard domain: seen in
    /// training with every material present); at the ingredient limit, in place of another.
    fn entrants(&self, s: &Scored) -> Vec<usize> {
        let pr = &self.problem;
        self.pool
            .iter()
            .copied()
            .filter(|&k| s.x[k] == 0.0 && pr.vars[k].hi > 0.0)
            .filter(|&k| {
                pr.domain != DomainRule::Hard || {
                    let mut x = s.x.clone();
                    x[k] = 1e-9;
                    self.domain
                        .check(self.manifest, &self.formulation(&x), &s.conditions)
                        .iter()
                        .all(|w| {
                            !matches!(w, Warning::UnseenPair { .. } | Warning::NeverSeen { .. })
                        })
                }
            })
            .collect()
    }

    /// Per recipe still moving: the recipe itself, one-sided probes of the materials that may
    /// join it, then a probe on both sides of each present material and free condition.
    fn probes(&self) -> (Vec<(usize, Probe)>, Vec<Genome>) {
        let mut who = Vec::new();
        let mut rows = Vec::new();
        for (i, s) in self.polished.iter().enumerate() {
            let r = self.steps[i];
            if r == 0.0 {
                continue;
            }
            who.push((i, Probe::Base));
            rows.push((s.x.clone(), s.conditions.clone()));
            let h = (PROBE * r).max(PROBE_MIN);
            // Materials that may come in: one-sided probes from 0.
            for k in self.entrants(s) {
                let mut x = s.x.clone();
                x[k] = h;
                who.push((i, Probe::Enter(k, h)));
                rows.push((x, s.conditions.clone()));
            }
            for side in [h, -h] {
                for k in (0..s.x.len()).filter(|&k| s.x[k] > 0.0) {
                    let mut x = s.x.clone();
                    x[k] += side;
                    who.push((i, Probe::Amount(k, side)));
                    rows.push((x, s.conditions.clone()));
                }
                for &j in &self.free_conditions {
                    let range = self.range(j);
                    if range > 0.0 {
                        let mut c = s.conditions.clone();
                        c[j] += side * range;
                        who.push((i, Probe::Condition(j, side * range)));
                        rows.push((s.x.clone(), c));
                    }
                }
            }
        }
        (who, rows)
    }

    /// From the probes, each recipe's local linear model of every member's predictions; the
    /// best recipe under that model within the trust radius becomes the trial.
    fn take_probes(&mut self, who: &[(usize, Probe)], members: &[Vec<f64>]) {
        let pr = &self.problem;
        let nc = pr.conditions.len();
        // Per recipe: base outputs and slopes, `[member × target]` flattened.
        let width = members.first().map_or(0, Vec::len);
        let mut local: Vec<Option<Linear>> = vec![None; self.polished.len()];
        let mut entered: Vec<Vec<(usize, f64)>> = vec![Vec::new(); self.polished.len()];
        for (row, &(i, probe)) in who.iter().enumerate() {
            let l = local[i].get_or_insert_with(|| Linear {
                base: Vec::new(),
                dx: HashMap::new(),
                dc: vec![vec![0.0; width]; nc],
            });
            let y = &members[row];
            match probe {
                Probe::Base => l.base = y.clone(),
                // (y(h) − y(0)) / h; the base is taken off once all rows are in.
                Probe::Enter(k, h) => {
                    let dx = l.dx.entry(k).or_insert_with(|| vec![0.0; width]);
                    for (d, v) in dx.iter_mut().zip(y) {
                        *d += v / h;
                    }
                    entered[i].push((k, h));
                }
                // Half of the central difference (y(+h) − y(−h)) / 2h from each side.
                Probe::Amount(k, side) => {
                    let dx = l.dx.entry(k).or_insert_with(|| vec![0.0; width]);
                    for (d, v) in dx.iter_mut().zip(y) {
                        *d += v / (2.0 * side);
                    }
                }
                Probe::Condition(j, side) => {
                    for (d, v) in l.dc[j].iter_mut().zip(y) {
                        *d += v / (2.0 * side);
                    }
                }
            }
        }
        self.next_steps.clear();
        for (i, l) in local.into_iter().enumerate() {
            let Some(mut l) = l else { continue };
            if l.base.is_empty() {
                continue;
            }
            for &(k, h) in &entered[i] {
                let dx = l.dx.entry(k).or_insert_with(|| vec![0.0; width]);
                for (d, b) in dx.iter_mut().zip(&l.base) {
                    *d -= b / h;
                }
            }
            let entrants: Vec<usize> = entered[i].iter().map(|e| e.0).collect();
            let s0 = &self.polished[i];
            let targets = self.manifest.targets.len();
            match refine::step(
                &self.problem,
                &s0.x,
                &s0.conditions,
                &l,
                &entrants,
                &self.free_conditions,
                targets,
                self.steps[i],
            ) {
                Some(step) => self.next_steps.push((i, step)),
                None => self.steps[i] = 0.0,
            }
        }
    }

    /// How far `s` misses the goals it does not meet at all: the weighted sum of their
    /// desirabilities' shortfalls below 0 (0 when every goal is met at least a little).
    fn deficit(&self, s: &Scored) -> f64 {
        let pr = &self.problem;
        let mut short = 0.0;
        for r in &pr.ramps {
            if let Some(&(m, sd)) = s.predicted.get(r.target) {
                short += r.weight * (-r.shape.cautious_reach(m, sd, pr.kappa)).max(0.0);
            }
        }
        if let (Some(r), Some(c)) = (&pr.cost_ramp, pr.cost(&s.x)) {
            short += r.weight * (-r.shape.reach(c)).max(0.0);
        }
        short
    }

    /// Whether a refinement step `s` is better than the recipe `old` it moved from: Deb's rule
    /// on the score, except between two feasible recipes with desirability 0, which compare by
    /// how far they miss (so a step can climb towards meeting every goal).
    fn improves(&self, s: &Scored, old: &Scored) -> bool {
        if s.feasible() && old.feasible() && s.desirability == 0.0 && old.desirability == 0.0 {
            let (a, b) = (self.deficit(s), self.deficit(old));
            if a != b {
                return a < b;
            }
        }
        s.better_than(old)
    }

    /// Successive halving: of the recipes still moving, the better half goes on.
    fn halve(&mut self) {
        let key = |s: &Scored| {
            if s.feasible() {
                s.score
            } else {
                -1.0 - s.violation
            }
        };
        let mut moving: Vec<usize> = (0..self.polished.len())
            .filter(|&i| self.steps[i] > 0.0)
            .collect();
        moving.sort_by(|&a, &b| {
            key(&self.polished[b])
                .total_cmp(&key(&self.polished[a]))
                .then(a.cmp(&b))
        });
        for &i in &moving[moving.len().div_ceil(2)..] {
            self.steps[i] = 0.0;
        }
    }

    /// The trials, predicted: keep each when it beats its recipe and widen the radius; else
    /// narrow it fourfold (done below `LAST_STEP`).
    fn take_trials(&mut self, owners: &[usize], scored: Vec<Scored>) {
        self.since
            .resize(self.polished.len(), (f64::NEG_INFINITY, 0));
        for (&i, s) in owners.iter().zip(scored) {
            // A recipe that has gained less than `GAIN` in `PATIENCE` rounds is done (one
            // still climbing towards meeting its goals or limits is never stopped so).
            let (mark, rounds) = self.since[i];
            let climbing = !s.feasible() || s.desirability == 0.0;
            self.since[i] = if climbing || s.score > mark + GAIN {
                (s.score, 0)
            } else {
                (mark, rounds + 1)
            };
            let improved = self.improves(&s, &self.polished[i]);
            if improved {
                self.polished[i] = s;
            }
            self.steps[i] = if self.since[i].1 >= PATIENCE {
                0.0
            } else if improved {
                (self.steps[i] * 2.0).min(0.2)
            } else if self.steps[i] / 4.0 < LAST_STEP {
                0.0
            } else {
                self.steps[i] / 4.0
            };
        }
        // Two starts that have met go on as one: the worse (or the later, when as good) stops.
        for i in 0..self.polished.len() {
            if self.steps[i] == 0.0 {
                continue;
            }
            let a = &self.polished[i];
            let met = self.polished.iter().enumerate().any(|(j, b)| {
                j != i
                    && (b.better_than(a) || (j < i && !a.better_than(b)))
                    && a.distance(b) < MET
                    && a.conditions
                        .iter()
                        .zip(&b.conditions)
                        .all(|(x, y)| (x - y).abs() <= MET * x.abs().max(y.abs()).max(1e-9))
            });
            if met {
                self.steps[i] = 0.0;
            }
        }
    }
}

#[cfg(test)]
impl Search<'_> {
    /// Skip the global phase: refine from `starts` (recipe, conditions), scored from the
    /// members' predictions of their rows, each to its end (no halving).
    pub(super) fn refine_from(&mut self, starts: Vec<Genome>, members: &[Prediction]) {
        let p = Prediction::ensemble(members);
        self.polished = starts
            .into_iter()
            .enumerate()
            .map(|(r, (x, c))| self.score(x, c, &p, r))
            .collect();
        self.steps = vec![FIRST_STEP; self.polished.len()];
        self.halving = false;
        self.phase = Phase::Refine {
            round: 0,
            probe: true,
        };
    }

    /// The refined recipes, in the order of their starts.
    pub(super) fn polished(&self) -> &[Scored] {
        &self.polished
    }
}

/// The conditions as fixed, the free ones at the middle of their range.
fn middle_conditions(pr: &Problem) -> Vec<f64> {
    (pr.conditions.iter())
        .map(|c| match *c {
            CondVar::Fixed(v) => v,
            CondVar::Free { min, max } => 0.5 * (min + max),
        })
        .collect()
}

/// How far a recipe misses the mass balance or its bounds (0 when it meets them).
fn structural(pr: &Problem, x: &[f64]) -> f64 {
    let sum: f64 = x.iter().sum();
    let mut v = (sum - 1.0).abs();
    let mut count = 0;
    for (var, &f) in pr.vars.iter().zip(x) {
        if f > 0.0 {
            count += 1;
            v += (var.lo - f).max(0.0) + (f - var.hi).max(0.0);
        } else if var.required && var.lo > 0.0 {
            v += var.lo;
        }
    }
    if count > pr.max_ingredients {
        v += (count - pr.max_ingredients) as f64;
    }
    if v < 1e-9 { 0.0 } else { v }
}

/// The fractions nearest `want` (in the shift sense) with `lo ≤ x ≤ hi` summing to 1: a
/// bisection on λ in `x = clamp(want + λ, lo, hi)`. When the bounds cannot sum to 1 the
/// nearest end is returned (and the shortfall is a violation).
pub fn fit_simplex(want: &[f64], lo: &[f64], hi: &[f64]) -> Vec<f64> {
    let at = |lambda: f64| -> Vec<f64> {
        want.iter()
            .zip(lo.iter().zip(hi))
            .map(|(w, (l, h))| (w + lambda).clamp(*l, *h))
            .collect()
    };
    let sum = |x: &[f64]| x.iter().sum::<f64>();
    let (mut a, mut b) = (-2.0, 2.0);
    if sum(&at(a)) > 1.0 {
        return at(a);
    }
    if sum(&at(b)) < 1.0 {
        return at(b);
    }
    for _ in 0..100 {
        let m = 0.5 * (a + b);
        if sum(&at(m)) < 1.0 {
            a = m;
        } else {
            b = m;
        }
    }
    let mut x = at(0.5 * (a + b));
    // Put the last rounding on a member with room, so the sum is 1 to machine precision.
    let err = 1.0 - sum(&x);
    if let Some(k) = (0..x.len()).find(|&k| x[k] + err >= lo[k] && x[k] + err <= hi[k]) {
        x[k] += err;
    }
    x
}

/// The recipes no other dominates on every goal's desirability.
fn pareto(all: Vec<Scored>) -> Vec<Scored> {
    let dominated = |a: &Scored, b: &Scored| {
        b.goals.iter().zip(&a.goals).all(|(y, x)| y >= x)
            && b.goals.iter().zip(&a.goals).any(|(y, x)| y > x)
    };
    let front: Vec<Scored> = all
        .iter()
        .filter(|a| !all.iter().any(|b| dominated(a, b)))
        .cloned()
        .collect();
    front
}

/// The first `n` recipes of `sorted` that are not within `DISTINCT` of one already taken.
fn pick_distinct(sorted: Vec<Scored>, n: usize) -> Vec<Scored> {
    pick_apart(sorted, n, DISTINCT)
}

/// The first `n` recipes of `sorted` at least `apart` (L1) from every one taken before.
fn pick_apart(sorted: Vec<Scored>, n: usize, apart: f64) -> Vec<Scored> {
    let mut out: Vec<Scored> = Vec::new();
    for s in sorted {
        if out.len() >= n {
            break;
        }
        let near = out.iter().any(|o| {
            let d = o.distance(&s);
            let dc: f64 = o
                .conditions
                .iter()
                .zip(&s.conditions)
                .map(|(a, b)| (a - b).abs() / a.abs().max(b.abs()).max(1e-9))
                .sum();
            d < apart && dc < 0.05
        });
        if !near {
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplex_fit_meets_sum_and_bounds() {
        let x = fit_simplex(&[0.7, 0.7, 0.1], &[0.0, 0.0, 0.2], &[1.0, 0.5, 1.0]);
        assert!((x.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{x:?}");
        assert!(x[1] <= 0.5 && x[2] >= 0.2, "{x:?}");
        // Bounds that cannot reach 1: the nearest end.
        let y = fit_simplex(&[0.5, 0.5], &[0.0, 0.0], &[0.2, 0.3]);
        assert_eq!(y, vec![0.2, 0.3]);
    }
}
