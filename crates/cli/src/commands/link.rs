use mixlab_core::explorer::{colour, view};
use mixlab_core::formulation::Formulation;
use mixlab_core::link::{self, LinkError};

use super::read_bundle;
use crate::args::LinkArgs;
use crate::error::CliError;

pub fn run(a: LinkArgs) -> Result<(), CliError> {
    let bundle = read_bundle(&a.bundle)?;
    let m = &bundle.manifest;
    let part =
        |what: &'static str| move |e: LinkError| CliError::Usage(format!("the link's {what}: {e}"));
    let parts = link::parts_of(&a.url).map_err(part("address"))?;
    let formulation = match &parts.formulation {
        Some(text) => link::formulation_from_text(m, text).map_err(part("formulation"))?,
        None => Formulation::default_of(m),
    };
    let defaults = m.default_condition_values();
    let conditions = match &parts.conditions {
        Some(text) => link::conditions_from_text(m, text, &defaults).map_err(part("conditions"))?,
        None => defaults,
    };
    let view = if parts.fragment.is_empty() {
        None
    } else {
        let meta = colour::metadata_keys(m);
        let limits = view::Limits {
            fingerprint: &view::fingerprint(&bundle.weights().codes),
            materials: m.materials.len(),
            targets: m.targets.len(),
            snapshots: m.snapshot_steps.len(),
            metadata: &meta,
        };
        let v = view::from_fragment(&parts.fragment, &limits)
            .map_err(|e| CliError::Usage(format!("the link's view: {e}")))?;
        Some(view::to_fragment(&v))
    };
    println!(
        "{}",
        serde_json::json!({
            "model": parts.model,
            "formulation": link::formulation_to_text(m, &formulation),
            "conditions": link::conditions_to_text(m, &conditions),
            "view": view,
        })
    );
    Ok(())
}
