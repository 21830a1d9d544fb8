//! One step of the refinement: sequential linear programming in a trust region.
//!
//! Near a recipe every ensemble member's prediction is linear in the amounts and the free
//! conditions (slopes from central differences). Each goal's desirability is the smallest of
//! a few pieces, each affine in a target's mean and spread (the cautious end, the two sides of
//! a target value); the overall desirability is their weighted geometric mean. Maximising its
//! logarithm is then an LP — `max Σ w·u` with `u_g ≤ log piece` linearised for every piece —
//! under the sum, the bounds, the group/linear limits and the cost limit, which are linear
//! already. The LP sees every kink at once (where the mean sits on a target value while the
//! spread may still fall), which pairwise or random moves only stumble on. microlp solves it:
//! a few dozen variables, pure Rust, the same answer in wasm. A cautious goal's spread is a
//! variable of its own, bounded below by cuts of the norm of the members' deviations (it is a
//! cone, whose tip its tangent alone does not see); a goal at 0 follows the logarithm's tangent
//! at `FLOOR`; an optional material at its minimum may leave.

use std::collections::HashMap;

use microlp::{ComparisonOp, OptimizationDirection, Problem as Lp, SolveOutcome};

use super::goal::{Ramp, Shape};
use super::problem::{CondVar, Problem};

/// Every member's predictions near a recipe: outputs `[member × target]` at the recipe and
/// their slopes per probed pool variable (a few of possibly thousands) and per condition
/// (per unit of the condition).
#[derive(Clone)]
pub(super) struct Linear {
    pub base: Vec<f64>,
    pub dx: HashMap<usize, Vec<f64>>,
    pub dc: Vec<Vec<f64>>,
}

/// Where a goal's piece is at or below 0, the LP follows the logarithm's tangent here.
const FLOOR: f64 = 0.01;

/// `const + a_m·mean + a_s·spread` (for the cost goal, `a_m` multiplies the cost).
struct Piece {
    constant: f64,
    a_m: f64,
    a_s: f64,
}

/// The pieces whose minimum (and 1) is the goal's desirability: for κ ≥ 0 the worse end of
/// `mean ± κ·spread`, for κ < 0 (optimistic) the better one.
fn pieces(shape: Shape, kappa: f64) -> Vec<Piece> {
    match shape {
        Shape::Rising { low, high } => {
            let span = high - low;
            let toward = span.signum();
            vec![Piece {
                constant: -low / span,
                a_m: 1.0 / span,
                a_s: -kappa * toward / span,
            }]
        }
        Shape::Plateau { min, max, margin } if margin > 0.0 => vec![
            Piece {
                constant: 1.0 - min / margin,
                a_m: 1.0 / margin,
                a_s: -kappa / margin,
            },
            Piece {
                constant: 1.0 + max / margin,
                a_m: -1.0 / margin,
                a_s: -kappa / margin,
            },
        ],
        Shape::Plateau { .. } => Vec::new(),
    }
}

