//! The editor's formulation: fractions that always sum to 1. One row may be q.s. (the balance,
//! like "water q.s. to 100 %"), which absorbs every change; without one, the other unlocked rows
//! rescale in proportion. Setting a row never produces an impossible state: the value is clamped
//! and the reason is returned, so the UI can say why a slider stops.

use thiserror::Error;

use crate::bundle::Manifest;
use crate::model::Batch;

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Index of the material in the bundle's list.
    pub material: usize,
    pub fraction: f64,
    pub locked: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Formulation {
    pub rows: Vec<Row>,
    /// Row index of the q.s. (balance) material, if any.
    pub qs: Option<usize>,
}

/// Why a requested value could not be applied in full.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum Limit {
    #[error("this row is locked")]
    Locked,
    #[error("the q.s. row takes whatever the others leave")]
    IsQs,
    #[error("the q.s. row is at 0 %")]
    QsEmpty,
    #[error("locked rows hold {0:.2} %, leaving at most {1:.2} % for this one")]
    LockedMass(f64, f64),
    #[error("no other unlocked row can take up the change")]
    NothingToRescale,
    #[error("a fraction cannot be negative")]
    Negative,
}

impl Formulation {
    pub fn total(&self) -> f64 {
        self.rows.iter().map(|r| r.fraction).sum()
    }

    /// Set row `i` to `value` (a fraction); returns the value actually applied and, if it was
    /// clamped, why.
    pub fn set(&mut self, i: usize, value: f64) -> (f64, Option<Limit>) {
        let Some(row) = self.rows.get(i) else {
            return (0.0, Some(Limit::NothingToRescale));
        };
        let current = row.fraction;
        if row.locked {
            return (current, Some(Limit::Locked));
        }
        if self.qs == Some(i) {
            return (current, Some(Limit::IsQs));
        }
        let (mut v, mut limit) = if value.is_nan() || value < 0.0 {
            (0.0, Some(Limit::Negative))
        } else {
            (value, None)
        };
        match self.qs {
            Some(q) => {
                // The q.s. row absorbs: it may fall to 0, no further.
                let max = current + self.rows[q].fraction;
                if v > max {
                    v = max;
                    limit = Some(Limit::QsEmpty);
                }
                self.rows[q].fraction = max - v;
                self.rows[i].fraction = v;
            }
            None => {
                let locked: f64 = self
                    .rows
                    .iter()
                    .enumerate()
                    .filter(|(j, r)| *j != i && r.locked)
                    .map(|(_, r)| r.fraction)
                    .sum();
                let free: Vec<usize> = (0..self.rows.len())
                    .filter(|&j| j != i && !self.rows[j].locked)
                    .collect();
                if free.is_empty() {
                    return (current, Some(Limit::NothingToRescale));
                }
                let max = (1.0 - locked).max(0.0);
                if v > max {
                    v = max;
                    limit = Some(Limit::LockedMass(100.0 * locked, 100.0 * max));
                }
                let others: f64 = free.iter().map(|&j| self.rows[j].fraction).sum();
                let target = max - v;
                for &j in &free {
                    self.rows[j].fraction = if others > 0.0 {
                        self.rows[j].fraction * target / others
                    } else {
                        // All others at 0: share the freed mass equally.
                        target / free.len() as f64
                    };
                }
                self.rows[i].fraction = v;
            }
        }
        (v, limit)
    }
}

/// Why an edit other than a value change was refused.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum EditError {
    #[error("{0} is already in the formulation")]
    AlreadyThere(String),
    #[error("no such row")]
    NoRow,
    #[error("removing it would leave {0:.2} % that no unlocked row can take up")]
    NoTaker(f64),
    #[error("a locked row cannot be the q.s. row")]
    QsLocked,
}

impl Formulation {
    /// Rows from `(material, fraction)` pairs, renormalised to sum to 1 (if they sum to more
    /// than 0), no q.s., nothing locked.
    pub fn from_fractions(pairs: impl IntoIterator<Item = (usize, f64)>) -> Formulation {
        let mut rows: Vec<Row> = pairs
            .into_iter()
            .map(|(material, fraction)| Row {
                material,
                fraction: fraction.max(0.0),
                locked: false,
            })
            .collect();
        let total: f64 = rows.iter().map(|r| r.fraction).sum();
        if total > 0.0 {
            rows.iter_mut().for_each(|r| r.fraction /= total);
        }
        Formulation { rows, qs: None }
    }

    /// The manifest's default formulation, in the manifest's material order, with the largest
    /// row (typically water or the base) as q.s.
    pub fn default_of(manifest: &Manifest) -> Formulation {
        Self::from_named(manifest, &manifest.default_formulation)
    }

