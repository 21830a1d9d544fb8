//! What the pages share, by concern: the loaded model and the formulation being edited (with
//! undo) here; the backend and engine in `compute`; the live prediction in `live`. Features keep
//! their own state (the analysis job, scoring, the explorer) and follow these signals; nothing
//! here knows of them. `App` provides the `State` as context; every value is a Leptos signal or
//! stored value (the engine, not `Send`, a local one).

mod compute;
mod live;

use std::sync::Arc;

use leptos::prelude::*;
use mixlab_core::bundle::Manifest;
use mixlab_core::domain::Domain;
use mixlab_core::formulation::{Formulation, Limit};
use mixlab_core::history::History;
use mixlab_core::link;
use mixlab_core::saved::Saved;
use mixlab_core::search::MaterialIndex;
use mixlab_core::{Bundle, Device};

pub use compute::{Compute, Engine, Probe};
pub use live::{Live, request_prediction};

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
    /// A model kept in this browser (trained in the page), by its id; not in links either.
    Kept(String),
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
    /// A slider that stopped short: (material, why).
    pub limit: RwSignal<Option<(usize, String)>>,
    /// The material whose response curve is drawn.
    pub focused: RwSignal<Option<usize>>,
    pub notice: RwSignal<Option<Notice>>,
    pub saved: RwSignal<Vec<Saved>>,
    /// Models kept in this browser (newest first).
    pub kept: RwSignal<Vec<crate::platform::kept::KeptModel>>,
    /// The backend and the model on it.
    pub compute: Compute,
    /// The prediction shown for the edited formulation.
    pub live: Live,
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
            limit: RwSignal::new(None),
            focused: RwSignal::new(None),
            notice: RwSignal::new(None),
            saved: RwSignal::new(Vec::new()),
            kept: RwSignal::new(Vec::new()),
            compute: Compute::new(),
            live: Live::new(),
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
        self.compute.put(bundle, device, backend);
        self.loaded.set(Some(Loaded {
            domain: Arc::new(Domain::new(&manifest)),
            index: Arc::new(MaterialIndex::new(&manifest)),
            manifest: manifest.clone(),
            source,
        }));
        self.saved
            .set(crate::platform::storage::load_saved(&manifest.name));
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
        self.live.shown.set(None);
        self.set_edit(start);
        self.refresh_undo();
    }

    /// Run the same model on another device (the backend switch).
    pub fn switch_device(&self, device: Device, backend: Backend) {
        let Some(e) = self.compute.engine() else {
            return;
        };
        self.compute.put(e.bundle.clone(), device, backend);
        request_prediction(*self);
    }
}

/// The default starting point of a manifest: its default formulation and conditions.
pub fn default_edit(manifest: &Manifest) -> Edit {
    Edit {
        form: Formulation::default_of(manifest),
        conds: manifest.default_condition_values(),
    }
}
