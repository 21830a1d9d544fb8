//! The app's state: the loaded model, the formulation being edited (with undo), the latest
//! prediction, and the jobs that keep predictions live. Reactive values are Leptos signals;
//! the compute model (not `Send`) lives in a thread-local beside them.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::bundle::{Manifest, TargetKind};
use mixlab_core::domain::Domain;
use mixlab_core::formulation::{Formulation, Limit, batch_of};
use mixlab_core::history::History;
use mixlab_core::link;
use mixlab_core::saved::Saved;
use mixlab_core::search::MaterialIndex;
use mixlab_core::{Bundle, Device, MixModel, Prediction};

use crate::platform::backend::Backend;
use crate::platform::browser;

/// The bundled models the picker offers: (path relative to the page, label).
pub const BUNDLED: &[(&str, &str)] = &[
    ("models/shampoo/", "Shampoo (default)"),
    ("models/concrete/", "Concrete strength"),
    ("models/glass-tg/", "Oxide glass Tg"),
    ("models/steels/", "Steel yield strength"),
];
pub const DEFAULT_MODEL: &str = "models/shampoo/";

/// Where the current bundle came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A URL (bundled ones are relative to the page); goes into share links.
    Url(String),
    /// Files the user opened; cannot be shared by link.
    Files(String),
}

/// What undo/redo steps through: the formulation and the condition values.
#[derive(Clone, Debug, PartialEq)]
pub struct Edit {
    pub form: Formulation,
    pub conds: Vec<f64>,
}

/// The model as the reactive part of the app sees it (cheap to clone).
#[derive(Clone)]
pub struct Loaded {
    pub manifest: Arc<Manifest>,
    pub source: Source,
    pub domain: Arc<Domain>,
    pub index: Arc<MaterialIndex>,
}

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

/// The auto mode's measurement: WebGPU's start-up and one prediction on each backend
/// (median milliseconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Probe {
    pub ready_ms: f64,
    pub cpu_ms: f64,
    pub webgpu_ms: f64,
}

/// A painted prediction and the input event it answers (for the latency benchmark).
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    pub targets: Vec<TargetValue>,
    pub input_ts: f64,
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Loading(String),
    Ready,
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    Info(String),
    Error(String),
}

#[derive(Clone, Copy)]
pub struct State {
    pub status: RwSignal<Status>,
    pub loaded: RwSignal<Option<Loaded>>,
    pub edit: RwSignal<Edit>,
    committed: StoredValue<Edit>,
    history: StoredValue<History<Edit>>,
    pub can_undo: RwSignal<(bool, bool)>,
    pub shown: RwSignal<Option<Shown>>,
    pub predict_error: RwSignal<Option<String>>,
    /// A slider that stopped short: (material, why).
    pub limit: RwSignal<Option<(usize, String)>>,
    /// The material whose response curve is drawn.
    pub focused: RwSignal<Option<usize>>,
    pub backend: RwSignal<Option<Backend>>,
    pub backend_note: RwSignal<Option<String>>,
    /// The user chose a backend (link or switch): the auto probe leaves it alone.
    pub backend_pinned: StoredValue<bool>,
    /// What the auto probe measured (shown as data attributes of the note).
    pub probe: RwSignal<Option<Probe>>,
    pub first_ms: RwSignal<Option<f64>>,
    pub notice: RwSignal<Option<Notice>>,
    pub saved: RwSignal<Vec<Saved>>,
    /// A prediction is being computed (the one shown may be one input behind).
    pub busy: RwSignal<bool>,
    /// Bumped when analysis (curve, sensitivity) results are drawn.
    pub analysis_seq: RwSignal<u64>,
    /// The response curve sweeps 0 → all the q.s. leaves, instead of the training range.
    pub curve_full: RwSignal<bool>,
}

/// The compute side: the bundle and its model on the chosen device.
pub struct Engine {
    pub bundle: Bundle,
    pub model: MixModel,
    pub device: Device,
    pub backend: Backend,
    pub generation: u64,
}

thread_local! {
    static ENGINE: RefCell<Option<Rc<Engine>>> = const { RefCell::new(None) };
    static GENERATION: Cell<u64> = const { Cell::new(0) };
    static PENDING: Cell<bool> = const { Cell::new(false) };
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    static INPUT_TS: Cell<f64> = const { Cell::new(0.0) };
    static SEQ: Cell<u64> = const { Cell::new(0) };
}