    /// From a name → fraction map (an example, the default); unknown names are skipped (the
    /// bundle loader has already refused them). The largest row becomes q.s.
    pub fn from_named<'a>(
        manifest: &Manifest,
        named: impl IntoIterator<Item = (&'a String, &'a f64)>,
    ) -> Formulation {
        let mut pairs: Vec<(usize, f64)> = named
            .into_iter()
            .filter_map(|(name, &f)| manifest.material_index(name).map(|i| (i, f)))
            .filter(|&(_, f)| f > 0.0)
            .collect();
        pairs.sort_by_key(|&(i, _)| i);
        let mut f = Self::from_fractions(pairs);
        f.qs = f
            .rows
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.fraction.total_cmp(&b.1.fraction))
            .map(|(i, _)| i);
        f
    }

    /// Row index of a material, if it is in the formulation.
    pub fn position(&self, material: usize) -> Option<usize> {
        self.rows.iter().position(|r| r.material == material)
    }

    /// Add a material at 0 % (the sum is unchanged).
    pub fn add(&mut self, material: usize, name: &str) -> Result<usize, EditError> {
        if self.position(material).is_some() {
            return Err(EditError::AlreadyThere(name.to_string()));
        }
        self.rows.push(Row {
            material,
            fraction: 0.0,
            locked: false,
        });
        Ok(self.rows.len() - 1)
    }

    /// Remove row `i`; its mass goes to the q.s. row, or else to the unlocked rows in
    /// proportion. Refused (nothing changes) when no row could take it.
    pub fn remove(&mut self, i: usize) -> Result<(), EditError> {
        let Some(row) = self.rows.get(i) else {
            return Err(EditError::NoRow);
        };
        let mass = row.fraction;
        let others_unlocked: Vec<usize> = (0..self.rows.len())
            .filter(|&j| j != i && !self.rows[j].locked)
            .collect();
        if mass > 0.0 && others_unlocked.is_empty() && self.rows.len() > 1 {
            return Err(EditError::NoTaker(100.0 * mass));
        }
        match self.qs {
            Some(q) if q != i => self.rows[q].fraction += mass,
            _ => {
                let others: f64 = others_unlocked.iter().map(|&j| self.rows[j].fraction).sum();
                for &j in &others_unlocked {
                    self.rows[j].fraction += if others > 0.0 {
                        mass * self.rows[j].fraction / others
                    } else {
                        mass / others_unlocked.len() as f64
                    };
                }
            }
        }
        self.rows.remove(i);
        self.qs = match self.qs {
            Some(q) if q == i => None,
            Some(q) if q > i => Some(q - 1),
            q => q,
        };
        Ok(())
    }

    /// Make row `i` the q.s. row (or clear it with `None`).
    pub fn set_qs(&mut self, i: Option<usize>) -> Result<(), EditError> {
        if let Some(i) = i {
            let row = self.rows.get(i).ok_or(EditError::NoRow)?;
            if row.locked {
                return Err(EditError::QsLocked);
            }
        }
        self.qs = i;
        Ok(())
    }

    /// Lock or unlock row `i`; locking the q.s. row clears q.s.
    pub fn set_locked(&mut self, i: usize, locked: bool) -> Result<(), EditError> {
        let row = self.rows.get_mut(i).ok_or(EditError::NoRow)?;
        row.locked = locked;
        if locked && self.qs == Some(i) {
            self.qs = None;
        }
        Ok(())
    }

    /// The largest fraction row `i` can reach under the current rules (what its slider's
    /// travel is: the response curve sweeps 0 to this).
    pub fn max_of(&self, i: usize) -> f64 {
        let Some(row) = self.rows.get(i) else {
            return 0.0;
        };
        if row.locked || self.qs == Some(i) {
            return row.fraction;
        }
        match self.qs {
            Some(q) => row.fraction + self.rows[q].fraction,
            None => {
                let any_free = (0..self.rows.len()).any(|j| j != i && !self.rows[j].locked);
                if !any_free {
                    return row.fraction;
                }
                let locked: f64 = (0..self.rows.len())
                    .filter(|&j| j != i && self.rows[j].locked)
                    .map(|j| self.rows[j].fraction)
                    .sum();
                (1.0 - locked).max(0.0)
            }
        }
    }

    /// `points` formulations with row `i` swept evenly from 0 to [`Self::max_of`], the
    /// q.s./rescale rule applied to each: the response curve's inputs. The fraction each
    /// one actually has for row `i` comes with it.
    pub fn sweep(&self, i: usize, points: usize) -> Vec<(f64, Formulation)> {
        self.sweep_between(i, 0.0, self.max_of(i), points)
    }

    /// The response curve's default span for row `i`: the material's training range
    /// `[min, max]` widened by a quarter of its width (at least 1 point of percent) on each
    /// side, stretched to include the row's current amount, within what the row can take.
    /// Beyond it the model extrapolates and the curve would flatten the part that matters.
    pub fn training_span(&self, i: usize, min: f64, max: f64) -> (f64, f64) {
        let here = self.rows.get(i).map_or(0.0, |r| r.fraction);
        let margin = (0.25 * (max - min)).max(0.01);
        let top = self.max_of(i);
        let lo = (min - margin).min(here).max(0.0);
        let hi = (max + margin).max(here).min(top);
        if hi > lo { (lo, hi) } else { (0.0, top) }
    }

    /// Like [`Self::sweep`], from `lo` to `hi` (within what the row can take).
    pub fn sweep_between(
        &self,
        i: usize,
        lo: f64,
        hi: f64,
        points: usize,
    ) -> Vec<(f64, Formulation)> {
        let hi = hi.min(self.max_of(i));
        let lo = lo.clamp(0.0, hi);
        (0..points)
            .map(|k| {
                let v = if points > 1 {
                    lo + (hi - lo) * k as f64 / (points - 1) as f64
                } else {
                    hi
                };
                let mut f = self.clone();
                let (applied, _) = f.set(i, v);
                (applied, f)
            })
            .collect()
    }

    /// This formulation with row `i` raised by `delta` (the rule applied), or `None` when the
    /// row cannot move that far (locked, q.s., or no room).
    pub fn nudged(&self, i: usize, delta: f64) -> Option<Formulation> {
        let mut f = self.clone();
        let want = self.rows.get(i)?.fraction + delta;
        let (applied, limit) = f.set(i, want);
        (limit.is_none() && (applied - want).abs() < 1e-12).then_some(f)
    }

    /// Dense fractions in the manifest's material order.
    pub fn dense(&self, materials: usize) -> Vec<f32> {
        let mut out = vec![0.0; materials];
        for r in &self.rows {
            if let Some(slot) = out.get_mut(r.material) {
                *slot = r.fraction as f32;
            }
        }
        out
    }
}

