//! The Design page's state: the spec being edited (goals, limits, options), the run in its own
//! worker (progress, cancel) and what it found. The search itself is `mixlab_core::design`,
//! the same code `mixlab design` runs, so the page and the CLI give the same recipes.

mod goals;
mod materials;
mod pareto;
mod results;
mod rules;
pub mod section;

use std::sync::Arc;

use leptos::prelude::*;
use mixlab_core::bundle::{Manifest, TargetKind};
use mixlab_core::design::{Candidate, DesignSpec, Goal};
use wasm_bindgen::prelude::*;

use crate::platform::workers::{JobWorker, WorkerCode};
use crate::platform::{browser, fetch};
use crate::state::{Source, State};
use crate::worker::{FromWorker, ToWorker};

#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Idle,
    Running {
        stage: String,
        fraction: f64,
    },
    Done,
    /// The spec cannot be met: what conflicts (or why nothing was found).
    Refused(Vec<String>),
    Failed(String),
}

/// What a finished run found.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub candidates: Vec<Candidate>,
    /// For suggested experiments: (reason, expected improvement, chance to beat the best) per
    /// candidate, and (best measured desirability, measured recipes).
    pub why: Vec<(String, f64, f64)>,
    pub measured: Option<(f64, usize)>,
    /// Still searching: these are the best so far.
    pub preliminary: bool,
    pub goal_names: Vec<String>,
    pub csv: String,
    pub evaluations: usize,
    pub ms: f64,
}

#[derive(Clone, Copy)]
pub struct DesignJob {
    state: State,
    pub spec: RwSignal<DesignSpec>,
    pub phase: RwSignal<Phase>,
    pub outcome: RwSignal<Option<Arc<Outcome>>>,
    /// What was wrong with the spec's JSON or the link's, when it could not be used.
    pub problem: RwSignal<Option<String>>,
    worker: JobWorker,
}

/// A starting spec for a model: a goal on its first target, the q.s. its default formulation
/// has, ten candidates.
pub fn default_spec(m: &Manifest) -> DesignSpec {
    let goal = m.targets.first().map(|t| match t.kind {
        TargetKind::Binary => Goal::Probability {
            target: t.name.clone(),
            at_least: 0.8,
            weight: 1.0,
        },
        TargetKind::Regression => Goal::Maximize {
            target: t.name.clone(),
            low: None,
            high: None,
            weight: 1.0,
        },
    });
    DesignSpec {
        goals: goal.into_iter().collect(),
        ..DesignSpec::from_json("{}").unwrap_or_default()
    }
}

/// The bundled model's folder name (`models/concrete/` → `concrete`), for its example spec.
fn model_key(state: State) -> Option<String> {
    state
        .loaded
        .with_untracked(|l| match l.as_ref().map(|l| &l.source) {
            Some(Source::Url(u)) => u
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .map(str::to_string),
            _ => None,
        })
}

impl DesignJob {
    pub fn new(state: State) -> Self {
        let job = DesignJob {
            state,
            spec: RwSignal::new(DesignSpec::default()),
            phase: RwSignal::new(Phase::Idle),
            outcome: RwSignal::new(None),
            problem: RwSignal::new(None),
            worker: JobWorker::new(WorkerCode::App),
        };
        // Each model starts from the link's spec (once) or its default; results of another
        // model are dropped.
        let from_link = StoredValue::new(browser::query_param("design"));
        Effect::new(move |_| {
            let Some(m) = state
                .loaded
                .with(|l| l.as_ref().map(|l| l.manifest.clone()))
            else {
                return;
            };
            job.stop();
            job.outcome.set(None);
            job.phase.set(Phase::Idle);
            let linked = from_link.try_update_value(Option::take).flatten();
            let spec = match linked.map(|text| DesignSpec::from_json(&text)) {
                Some(Ok(s)) => s,
                Some(Err(e)) => {
                    job.problem.set(Some(format!(
                        "The link's design could not be read ({e}); starting from the model's default."
                    )));
                    default_spec(&m)
                }
                None => default_spec(&m),
            };
            job.spec.set(spec);
        });
        job
    }

    /// Put the model's example spec (`examples/design-<model>.json`) in the form.
    pub async fn load_example(self) {
        let Some(key) = model_key(self.state) else {
            return self.problem.set(Some(
                "A model opened from your files has no example design.".into(),
            ));
        };
        let url = format!("examples/design-{key}.json");
        let text = match fetch::bytes(&url).await {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => return self.problem.set(Some(e)),
        };
        match DesignSpec::from_json(&text) {
            Ok(s) => {
                self.spec.set(s);
                self.problem.set(None);
            }
            Err(e) => self
                .problem
                .set(Some(format!("{url} is not a design spec: {e}"))),
        }
    }

