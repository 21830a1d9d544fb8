//! A projection's spec as a short token, the form it takes in share links, in bundles' stored
//! maps and on `mixlab project --spec`: `tsne.2.p30.lr0.it1000.s7` (method, dimensions, the
//! method's own parameters, seed). [`Spec`]'s `Display` writes it and `FromStr` reads it back
//! exactly.

use std::fmt::{self, Write};
use std::str::FromStr;

use super::{Method, Spec};

/// Shortest text that reads back to the same f64.
fn num(v: f64) -> String {
    format!("{v}")
}

/// `tsne.2.p30.lr0.it1000.s7`: method, dimensions, the method's own parameters, seed.
impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&token(self))
    }
}

fn token(spec: &Spec) -> String {
    let p = &spec.params;
    let mut t = format!("{}.{}", spec.method.key(), spec.dims);
    match spec.method {
        Method::Pca => return t,
        Method::Tsne => {
            let _ = write!(
                t,
                ".p{}.lr{}.it{}",
                num(p.perplexity),
                num(p.learning_rate),
                p.iterations
            );
        }
        Method::Umap => {
            let _ = write!(
                t,
                ".nn{}.md{}.ep{}",
                p.neighbours,
                num(p.min_dist),
                p.iterations
            );
        }
        Method::Isomap | Method::Lle => {
            let _ = write!(t, ".k{}", p.k);
        }
    }
    let _ = write!(t, ".s{}", spec.seed);
    t
}

impl FromStr for Spec {
    type Err = String;

    /// Reads the token back; the error says what is wrong with it.
    fn from_str(text: &str) -> Result<Spec, String> {
        parse(text)
    }
}

fn parse(text: &str) -> Result<Spec, String> {
    let err = |why: String| why;
    let mut parts = text.split('.');
    let method = parts.next().unwrap_or_default();
    let method = Method::from_key(method).ok_or_else(|| {
        err(format!(
            "{method:?} is not a projection (pca, tsne, umap, isomap, lle)"
        ))
    })?;
    let dims = parts
        .next()
        .and_then(|d| d.parse::<usize>().ok())
        .ok_or_else(|| err("the dimensions are missing".into()))?;
    let mut spec = Spec::new(method, dims);
    // Numbers come back exactly: `num` wrote the shortest text that reads back to them.
    // A decimal point inside a number splits it: glue "md0" + "25" back to "md0.25".
    let mut glued: Vec<String> = Vec::new();
    for part in parts {
        let starts_with_key = part.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        match glued.last_mut() {
            Some(last) if !starts_with_key => {
                last.push('.');
                last.push_str(part);
            }
            _ => glued.push(part.to_string()),
        }
    }
    for part in &glued {
        let split = part
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(part.len());
        let (key, value) = part.split_at(split);
        let float = || {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| err(format!("{key}: {value:?} is not a number")))
        };
        let int = || {
            value
                .parse::<u64>()
                .map_err(|_| err(format!("{key}: {value:?} is not a whole number")))
        };
        let to_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        match (method, key) {
            (_, "s") if method != Method::Pca => spec.seed = int()?,
            (Method::Tsne, "p") => spec.params.perplexity = float()?,
            (Method::Tsne, "lr") => spec.params.learning_rate = float()?,
            (Method::Tsne, "it") | (Method::Umap, "ep") => {
                spec.params.iterations = to_usize(int()?);
            }
            (Method::Umap, "nn") => spec.params.neighbours = to_usize(int()?),
            (Method::Umap, "md") => spec.params.min_dist = float()?,
            (Method::Isomap | Method::Lle, "k") => spec.params.k = to_usize(int()?),
            _ => {
                return Err(err(format!(
                    "{part:?} is not a parameter of {}",
                    method.label()
                )));
            }
        }
    }
    spec.validate(usize::MAX).map_err(|e| e.to_string())?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_back_to_the_same_spec() {
        for text in [
            "pca.2",
            "tsne.3.p12.5.lr0.it500.s7",
            "umap.2.nn15.md0.25.ep0.s1",
            "lle.2.k8.s3",
        ] {
            let spec: Spec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert!(
            "tsne.2.zz1"
                .parse::<Spec>()
                .unwrap_err()
                .contains("not a parameter")
        );
        assert!(
            "warp.2"
                .parse::<Spec>()
                .unwrap_err()
                .contains("not a projection")
        );
    }
}
