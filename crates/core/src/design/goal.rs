//! What the formulator wants of each target, as a desirability in [0, 1] (Derringer–Suich), and
//! how several combine.

use serde::{Deserialize, Serialize};

/// One goal on one target. Values are in the target's own units (a probability in 0..1 for a
/// binary target).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "goal", rename_all = "snake_case", deny_unknown_fields)]
pub enum Goal {
    /// Larger is better: desirability 0 at or below `low`, 1 at or above `high`.
    Maximize {
        target: String,
        #[serde(default)]
        low: Option<f64>,
        #[serde(default)]
        high: Option<f64>,
        #[serde(default = "one")]
        weight: f64,
    },
    /// Smaller is better: desirability 1 at or below `low`, 0 at or above `high`.
    Minimize {
        target: String,
        #[serde(default)]
        low: Option<f64>,
        #[serde(default)]
        high: Option<f64>,
        #[serde(default = "one")]
        weight: f64,
    },
    /// Hit `value`: desirability 1 there, falling linearly to 0 at `value ± tolerance`.
    Target {
        target: String,
        value: f64,
        tolerance: f64,
        #[serde(default = "one")]
        weight: f64,
    },
    /// Stay within `min..=max`: desirability 1 inside, falling to 0 over `margin` outside
    /// (by default a tenth of the range's width).
    Range {
        target: String,
        min: f64,
        max: f64,
        #[serde(default)]
        margin: Option<f64>,
        #[serde(default = "one")]
        weight: f64,
    },
    /// A binary target's probability at least `at_least`: desirability 1 there, 0 at
    /// `at_least − 0.2` and below.
    Probability {
        target: String,
        at_least: f64,
        #[serde(default = "one")]
        weight: f64,
    },
}

fn one() -> f64 {
    1.0
}

impl Goal {
    pub fn target(&self) -> &str {
        match self {
            Goal::Maximize { target, .. }
            | Goal::Minimize { target, .. }
            | Goal::Target { target, .. }
            | Goal::Range { target, .. }
            | Goal::Probability { target, .. } => target,
        }
    }

    pub fn weight(&self) -> f64 {
        match self {
            Goal::Maximize { weight, .. }
            | Goal::Minimize { weight, .. }
            | Goal::Target { weight, .. }
            | Goal::Range { weight, .. }
            | Goal::Probability { weight, .. } => *weight,
        }
    }

    /// What the goal asks, in words (for tables and messages).
    pub fn describe(&self) -> String {
        self.describe_as(self.target())
    }

    /// [`Goal::describe`] with the target called `name` (its label, for people).
    pub fn describe_as(&self, name: &str) -> String {
        let bound = |v: &Option<f64>| v.map_or("auto".to_string(), |v| format!("{v}"));
        match self {
            Goal::Maximize { low, high, .. } => {
                format!("maximise {name} ({} → {})", bound(low), bound(high))
            }
            Goal::Minimize { low, high, .. } => {
                format!("minimise {name} ({} → {})", bound(high), bound(low))
            }
            Goal::Target {
                value, tolerance, ..
            } => format!("{name} = {value} ± {tolerance}"),
            Goal::Range { min, max, .. } => format!("{name} in {min} … {max}"),
            Goal::Probability { at_least, .. } => format!("P({name}) ≥ {at_least}"),
        }
    }
}

/// A goal resolved against the model: its target's index and the ramp's ends.
#[derive(Clone, Debug, PartialEq)]
pub struct Ramp {
    pub target: usize,
    pub weight: f64,
    pub shape: Shape,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// 0 at `low`, 1 at `high` (`low > high` for minimising).
    Rising { low: f64, high: f64 },
    /// 1 in `min..=max`, 0 beyond `margin` outside.
    Plateau { min: f64, max: f64, margin: f64 },
}

impl Shape {
    /// The desirability of `y`, in [0, 1].
    pub fn at(&self, y: f64) -> f64 {
        self.reach(y).clamp(0.0, 1.0)
    }

    /// The desirability of a prediction `mean ± spread·|κ|`: for κ > 0 (cautious) the worst
    /// over that interval, for κ < 0 (optimistic, an upper confidence bound: the next
    /// experiments' exploring search) the best.
    pub fn cautious(&self, mean: f64, spread: f64, kappa: f64) -> f64 {
        self.cautious_reach(mean, spread, kappa).clamp(0.0, 1.0)
    }

    /// [`Shape::at`] without the clamp at 0: how far below 0 a missed goal is (in units of its
    /// ramp), so a recipe that misses it by less can be told apart.
    pub fn reach(&self, y: f64) -> f64 {
        if !y.is_finite() {
            return f64::NEG_INFINITY;
        }
        match *self {
            Shape::Rising { low, high } => ((y - low) / (high - low)).min(1.0),
            Shape::Plateau { min, max, margin } => {
                let outside = (min - y).max(y - max).max(0.0);
                if margin > 0.0 {
                    1.0 - outside / margin
                } else if outside > 0.0 {
                    -outside
                } else {
                    1.0
                }
            }
        }
    }

