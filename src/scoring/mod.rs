//! The page's side of batch scoring: the worker's life (started with the model, restarted on
//! cancel), what it reports, as signals for the view (`batch_view`).

use std::cell::RefCell;
use std::sync::Arc;

use leptos::prelude::*;
use mixlab_core::scoring::{Decisions, Report, Results};
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};

use crate::platform::workers::{message_of, spawn_module_worker};
use crate::state::State;
use crate::worker::{FromWorker, ToWorker};

mod columns;
mod results;
pub mod section;

#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Idle,
    Checking,
    Report,
    Scoring,
    Done,
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub fraction: f64,
    pub rows: usize,
}

/// A finished run as the view shows it.
pub struct Scored {
    pub results: Results,
    pub ms: f64,
    pub memory_bytes: f64,
    /// `blob:` URL of the output CSV.
    pub url: String,
    pub bytes: f64,
}

#[derive(Clone, Copy)]
pub struct BatchState {
    pub phase: RwSignal<Phase>,
    /// The backend the worker's model runs on, once loaded.
    pub ready: RwSignal<Option<String>>,
    pub progress: RwSignal<Option<Progress>>,
    pub file_name: RwSignal<String>,
    pub report: RwSignal<Option<Arc<Report>>>,
    pub check_ms: RwSignal<f64>,
    pub scored: RwSignal<Option<Arc<Scored>>>,
    /// The column mapping the file was checked with (the one remembered for the model, or
    /// the one just applied).
    pub mapping: RwSignal<Option<mixlab_core::mapping::Mapping>>,
    /// Generation of the worker (bumped on every restart; stale messages are ignored).
    generation: StoredValue<u64>,
    /// The page's model, which the worker is given.
    state: State,
}

struct Handle {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

thread_local! {
    // A thread-local, not a stored value: `mixlab_fault` (the crash tests' hook) reaches it
    // from JavaScript, outside the component tree.
    static WORKER: RefCell<Option<Handle>> = const { RefCell::new(None) };
    // The file being scored, kept to check it again with another column mapping.
    static FILE: RefCell<Option<web_sys::File>> = const { RefCell::new(None) };
}

impl BatchState {
    pub fn new(state: State) -> Self {
        BatchState {
            state,
            phase: RwSignal::new(Phase::Idle),
            ready: RwSignal::new(None),
            progress: RwSignal::new(None),
            file_name: RwSignal::new(String::new()),
            report: RwSignal::new(None),
            check_ms: RwSignal::new(0.0),
            scored: RwSignal::new(None),
            mapping: RwSignal::new(None),
            generation: StoredValue::new(0),
        }
    }

    pub fn busy(&self) -> bool {
        matches!(self.phase.get_untracked(), Phase::Checking | Phase::Scoring)
    }

    /// Start (or restart) the worker and give it the current model.
    pub fn spawn(self) {
        stop_worker();
        self.generation.update_value(|g| *g += 1);
        self.ready.set(None);
        match start_worker(self) {
            Ok(()) => self.send_model(),
            Err(e) => self.phase.set(Phase::Failed(format!(
                "The scoring worker could not start: {e}"
            ))),
        }
    }

    /// Give the worker the model now on the page (after a model or backend change).
    pub fn send_model(self) {
        let Some(e) = self.state.compute.engine() else {
            return;
        };
        self.ready.set(None);
        let manifest = js_sys::Uint8Array::from(e.bundle.manifest.to_json().as_bytes());
        let weights = js_sys::Uint8Array::from(e.bundle.weights_bytes().as_slice());
        let request = ToWorker::Model {
            backend: e.backend.id().into(),
        };
        post(
            &request,
            &[("manifest", manifest.into()), ("weights", weights.into())],
        );
    }

    /// The name the model's remembered mapping is kept under.
    fn model_name(&self) -> Option<String> {
        self.state
            .compute
            .engine()
            .map(|e| e.bundle.manifest.name.clone())
    }

    /// Check a file (first pass), with the column mapping remembered for the model.
    pub fn check(self, file: web_sys::File) {
        let remembered = self
            .model_name()
            .and_then(|m| crate::platform::storage::load_mapping(&m));
        self.mapping.set(remembered);
        FILE.with_borrow_mut(|f| *f = Some(file.clone()));
        self.run_check(file);
    }

    /// Check the file again with `mapping`, which is remembered for the model's next files.
    pub fn remap(self, mapping: mixlab_core::mapping::Mapping) {
        let Some(file) = FILE.with_borrow(|f| f.clone()) else {
            return;
        };
        if let Some(model) = self.model_name()
            && let Err(e) = crate::platform::storage::store_mapping(&model, &mapping)
        {
            return self
                .phase
                .set(Phase::Failed(format!("The mapping was not kept: {e}")));
        }
        self.mapping.set(Some(mapping));
        self.run_check(file);
    }

    /// Forget the model's remembered mapping and check the file without one.
    pub fn forget_mapping(self) {
        if let Some(model) = self.model_name() {
            crate::platform::storage::forget_mapping(&model);
        }
        self.mapping.set(None);
        if let Some(file) = FILE.with_borrow(|f| f.clone()) {
            self.run_check(file);
        }
    }