pub fn engine() -> Option<Rc<Engine>> {
    ENGINE.with(|e| e.borrow().clone())
}

fn current_generation() -> u64 {
    GENERATION.with(Cell::get)
}

/// Whether a prediction is being computed (the analysis job waits for it).
pub fn predicting() -> bool {
    RUNNING.with(Cell::get)
}

/// Remember when the input being handled happened (`Event.timeStamp`).
pub fn note_input(ts: f64) {
    INPUT_TS.with(|t| t.set(ts));
}

impl State {
    pub fn new() -> Self {
        State {
            status: RwSignal::new(Status::Loading("Starting…".into())),
            loaded: RwSignal::new(None),
            edit: RwSignal::new(Edit {
                form: Formulation::default(),
                conds: Vec::new(),
            }),
            committed: StoredValue::new(Edit {
                form: Formulation::default(),
                conds: Vec::new(),
            }),
            history: StoredValue::new(History::new(200)),
            can_undo: RwSignal::new((false, false)),
            shown: RwSignal::new(None),
            predict_error: RwSignal::new(None),
            limit: RwSignal::new(None),
            focused: RwSignal::new(None),
            backend: RwSignal::new(None),
            backend_note: RwSignal::new(None),
            backend_pinned: StoredValue::new(false),
            probe: RwSignal::new(None),
            first_ms: RwSignal::new(None),
            notice: RwSignal::new(None),
            saved: RwSignal::new(Vec::new()),
            analysis_seq: RwSignal::new(0),
            curve_full: RwSignal::new(false),
            busy: RwSignal::new(false),
        }
    }

    pub fn manifest(&self) -> Option<Arc<Manifest>> {
        self.loaded
            .with_untracked(|l| l.as_ref().map(|l| l.manifest.clone()))
    }

    /// Change the edited state (live: not yet an undo step) and predict it.
    pub fn set_edit(&self, edit: Edit) {
        self.edit.set(edit);
        request_prediction(*self);
        crate::editor::analysis::schedule(*self);
    }

    /// Set a material's fraction under the editor's rules; returns the applied fraction.
    pub fn set_fraction(&self, material: usize, fraction: f64) -> f64 {
        let mut edit = self.edit.get_untracked();
        let Some(i) = edit.form.position(material) else {
            return 0.0;
        };
        let (applied, limit) = edit.form.set(i, fraction);
        self.limit
            .set(limit.map(|l: Limit| (material, l.to_string())));
        if self.focused.get_untracked() != Some(material) {
            self.focused.set(Some(material));
        }
        self.set_edit(edit);
        applied
    }

    /// Make the current state an undo step and put it in the URL.
    pub fn commit(&self) {
        let now = self.edit.get_untracked();
        let before = self.committed.get_value();
        self.history.update_value(|h| h.record(before, &now));
        self.committed.set_value(now);
        self.refresh_undo();
        self.write_url();
    }

    /// Apply a whole edit as one undo step.
    pub fn apply(&self, edit: Edit) {
        self.limit.set(None);
        self.set_edit(edit);
        self.commit();
    }

    pub fn undo(&self) {
        let current = self.edit.get_untracked();
        if let Some(prev) = self.history.try_update_value(|h| h.undo(current)).flatten() {
            self.restore(prev);
        }
    }

    pub fn redo(&self) {
        let current = self.edit.get_untracked();
        if let Some(next) = self.history.try_update_value(|h| h.redo(current)).flatten() {
            self.restore(next);
        }
    }

    fn restore(&self, edit: Edit) {
        self.limit.set(None);
        self.committed.set_value(edit.clone());
        self.set_edit(edit);
        self.refresh_undo();
        self.write_url();
    }

    fn refresh_undo(&self) {
        let flags = self.history.with_value(|h| (h.can_undo(), h.can_redo()));
        self.can_undo.set(flags);
    }

