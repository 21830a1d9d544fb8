//! The New model page's state: the training file and the roles of its columns, the options,
//! the run in its own worker (progress, the learning curve and the codes' map as they change,
//! cancel) and the model it made, which becomes the current model at once. Reading and
//! training are `mixlab_core` (the code `mixlab train` runs), so the page and the CLI train the
//! same model from the same file, options and seed.

mod charts;
mod columns;
mod kept_list;
mod options;
pub mod section;

use std::sync::Arc;

use leptos::prelude::*;
use mixlab_core::Bundle;
use mixlab_core::data::profile::Profile;
use mixlab_core::train::CurvePoint;
use mixlab_core::train_setup::TrainSetup;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};

use crate::platform::{browser, kept};
use crate::platform::workers::{message_of, spawn_module_worker};
use crate::state::{Notice, Source, State, default_edit};
use crate::worker::{FromWorker, ToWorker};

#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Idle,
    /// Reading the file's columns.
    Reading,
    Training {
        member: usize,
        members: usize,
        step: usize,
        total: usize,
    },
    Done,
    Failed(String),
}

/// A chosen training file and what its columns hold.
pub struct Chosen {
    pub file: String,
    pub profile: Profile,
    pub ms: f64,
}

/// A model trained in this page.
pub struct Trained {
    pub manifest_json: String,
    pub weights: Vec<u8>,
    pub rows: usize,
    pub validation_rows: usize,
    pub notes: Vec<String>,
    pub ms: f64,
    /// The same model from the command line (`mixlab train` arguments after `--data FILE`).
    pub command: String,
}

struct Handle {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

#[derive(Clone, Copy)]
pub struct TrainJob {
    state: State,
    file: StoredValue<Option<web_sys::File>, LocalStorage>,
    materials: StoredValue<Option<web_sys::File>, LocalStorage>,
    pub materials_name: RwSignal<Option<String>>,
    pub chosen: RwSignal<Option<Arc<Chosen>>>,
    pub setup: RwSignal<TrainSetup>,
    pub phase: RwSignal<Phase>,
    /// What is wrong with the setup or the file, shown above the form (which keeps its state).
    pub problem: RwSignal<Option<String>>,
    /// The learning curve of the member in training.
    pub curve: RwSignal<Vec<CurvePoint>>,
    /// Member 0's codes on the map, `[materials, 2]`, and the materials' names.
    pub map: RwSignal<Option<Arc<Vec<f64>>>>,
    pub names: RwSignal<Arc<Vec<String>>>,
    /// Formulations read for training.
    pub rows: RwSignal<usize>,
    /// `performance.now()` when the run started.
    pub started: RwSignal<f64>,
    pub trained: RwSignal<Option<Arc<Trained>>>,
    worker: StoredValue<Option<Handle>, LocalStorage>,
    generation: StoredValue<u64>,
}

impl TrainJob {
    pub fn new(state: State) -> Self {
        TrainJob {
            state,
            file: StoredValue::new_local(None),
            materials: StoredValue::new_local(None),
            materials_name: RwSignal::new(None),
            chosen: RwSignal::new(None),
            setup: RwSignal::new(TrainSetup::from_profile(&empty_profile(), "")),
            phase: RwSignal::new(Phase::Idle),
            problem: RwSignal::new(None),
            curve: RwSignal::new(Vec::new()),
            map: RwSignal::new(None),
            names: RwSignal::new(Arc::new(Vec::new())),
            rows: RwSignal::new(0),
            started: RwSignal::new(0.0),
            trained: RwSignal::new(None),
            worker: StoredValue::new_local(None),
            generation: StoredValue::new(0),
        }
    }

    /// Read a training file's columns (in a worker: a large file does not block the page).
    pub fn choose(self, file: web_sys::File) {
        self.problem.set(None);
        self.file.set_value(Some(file.clone()));
        self.phase.set(Phase::Reading);
        self.start(ToWorker::Profile, &[("file", file.into())]);
    }

