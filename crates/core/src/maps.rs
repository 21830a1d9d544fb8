//! Maps (projections of the codes) stored in a bundle, so the explorer shows them at once: found
//! by their spec (the manifest keeps each one's token), added by training, `fit-material` and
//! `mixlab project --add`. They belong to the bundle, not to the explorer that draws them.

use std::collections::BTreeMap;

use crate::bundle::{Bundle, CodeActivation, ProjectionInfo};
use crate::projection::{Method, OnProgress, ProjectionError, Spec, project};

/// `act(code)` of every material of member 0, `[materials, code_dim]` row-major.
pub fn representations(bundle: &Bundle) -> Vec<f64> {
    activate(
        bundle.manifest.architecture.code_activation,
        &bundle.weights().codes,
    )
}

/// `act(code)` of raw codes with `libm`, so wasm and native agree to the bit (the projections
/// amplify any difference).
pub fn activate(act: CodeActivation, codes: &[f32]) -> Vec<f64> {
    codes
        .iter()
        .map(|&c| {
            let v = f64::from(c);
            match act {
                CodeActivation::Tanh => libm::tanh(v),
                CodeActivation::Sigmoid => 1.0 / (1.0 + libm::exp(-v)),
                CodeActivation::Identity => v,
            }
        })
        .collect()
}

/// Replace the bundle's precomputed projections with 2-D and 3-D PCA of member 0.
pub fn add_pca(bundle: &mut Bundle) {
    let n = bundle.manifest.materials.len();
    let d = bundle.manifest.architecture.code_dim;
    let reps = representations(bundle);
    bundle.manifest.projections.clear();
    bundle.projections.clear();
    for dims in [2, 3] {
        bundle.manifest.projections.push(ProjectionInfo {
            name: format!("pca{dims}"),
            method: "pca".into(),
            dims,
            params: BTreeMap::new(),
        });
        bundle
            .projections
            .push(crate::projection::pca(&reps, n, d, dims));
    }
}

/// The stored coordinates for `spec`, if the bundle has them.
pub fn find<'a>(bundle: &'a Bundle, spec: &Spec) -> Option<&'a [f32]> {
    let want = spec.to_string();
    bundle
        .manifest
        .projections
        .iter()
        .zip(&bundle.projections)
        .find(|(info, _)| stored_spec(info).is_some_and(|s| s.to_string() == want))
        .map(|(_, coords)| coords.as_slice())
}

/// The spec a stored projection was made with (PCA entries written before specs were kept
/// have only their method and dimensions, which is all PCA needs).
pub fn stored_spec(info: &ProjectionInfo) -> Option<Spec> {
    match info.params.get("spec").and_then(|v| v.as_str()) {
        Some(token) => token.parse().ok(),
        None if info.method == "pca" => Some(Spec::new(Method::Pca, info.dims)),
        None => None,
    }
}

/// Store (or replace) the coordinates of `spec`.
pub fn add(bundle: &mut Bundle, spec: &Spec, coords: Vec<f32>) {
    let token = spec.to_string();
    if let Some(i) = bundle
        .manifest
        .projections
        .iter()
        .position(|info| stored_spec(info).is_some_and(|s| s.to_string() == token))
    {
        bundle.manifest.projections.remove(i);
        bundle.projections.remove(i);
    }
    bundle.manifest.projections.push(ProjectionInfo {
        name: token.clone(),
        method: spec.method.key().into(),
        dims: spec.dims,
        params: BTreeMap::from([("spec".to_string(), serde_json::Value::String(token))]),
    });
    bundle.projections.push(coords);
}

/// Every method in 2-D and 3-D with its defaults for this many materials (PCA only above
/// `max_nonlinear` materials: larger maps are computed on demand in the app).
pub fn add_defaults(
    bundle: &mut Bundle,
    max_nonlinear: usize,
    on: &mut OnProgress<'_>,
) -> Result<(), ProjectionError> {
    let n = bundle.manifest.materials.len();
    let d = bundle.manifest.architecture.code_dim;
    let reps = representations(bundle);
    for method in Method::ALL {
        if method != Method::Pca && n > max_nonlinear {
            continue;
        }
        for dims in [2, 3] {
            let spec = Spec::for_points(method, dims, n);
            if spec.validate(n).is_err() {
                continue; // too few materials for this method
            }
            let coords = project(&reps, n, d, &spec, on)?;
            add(bundle, &spec, coords);
        }
    }
    Ok(())
}

/// Materials up to which training stores every nonlinear map (a few seconds at most).
pub const MAX_PRECOMPUTED: usize = 1000;

/// Replace the bundle's stored projections with fresh ones of its current codes: every
/// method with its defaults for models up to [`MAX_PRECOMPUTED`] materials, PCA above. Codes
/// that are not finite (a diverged training) leave PCA only.
pub fn refresh(bundle: &mut Bundle) {
    add_pca(bundle);
    if add_defaults(bundle, MAX_PRECOMPUTED, &mut |_| true).is_err() {
        add_pca(bundle);
    }
}
