use mixlab_core::formulation::{Formulation, batch_of};
use mixlab_core::link::{self, LinkError};
use mixlab_core::model::Batch;
use mixlab_core::{Device, MixModel};

use super::read_bundle;
use crate::args::PredictArgs;
use crate::error::CliError;

pub fn run(a: PredictArgs) -> Result<(), CliError> {
    let bundle = read_bundle(&a.bundle.bundle)?;
    let model = MixModel::new(&bundle, &Device::flex());
    let m = &bundle.manifest;
    let batch = if a.formulation.is_none() && a.conditions.is_none() {
        Batch::default_of(m)
    } else {
        let usage = |e: LinkError| CliError::Usage(e.to_string());
        let f = match &a.formulation {
            Some(text) => link::formulation_from_text(m, text).map_err(usage)?,
            None => Formulation::default_of(m),
        };
        let defaults = m.default_condition_values();
        let c = match &a.conditions {
            Some(text) => link::conditions_from_text(m, text, &defaults).map_err(usage)?,
            None => defaults,
        };
        batch_of(m, [&f], &c)
    };
    let pred = model.predict(&batch)?;
    let by_target = |values: &[f64]| -> serde_json::Map<String, serde_json::Value> {
        (m.targets.iter())
            .zip(values)
            .map(|(t, v)| (t.name.clone(), serde_json::json!(v)))
            .collect()
    };
    println!(
        "{}",
        serde_json::json!({
            "predictions": by_target(pred.row(0)),
            "spread": by_target(pred.spread_row(0)),
            "members": bundle.members.len(),
        })
    );
    Ok(())
}