    /// Search: a fresh worker gets the model, then the spec.
    pub fn run(self) {
        let spec = self.spec.get_untracked();
        browser::set_query(&[("design", Some(&spec.to_compact_json()))]);
        self.start(
            ToWorker::Design {
                spec: Box::new(spec),
            },
            &[],
        );
    }

    /// The next `n` experiments after the measured recipes in `file`, for the spec's goals.
    pub fn suggest(self, file: web_sys::File, n: usize) {
        let spec = self.spec.get_untracked();
        self.start(
            ToWorker::Suggest {
                spec: Box::new(spec),
                n,
                // The headers of measured recipes are read as the scoring page reads them.
                mapping: (self.state.compute.engine())
                    .and_then(|e| crate::platform::storage::load_mapping(&e.bundle.manifest.name)),
            },
            &[("file", file.into())],
        );
    }

    fn start(self, request: ToWorker, extra: &[(&str, JsValue)]) {
        let Some(e) = self.state.compute.engine() else {
            return;
        };
        let manifest = js_sys::Uint8Array::from(e.bundle.manifest.to_json().as_bytes());
        let weights = js_sys::Uint8Array::from(e.bundle.weights_bytes().as_slice());
        let model = ToWorker::Model {
            backend: e.backend.id().into(),
        };
        let json = |r: &ToWorker| serde_json::to_string(r).unwrap_or_default();
        let requests = [
            (
                json(&model),
                vec![("manifest", manifest.into()), ("weights", weights.into())],
            ),
            (json(&request), extra.to_vec()),
        ];
        if let Err(err) = self.worker.start(&requests, move |data| self.receive(data)) {
            return self.phase.set(Phase::Failed(format!(
                "The design worker could not start: {err}"
            )));
        }
        self.outcome.set(None);
        self.phase.set(Phase::Running {
            stage: "starting".into(),
            fraction: 0.0,
        });
    }

    /// Stop the run where it is (the worker is terminated).
    pub fn cancel(self) {
        self.stop();
        self.phase.set(Phase::Idle);
    }

    fn stop(self) {
        self.worker.stop();
    }

    fn receive(self, data: JsValue) {
        let json = js_sys::Reflect::get(&data, &"json".into())
            .ok()
            .and_then(|j| j.as_string())
            .unwrap_or_default();
        let message: FromWorker = match serde_json::from_str(&json) {
            Ok(m) => m,
            Err(e) => {
                return self.phase.set(Phase::Failed(format!(
                    "The design worker said something unreadable: {e}"
                )));
            }
        };
        match message {
            FromWorker::Designing {
                stage,
                fraction,
                preview,
                goal_names,
            } => {
                if !preview.is_empty() {
                    self.outcome.set(Some(Arc::new(Outcome {
                        candidates: preview,
                        why: Vec::new(),
                        measured: None,
                        preliminary: true,
                        goal_names,
                        csv: String::new(),
                        evaluations: 0,
                        ms: 0.0,
                    })));
                }
                self.phase.set(Phase::Running { stage, fraction })
            }
            FromWorker::Designed {
                candidates,
                goal_names,
                csv,
                evaluations,
                ms,
            } => {
                self.stop();
                self.outcome.set(Some(Arc::new(Outcome {
                    candidates,
                    why: Vec::new(),
                    measured: None,
                    preliminary: false,
                    goal_names,
                    csv,
                    evaluations,
                    ms,
                })));
                self.phase.set(Phase::Done);
            }
            FromWorker::Suggested {
                suggestions,
                goal_names,
                best,
                measured,
                csv,
                ms,
            } => {
                self.stop();
                self.outcome.set(Some(Arc::new(Outcome {
                    why: suggestions
                        .iter()
                        .map(|s| (s.reason.key().to_string(), s.expected_improvement, s.chance))
                        .collect(),
                    candidates: suggestions.into_iter().map(|s| s.candidate).collect(),
                    measured: Some((best, measured)),
                    preliminary: false,
                    goal_names,
                    csv,
                    evaluations: 0,
                    ms,
                })));
                self.phase.set(Phase::Done);
            }
            FromWorker::DesignRefused { conflicts } => {
                self.stop();
                self.phase.set(Phase::Refused(conflicts));
            }
            FromWorker::Failed { message } => {
                self.stop();
                self.phase.set(Phase::Failed(message));
            }
            FromWorker::Crashed { message } => {
                self.stop();
                self.phase.set(Phase::Failed(format!(
                    "The design worker stopped on an internal error ({message}); run it again."
                )));
            }
            _ => {}
        }
    }
}
