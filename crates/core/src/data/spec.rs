//! What the user says about a dataset's columns, as typed on the command line or chosen in the
//! app: `viscosity:log10`, `stable:binary`, `age_days:log10`.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::bundle::{TargetKind, Transform};

/// A column spec that cannot be read, with what it may be.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum SpecError {
    #[error("target {name:?}: unknown kind {kind:?} (regression, log10 or binary)")]
    TargetKind { name: String, kind: String },
    #[error("condition {name:?}: unknown transform {transform:?} (only log10)")]
    ConditionTransform { name: String, transform: String },
    #[error("a column name is empty")]
    EmptyName,
}

/// A target column and how to learn it.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetSpec {
    pub name: String,
    pub kind: TargetKind,
    pub transform: Transform,
}

impl FromStr for TargetSpec {
    type Err = SpecError;

    /// `NAME`, `NAME:regression`, `NAME:log10` or `NAME:binary`.
    fn from_str(spec: &str) -> Result<Self, SpecError> {
        let (name, kind) = spec.rsplit_once(':').unwrap_or((spec, "regression"));
        let (kind, transform) = match kind {
            "regression" => (TargetKind::Regression, Transform::None),
            "log10" => (TargetKind::Regression, Transform::Log10),
            "binary" => (TargetKind::Binary, Transform::None),
            other => {
                return Err(SpecError::TargetKind {
                    name: name.into(),
                    kind: other.into(),
                });
            }
        };
        if name.trim().is_empty() {
            return Err(SpecError::EmptyName);
        }
        Ok(TargetSpec {
            name: name.to_string(),
            kind,
            transform,
        })
    }
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match (self.kind, self.transform) {
            (TargetKind::Binary, _) => "binary",
            (_, Transform::Log10) => "log10",
            _ => "regression",
        };
        write!(f, "{}:{kind}", self.name)
    }
}

/// A condition column (a process input such as age), fed to the model as it is or as log10 of
/// the value (for inputs spanning decades).
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionSpec {
    pub name: String,
    pub log10: bool,
}

impl FromStr for ConditionSpec {
    type Err = SpecError;

    /// `NAME` or `NAME:log10`.
    fn from_str(spec: &str) -> Result<Self, SpecError> {
        let (name, log10) = match spec.rsplit_once(':') {
            Some((name, "log10")) => (name, true),
            Some((name, other)) => {
                return Err(SpecError::ConditionTransform {
                    name: name.into(),
                    transform: other.into(),
                });
            }
            None => (spec, false),
        };
        if name.trim().is_empty() {
            return Err(SpecError::EmptyName);
        }
        Ok(ConditionSpec {
            name: name.to_string(),
            log10,
        })
    }
}

impl fmt::Display for ConditionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.log10 {
            f.write_str(":log10")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_specs_read_and_write_back() {
        let t: TargetSpec = "viscosity:log10".parse().unwrap();
        assert_eq!(
            (t.name.as_str(), t.kind, t.transform),
            ("viscosity", TargetKind::Regression, Transform::Log10)
        );
        assert_eq!(
            "stable:binary".parse::<TargetSpec>().unwrap().kind,
            TargetKind::Binary
        );
        let plain: TargetSpec = "strength".parse().unwrap();
        assert_eq!(plain.to_string(), "strength:regression");
        assert_eq!(plain.to_string().parse::<TargetSpec>().unwrap(), plain);
        assert_eq!(
            "x:cubic".parse::<TargetSpec>().unwrap_err().to_string(),
            "target \"x\": unknown kind \"cubic\" (regression, log10 or binary)"
        );
        assert_eq!(":log10".parse::<TargetSpec>(), Err(SpecError::EmptyName));
    }

    #[test]
    fn condition_specs_read_and_write_back() {
        let c: ConditionSpec = "age_days:log10".parse().unwrap();
        assert_eq!((c.name.as_str(), c.log10), ("age_days", true));
        assert_eq!(c.to_string(), "age_days:log10");
        assert!(!"temperature".parse::<ConditionSpec>().unwrap().log10);
        assert!(
            "age:sqrt"
                .parse::<ConditionSpec>()
                .unwrap_err()
                .to_string()
                .contains("unknown transform \"sqrt\"")
        );
    }
}
