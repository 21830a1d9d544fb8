//! The design spec as the user writes it (`design.json`, the app's form, the share link): names,
//! amounts in mass %, nothing resolved yet. `Problem::new` checks it against a model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::goal::Goal;

/// Everything a design asks for. Amounts are mass % (0–100), prices per unit mass.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignSpec {
    /// What each target should do.
    #[serde(default)]
    pub goals: Vec<Goal>,
    /// One ranked list by overall desirability, or the Pareto set of the goals.
    #[serde(default)]
    pub combine: Combine,
    /// Optimise `mean ∓ cautious × ensemble spread` (the worse side) instead of the mean.
    #[serde(default)]
    pub cautious: f64,
    /// The training domain: a hard limit (default), a penalty, or ignored.
    #[serde(default)]
    pub domain: DomainRule,
    /// Which materials may be used ("any" in the model when absent).
    #[serde(default)]
    pub allowed: Option<Vec<String>>,
    /// Per-material limits, by name.
    #[serde(default)]
    pub limits: BTreeMap<String, Limit>,
    /// The material that makes up the balance (always present).
    #[serde(default)]
    pub qs: Option<String>,
    /// At most this many materials in a recipe.
    #[serde(default)]
    pub max_ingredients: Option<usize>,
    /// Limits on the summed amount of the materials sharing a metadata value.
    #[serde(default)]
    pub groups: Vec<GroupLimit>,
    /// General linear limits: `min ≤ Σ coefficient × amount (%) ≤ max`.
    #[serde(default)]
    pub linear: Vec<LinearLimit>,
    /// Price per unit mass, by material name.
    #[serde(default)]
    pub prices: BTreeMap<String, f64>,
    /// A metadata column of the materials holding their price (used where `prices` has none).
    #[serde(default)]
    pub price_column: Option<String>,
    /// A cost limit, a cost goal, or both.
    #[serde(default)]
    pub cost: Option<CostRule>,
    /// Condition values: fixed (a number) or free within a range; the model's defaults for
    /// those not named.
    #[serde(default)]
    pub conditions: BTreeMap<String, ConditionRule>,
    /// How many distinct candidates to return.
    #[serde(default = "ten")]
    pub candidates: usize,
    /// The search's seed: the same spec and seed give the same candidates.
    #[serde(default = "one")]
    pub seed: u64,
    /// Generations of the global search (more: slower, rarely better).
    #[serde(default = "generations")]
    pub generations: usize,
}

fn ten() -> usize {
    10
}

fn one() -> u64 {
    1
}

fn generations() -> usize {
    120
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    #[default]
    Desirability,
    Pareto,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainRule {
    /// Each material within its training range, only materials and pairs seen in training.
    #[default]
    Hard,
    /// Leaving the domain lowers the score instead.
    Penalty,
    /// The domain is not considered (still reported per candidate).
    Off,
}

/// A material's limits in mass %: `fixed` pins it; otherwise `min`..`max` when present.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub fixed: Option<f64>,
}

/// `min ≤ Σ amount ≤ max` (mass %) over the materials whose metadata `key` equals `value`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupLimit {
    pub key: String,
    pub value: String,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearLimit {
    /// Material name → coefficient (per mass %).
    pub terms: BTreeMap<String, f64>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// How the limit is called in messages ("solids", "actives").
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostRule {
    /// The recipe may cost at most this (per unit mass).
    #[serde(default)]
    pub max: Option<f64>,
    /// Cheaper is better: desirability 1 at or below `low`, 0 at or above `high`.
    #[serde(default)]
    pub minimize: Option<CostGoal>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostGoal {
    pub low: f64,
    pub high: f64,
    #[serde(default = "weight")]
    pub weight: f64,
}

fn weight() -> f64 {
    1.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConditionRule {
    Fixed(f64),
    Free { min: f64, max: f64 },
}

impl DesignSpec {
    pub fn from_json(text: &str) -> Result<DesignSpec, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The spec as compact JSON without the parts that say nothing (nulls, empty lists and
    /// maps): what goes into a share link. Reading it back gives the same spec.
    pub fn to_compact_json(&self) -> String {
        fn prune(v: &mut serde_json::Value) -> bool {
            match v {
                serde_json::Value::Null => false,
                serde_json::Value::Array(a) => {
                    a.iter_mut().for_each(|x| {
                        prune(x);
                    });
                    !a.is_empty()
                }
                serde_json::Value::Object(o) => {
                    o.retain(|_, x| prune(x));
                    !o.is_empty()
                }
                _ => true,
            }
        }
        let mut v = serde_json::to_value(self).unwrap_or_default();
        prune(&mut v);
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_json_reads_back_the_same() {
        let text = r#"{"goals": [{"goal": "maximize", "target": "y"}], "limits": {"a": {"max": 5}},
            "conditions": {"t": {"min": 1, "max": 2}, "u": 3}, "cost": {"max": 4}}"#;
        let spec = DesignSpec::from_json(text).unwrap();
        let compact = spec.to_compact_json();
        assert!(
            !compact.contains("null") && !compact.contains("[]"),
            "{compact}"
        );
        assert_eq!(DesignSpec::from_json(&compact).unwrap(), spec);
    }
}
