//! The applicability domain: where a formulation leaves what the model was trained on. The
//! model still answers there, but the answer is an extrapolation and the user is told so.

use std::collections::HashSet;

use crate::bundle::Manifest;
use crate::formulation::Formulation;

#[derive(Clone, Debug, PartialEq)]
pub enum Warning {
    /// The formulation has no material.
    Empty,
    /// A material no training formulation contains.
    NeverSeen { material: String },
    /// A material above its largest training fraction.
    AboveMax {
        material: String,
        value: f64,
        max: f64,
    },
    /// A material present, but below its smallest training fraction.
    BelowMin {
        material: String,
        value: f64,
        min: f64,
    },
    /// Two materials no training formulation contains together.
    UnseenPair { a: String, b: String },
    /// A condition outside its training range.
    Condition {
        name: String,
        value: f64,
        min: f64,
        max: f64,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::Empty => write!(f, "the formulation is empty: add a material"),
            Warning::NeverSeen { material } => {
                write!(f, "{material} is in no training formulation")
            }
            Warning::AboveMax {
                material,
                value,
                max,
            } => write!(
                f,
                "{material} at {:.2} % is above its training maximum of {:.2} %",
                100.0 * value,
                100.0 * max
            ),
            Warning::BelowMin {
                material,
                value,
                min,
            } => write!(
                f,
                "{material} at {:.2} % is below its training minimum of {:.2} %",
                100.0 * value,
                100.0 * min
            ),
            Warning::UnseenPair { a, b } => {
                write!(f, "{a} and {b} never occur together in the training data")
            }
            Warning::Condition {
                name,
                value,
                min,
                max,
            } => {
                write!(
                    f,
                    "{name} = {value} is outside its training range {min} to {max}"
                )
            }
        }
    }
}

/// Precomputed lookups for one manifest (the pair set is built once, not per keystroke).
pub struct Domain {
    pairs: PairSet,
    /// Bundles written before pairs were recorded have none: then no pair is flagged.
    any_pairs: bool,
}

/// The material pairs seen together in training: a bit matrix up to a few thousand materials
/// (a batch checks every pair of every row: ~1,800 lookups for a 60-material recipe), a hash
/// set beyond.
#[derive(Clone, Debug)]
enum PairSet {
    Bits { n: usize, bits: Vec<u64> },
    Hash(HashSet<(u32, u32)>),
}

/// Up to this many materials the pair set is a bit matrix (8 MiB at most).
const BIT_MATRIX_MAX: usize = 8192;

impl PairSet {
    fn new(n: usize, pairs: &[[u32; 2]]) -> PairSet {
        if n > BIT_MATRIX_MAX {
            return PairSet::Hash(pairs.iter().map(|&[i, j]| (i.min(j), i.max(j))).collect());
        }
        let mut bits = vec![0u64; (n * n).div_ceil(64)];
        for &[i, j] in pairs {
            let (i, j) = (i.min(j) as usize, i.max(j) as usize);
            if j < n {
                bits[(i * n + j) / 64] |= 1 << ((i * n + j) % 64);
            }
        }
        PairSet::Bits { n, bits }
    }

    /// Whether `i < j` were seen together.
    fn contains(&self, i: usize, j: usize) -> bool {
        match self {
            PairSet::Bits { n, bits } => {
                let k = i * n + j;
                j < *n && bits[k / 64] & (1 << (k % 64)) != 0
            }
            PairSet::Hash(h) => h.contains(&(i as u32, j as u32)),
        }
    }
}

/// Fractions within this of a training bound count as inside (f32 storage, 2-decimal UI).
const SLACK: f64 = 1e-6;

impl Domain {
    pub fn new(manifest: &Manifest) -> Domain {
        Domain {
            pairs: PairSet::new(manifest.materials.len(), &manifest.seen_pairs),
            any_pairs: !manifest.seen_pairs.is_empty(),
        }
    }

    /// The first way a row of a batch (materials with their fractions, conditions) leaves the
    /// training domain, in the order [`Domain::check`] lists them; `None` inside.
    pub fn first_outside(
        &self,
        manifest: &Manifest,
        fractions: &[(usize, f64)],
        conditions: &[f64],
    ) -> Option<Warning> {
        let f = Formulation::from_fractions(fractions.iter().copied());
        self.check_with(manifest, &f, conditions, true)
            .into_iter()
            .next()
    }

