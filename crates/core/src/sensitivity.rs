//! How much each prediction moves per +1 % of a material: the one definition behind the
//! editor's sensitivity bars and the explorer's sensitivity colouring.
//!
//! "+1 % of m" is what the editor's slider does: the material's fraction rises by one
//! percentage point and the q.s. material gives the room (without one, the unlocked others
//! shrink in proportion). A material not in the formulation enters at 1 %. A material that
//! cannot rise (locked, the q.s. itself, no room left) has no sensitivity.

use crate::bundle::Manifest;
use crate::formulation::{Formulation, batch_of};
use crate::model::{Batch, Prediction};

/// The step: one percentage point.
pub const STEP: f64 = 0.01;

/// The formulations to predict: the current one, then one per material that can take +1 %.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub base: Formulation,
    /// (material index in the model, the formulation with +1 % of it).
    pub moves: Vec<(usize, Formulation)>,
}

impl Plan {
    /// The plan for `materials` (indices into the model's materials) from `base`.
    pub fn new(base: &Formulation, materials: impl IntoIterator<Item = usize>) -> Plan {
        let moves = materials
            .into_iter()
            .filter_map(|m| {
                let mut f = base.clone();
                let i = match f.position(m) {
                    Some(i) => i,
                    None => f.add(m, "").ok()?,
                };
                f.nudged(i, STEP).map(|g| (m, g))
            })
            .collect();
        Plan {
            base: base.clone(),
            moves,
        }
    }

    /// One batch: row 0 the base, row `1 + k` the `k`-th move.
    pub fn batch(&self, manifest: &Manifest, conditions: &[f64]) -> Batch {
        let rows = std::iter::once(&self.base).chain(self.moves.iter().map(|(_, f)| f));
        batch_of(manifest, rows, conditions)
    }

    /// Per target, per move: the prediction's change (in the target's own units) from the
    /// prediction of [`Plan::batch`].
    pub fn deltas(&self, p: &Prediction) -> Vec<Vec<f64>> {
        (0..p.targets)
            .map(|t| {
                let base = p.values[t];
                (1..=self.moves.len())
                    .map(|r| p.values[r * p.targets + t] - base)
                    .collect()
            })
            .collect()
    }

    /// Per target, a value for every one of `n` materials: the change, or `None` where the
    /// material cannot take +1 %.
    pub fn per_material(&self, p: &Prediction, n: usize) -> Vec<Vec<Option<f64>>> {
        self.deltas(p)
            .into_iter()
            .map(|d| {
                let mut out = vec![None; n];
                for ((m, _), v) in self.moves.iter().zip(d) {
                    if let Some(slot) = out.get_mut(*m) {
                        *slot = Some(v);
                    }
                }
                out
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formulation::Formulation;

    fn form(pairs: &[(usize, f64)], qs: Option<usize>) -> Formulation {
        let mut f = Formulation::from_fractions(pairs.iter().copied());
        f.qs = qs;
        f
    }

    #[test]
    fn the_qs_material_gives_the_room() {
        // Materials 0 (q.s., 70 %), 1 (20 %), 2 (10 %); material 3 not in the formulation.
        let base = form(&[(0, 0.7), (1, 0.2), (2, 0.1)], Some(0));
        let plan = Plan::new(&base, 0..4);
        let moved: Vec<usize> = plan.moves.iter().map(|(m, _)| *m).collect();
        assert_eq!(
            moved,
            vec![1, 2, 3],
            "the q.s. material itself cannot take +1 %"
        );
        let (_, f) = &plan.moves[0];
        let frac = |f: &Formulation, m: usize| f.rows[f.position(m).unwrap()].fraction;
        assert!((frac(f, 1) - 0.21).abs() < 1e-12);
        assert!((frac(f, 0) - 0.69).abs() < 1e-12);
        assert!((frac(f, 2) - 0.1).abs() < 1e-12);
        let (_, new) = &plan.moves[2];
        assert!((frac(new, 3) - 0.01).abs() < 1e-12);
        assert!((new.total() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn without_qs_the_others_shrink_in_proportion_and_locked_rows_stay() {
        let mut base = form(&[(0, 0.5), (1, 0.3), (2, 0.2)], None);
        base.set_locked(2, true).unwrap();
        let plan = Plan::new(&base, 0..3);
        let moved: Vec<usize> = plan.moves.iter().map(|(m, _)| *m).collect();
        assert_eq!(moved, vec![0, 1]);
        let (_, f) = &plan.moves[0];
        assert!((f.rows[0].fraction - 0.51).abs() < 1e-12);
        assert!((f.rows[1].fraction - 0.29).abs() < 1e-12);
        assert_eq!(f.rows[2].fraction, 0.2);
    }

    #[test]
    fn deltas_line_up_with_the_moves() {
        let base = form(&[(0, 0.6), (1, 0.4)], Some(0));
        let plan = Plan::new(&base, [2, 1]);
        // Two targets; rows: base, +1 % of 2, +1 % of 1.
        let p = Prediction {
            rows: 3,
            targets: 2,
            values: vec![1.0, 10.0, 1.5, 9.0, 0.5, 12.0],
            spread: vec![0.0; 6],
        };
        assert_eq!(plan.deltas(&p), vec![vec![0.5, -0.5], vec![-1.0, 2.0]]);
        let per = plan.per_material(&p, 3);
        assert_eq!(per[0], vec![None, Some(-0.5), Some(0.5)]);
    }
}
