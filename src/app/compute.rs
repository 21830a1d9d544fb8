//! The compute backend in auto mode: start on the CPU (ready at once), bring WebGPU up behind
//! it, and move there only when it is ready and measured faster for this model. The status
//! bar says which one runs and why; the backend switch stays, and a choice made there wins.

use leptos::prelude::*;
use mixlab_core::MixModel;
use mixlab_core::formulation::batch_of;
use mixlab_core::model::Batch;

use crate::platform::backend::{self, Backend};
use crate::platform::browser::now_ms;
use crate::state::{Probe, State};

/// Timed predictions per backend (after one untimed run that compiles the shaders).
const RUNS: usize = 5;

/// Median milliseconds of one prediction of `batch` with `model`.
async fn median_ms(model: &MixModel, batch: &Batch) -> Result<f64, String> {
    model
        .predict_async(batch)
        .await
        .map_err(|e| e.to_string())?;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t0 = now_ms();
        model
            .predict_async(batch)
            .await
            .map_err(|e| e.to_string())?;
        times.push(now_ms() - t0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[RUNS / 2])
}

/// Bring WebGPU up in the background and move to it when it predicts this model faster.
pub async fn probe_webgpu(state: State) {
    let t0 = now_ms();
    let started = backend::webgpu().await;
    let ready_ms = now_ms() - t0;
    if state.compute.pinned.get_value() {
        return;
    }
    let device = match started {
        Ok(d) => d,
        Err(why) => {
            state
                .compute
                .note
                .set(Some(format!("Using the CPU: {why}.")));
            return;
        }
    };
    let Some(e) = state.compute.engine() else {
        return;
    };
    let edit = state.edit.get_untracked();
    let batch = batch_of(&e.bundle.manifest, [&edit.form], &edit.conds);
    let gpu_model = MixModel::new(&e.bundle, &device);
    let measured = async {
        let gpu = median_ms(&gpu_model, &batch).await?;
        let cpu = median_ms(&e.model, &batch).await?;
        Ok::<_, String>((cpu, gpu))
    };
    let (cpu_ms, webgpu_ms) = match measured.await {
        Ok(m) => m,
        Err(why) => {
            state.compute.note.set(Some(format!(
                "Using the CPU: WebGPU started but could not predict ({why})."
            )));
            return;
        }
    };
    // The user may have chosen meanwhile, or another model been opened on the CPU.
    if state.compute.pinned.get_value()
        || state
            .compute
            .engine()
            .is_none_or(|now| now.backend != Backend::Cpu)
    {
        return;
    }
    let probe = Probe {
        ready_ms,
        cpu_ms,
        webgpu_ms,
    };
    state.compute.probe.set(Some(probe));
    if webgpu_ms < cpu_ms {
        state.compute.note.set(Some(format!(
            "Moved to WebGPU: it predicts this model in {webgpu_ms:.1} ms, the CPU in {cpu_ms:.1} ms."
        )));
        state.switch_device(device, Backend::WebGpu);
    } else {
        state.compute.note.set(Some(format!(
            "Using the CPU: it predicts this model in {cpu_ms:.1} ms, WebGPU (ready after \
             {ready_ms:.0} ms) in {webgpu_ms:.1} ms."
        )));
    }
}