/// One batch of formulations, all with the same condition values.
pub fn batch_of<'a>(
    manifest: &Manifest,
    formulations: impl IntoIterator<Item = &'a Formulation>,
    conditions: &[f64],
) -> Batch {
    let n = manifest.materials.len();
    let mut batch = Batch {
        rows: 0,
        fractions: Vec::new(),
        conditions: Vec::new(),
    };
    for f in formulations {
        batch.rows += 1;
        batch.fractions.extend(f.dense(n));
        batch
            .conditions
            .extend(conditions.iter().map(|&c| c as f32));
    }
    batch
}
#[cfg(test)]
mod tests {
    use super::*;

    fn f(fractions: &[f64]) -> Formulation {
        Formulation {
            rows: fractions
                .iter()
                .enumerate()
                .map(|(material, &fraction)| Row {
                    material,
                    fraction,
                    locked: false,
                })
                .collect(),
            qs: None,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn qs_absorbs_and_stops_at_zero() {
        let mut x = f(&[0.7, 0.2, 0.1]);
        x.qs = Some(0);
        assert_eq!(x.set(1, 0.3), (0.3, None));
        assert!(close(x.rows[0].fraction, 0.6) && close(x.total(), 1.0));
        let (v, limit) = x.set(2, 0.9);
        assert!(close(v, 0.7) && limit == Some(Limit::QsEmpty));
        assert!(close(x.rows[0].fraction, 0.0) && close(x.total(), 1.0));
        assert_eq!(x.set(0, 0.5).1, Some(Limit::IsQs));
    }

    #[test]
    fn without_qs_the_unlocked_rows_rescale_and_locks_hold() {
        let mut x = f(&[0.5, 0.3, 0.2]);
        x.rows[2].locked = true;
        assert_eq!(x.set(0, 0.6), (0.6, None));
        assert!(close(x.rows[1].fraction, 0.2) && close(x.rows[2].fraction, 0.2));
        let (v, limit) = x.set(0, 0.95);
        assert!(close(v, 0.8), "{v}");
        assert!(matches!(limit, Some(Limit::LockedMass(_, _))));
        assert_eq!(
            limit.unwrap().to_string(),
            "locked rows hold 20.00 %, leaving at most 80.00 % for this one"
        );
        assert!(close(x.total(), 1.0));
        assert_eq!(x.set(2, 0.1).1, Some(Limit::Locked));
        // Lowering a row when the others are at 0 shares the freed mass among them.
        let mut y = f(&[1.0, 0.0, 0.0]);
        y.set(0, 0.4);
        assert!(close(y.rows[1].fraction, 0.3) && close(y.rows[2].fraction, 0.3));
    }

    #[test]
    fn never_an_impossible_state() {
        let mut x = f(&[0.25, 0.25, 0.25, 0.25]);
        x.rows[3].locked = true;
        for (i, v) in [
            (0, 2.0),
            (1, -1.0),
            (2, f64::NAN),
            (0, 0.0),
            (1, 0.75),
            (2, 0.33),
        ] {
            x.set(i, v);
            assert!(close(x.total(), 1.0), "total {}", x.total());
            assert!(
                x.rows
                    .iter()
                    .all(|r| r.fraction >= 0.0 && r.fraction <= 1.0)
            );
            assert!(close(x.rows[3].fraction, 0.25));
        }
        let mut alone = f(&[0.6, 0.4]);
        alone.rows[1].locked = true;
        assert_eq!(alone.set(0, 0.5), (0.6, Some(Limit::NothingToRescale)));
    }

    #[test]
    fn add_remove_qs_and_locks_keep_the_sum() {
        let mut x = f(&[0.6, 0.3, 0.1]);
        x.qs = Some(0);
        assert_eq!(
            x.add(1, "salt"),
            Err(EditError::AlreadyThere("salt".into()))
        );
        assert_eq!(x.add(7, "oil"), Ok(3));
        assert!(close(x.total(), 1.0) && x.rows[3].fraction == 0.0);
        // Removing a row gives its mass to the q.s. row.
        x.remove(1).unwrap();
        assert!(close(x.rows[0].fraction, 0.9) && x.qs == Some(0));
        // Without q.s., removing rescales the unlocked rows; locked ones hold.
        let mut y = f(&[0.5, 0.25, 0.25]);
        y.rows[2].locked = true;
        y.remove(0).unwrap();
        assert!(close(y.rows[0].fraction, 0.75) && close(y.rows[1].fraction, 0.25));
        assert_eq!(y.remove(0), Err(EditError::NoTaker(75.0)));
        // Locking the q.s. row clears it; a locked row cannot become q.s.
        x.set_locked(0, true).unwrap();
        assert_eq!(x.qs, None);
        assert_eq!(x.set_qs(Some(0)), Err(EditError::QsLocked));
    }

    #[test]
    fn sweep_and_nudge_follow_the_rules() {
        let mut x = f(&[0.5, 0.3, 0.2]);
        x.qs = Some(0);
        assert!(close(x.max_of(1), 0.8));
        let sweep = x.sweep(1, 5);
        let values: Vec<f64> = sweep.iter().map(|(v, _)| *v).collect();
        assert!(
            values
                .iter()
                .zip([0.0, 0.2, 0.4, 0.6, 0.8])
                .all(|(a, b)| close(*a, b))
        );
        assert!(
            sweep
                .iter()
                .all(|(_, f)| close(f.total(), 1.0) && close(f.rows[2].fraction, 0.2))
        );
        let up = x.nudged(2, 0.01).unwrap();
        assert!(close(up.rows[2].fraction, 0.21) && close(up.rows[0].fraction, 0.49));
        assert_eq!(
            x.nudged(0, 0.01),
            None,
            "the q.s. row does not move by itself"
        );
        x.rows[0].fraction = 0.0;
        x.rows[1].fraction = 0.8;
        assert_eq!(x.nudged(1, 0.01), None, "no room left in q.s.");
    }

    #[test]
    fn the_default_span_is_the_training_range_with_a_margin() {
        let mut x = f(&[0.5, 0.3, 0.2]);
        x.qs = Some(0);
        // Trained between 20 % and 40 %: 15 % to 45 %, inside the 80 % the row could take.
        let (lo, hi) = x.training_span(1, 0.2, 0.4);
        assert!(close(lo, 0.15) && close(hi, 0.45), "{lo} {hi}");
        let sweep = x.sweep_between(1, lo, hi, 7);
        assert!(close(sweep[0].0, 0.15) && close(sweep[6].0, 0.45));
        assert!(sweep.iter().all(|(_, f)| close(f.total(), 1.0)));
        // The current amount is always in view; the top never passes what q.s. leaves.
        assert!(close(x.training_span(1, 0.01, 0.02).1, 0.3));
        assert!(close(x.training_span(1, 0.6, 0.95).1, 0.8));
        // A material trained at 0 only gets a span of at least one point of percent.
        let (lo, hi) = x.training_span(2, 0.0, 0.0);
        assert!(close(lo, 0.0) && close(hi, 0.2), "{lo} {hi}");
    }
}