    /// [`Shape::cautious`] without the clamp at 0 (min and max commute with the clamp).
    pub fn cautious_reach(&self, mean: f64, spread: f64, kappa: f64) -> f64 {
        if kappa == 0.0 || spread == 0.0 {
            return self.reach(mean);
        }
        let (lo, hi) = (mean - kappa.abs() * spread, mean + kappa.abs() * spread);
        match *self {
            // A ramp is monotone: its ends are its extremes.
            Shape::Rising { .. } if kappa > 0.0 => self.reach(lo).min(self.reach(hi)),
            Shape::Rising { .. } => self.reach(lo).max(self.reach(hi)),
            // Inside the plateau the worst point is an end; the mean can only be better.
            Shape::Plateau { .. } if kappa > 0.0 => {
                self.reach(lo).min(self.reach(hi)).min(self.reach(mean))
            }
            // The best point is the interval's closest to the plateau's middle.
            Shape::Plateau { min, max, .. } => self.reach((0.5 * (min + max)).clamp(lo, hi)),
        }
    }
}

/// The overall desirability: the weighted geometric mean of the goals' (0 if any is 0).
pub fn combine(ds: &[f64], weights: &[f64]) -> f64 {
    let total: f64 = weights.iter().sum();
    if ds.is_empty() || total <= 0.0 {
        return 0.0;
    }
    if ds.iter().any(|d| *d <= 0.0) {
        return 0.0;
    }
    // libm: the same bits in the browser and natively, so both rank recipes alike.
    let log: f64 = ds.iter().zip(weights).map(|(d, w)| w * libm::log(*d)).sum();
    libm::exp(log / total)
}

/// A softer score for the search only: where the geometric mean is flat at 0 (one goal not yet
/// met at all), the arithmetic mean still points the way.
pub fn search_score(ds: &[f64], weights: &[f64]) -> f64 {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let arith: f64 = ds.iter().zip(weights).map(|(d, w)| w * d).sum::<f64>() / total;
    combine(ds, weights) + 1e-3 * arith
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_and_plateaus() {
        let up = Shape::Rising {
            low: 10.0,
            high: 20.0,
        };
        assert_eq!(up.at(5.0), 0.0);
        assert_eq!(up.at(15.0), 0.5);
        assert_eq!(up.at(25.0), 1.0);
        let down = Shape::Rising {
            low: 20.0,
            high: 10.0,
        };
        assert_eq!(down.at(12.0), 0.8);
        let band = Shape::Plateau {
            min: 1.0,
            max: 2.0,
            margin: 0.5,
        };
        assert_eq!(band.at(1.5), 1.0);
        assert_eq!(band.at(2.25), 0.5);
        assert_eq!(band.at(0.0), 0.0);
        assert_eq!(up.at(f64::NAN), 0.0);
    }

    #[test]
    fn cautious_takes_the_worse_end() {
        let up = Shape::Rising {
            low: 10.0,
            high: 20.0,
        };
        assert_eq!(up.cautious(15.0, 2.0, 1.0), 0.3);
        assert_eq!(up.cautious(15.0, 2.0, 0.0), 0.5);
        let band = Shape::Plateau {
            min: 1.0,
            max: 2.0,
            margin: 1.0,
        };
        assert_eq!(band.cautious(1.5, 1.0, 1.0), 0.5);
    }

    #[test]
    fn negative_kappa_is_optimistic() {
        let up = Shape::Rising {
            low: 10.0,
            high: 20.0,
        };
        assert_eq!(up.cautious(15.0, 2.0, -1.0), 0.7);
        let down = Shape::Rising {
            low: 20.0,
            high: 10.0,
        };
        assert_eq!(down.cautious(15.0, 2.0, -1.0), 0.7);
        let band = Shape::Plateau {
            min: 1.0,
            max: 2.0,
            margin: 1.0,
        };
        // 3.5 ± 1: its best point is 2.5, half a margin outside.
        assert_eq!(band.cautious(3.5, 1.0, -1.0), 0.5);
        assert_eq!(band.cautious(2.8, 1.0, -1.0), 1.0);
        assert_eq!(band.cautious(2.8, 1.0, 1.0), 0.0);
    }

    #[test]
    fn geometric_mean_with_weights() {
        assert!((combine(&[0.25, 1.0], &[1.0, 1.0]) - 0.5).abs() < 1e-12);
        assert!((combine(&[0.25, 1.0], &[2.0, 0.0]) - 0.25).abs() < 1e-12);
        assert_eq!(combine(&[0.0, 1.0], &[1.0, 1.0]), 0.0);
        assert!(search_score(&[0.0, 1.0], &[1.0, 1.0]) > search_score(&[0.0, 0.5], &[1.0, 1.0]));
    }

    #[test]
    fn goals_read_from_json() {
        let g: Goal = serde_json::from_str(
            r#"{"goal": "target", "target": "viscosity", "value": 300, "tolerance": 50}"#,
        )
        .unwrap();
        assert_eq!(g.target(), "viscosity");
        assert_eq!(g.weight(), 1.0);
        assert!(serde_json::from_str::<Goal>(r#"{"goal": "maximise", "target": "x"}"#).is_err());
    }
}