    fn run_check(self, file: web_sys::File) {
        if self.busy() {
            self.cancel();
        }
        // A file dropped before the worker's usual start (the first prediction) starts it.
        if WORKER.with_borrow(|w| w.is_none()) {
            self.spawn();
        }
        if let Some(old) = self.scored.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&old.url);
        }
        self.file_name.set(file.name());
        self.report.set(None);
        self.scored.set(None);
        self.progress.set(None);
        self.phase.set(Phase::Checking);
        let request = ToWorker::Check {
            carry: vec![],
            mapping: self.mapping.get_untracked(),
        };
        post(&request, &[("file", file.into())]);
    }

    /// Score the checked file with the user's decisions (second pass).
    pub fn score(self, decisions: Decisions) {
        self.scored.set(None);
        self.progress.set(None);
        self.phase.set(Phase::Scoring);
        post(&ToWorker::Score { decisions }, &[]);
    }

    /// Stop the worker where it is (it is terminated, not asked) and start a fresh one; the
    /// report, if there was one, stays so the user can choose again.
    pub fn cancel(self) {
        let back = if self.report.get_untracked().is_some()
            && self.phase.get_untracked() == Phase::Scoring
        {
            Phase::Report
        } else {
            Phase::Idle
        };
        self.spawn();
        self.progress.set(None);
        if back == Phase::Idle {
            self.report.set(None);
        }
        self.phase.set(back);
    }

    fn receive(self, generation: u64, data: JsValue) {
        if generation != self.generation.get_value() {
            return;
        }
        let field = |name: &str| js_sys::Reflect::get(&data, &name.into()).ok();
        let Some(json) = field("json").and_then(|j| j.as_string()) else {
            return;
        };
        let message: FromWorker = match serde_json::from_str(&json) {
            Ok(m) => m,
            Err(e) => {
                return self.phase.set(Phase::Failed(format!(
                    "The scoring worker said something unreadable: {e}"
                )));
            }
        };
        match message {
            FromWorker::Ready { backend, .. } => self.ready.set(Some(backend)),
            FromWorker::Progress { done, total, rows } => self.progress.set(Some(Progress {
                fraction: if total > 0.0 { done / total } else { 0.0 },
                rows,
            })),
            FromWorker::Report { report, ms } => {
                self.check_ms.set(ms);
                let automatic = !report.needs_decision();
                self.report.set(Some(Arc::new(*report)));
                self.phase.set(Phase::Report);
                // A file without problems is scored at once: there is nothing to decide.
                if automatic {
                    self.score(Decisions::default());
                }
            }
            FromWorker::Done {
                results,
                ms,
                memory_bytes,
            } => {
                let blob: Option<web_sys::Blob> = field("blob").and_then(|b| b.dyn_into().ok());
                let (url, bytes) = blob
                    .map(|b| {
                        (
                            web_sys::Url::create_object_url_with_blob(&b).unwrap_or_default(),
                            b.size(),
                        )
                    })
                    .unwrap_or_default();
                self.scored.set(Some(Arc::new(Scored {
                    results: *results,
                    ms,
                    memory_bytes,
                    url,
                    bytes,
                })));
                self.phase.set(Phase::Done);
            }
            FromWorker::Failed { message } => {
                self.phase.set(Phase::Failed(message));
            }
            FromWorker::Crashed { message } => {
                self.phase.set(Phase::Failed(format!(
                    "The scoring worker stopped on an internal error ({message}). It has been \
                     restarted with the model: choose the file again."
                )));
                self.spawn();
            }
            // Other workers' messages.
            _ => {}
        }
    }
}

fn stop_worker() {
    WORKER.with_borrow_mut(|w| {
        if let Some(h) = w.take() {
            h.worker.terminate();
        }
    });
}

/// Make the scoring worker panic (see `mixlab_fault`).
pub fn inject_fault() {
    post(&ToWorker::Fault, &[]);
}

fn post(request: &ToWorker, extra: &[(&str, JsValue)]) {
    let object = message_of(serde_json::to_string(request).unwrap_or_default(), extra);
    WORKER.with_borrow(|w| {
        if let Some(h) = w {
            let _ = h.worker.post_message(&object);
        }
    });
}

fn start_worker(state: BatchState) -> Result<(), String> {
    let generation = state.generation.get_value();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        state.receive(generation, e.data())
    });
    let worker = spawn_module_worker(&on_message)?;
    WORKER.with_borrow_mut(|w| {
        *w = Some(Handle {
            worker,
            _on_message: on_message,
        })
    });
    Ok(())
}

/// Keep the worker's model in step with the page's (model or backend changed); results of the
/// model before are cleared, as they no longer match what the page shows.
pub fn follow_model(state: State, batch: BatchState) {
    Effect::new(move |before: Option<bool>| {
        let _ = state
            .loaded
            .with(|l| l.as_ref().map(|l| l.manifest.name.clone()));
        let _ = state.compute.backend.get();
        // The worker starts after the first prediction is on screen: starting it (a second
        // wasm instance, maybe a second WebGPU device) must not delay that.
        if state.live.first_ms.get().is_none() {
            return false;
        }
        if WORKER.with_borrow(|w| w.is_none()) || batch.busy() {
            // A change during a run restarts the worker: the run was for the old model.
            batch.spawn();
        } else if before == Some(true) {
            batch.send_model();
        }
        if before == Some(true) {
            batch.phase.set(Phase::Idle);
            batch.report.set(None);
            batch.scored.set(None);
        }
        true
    });
}

/// Whether a CSV dropped on the page is one to score rather than the editor's saved
/// formulations (whose header has a `role` column).
pub async fn is_for_scoring(file: &web_sys::File) -> bool {
    if !file.name().to_lowercase().ends_with(".csv") {
        return false;
    }
    let Ok(head) = file.slice_with_i32_and_i32(0, 64 * 1024) else {
        return false;
    };
    let text = wasm_bindgen_futures::JsFuture::from(head.text())
        .await
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_default();
    let first = text.lines().next().unwrap_or("");
    !first
        .split([',', ';'])
        .any(|h| h.trim().trim_matches('"') == mixlab_core::saved::ROLE)
}