    /// An optional table of the materials' metadata (first column the name).
    pub fn choose_materials(self, file: Option<web_sys::File>) {
        self.materials_name.set(file.as_ref().map(web_sys::File::name));
        self.materials.set_value(file);
    }

    /// Train with the form's setup; what is wrong with it is said before any work starts.
    pub fn train(self) {
        let Some(chosen) = self.chosen.get_untracked() else {
            return self
                .problem
                .set(Some("Choose a training file first.".into()));
        };
        let Some(file) = self.file.get_value() else {
            return;
        };
        let setup = self.setup.get_untracked();
        if let Err(e) = setup.spec(&chosen.profile).and_then(|_| setup.config()) {
            return self.problem.set(Some(format!("{e}.")));
        }
        self.problem.set(None);
        self.curve.set(Vec::new());
        self.map.set(None);
        self.trained.set(None);
        self.started.set(browser::now_ms());
        self.phase.set(Phase::Training {
            member: 0,
            members: setup.options.members,
            step: 0,
            total: setup.options.steps * setup.options.members,
        });
        let mut extra = vec![("file", JsValue::from(file))];
        if let Some(m) = self.materials.get_value() {
            extra.push(("materials", m.into()));
        }
        self.start(
            ToWorker::Train {
                setup: Box::new(setup),
            },
            &extra,
        );
    }

    /// Stop training where it is; the form and the current model stay as they were.
    pub fn cancel(self) {
        self.stop();
        self.phase.set(Phase::Idle);
        self.state.notice.set(Some(Notice::Info(
            "Training cancelled; the current model is unchanged.".into(),
        )));
    }

    fn stop(self) {
        if let Some(h) = self.worker.try_update_value(Option::take).flatten() {
            h.worker.terminate();
        }
    }

