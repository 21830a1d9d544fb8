//! The New model page's state: the training file and the roles of its columns, the options,
//! the run in its own worker (progress, the learning curve and the codes' map as they change,
//! cancel) and the model it made, which becomes the current model at once. Reading and
//! training are `mixlab_core` (the code `mixlab train` runs), so the page and the CLI train the
//! same model from the same file, options and seed.

mod charts;
mod columns;
mod kept_list;
mod new_material;
mod options;
pub mod section;
mod trust;

use std::sync::Arc;

use leptos::prelude::*;
use mixlab_core::Bundle;
use mixlab_core::data::profile::Profile;
use mixlab_core::train_setup::CurvePoint;
use mixlab_core::train_setup::TrainSetup;
use mixlab_core::trust::Trust;
use wasm_bindgen::prelude::*;

use crate::platform::workers::{JobWorker, WorkerCode, message_bytes, read_message};
use crate::platform::{browser, kept};
use crate::state::{Notice, Source, State, default_edit};
use mixlab_core::trainer::{FromTrainer, ToTrainer};

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

/// Cross-validation of the trained model's setup.
#[derive(Clone, Debug, PartialEq)]
pub enum CvPhase {
    Idle,
    Running {
        fold: usize,
        folds: usize,
        step: usize,
        total: usize,
        /// With the automatic configuration: what the fold is doing.
        detail: Option<String>,
    },
    Done,
    Failed(String),
}

