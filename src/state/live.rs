//! The live prediction: the one painted for the edited formulation, and the loop that keeps it
//! current. Inputs that arrive while a prediction runs are coalesced: when it ends, the latest
//! state is predicted once.

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::Prediction;
use mixlab_core::bundle::{Manifest, TargetKind};
use mixlab_core::formulation::batch_of;

use super::State;
use crate::platform::browser;

#[derive(Clone, Debug, PartialEq)]
pub struct TargetValue {
    pub name: String,
    /// What people read ("Viscosity at 10 s⁻¹"); `name` is the column.
    pub title: String,
    pub unit: String,
    pub kind: TargetKind,
    pub value: f64,
    pub spread: f64,
}

/// A painted prediction and the input event it answers (for the latency benchmark).
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    pub targets: Vec<TargetValue>,
    pub input_ts: f64,
    pub seq: u64,
}

#[derive(Clone, Copy)]
pub struct Live {
    pub shown: RwSignal<Option<Shown>>,
    pub error: RwSignal<Option<String>>,
    /// A prediction is being computed (the one shown may be one input behind).
    pub busy: RwSignal<bool>,
    /// When the first prediction was painted (ms after navigation).
    pub first_ms: RwSignal<Option<f64>>,
    pending: StoredValue<bool>,
    running: StoredValue<bool>,
    /// `Event.timeStamp` of the input being handled.
    input_ts: StoredValue<f64>,
    seq: StoredValue<u64>,
}

impl Live {
    pub fn new() -> Self {
        Live {
            shown: RwSignal::new(None),
            error: RwSignal::new(None),
            busy: RwSignal::new(false),
            first_ms: RwSignal::new(None),
            pending: StoredValue::new(false),
            running: StoredValue::new(false),
            input_ts: StoredValue::new(0.0),
            seq: StoredValue::new(0),
        }
    }

    /// Whether a prediction is being computed (the analysis job waits for it).
    pub fn predicting(&self) -> bool {
        self.running.get_value()
    }

    /// Remember when the input being handled happened (`Event.timeStamp`).
    pub fn note_input(&self, ts: f64) {
        self.input_ts.set_value(ts);
    }
}

pub fn targets_of(manifest: &Manifest, p: &Prediction, row: usize) -> Vec<TargetValue> {
    manifest
        .targets
        .iter()
        .zip(p.row(row).iter().zip(p.spread_row(row)))
        .map(|(t, (&value, &spread))| TargetValue {
            name: t.name.clone(),
            title: t.title().to_string(),
            unit: t.unit.clone(),
            kind: t.kind,
            value,
            spread,
        })
        .collect()
}

/// Predict the edited formulation as soon as possible.
pub fn request_prediction(state: State) {
    let live = state.live;
    live.pending.set_value(true);
    if live.running.get_value() {
        return;
    }
    live.running.set_value(true);
    live.busy.set(true);
    spawn_local(async move {
        while live
            .pending
            .try_update_value(std::mem::take)
            .unwrap_or(false)
        {
            let Some(engine) = state.compute.engine() else {
                break;
            };
            let edit = state.edit.get_untracked();
            let input_ts = live.input_ts.get_value();
            let manifest = &engine.bundle.manifest;
            let batch = batch_of(manifest, [&edit.form], &edit.conds);
            let result = engine.model.predict_async(&batch).await;
            if !state.compute.is_current(&engine) {
                continue; // the model or device changed meanwhile; its own request follows
            }
            match result {
                Ok(p) => {
                    let seq = live.seq.get_value() + 1;
                    live.seq.set_value(seq);
                    live.error.set(None);
                    live.shown.set(Some(Shown {
                        targets: targets_of(manifest, &p, 0),
                        input_ts,
                        seq,
                    }));
                    if live.first_ms.get_untracked().is_none() {
                        live.first_ms.set(Some(browser::now_ms()));
                    }
                }
                Err(e) => {
                    live.shown.set(None);
                    live.error.set(Some(format!(
                        "No prediction on {}: {e}",
                        engine.backend.label()
                    )));
                }
            }
        }
        live.running.set_value(false);
        live.busy.set(false);
    });
}
