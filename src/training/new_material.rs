//! A new material from a few trials (`mixlab fit-material` in the page): the current model
//! keeps all it learnt; only the new material's code is fitted to the formulations that
//! contain it. The grown model becomes the current one and is kept in this browser.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::Bundle;
use mixlab_core::describe::format_value;
use mixlab_core::train_setup::FitConfig;
use wasm_bindgen::JsValue;

use crate::platform::kept;
use crate::platform::workers::{JobWorker, WorkerCode, message_bytes, read_message};
use crate::state::{Notice, Source, State, default_edit};
use mixlab_core::trainer::{FromTrainer, ToTrainer};

#[derive(Clone, Debug, PartialEq)]
enum FitPhase {
    Idle,
    Running { step: usize, total: usize },
    Done,
    Failed(String),
}

/// Per target: (name, formulations, MAE before, MAE after).
type Errors = Vec<(String, usize, f64, f64)>;

#[derive(Clone, Copy)]
struct FitJob {
    state: State,
    phase: RwSignal<FitPhase>,
    errors: RwSignal<Option<Arc<(String, Errors)>>>,
    file: StoredValue<Option<web_sys::File>, LocalStorage>,
    file_name: RwSignal<Option<String>>,
    worker: JobWorker,
}

impl FitJob {
    fn run(self, material: String, config: FitConfig) {
        let Some(file) = self.file.get_value() else {
            return self
                .phase
                .set(FitPhase::Failed("Choose the file of trials first.".into()));
        };
        if material.trim().is_empty() {
            return self.phase.set(FitPhase::Failed(
                "Name the new material (its column in the file).".into(),
            ));
        }
        let Some(e) = self.state.compute.engine() else {
            return;
        };
        let manifest = js_sys::Uint8Array::from(e.bundle.manifest.to_json().as_bytes());
        let weights = js_sys::Uint8Array::from(e.bundle.weights_bytes().as_slice());
        let json = |r: &ToTrainer| serde_json::to_string(r).unwrap_or_default();
        let requests = [(
            json(&ToTrainer::FitMaterial {
                material: material.trim().to_string(),
                config,
            }),
            vec![
                ("file", JsValue::from(file)),
                ("manifest", manifest.into()),
                ("weights", weights.into()),
            ],
        )];
        self.errors.set(None);
        self.phase.set(FitPhase::Running { step: 0, total: 1 });
        if let Err(err) = self.worker.start(&requests, move |data| self.receive(data)) {
            self.phase.set(FitPhase::Failed(format!(
                "The worker could not start: {err}"
            )));
        }
    }

    fn receive(self, data: JsValue) {
        match read_message::<FromTrainer>(&data) {
            Ok(FromTrainer::Fitting { step, total }) => {
                self.phase.set(FitPhase::Running { step, total })
            }
            Ok(FromTrainer::Fitted {
                manifest, errors, ..
            }) => {
                self.worker.stop();
                let weights = message_bytes(&data, "weights").unwrap_or_default();
                match Bundle::from_bytes(manifest.as_bytes(), &weights) {
                    Ok(bundle) => {
                        self.errors
                            .set(Some(Arc::new((bundle.manifest.name.clone(), errors))));
                        self.phase.set(FitPhase::Done);
                        spawn_local(self.install(bundle, manifest, weights));
                    }
                    Err(e) => self.phase.set(FitPhase::Failed(format!(
                        "The grown model could not be opened: {e}"
                    ))),
                }
            }
            Ok(FromTrainer::Failed { message } | FromTrainer::Crashed { message }) => {
                self.worker.stop();
                self.phase.set(FitPhase::Failed(message));
            }
            Ok(_) => {}
            Err(e) => {
                self.worker.stop();
                self.phase.set(FitPhase::Failed(e));
            }
        }
    }

    /// Kept, then current (as a trained model is).
    async fn install(self, bundle: Bundle, manifest: String, weights: Vec<u8>) {
        let state = self.state;
        let name = bundle.manifest.name.clone();
        let source = match kept::keep(&name, &manifest, &weights).await {
            Ok(entry) => Source::Kept(entry.id),
            Err(e) => {
                state.notice.set(Some(Notice::Error(e)));
                Source::Files(format!("{name} (fitted here)"))
            }
        };
        if let Some(e) = state.compute.engine() {
            let edit = default_edit(&bundle.manifest);
            state.install(bundle, source, e.device.clone(), e.backend, edit);
            crate::platform::browser::set_query(&[("model", None), ("f", None), ("c", None)]);
        }
        crate::app::refresh_kept(state).await;
    }
}