/// A model trained in this page.
pub struct Trained {
    /// What it was trained from (cross-validation repeats it).
    pub setup: TrainSetup,
    pub manifest_json: String,
    pub weights: Vec<u8>,
    pub rows: usize,
    pub validation_rows: usize,
    pub notes: Vec<String>,
    /// Trained on WebGPU (else the CPU), and why there.
    pub webgpu: bool,
    pub compute: String,
    pub train_ms: f64,
    pub ms: f64,
    /// The same model from the command line (`mixlab train` arguments after `--data FILE`).
    pub command: String,
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
    /// While the file is read before training: the share read.
    pub reading: RwSignal<Option<f64>>,
    /// While the automatic configuration searches: where it is, in words, and the share of its
    /// candidates done.
    pub choosing: RwSignal<Option<(String, f64)>>,
    /// Where the run trains (WebGPU or not) and why, once the worker has chosen.
    pub compute: RwSignal<Option<(bool, String)>>,
    /// `performance.now()` when the run started.
    pub started: RwSignal<f64>,
    pub trained: RwSignal<Option<Arc<Trained>>>,
    worker: JobWorker,
    /// The setup of the run in progress.
    running_setup: StoredValue<Option<TrainSetup>>,
    /// The kept copy of the trained model, whose card gets the cross-validation's figures.
    kept_id: RwSignal<Option<String>>,
    pub cv: RwSignal<Option<Arc<Trust>>>,
    pub cv_phase: RwSignal<CvPhase>,
    cv_worker: JobWorker,
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
            reading: RwSignal::new(None),
            choosing: RwSignal::new(None),
            compute: RwSignal::new(None),
            started: RwSignal::new(0.0),
            trained: RwSignal::new(None),
            worker: JobWorker::new(WorkerCode::Trainer),
            running_setup: StoredValue::new(None),
            kept_id: RwSignal::new(None),
            cv: RwSignal::new(None),
            cv_phase: RwSignal::new(CvPhase::Idle),
            cv_worker: JobWorker::new(WorkerCode::Trainer),
        }
    }

    /// Read a training file's columns (in a worker: a large file does not block the page).
    pub fn choose(self, file: web_sys::File) {
        self.problem.set(None);
        self.file.set_value(Some(file.clone()));
        self.phase.set(Phase::Reading);
        self.start(ToTrainer::Profile, &[("file", file.into())]);
    }

    /// An optional table of the materials' metadata (first column the name).
    pub fn choose_materials(self, file: Option<web_sys::File>) {
        self.materials_name
            .set(file.as_ref().map(web_sys::File::name));
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
        if let Err(e) = setup
            .spec(chosen.profile.format)
            .and_then(|_| setup.options.check())
        {
            return self.problem.set(Some(format!("{e}.")));
        }
        self.problem.set(None);
        // The charts' library loads while the file is read, not when the first point comes
        // (parsing it then would hold the progress bar still for a second).
        leptos::task::spawn_local(async {
            let _ = crate::platform::plot::ensure_plotly().await;
        });
        self.curve.set(Vec::new());
        self.map.set(None);
        self.trained.set(None);
        self.compute.set(None);
        self.started.set(browser::now_ms());
        self.reading.set(Some(0.0));
        self.running_setup.set_value(Some(setup.clone()));
        self.cv_worker.stop();
        self.cv.set(None);
        self.cv_phase.set(CvPhase::Idle);
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
            ToTrainer::Train {
                setup: Box::new(setup),
            },
            &extra,
        );
    }

    /// k-fold cross-validation of the trained model's setup, in its own worker.
    pub fn cross_validate(self, folds: usize, group_by_mixture: bool) {
        let (Some(trained), Some(file)) = (self.trained.get_untracked(), self.file.get_value())
        else {
            return;
        };
        self.cv.set(None);
        self.cv_phase.set(CvPhase::Running {
            fold: 0,
            folds,
            step: 0,
            total: 1,
            detail: None,
        });
        let request = ToTrainer::CrossValidate {
            setup: Box::new(trained.setup.clone()),
            folds,
            group_by_mixture,
        };
        let json = serde_json::to_string(&request).unwrap_or_default();
        let started = self.cv_worker.start(
            &[(json, vec![("file", JsValue::from(file))])],
            move |data| self.receive_cv(data),
        );
        if let Err(e) = started {
            self.cv_phase.set(CvPhase::Failed(format!(
                "The cross-validation worker could not start: {e}"
            )));
        }
    }

    pub fn cancel_cv(self) {
        self.cv_worker.stop();
        self.cv_phase.set(CvPhase::Idle);
    }

    fn receive_cv(self, data: JsValue) {
        match read_message::<FromTrainer>(&data) {
            Ok(FromTrainer::Validating {
                fold,
                folds,
                step,
                total,
                detail,
            }) => self.cv_phase.set(CvPhase::Running {
                fold,
                folds,
                step,
                total,
                detail,
            }),
            Ok(FromTrainer::Validated { trust, .. }) => {
                self.cv_worker.stop();
                let trust = Arc::new(*trust);
                self.cv.set(Some(trust.clone()));
                self.cv_phase.set(CvPhase::Done);
                leptos::task::spawn_local(self.card_figures(trust));
            }
            Ok(FromTrainer::Failed { message } | FromTrainer::Crashed { message }) => {
                self.cv_worker.stop();
                self.cv_phase.set(CvPhase::Failed(message));
            }
            Ok(_) => {}
            Err(e) => {
                self.cv_worker.stop();
                self.cv_phase.set(CvPhase::Failed(e));
            }
        }
    }

    /// The cross-validation's figures go on the trained model's card (and its kept copy),
    /// when it is still the current model.
    async fn card_figures(self, trust: Arc<Trust>) {
        let Some(id) = self.kept_id.get_untracked() else {
            return;
        };
        let current = self.state.loaded.with_untracked(
            |l| matches!(l.as_ref().map(|l| &l.source), Some(Source::Kept(c)) if *c == id),
        );
        let Some(mut manifest) = self
            .state
            .manifest()
            .filter(|_| current)
            .map(|m| (*m).clone())
        else {
            return;
        };
        trust.add_to_metrics(&mut manifest.metrics);
        if let Err(e) = kept::replace_manifest(&id, &manifest.to_json()).await {
            self.state.notice.set(Some(Notice::Error(e)));
        }
        self.state.loaded.update(|l| {
            if let Some(l) = l {
                l.manifest = Arc::new(manifest);
            }
        });
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
        self.worker.stop();
        self.reading.set(None);
        self.choosing.set(None);
    }

    fn start(self, request: ToTrainer, extra: &[(&str, JsValue)]) {
        let json = serde_json::to_string(&request).unwrap_or_default();
        let started = self
            .worker
            .start(&[(json, extra.to_vec())], move |data| self.receive(data));
        if let Err(err) = started {
            self.phase.set(Phase::Failed(format!(
                "The training worker could not start: {err}"
            )));
        }
    }

    fn receive(self, data: JsValue) {
        let message: FromTrainer = match read_message(&data) {
            Ok(m) => m,
            Err(e) => {
                self.stop();
                return self.phase.set(Phase::Failed(e));
            }
        };
        match message {
            FromTrainer::Profiled { profile, file, ms } => {
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
            FromTrainer::Reading { fraction } => self.reading.set(Some(fraction)),
            FromTrainer::Choosing {
                trial,
                total,
                change,
                step,
                steps,
            } => self.choosing.set(Some((
                format!(
                    "choosing the configuration on held-out rows: candidate {} of at most {total} ({change}), step {step} of {steps} · ",
                    trial + 1
                ),
                (trial as f64 + step as f64 / steps.max(1) as f64) / total.max(1) as f64,
            ))),
            FromTrainer::Measuring {
                backend,
                seconds,
                budget,
            } => {
                let of = budget.map_or(String::new(), |b| format!(" of at most {b:.0} s"));
                self.choosing.set(Some((
                    format!(
                        "timing a few steps on {backend} to choose where to train: {seconds:.1} s{of} · "
                    ),
                    budget.map_or(0.0, |b| (seconds / b).min(1.0)),
                )));
            }
            FromTrainer::Computing { webgpu, note } => {
                self.choosing.set(None);
                self.compute.set(Some((webgpu, note)));
            }
            FromTrainer::TrainingStarted { materials, rows } => {
                self.reading.set(None);
                self.names.set(Arc::new(materials));
                self.rows.set(rows);
            }
            FromTrainer::Training {
                member,
                members,
                step,
                total,
                point,
                map,
            } => {
                self.choosing.set(None);
                if let Phase::Training { member: m, .. } = self.phase.get_untracked()
                    && m != member
                {
                    self.curve.set(Vec::new());
                }
                if let Some(point) = point {
                    self.curve.update(|c| c.push(point));
                }
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
            FromTrainer::Trained {
                manifest,
                curve,
                rows,
                validation_rows,
                notes,
                webgpu,
                compute,
                train_ms,
                ms,
            } => {
                self.stop();
                // Member 0's whole curve (the live one was the last member's).
                self.curve.set(curve);
                let weights = message_bytes(&data, "weights").unwrap_or_default();
                self.finish(Trained {
                    manifest_json: manifest,
                    weights,
                    rows,
                    validation_rows,
                    notes,
                    webgpu,
                    compute,
                    train_ms,
                    ms,
                    command: String::new(),
                    setup: self
                        .running_setup
                        .get_value()
                        .unwrap_or_else(|| self.setup.get_untracked()),
                });
            }
            FromTrainer::Failed { message } => {
                self.stop();
                let reading = self.phase.get_untracked() == Phase::Reading;
                if reading {
                    // A file that cannot be read leaves the previous one in place.
                    self.file.set_value(None);
                    self.chosen.set(None);
                }
                self.phase.set(Phase::Failed(message));
            }
            FromTrainer::Crashed { message } => {
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
        trained.command = command_line(&file, &trained.setup);
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
                Ok(entry) => {
                    self.kept_id.set(Some(entry.id.clone()));
                    Source::Kept(entry.id)
                }
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
    let mut parts = vec![
        "mixlab".to_string(),
        "train".into(),
        "--data".into(),
        quote(file),
    ];
    parts.extend(setup.command_args().iter().map(|a| quote(a)));
    parts.push("--out".into());
    parts.push("model".into());
    parts.join(" ")
}