/// The best recipe under the local model within radius `r` (mass per material; share of the
/// range per condition), or `None` when the model gives no step (a goal at 0, a plateau
/// without margin, an LP the solver refuses).
///
/// `entrants` are absent materials that may come in (from 0, as far as the radius allows);
/// one that the LP gives less than its smallest amount is dropped or raised to it, and past
/// the ingredient limit only the largest stay.
#[allow(clippy::too_many_arguments)]
pub(super) fn step(
    pr: &Problem,
    x0: &[f64],
    c0: &[f64],
    l: &Linear,
    entrants: &[usize],
    free: &[usize],
    targets: usize,
    r: f64,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let present = (0..x0.len()).filter(|&k| x0[k] > 0.0).count();
    if present == 0 {
        return None;
    }
    // The amounts that move: the recipe's materials, then the entrants.
    let support: Vec<usize> = (0..x0.len())
        .filter(|&k| x0[k] > 0.0)
        .chain(entrants.iter().copied())
        .collect();
    let conds: Vec<(usize, f64, f64)> = free
        .iter()
        .filter_map(|&j| match pr.conditions[j] {
            CondVar::Free { min, max } if max > min => Some((j, min, max)),
            _ => None,
        })
        .collect();
    let members = l.base.len() / targets.max(1);
    if members == 0 {
        return None;
    }
    let k = members as f64;
    // Per target: mean and spread, and their slopes per coordinate (support, then
    // conditions per unit of range).
    let coords = support.len() + conds.len();
    let slope = |m: usize, t: usize, c: usize| -> f64 {
        if c < support.len() {
            l.dx[&support[c]][m * targets + t]
        } else {
            let (j, min, max) = conds[c - support.len()];
            l.dc[j][m * targets + t] * (max - min)
        }
    };
    let mut stats = Vec::with_capacity(targets);
    // Per target: the members' deviations from the mean and their slopes `[member][coord]`.
    let mut deviations: Vec<(Vec<f64>, Vec<Vec<f64>>)> = Vec::with_capacity(targets);
    for t in 0..targets {
        let ys: Vec<f64> = (0..members).map(|m| l.base[m * targets + t]).collect();
        let mean = ys.iter().sum::<f64>() / k;
        let gm: Vec<f64> = (0..coords)
            .map(|c| (0..members).map(|m| slope(m, t, c)).sum::<f64>() / k)
            .collect();
        deviations.push((
            ys.iter().map(|y| y - mean).collect(),
            (0..members)
                .map(|m| (0..coords).map(|c| slope(m, t, c) - gm[c]).collect())
                .collect(),
        ));
        let (spread, gs) = if members > 1 {
            let s = (ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
            let gs = (0..coords)
                .map(|c| {
                    if s < 1e-12 {
                        return 0.0;
                    }
                    (0..members)
                        .map(|m| (ys[m] - mean) * (slope(m, t, c) - gm[c]))
                        .sum::<f64>()
                        / ((k - 1.0) * s)
                })
                .collect();
            (s, gs)
        } else {
            (0.0, vec![0.0; coords])
        };
        stats.push((mean, spread, gm, gs));
    }

    // An optional material at its minimum may leave when the radius reaches 0 (semi-continuous:
    // the LP sees the way down to 0, and the result is rounded to 0 or back up to the minimum,
    // as for an entrant). A material a recipe only needs to lose (a costly additive held at its
    // training minimum) otherwise stays for good.
    let leaves = |a: usize| {
        let v = &pr.vars[a];
        !v.required && v.lo > 0.0 && v.lo <= r && x0[a] - v.lo <= 1e-12
    };
    let mut lp = Lp::new(OptimizationDirection::Maximize);
    let vars: Vec<_> = (0..coords)
        .map(|c| {
            if c < support.len() {
                let a = support[c];
                let v = &pr.vars[a];
                let floor = if c < present && !leaves(a) { v.lo } else { 0.0 };
                let lo = floor.max(x0[a] - r) - x0[a];
                let hi = v.hi.min(x0[a] + r) - x0[a];
                lp.add_var(0.0, (lo.min(0.0), hi.max(0.0)))
            } else {
                let (j, min, max) = conds[c - support.len()];
                let span = max - min;
                let lo = (min.max(c0[j] - r * span) - c0[j]) / span;
                let hi = (max.min(c0[j] + r * span) - c0[j]) / span;
                lp.add_var(0.0, (lo.min(0.0), hi.max(0.0)))
            }
        })
        .collect();
    // Σ Δx = 0: the sum stays 1.
    let amounts: Vec<(microlp::Variable, f64)> =
        (0..support.len()).map(|c| (vars[c], 1.0)).collect();
    lp.add_constraint(amounts.as_slice(), ComparisonOp::Eq, 0.0);
    // Group and linear limits, the cost limit: linear in the amounts already.
    let support_term = |terms: &[(usize, f64)]| -> (Vec<(microlp::Variable, f64)>, f64) {
        let mut at = 0.0;
        let mut out = Vec::new();
        for &(k, coef) in terms {
            at += coef * x0[k];
            if let Some(c) = support.iter().position(|&a| a == k) {
                out.push((vars[c], coef));
            }
        }
        (out, at)
    };
    for row in &pr.rows {
        let (expr, at) = support_term(&row.terms);
        if expr.is_empty() {
            continue;
        }
        if row.max.is_finite() {
            lp.add_constraint(expr.as_slice(), ComparisonOp::Le, row.max - at);
        }
        if row.min.is_finite() {
            lp.add_constraint(expr.as_slice(), ComparisonOp::Ge, row.min - at);
        }
    }
    let price_terms: Option<Vec<(usize, f64)>> = pr
        .price
        .as_ref()
        .map(|p| support.iter().map(|&a| (a, p[a])).collect());
    if let (Some(limit), Some(terms)) = (pr.cost_max, &price_terms) {
        let (expr, at) = support_term(terms);
        lp.add_constraint(expr.as_slice(), ComparisonOp::Le, limit - at);
    }

    // A cautious goal's spread, per target: a variable bounded below by cuts of the norm of
    // the members' linearised deviations `v = e + E·Δ` (spread = ‖v‖₂ / √(k − 1)): the
    // tangent at the recipe (`e / ‖e‖`: the spread's own slope, exact at Δ = 0) and each
    // member alone (‖v‖₂ ≥ |v_m|). The norm is a cone whose tip — every member agreeing — is
    // where a target value is met exactly; its tangent alone cannot see the tip (it goes below
    // 0 along one direction and misses the members' other disagreements), so the steps stalled
    // a few hundredths of an MPa of spread short of it on concrete. The cuts are a lower bound,
    // tight at the recipe: near the tip the LP takes a Gauss–Newton (L∞) step on the members'
    // residuals, away from it the old step.
    let cautious = pr.kappa > 0.0 && members > 1;
    let mut spread_var: Vec<Option<microlp::Variable>> = vec![None; targets];
    if cautious {
        let root = (k - 1.0).sqrt();
        for ramp in &pr.ramps {
            let t = ramp.target;
            if spread_var[t].is_some() {
                continue;
            }
            let s = lp.add_var(0.0, (0.0, f64::INFINITY));
            spread_var[t] = Some(s);
            let (e, de) = &deviations[t];
            // s ≥ a·(e + E·Δ) / √(k − 1)  ⇔  s − Σ_c (a·E_c / √(k − 1)) Δ_c ≥ a·e / √(k − 1).
            let mut cut = |a: &[f64]| {
                let mut expr: Vec<(microlp::Variable, f64)> = vec![(s, 1.0)];
                for (c, &v) in vars.iter().enumerate().take(coords) {
                    let g: f64 = a.iter().zip(de).map(|(a, d)| a * d[c]).sum();
                    if g != 0.0 {
                        expr.push((v, -g / root));
                    }
                }
                let at: f64 = a.iter().zip(e).map(|(a, e)| a * e).sum();
                lp.add_constraint(expr.as_slice(), ComparisonOp::Ge, at / root);
            };
            let norm = e.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 1e-12 {
                let a: Vec<f64> = e.iter().map(|v| v / norm).collect();
                cut(&a);
            }
            for m in 0..members {
                for side in [1.0, -1.0] {
                    let mut a = vec![0.0; members];
                    a[m] = side;
                    cut(&a);
                }
            }
        }
    }

    // One u per goal: u ≤ 0 (desirability ≤ 1) and u ≤ log p + (∇p / p)·Δ per piece (and,
    // for a cautious goal, + (a_s / p)·(s − s₀) on its spread variable).
    let mut goal = |ramp: &Ramp,
                    kappa: f64,
                    spread: Option<(microlp::Variable, f64)>,
                    value: &dyn Fn(&Piece) -> (f64, Vec<f64>)|
     -> bool {
        let u = lp.add_var(ramp.weight, (f64::NEG_INFINITY, 0.0));
        for piece in pieces(ramp.shape, kappa) {
            let (p0, grad) = value(&piece);
            // A piece at or below 0 (the goal not met at all): the logarithm's tangent at
            // `FLOOR` instead, steep, so the step first lifts the goal off 0.
            let (at, slope) = if p0 > 1e-12 {
                (p0.ln(), 1.0 / p0)
            } else {
                (libm::log(FLOOR) + (p0 - FLOOR) / FLOOR, 1.0 / FLOOR)
            };
            if !at.is_finite() {
                return false;
            }
            let mut expr: Vec<(microlp::Variable, f64)> = vec![(u, 1.0)];
            expr.extend(vars.iter().zip(&grad).map(|(&v, g)| (v, -g * slope)));
            let mut rhs = at;
            if let Some((s, s0)) = spread {
                expr.push((s, -piece.a_s * slope));
                rhs -= piece.a_s * s0 * slope;
            }
            lp.add_constraint(expr.as_slice(), ComparisonOp::Le, rhs);
        }
        true
    };
    for ramp in &pr.ramps {
        let (mean, spread, gm, gs) = &stats[ramp.target];
        let var = spread_var[ramp.target].map(|s| (s, *spread));
        let ok = goal(ramp, pr.kappa, var, &|p: &Piece| {
            (
                p.constant + p.a_m * mean + p.a_s * spread,
                gm.iter()
                    .zip(gs)
                    .map(|(m, s)| p.a_m * m + if var.is_some() { 0.0 } else { p.a_s * s })
                    .collect(),
            )
        });
        if !ok {
            return None;
        }
    }
    if let (Some(ramp), Some(terms)) = (&pr.cost_ramp, &price_terms) {
        let cost: f64 = terms.iter().map(|&(a, p)| p * x0[a]).sum();
        let grad: Vec<f64> = (0..coords)
            .map(|c| if c < support.len() { terms[c].1 } else { 0.0 })
            .collect();
        let ok = goal(ramp, 0.0, None, &|p: &Piece| {
            (
                p.constant + p.a_m * cost,
                grad.iter().map(|g| p.a_m * g).collect(),
            )
        });
        if !ok {
            return None;
        }
    }
    let SolveOutcome::Solution(solution) = lp.solve().ok()? else {
        return None;
    };
    let mut x = x0.to_vec();
    for (c, &a) in support.iter().enumerate() {
        let v = &pr.vars[a];
        let f = x0[a] + solution[vars[c]];
        x[a] = if (c >= present || leaves(a)) && f < 0.5 * v.lo.max(1e-9) {
            0.0
        } else {
            f.clamp(v.lo, v.hi)
        };
    }
    // Past the ingredient limit the smallest optional amounts leave (an entrant may so
    // replace a material: a swap).
    let mut on: Vec<usize> = support.iter().copied().filter(|&a| x[a] > 0.0).collect();
    if on.len() > pr.max_ingredients {
        on.sort_by(|&a, &b| {
            pr.vars[b]
                .required
                .cmp(&pr.vars[a].required)
                .then(x[b].total_cmp(&x[a]))
                .then(a.cmp(&b))
        });
        for &a in &on[pr.max_ingredients..] {
            x[a] = 0.0;
        }
    }
    // The sum exactly 1 (the solver's rounding on the largest amount).
    let total: f64 = x.iter().sum();
    if let Some(&a) = support.iter().max_by(|&&a, &&b| x[a].total_cmp(&x[b])) {
        x[a] += 1.0 - total;
    }
    let mut c = c0.to_vec();
    for (n, &(j, min, max)) in conds.iter().enumerate() {
        c[j] = (c0[j] + solution[vars[support.len() + n]] * (max - min)).clamp(min, max);
    }
    Some((x, c))
}
