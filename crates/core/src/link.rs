//! A formulation and its conditions as short text, for share links, saved formulations and
//! `mixlab predict --formulation`: `Water:74.73:q;Plantacare 818:11.53:l;Arlypon TT:2.69`
//! (material : percent, `q` = q.s., `l` = locked) and `age_days:28;total_mass:2400`.
//! Names are escaped (`%`, `:`, `;`) so any material name survives. Parsing checks
//! everything a tampered link could break and says what, so the app can fall back.

use thiserror::Error;

use crate::bundle::Manifest;
use crate::formulation::{Formulation, Row};

#[derive(Clone, Debug, Error, PartialEq)]
pub enum LinkError {
    #[error("entry {0} ({1:?}) is not material:percent")]
    Shape(usize, String),
    #[error("entry {0} ({1:?}) is not name:value")]
    ConditionShape(usize, String),
    #[error("the model has no material {0:?}")]
    UnknownMaterial(String),
    #[error("the model has no condition {0:?}")]
    UnknownCondition(String),
    #[error("{0:?} is given twice")]
    Duplicate(String),
    #[error("{what}: {text:?} is not {range}")]
    Number {
        what: String,
        text: String,
        /// "a number between 0 and 100", "a number above 0", "a finite number".
        range: String,
    },
    #[error("unknown flag {1:?} on {0:?} (q = q.s., l = locked)")]
    Flag(String, String),
    #[error("more than one q.s. row")]
    TwoQs,
    #[error("the percentages sum to {0:.4} %, not 100 %")]
    Sum(f64),
    #[error(
        "the link's model {0:?} is not a bundle on this site (a path such as models/glass-tg/)"
    )]
    Model(String),
}

/// What Mixlab reads of a share link's address: `?model=…&f=…&c=…#view`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkParts {
    /// The bundle's path relative to the page (checked: on the page's own site).
    pub model: Option<String>,
    pub formulation: Option<String>,
    pub conditions: Option<String>,
    /// The explorer's view, without `#` (empty when there is none).
    pub fragment: String,
}

/// `application/x-www-form-urlencoded` decoding exactly as the page's `URLSearchParams` does
/// it (WHATWG): `+` is a space, a `%` not followed by two hex digits stays as it is, and bytes
/// that are not UTF-8 become U+FFFD. The CLI and the app then read a link the same way.
fn query_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A link's model as the bundle folder to fetch: a path on the page's own site (see
/// [`bundle_path_ok`](crate::explorer::view::bundle_path_ok)), ending in `/`.
pub fn bundle_path(value: &str) -> Result<String, LinkError> {
    let path = if value.ends_with('/') {
        value.to_string()
    } else {
        format!("{value}/")
    };
    if crate::explorer::view::bundle_path_ok(&path) {
        Ok(path)
    } else {
        Err(LinkError::Model(path))
    }
}

/// Split a share link (a whole URL, or just its `?…#…` part) into what Mixlab reads. The
/// model must be a path on the page's own site: a link from chat must not make the app fetch
/// from another host.
pub fn parts_of(url: &str) -> Result<LinkParts, LinkError> {
    let (rest, fragment) = url.split_once('#').unwrap_or((url, ""));
    let query = rest.split_once('?').map_or("", |(_, q)| q);
    let mut parts = LinkParts {
        fragment: fragment.to_string(),
        ..LinkParts::default()
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = query_decode(value);
        match key {
            "model" => parts.model = Some(bundle_path(&value)?),
            "f" => parts.formulation = Some(value),
            "c" => parts.conditions = Some(value),
            _ => {}
        }
    }
    Ok(parts)
}

fn escape(name: &str) -> String {
    name.replace('%', "%25")
        .replace(':', "%3A")
        .replace(';', "%3B")
}

fn unescape(text: &str) -> String {
    text.replace("%3A", ":")
        .replace("%3a", ":")
        .replace("%3B", ";")
        .replace("%3b", ";")
        .replace("%25", "%")
}

/// Percent with up to 6 decimals, trailing zeros dropped (1e-8 in fraction: far below
/// anything a prediction notices, and a link stays readable).
pub(crate) fn percent(fraction: f64) -> String {
    let text = format!("{:.6}", 100.0 * fraction);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" {
        "0".into()
    } else {
        text.to_string()
    }
}

