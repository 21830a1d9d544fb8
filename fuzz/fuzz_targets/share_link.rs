//! Any text as a share link: the address split, the formulation and conditions texts and the
//! explorer's view fragment must be refused with an error or read, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mixlab_core::explorer::view::{self, Limits};
use mixlab_core::{Manifest, link};

fn manifest() -> &'static Manifest {
    static M: std::sync::OnceLock<Manifest> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        Manifest::from_json(include_bytes!("../../public/models/concrete/manifest.json"))
            .expect("the bundled manifest reads")
    })
}

fuzz_target!(|text: &str| {
    let m = manifest();
    let meta = vec!["type".to_string()];
    let limits = Limits {
        fingerprint: "0badf00d",
        materials: m.materials.len(),
        targets: m.targets.len(),
        snapshots: 4,
        metadata: &meta,
    };
    if let Ok(parts) = link::parts_of(text) {
        if let Some(f) = &parts.formulation {
            let _ = link::formulation_from_text(m, f);
        }
        if let Some(c) = &parts.conditions {
            let _ = link::conditions_from_text(m, c, &m.default_condition_values());
        }
        if let Ok(v) = view::from_fragment(&parts.fragment, &limits) {
            // What reads must write back to the same view.
            let again = view::from_fragment(&view::to_fragment(&v), &limits);
            assert_eq!(again.as_ref().ok(), Some(&v));
            let _ = v.check_other("0badf00d", m.materials.len());
        }
    }
    let _ = link::formulation_from_text(m, text);
    let _ = view::from_fragment(text, &limits);
});