    /// The formulation (and model) in the page's query, so the address is a share link.
    pub fn write_url(&self) {
        let Some(loaded) = self.loaded.get_untracked() else {
            return;
        };
        let edit = self.edit.get_untracked();
        let f = link::formulation_to_text(&loaded.manifest, &edit.form);
        let c = link::conditions_to_text(&loaded.manifest, &edit.conds);
        let model = match &loaded.source {
            Source::Url(u) if u != DEFAULT_MODEL => Some(u.as_str()),
            _ => None,
        };
        browser::set_query(&[
            ("model", model),
            ("f", Some(&f)),
            ("c", (!c.is_empty()).then_some(c.as_str())),
        ]);
    }

    /// Put a bundle in place on `device`: the model, its lookups, a starting formulation.
    pub fn install(
        &self,
        bundle: Bundle,
        source: Source,
        device: Device,
        backend: Backend,
        start: Edit,
    ) {
        let manifest = Arc::new(bundle.manifest.clone());
        put_engine(bundle, device, backend);
        self.loaded.set(Some(Loaded {
            domain: Arc::new(Domain::new(&manifest)),
            index: Arc::new(MaterialIndex::new(&manifest)),
            manifest: manifest.clone(),
            source,
        }));
        self.saved
            .set(crate::platform::storage::load_saved(&manifest.name));
        self.backend.set(Some(backend));
        self.history.update_value(History::clear);
        self.committed.set_value(start.clone());
        // The first row that is not q.s. (the q.s. row has no curve of its own).
        let first = start.form.rows.iter().enumerate();
        self.focused.set(
            first
                .filter(|(i, _)| start.form.qs != Some(*i))
                .map(|(_, r)| r.material)
                .next(),
        );
        self.limit.set(None);
        self.shown.set(None);
        self.set_edit(start);
        self.refresh_undo();
    }

    /// Run the same model on another device (the backend switch).
    pub fn switch_device(&self, device: Device, backend: Backend) {
        let Some(e) = engine() else { return };
        put_engine(e.bundle.clone(), device, backend);
        self.backend.set(Some(backend));
        request_prediction(*self);
        crate::editor::analysis::schedule(*self);
    }
}

/// Build the model on `device` and make it current; predictions still in flight for the
/// previous engine see a new generation and are dropped.
fn put_engine(bundle: Bundle, device: Device, backend: Backend) {
    let generation = current_generation() + 1;
    GENERATION.with(|g| g.set(generation));
    let model = MixModel::new(&bundle, &device);
    ENGINE.with(|e| {
        *e.borrow_mut() = Some(Rc::new(Engine {
            bundle,
            model,
            device,
            backend,
            generation,
        }))
    });
}

/// The default starting point of a manifest: its default formulation and conditions.
pub fn default_edit(manifest: &Manifest) -> Edit {
    Edit {
        form: Formulation::default_of(manifest),
        conds: manifest.default_condition_values(),
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

/// Predict the edited formulation as soon as possible. Inputs that arrive while a
/// prediction runs are coalesced: when it ends, the latest state is predicted once.
pub fn request_prediction(state: State) {
    PENDING.with(|p| p.set(true));
    if RUNNING.with(|r| r.replace(true)) {
        return;
    }
    state.busy.set(true);
    spawn_local(async move {
        while PENDING.with(|p| p.replace(false)) {
            let Some(engine) = engine() else { break };
            let edit = state.edit.get_untracked();
            let input_ts = INPUT_TS.with(Cell::get);
            let manifest = &engine.bundle.manifest;
            let batch = batch_of(manifest, [&edit.form], &edit.conds);
            let result = engine.model.predict_async(&batch).await;
            if engine.generation != current_generation() {
                continue; // the model or device changed meanwhile; its own request follows
            }
            match result {
                Ok(p) => {
                    let seq = SEQ.with(|s| {
                        s.set(s.get() + 1);
                        s.get()
                    });
                    state.predict_error.set(None);
                    state.shown.set(Some(Shown {
                        targets: targets_of(manifest, &p, 0),
                        input_ts,
                        seq,
                    }));
                    if state.first_ms.get_untracked().is_none() {
                        state.first_ms.set(Some(browser::now_ms()));
                    }
                }
                Err(e) => {
                    state.shown.set(None);
                    state.predict_error.set(Some(format!(
                        "No prediction on {}: {e}",
                        engine.backend.label()
                    )));
                }
            }
        }
        RUNNING.with(|r| r.set(false));
        state.busy.set(false);
    });
}