fn number(what: &str, text: &str, min: f64, max: f64) -> Result<f64, LinkError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && (min..=max).contains(v))
        .ok_or_else(|| LinkError::Number {
            what: what.to_string(),
            text: text.to_string(),
            range: match (min, max) {
                (f64::MIN_POSITIVE, f64::MAX) => "a number above 0".into(),
                (_, f64::MAX) => "a finite number".into(),
                _ => format!("a number between {min} and {max}"),
            },
        })
}

pub fn formulation_to_text(manifest: &Manifest, f: &Formulation) -> String {
    f.rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = manifest
                .materials
                .get(r.material)
                .map_or("?", |m| m.name.as_str());
            let flag = if f.qs == Some(i) {
                ":q"
            } else if r.locked {
                ":l"
            } else {
                ""
            };
            format!("{}:{}{flag}", escape(name), percent(r.fraction))
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Parse [`formulation_to_text`]'s output. The percentages must sum to 100 (± 0.001, what
/// 6-decimal rounding can lose); they are then renormalised exactly.
pub fn formulation_from_text(manifest: &Manifest, text: &str) -> Result<Formulation, LinkError> {
    let mut f = Formulation::default();
    for (k, entry) in text.split(';').filter(|e| !e.trim().is_empty()).enumerate() {
        let parts: Vec<&str> = entry.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(LinkError::Shape(k + 1, entry.to_string()));
        }
        let name = unescape(parts[0].trim());
        let material = manifest
            .material_index(&name)
            .ok_or_else(|| LinkError::UnknownMaterial(name.clone()))?;
        if f.position(material).is_some() {
            return Err(LinkError::Duplicate(name));
        }
        let fraction = number(&name, parts[1], 0.0, 100.0)? / 100.0;
        let mut locked = false;
        match parts.get(2).map(|s| s.trim()) {
            None | Some("") => {}
            Some("q") => {
                if f.qs.is_some() {
                    return Err(LinkError::TwoQs);
                }
                f.qs = Some(f.rows.len());
            }
            Some("l") => locked = true,
            Some(other) => return Err(LinkError::Flag(name, other.to_string())),
        }
        f.rows.push(Row {
            material,
            fraction,
            locked,
        });
    }
    let total = f.total();
    if (total - 1.0).abs() > 1e-5 {
        return Err(LinkError::Sum(100.0 * total));
    }
    f.rows.iter_mut().for_each(|r| r.fraction /= total);
    Ok(f)
}

pub fn conditions_to_text(manifest: &Manifest, values: &[f64]) -> String {
    manifest
        .conditions
        .iter()
        .zip(values)
        .map(|(c, v)| format!("{}:{v}", escape(&c.name)))
        .collect::<Vec<_>>()
        .join(";")
}