    fn start(self, request: ToWorker, extra: &[(&str, JsValue)]) {
        self.stop();
        self.generation.update_value(|g| *g += 1);
        let generation = self.generation.get_value();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
            self.receive(generation, m.data())
        });
        let worker = match spawn_module_worker(&on_message) {
            Ok(w) => w,
            Err(err) => {
                return self.phase.set(Phase::Failed(format!(
                    "The training worker could not start: {err}"
                )));
            }
        };
        let json = serde_json::to_string(&request).unwrap_or_default();
        let _ = worker.post_message(&message_of(json, extra));
        self.worker.set_value(Some(Handle {
            worker,
            _on_message: on_message,
        }));
    }

    fn receive(self, generation: u64, data: JsValue) {
        if generation != self.generation.get_value() {
            return;
        }
        let field = |name: &str| js_sys::Reflect::get(&data, &name.into()).ok();
        let json = field("json").and_then(|j| j.as_string()).unwrap_or_default();
        let message: FromWorker = match serde_json::from_str(&json) {
            Ok(m) => m,
            Err(e) => {
                self.stop();
                return self.phase.set(Phase::Failed(format!(
                    "The training worker said something unreadable: {e}"
                )));
            }
        };
        match message {
            FromWorker::Profiled { profile, file, ms } => {
                self.stop();
                let stem = file.rsplit_once('.').map_or(file.as_str(), |(s, _)| s);
                self.setup.set(TrainSetup::from_profile(&profile, stem));
                self.chosen.set(Some(Arc::new(Chosen {
                    file,
                    profile: *profile,
                    ms,
                })));
                self.phase.set(Phase::Idle);
            }
            FromWorker::TrainingStarted { materials, rows } => {
                self.names.set(Arc::new(materials));
                self.rows.set(rows);
            }
            FromWorker::Training {
                member,
                members,
                step,
                total,
                point,
                map,
            } => {
                if let Phase::Training { member: m, .. } = self.phase.get_untracked()
                    && m != member
                {
                    self.curve.set(Vec::new());
                }
                self.curve.update(|c| c.push(point));
                if let Some(xy) = map {
                    self.map.set(Some(Arc::new(xy)));
                }
                self.phase.set(Phase::Training {
                    member,
                    members,
                    step,
                    total,
                });
            }
            FromWorker::Trained {
                manifest,
                curve,
                rows,
                validation_rows,
                notes,
                ms,
            } => {
                self.stop();
                // Member 0's whole curve (the live one was the last member's).
                self.curve.set(curve);
                let weights = field("weights")
                    .filter(|w| w.is_object())
                    .map(|w| js_sys::Uint8Array::new(&w).to_vec())
                    .unwrap_or_default();
                self.finish(Trained {
                    manifest_json: manifest,
                    weights,
                    rows,
                    validation_rows,
                    notes,
                    ms,
                    command: String::new(),
                });
            }
            FromWorker::Failed { message } => {
                self.stop();
                let reading = self.phase.get_untracked() == Phase::Reading;
                if reading {
                    // A file that cannot be read leaves the previous one in place.
                    self.file.set_value(None);
                    self.chosen.set(None);
                }
                self.phase.set(Phase::Failed(message));
            }
            FromWorker::Crashed { message } => {
                self.stop();
                self.phase.set(Phase::Failed(format!(
                    "The training worker stopped ({message}); the page and the current model are unchanged."
                )));
            }
            _ => {}
        }
    }

    /// The trained bundle becomes the current model (editor, scoring, explorer, design).
    fn finish(self, mut trained: Trained) {
        let bundle = match Bundle::from_bytes(trained.manifest_json.as_bytes(), &trained.weights) {
            Ok(b) => b,
            Err(e) => {
                return self.phase.set(Phase::Failed(format!(
                    "The trained model could not be opened: {e}"
                )));
            }
        };
        let file = self
            .chosen
            .with_untracked(|c| c.as_ref().map(|c| c.file.clone()))
            .unwrap_or_default();
        trained.command = command_line(&file, &self.setup.get_untracked());
        // Kept in this browser first, so that the picker lists it; if the storage refuses, the
        // model is still current in this tab (and can be downloaded).
        let state = self.state;
        let (name, manifest_json, weights) = (
            bundle.manifest.name.clone(),
            trained.manifest_json.clone(),
            trained.weights.clone(),
        );
        leptos::task::spawn_local(async move {
            let source = match kept::keep(&name, &manifest_json, &weights).await {
                Ok(entry) => Source::Kept(entry.id),
                Err(e) => {
                    state.notice.set(Some(Notice::Error(e)));
                    Source::Files(format!("{name} (trained here)"))
                }
            };
            if let Some(e) = state.compute.engine() {
                let edit = default_edit(&bundle.manifest);
                state.install(bundle, source, e.device.clone(), e.backend, edit);
                browser::set_query(&[("model", None), ("f", None), ("c", None)]);
            }
            crate::app::refresh_kept(state).await;
        });
        self.trained.set(Some(Arc::new(trained)));
        self.phase.set(Phase::Done);
    }
}

/// A profile of nothing, for the form before a file is chosen.
fn empty_profile() -> Profile {
    Profile {
        format: mixlab_core::data::Format::Wide,
        rows: 0,
        columns: Vec::new(),
        notes: Vec::new(),
    }
}

/// `mixlab train --data FILE …` for a setup, quoted for a POSIX shell.
pub fn command_line(file: &str, setup: &TrainSetup) -> String {
    let quote = |a: &str| {
        if a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=.,:/+".contains(c))
        {
            a.to_string()
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        }
    };
    let mut parts = vec!["mixlab".to_string(), "train".into(), "--data".into(), quote(file)];
    parts.extend(setup.command_args().iter().map(|a| quote(a)));
    parts.push("--out".into());
    parts.push("model".into());
    parts.join(" ")
}
