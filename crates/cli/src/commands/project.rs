use std::time::Instant;

use mixlab_core::explorer::export;
use mixlab_core::neighbours::{group_purity, trustworthiness};
use mixlab_core::projection::{self, Spec};
use mixlab_core::{Bundle, maps};

use super::{read_bundle, write_bundle};
use crate::args::{ProjectArgs, ProjectionOpts};
use crate::error::{CliError, io_error};
use crate::progress;

pub fn run(a: ProjectArgs) -> Result<(), CliError> {
    let dir = &a.bundle.bundle;
    let mut bundle = read_bundle(dir)?;
    if a.store_defaults {
        maps::refresh(&mut bundle);
        write_bundle(&bundle, dir)?;
        let names: Vec<&str> = (bundle.manifest.projections.iter())
            .map(|p| p.name.as_str())
            .collect();
        eprintln!("stored {}", names.join(", "));
        return Ok(());
    }
    let (n, d) = (
        bundle.manifest.materials.len(),
        bundle.manifest.architecture.code_dim,
    );
    let spec = a.projection.spec(n)?;
    let reps = mixlab_core::maps::representations(&bundle);
    if let Some(path) = &a.codes_out {
        let text: String = (reps.chunks(d.max(1)))
            .map(|r| r.iter().map(f64::to_string).collect::<Vec<_>>().join(",") + "\n")
            .collect();
        std::fs::write(path, text).map_err(io_error(path))?;
    }
    let bar = progress::stages();
    let started = Instant::now();
    let coords = projection::project(&reps, n, d, &spec, &mut |p| {
        bar.set_message(p.stage);
        bar.set_length(p.total.max(1) as u64);
        bar.set_position(p.done as u64);
        true
    })?;
    bar.finish_and_clear();
    eprintln!(
        "{spec}: {n} materials × {d} → {}-D in {:.2} s",
        spec.dims,
        started.elapsed().as_secs_f64()
    );
    if a.trust {
        let k = 10.min(n.saturating_sub(1) / 2);
        if k == 0 {
            eprintln!("trustworthiness: too few materials");
        } else {
            let high = projection::rows_of(&reps, n, d);
            let t = trustworthiness(&high, &projection::rows_of(&coords, n, spec.dims), k);
            eprintln!("trustworthiness@{k}: {t:.4}");
        }
    }
    if let Some(key) = &a.purity {
        return print_purity(&bundle, key, a.purity_k, &reps, &coords, &spec);
    }
    let names: Vec<String> = (bundle.manifest.materials.iter())
        .map(|m| m.name.clone())
        .collect();
    let text = match &a.out {
        Some(p) if p.extension().is_some_and(|e| e == "json") => {
            export::coordinates_json(&names, &coords, &spec)
        }
        _ => export::coordinates_csv(&names, &coords, spec.dims),
    };
    match &a.out {
        Some(p) => std::fs::write(p, text).map_err(io_error(p))?,
        None => print!("{text}"),
    }
    if a.add {
        maps::add(&mut bundle, &spec, coords);
        write_bundle(&bundle, dir)?;
        eprintln!("stored in {}", dir.display());
    }
    Ok(())
}

/// `--purity KEY`: the kNN purity of a metadata column, as one JSON line.
fn print_purity(
    bundle: &Bundle,
    key: &str,
    k: usize,
    reps: &[f64],
    coords: &[f32],
    spec: &Spec,
) -> Result<(), CliError> {
    let labels: Vec<Option<String>> = (bundle.manifest.materials.iter())
        .map(|m| m.metadata.get(key).cloned())
        .collect();
    let d = bundle.manifest.architecture.code_dim;
    let p = group_purity(&labels, reps, d, coords, spec.dims, k).ok_or_else(|| {
        CliError::Usage(format!("no material has two or more with the same {key:?}"))
    })?;
    println!(
        "{{\"spec\": \"{spec}\", \"key\": \"{key}\", \"k\": {k}, \"materials\": {}, \"map\": {:.4}, \"codes\": {:.4}, \"random\": {:.4}}}",
        p.materials, p.map, p.codes, p.random
    );
    Ok(())
}

impl ProjectionOpts {
    /// The spec these options give for a model of `n` materials: `--spec`'s token, or the
    /// method's defaults for that size with the flags given on top.
    fn spec(&self, n: usize) -> Result<Spec, CliError> {
        if let Some(token) = &self.spec {
            return token
                .parse()
                .map_err(|why| CliError::Usage(format!("--spec {token:?}: {why}")));
        }
        let mut spec = Spec::for_points(self.method.into(), self.dims, n);
        let p = &mut spec.params;
        p.perplexity = self.perplexity.unwrap_or(p.perplexity);
        p.learning_rate = self.learning_rate.unwrap_or(p.learning_rate);
        p.iterations = self.iterations.unwrap_or(p.iterations);
        p.neighbours = self.neighbours.unwrap_or(p.neighbours);
        p.min_dist = self.min_dist.unwrap_or(p.min_dist);
        p.k = self.k.unwrap_or(p.k);
        spec.seed = self.seed;
        Ok(spec)
    }
}
