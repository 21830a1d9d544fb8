//! The crash tests' hook (here, above the features it reaches).

use wasm_bindgen::prelude::*;

/// Fail on purpose, for the tests that prove a crash is survived: `"main"` panics in the
/// page, `"worker"` in the scoring worker, `"explorer"` in the projection worker (once a
/// projection has started it). Reachable only from script running in the page
/// (which the Content-Security-Policy limits to the app's own), not from a link.
#[wasm_bindgen]
pub fn mixlab_fault(kind: &str) {
    match kind {
        "main" => panic!("a fault injected by mixlab_fault(\"main\")"),
        "worker" => crate::scoring::inject_fault(),
        "explorer" => crate::explorer::inject_fault(),
        _ => {}
    }
}