    /// Every way `f` with `conditions` leaves the training domain, most serious first.
    pub fn check(&self, manifest: &Manifest, f: &Formulation, conditions: &[f64]) -> Vec<Warning> {
        self.check_with(manifest, f, conditions, false)
    }

    /// `check`, stopping at the first warning when `first` is set.
    fn check_with(
        &self,
        manifest: &Manifest,
        f: &Formulation,
        conditions: &[f64],
        first: bool,
    ) -> Vec<Warning> {
        let mut out = Vec::new();
        // Rows naming a material this manifest lacks (a formulation from another model, in
        // the instant a model switches) are skipped rather than indexed.
        let n = manifest.materials.len();
        let present: Vec<usize> = f
            .rows
            .iter()
            .filter(|r| r.fraction > 0.0 && r.material < n)
            .map(|r| r.material)
            .collect();
        if present.is_empty() {
            out.push(Warning::Empty);
        }
        let name = |i: usize| manifest.materials[i].name.clone();
        for r in f.rows.iter().filter(|r| r.fraction > 0.0 && r.material < n) {
            let m = &manifest.materials[r.material];
            if m.usage_count == 0 {
                out.push(Warning::NeverSeen {
                    material: m.name.clone(),
                });
            } else if r.fraction > m.fraction_max + SLACK {
                out.push(Warning::AboveMax {
                    material: m.name.clone(),
                    value: r.fraction,
                    max: m.fraction_max,
                });
            } else if r.fraction < m.fraction_min - SLACK {
                out.push(Warning::BelowMin {
                    material: m.name.clone(),
                    value: r.fraction,
                    min: m.fraction_min,
                });
            }
        }
        if first && !out.is_empty() {
            return out;
        }
        if self.any_pairs {
            for (a, &i) in present.iter().enumerate() {
                for &j in &present[a + 1..] {
                    let seen = |k: usize| manifest.materials[k].usage_count > 0;
                    if seen(i) && seen(j) && !self.pairs.contains(i.min(j), i.max(j)) {
                        if first {
                            return vec![Warning::UnseenPair {
                                a: name(i.min(j)),
                                b: name(i.max(j)),
                            }];
                        }
                        out.push(Warning::UnseenPair {
                            a: name(i.min(j)),
                            b: name(i.max(j)),
                        });
                    }
                }
            }
        }
        for (c, &v) in manifest.conditions.iter().zip(conditions) {
            if !(c.min..=c.max).contains(&v) {
                out.push(Warning::Condition {
                    name: c.name.clone(),
                    value: v,
                    min: c.min,
                    max: c.max,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::tests::tiny;

    #[test]
    fn each_way_out_of_the_domain_is_named() {
        let mut m = tiny().manifest;
        m.materials[0].fraction_max = 0.8;
        m.materials[1].fraction_min = 0.05;
        m.materials[2].usage_count = 0;
        m.seen_pairs = vec![[0, 1]];
        let d = Domain::new(&m);
        let inside = Formulation::from_fractions([(0, 0.7), (1, 0.3)]);
        assert_eq!(d.check(&m, &inside, &[7.0]), vec![]);

        let outside = Formulation::from_fractions([(0, 0.98), (1, 0.01), (2, 0.01)]);
        let text: Vec<String> = d
            .check(&m, &outside, &[40.0])
            .iter()
            .map(|w| w.to_string())
            .collect();
        assert_eq!(
            text,
            [
                "water at 98.00 % is above its training maximum of 80.00 %",
                "salt at 1.00 % is below its training minimum of 5.00 %",
                "oil is in no training formulation",
                "age = 40 is outside its training range 1 to 28",
            ]
        );
        m.materials[2].usage_count = 3;
        let pair = Formulation::from_fractions([(0, 0.5), (2, 0.5)]);
        assert_eq!(
            d.check(&m, &pair, &[7.0]),
            vec![Warning::UnseenPair {
                a: "water".into(),
                b: "oil".into()
            }]
        );
        assert_eq!(
            d.check(&m, &Formulation::default(), &[7.0]),
            vec![Warning::Empty]
        );
    }
}