#[component]
pub fn NewMaterial() -> impl IntoView {
    let state = expect_context::<State>();
    let job = FitJob {
        state,
        phase: RwSignal::new(FitPhase::Idle),
        errors: RwSignal::new(None),
        file: StoredValue::new_local(None),
        file_name: RwSignal::new(None),
        worker: JobWorker::new(WorkerCode::Trainer),
    };
    let name = RwSignal::new(String::new());
    let start = RwSignal::new(String::new());
    let steps = RwSignal::new(FitConfig::default().steps);
    let running = Memo::new(move |_| matches!(job.phase.get(), FitPhase::Running { .. }));
    let materials = move || {
        state.loaded.with(|l| {
            l.as_ref()
                .map(|l| {
                    l.manifest
                        .materials
                        .iter()
                        .map(|m| m.name.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <section id="new-material" data-phase=move || match job.phase.get() {
            FitPhase::Idle => "idle", FitPhase::Running { .. } => "running", FitPhase::Done => "done", FitPhase::Failed(_) => "failed",
        }>
            <h3>"Add a material from a few trials"</h3>
            <p class="note">"The current model keeps all it learnt; only the new material's code is fitted to the formulations that contain it (" <code>"mixlab fit-material"</code>"). The file has the model's material and condition columns, the new material's column and the measured targets. The grown model becomes the current one and is kept in this browser."</p>
            <div class="controls wrap">
                <label>"New material (its column)"
                    <input id="fit-name" type="text" size="20" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <label title="Start from the code of a material you judge similar; else the origin, where a material has no effect">"Start from"
                    <select id="fit-start" on:change=move |ev| start.set(event_target_value(&ev))>
                        <option value="">"the origin (no effect)"</option>
                        {move || materials().into_iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Steps"
                    <input id="fit-steps" type="number" min="1" max="100000" prop:value=move || steps.get().to_string()
                        on:change=move |ev| { if let Ok(v) = event_target_value(&ev).trim().parse::<usize>() { steps.set(v.max(1)); } }/>
                </label>
                <label class="file-button">"Trials CSV…"
                    <input id="fit-file" type="file" accept=".csv,.tsv,.txt,text/csv" on:change=move |ev| {
                        let input: web_sys::HtmlInputElement = leptos::prelude::event_target(&ev);
                        let file = input.files().and_then(|f| f.get(0));
                        job.file_name.set(file.as_ref().map(web_sys::File::name));
                        job.file.set_value(file);
                        input.set_value("");
                    }/>
                </label>
                <span id="fit-file-name">{move || job.file_name.get()}</span>
                <button id="fit-run" prop:disabled=move || running.get() on:click=move |_| {
                    let config = FitConfig {
                        steps: steps.get_untracked(),
                        start_from: Some(start.get_untracked()).filter(|s| !s.is_empty()),
                        ..FitConfig::default()
                    };
                    job.run(name.get_untracked(), config);
                }>"Fit the new material"</button>
            </div>
            {move || match job.phase.get() {
                FitPhase::Running { step, total } => Some(view! {
                    <div class="progress-row"><progress id="fit-progress" max=total prop:value=step></progress><span>{format!("step {step} of {total}")}</span></div>
                }.into_any()),
                FitPhase::Failed(m) => Some(view! { <p id="fit-error" class="notice error" role="alert">{m}</p> }.into_any()),
                _ => None,
            }}
            {move || job.errors.get().map(|e| view! {
                <p>{format!("“{}” is now the current model. Error on the trials before and after fitting:", e.0)}</p>
                <table id="fit-result" class="metrics">
                    <thead><tr><th scope="col">"Target"</th><th scope="col">"Formulations"</th><th scope="col">"MAE before"</th><th scope="col">"MAE after"</th><th scope="col">"Lower by"</th></tr></thead>
                    <tbody>{e.1.iter().map(|(t, rows, before, after)| view! {
                        <tr data-target=t.clone() data-before=before.to_string() data-after=after.to_string()>
                            <th scope="row">{t.clone()}</th><td>{*rows}</td><td>{format_value(*before)}</td><td>{format_value(*after)}</td>
                            <td>{format!("{:.0} %", 100.0 * (1.0 - after / before))}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            })}
        </section>
    }
}