/// Condition values in the manifest's order; those not named keep `defaults`.
pub fn conditions_from_text(
    manifest: &Manifest,
    text: &str,
    defaults: &[f64],
) -> Result<Vec<f64>, LinkError> {
    let mut values = defaults.to_vec();
    let mut seen = vec![false; values.len()];
    for (k, entry) in text.split(';').filter(|e| !e.trim().is_empty()).enumerate() {
        let (name, value) = entry
            .split_once(':')
            .ok_or_else(|| LinkError::ConditionShape(k + 1, entry.to_string()))?;
        let name = unescape(name.trim());
        let j = manifest
            .conditions
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| LinkError::UnknownCondition(name.clone()))?;
        if std::mem::replace(&mut seen[j], true) {
            return Err(LinkError::Duplicate(name));
        }
        // A log10 input must be positive (log10 of 0 or less is no number).
        let min = match manifest.conditions[j].transform {
            crate::bundle::Transform::Log10 => f64::MIN_POSITIVE,
            crate::bundle::Transform::None => -f64::MAX,
        };
        values[j] = number(&name, value, min, f64::MAX)?;
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::tests::tiny;

    #[test]
    fn formulations_round_trip_with_flags_and_odd_names() {
        let mut m = tiny().manifest;
        m.materials[0].name = "a:b;c%d".into();
        let mut f = Formulation::from_fractions([(0, 0.25), (2, 0.5), (1, 0.25)]);
        f.qs = Some(1);
        f.rows[2].locked = true;
        let text = formulation_to_text(&m, &f);
        assert!(text.starts_with("a%3Ab%3Bc%25d:25;"), "{text}");
        assert_eq!(formulation_from_text(&m, &text), Ok(f));
    }

    #[test]
    fn tampered_links_say_what_is_wrong() {
        let m = tiny().manifest;
        let name = |i: usize| m.materials[i].name.clone();
        let cases = [
            (
                format!("{}:50;nope:50", name(0)),
                "the model has no material \"nope\"",
            ),
            (format!("{}:50;{}:40", name(0), name(1)), "sum to 90.0000 %"),
            (
                format!("{}:abc;{}:100", name(0), name(1)),
                "\"abc\" is not a number",
            ),
            (
                format!("{}:150", name(0)),
                "is not a number between 0 and 100",
            ),
            (
                format!("{}:50:x;{}:50", name(0), name(1)),
                "unknown flag \"x\"",
            ),
            (
                format!("{}:50:q;{}:50:q", name(0), name(1)),
                "more than one q.s.",
            ),
            (format!("{}:50;{}:50", name(0), name(0)), "is given twice"),
            ("just text".to_string(), "is not material:percent"),
        ];
        for (text, want) in cases {
            let err = formulation_from_text(&m, &text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn conditions_round_trip_and_keep_defaults() {
        let m = tiny().manifest;
        let defaults = m.default_condition_values();
        let name = &m.conditions[0].name;
        let text = conditions_to_text(&m, &[28.5]);
        assert_eq!(text, format!("{name}:28.5"));
        assert_eq!(conditions_from_text(&m, &text, &defaults), Ok(vec![28.5]));
        assert_eq!(
            conditions_from_text(&m, "", &defaults),
            Ok(defaults.clone())
        );
        assert!(conditions_from_text(&m, "nope:1", &defaults).is_err());
        assert!(conditions_from_text(&m, &format!("{name}:NaN"), &defaults).is_err());
    }

    #[test]
    fn a_link_address_splits_and_refuses_other_hosts() {
        let p = parts_of("https://mixlab.example/app/?model=models/glass-tg&f=Si%3AO2%3A50;B+C:50&c=t:1#x=1&foc=2")
            .unwrap();
        assert_eq!(p.model.as_deref(), Some("models/glass-tg/"));
        assert_eq!(p.formulation.as_deref(), Some("Si:O2:50;B C:50"));
        assert_eq!(p.conditions.as_deref(), Some("t:1"));
        assert_eq!(p.fragment, "x=1&foc=2");
        assert_eq!(parts_of("?f=a:100").unwrap().model, None);
        for evil in [
            "https://evil.example/m/",
            "//evil.example/m",
            "/abs/",
            "../up/",
        ] {
            let url = format!("?model={evil}");
            assert!(matches!(parts_of(&url), Err(LinkError::Model(_))), "{evil}");
        }
        // As URLSearchParams: a broken escape stays, bytes that are not UTF-8 become U+FFFD.
        assert_eq!(
            parts_of("?f=a%zz").unwrap().formulation.as_deref(),
            Some("a%zz")
        );
        assert_eq!(
            parts_of("?f=%FFa").unwrap().formulation.as_deref(),
            Some("\u{FFFD}a")
        );
    }

    #[test]
    fn a_log10_condition_must_be_positive() {
        let mut m = tiny().manifest;
        let name = m.conditions[0].name.clone();
        m.conditions[0].transform = crate::bundle::Transform::Log10;
        let defaults = m.default_condition_values();
        let err = conditions_from_text(&m, &format!("{name}:-5"), &defaults).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{name}: \"-5\" is not a number above 0")
        );
        assert!(conditions_from_text(&m, &format!("{name}:0.5"), &defaults).is_ok());
        let shape = conditions_from_text(&m, &name, &defaults).unwrap_err();
        assert!(shape.to_string().contains("is not name:value"), "{shape}");
    }
}
