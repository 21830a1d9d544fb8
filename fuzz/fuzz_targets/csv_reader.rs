//! Any bytes as an uploaded CSV: both passes of batch scoring's reader (against the bundled
//! shampoo model's manifest) and the saved-formulations reader must return, not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mixlab_core::Manifest;
use mixlab_core::scoring::{self, Decisions, Run};

fn manifest() -> &'static Manifest {
    static M: std::sync::OnceLock<Manifest> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        Manifest::from_json(include_bytes!("../../public/models/shampoo/manifest.json"))
            .expect("the bundled manifest reads")
    })
}

fuzz_target!(|data: &[u8]| {
    let m = manifest();
    if let Ok(plan) = scoring::check(m, data, &[], |_| {}) {
        // The scoring pass's bookkeeping, without a model: push every record it would score.
        if let Ok(mut run) = Run::new(&plan, m, Decisions::default()) {
            if let Ok(mut records) = mixlab_core::table::records(data) {
                while let Ok(Some((row, record))) = records.next_record() {
                    run.push_record(record, row);
                }
            }
        }
    }
    let _ = mixlab_core::saved::from_csv(m, data);
});
