//! The editor's formulation: fractions that always sum to 1. One row may be q.s. (the balance,
//! like "water q.s. to 100 %"), which absorbs every change; without one, the other unlocked rows
//! rescale in proportion. Setting a row never produces an impossible state: the value is clamped
//! and the reason is returned, so the UI can say why a slider stops.

use thiserror::Error;

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
}
