//! The embedding explorer's page side: the view (a core `View`, mirrored in the URL fragment),
//! the coordinates (stored in the bundle, or computed in a worker with progress and cancel),
//! and the plotly figure. What colours, which neighbours, what the link says: the core decides.

mod controls;
mod data;
mod draw;
mod figure;
mod jobs;
mod section;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::Bundle;
use mixlab_core::explorer::colour::{self, MetadataValues};
use mixlab_core::explorer::export;
use mixlab_core::explorer::view::{self, Camera, Colour, Limits, OtherModel, View};
use mixlab_core::link;
use mixlab_core::maps;
use mixlab_core::maps::{activate, representations};
use mixlab_core::neighbours::{Distance, Neighbour, nearest};
use mixlab_core::projection::{self, PcaBasis, Spec};
use mixlab_core::sensitivity;
use serde_json::json;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};

use crate::platform::browser;
use crate::platform::plot::{self, ensure_plotly_full, set_data};
use crate::platform::workers::{message_of, spawn_module_worker};
use crate::state::{Engine, Notice, State};
use crate::worker::{FromWorker, ToWorker};

use data::*;
use draw::*;
use figure::*;
pub use jobs::inject_fault;
pub use section::ExplorerSection;

/// Where the shown coordinates came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// The codes themselves (length ≤ the picture's dimensions).
    Raw,
    /// Stored in the bundle.
    Bundle,
    /// Computed in the worker, in `ms`.
    Computed(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Coords {
    pub spec: Spec,
    pub data: Vec<f32>,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Job {
    Idle,
    Running {
        spec: Spec,
        /// For the other model of a comparison.
        other: bool,
        stage: String,
        fraction: f64,
    },
    Failed(String),
}

/// Where a model's bundle lives: the engine's (the model being edited) or another one,
/// loaded for a side-by-side comparison.
pub enum Holder {
    Main(Rc<Engine>),
    Other(Rc<Bundle>),
}

#[derive(Clone, Copy)]
pub struct Explorer {
    pub(super) state: State,
    pub open: RwSignal<bool>,
    pub view: RwSignal<View>,
    pub coords: RwSignal<Option<Arc<Coords>>>,
    pub compare: RwSignal<Option<Arc<Coords>>>,
    pub job: RwSignal<Job>,
    /// The model the explorer is set up for (engine generation).
    pub ready: RwSignal<Option<u64>>,
    pub message: RwSignal<Option<String>>,
    pub sensitivity: RwSignal<Option<Arc<Vec<Vec<f64>>>>>,
    pub playing: RwSignal<bool>,
    pub draws: RwSignal<u64>,
    /// The page's address after the last change of the view (the link to share).
    pub link: RwSignal<String>,
    /// The other model being fetched for a comparison (its path).
    pub loading_other: RwSignal<Option<String>>,
    store: Store,
}

impl Explorer {
    pub fn new(state: State) -> Self {
        Explorer {
            state,
            open: RwSignal::new(false),
            view: RwSignal::new(View::default_for("")),
            coords: RwSignal::new(None),
            compare: RwSignal::new(None),
            job: RwSignal::new(Job::Idle),
            ready: RwSignal::new(None),
            message: RwSignal::new(None),
            sensitivity: RwSignal::new(None),
            playing: RwSignal::new(false),
            draws: RwSignal::new(0),
            link: RwSignal::new(String::new()),
            loading_other: RwSignal::new(None),
            store: Store::new(),
        }
    }

    /// Set up for the model now loaded: the view from the link's fragment when there is one
    /// (a bad one is reported and the default view shown), else the default view.
    pub fn follow_model(self) {
        let state = self.state;
        Effect::new(move |_| {
            let _ = state
                .loaded
                .with(|l| l.as_ref().map(|l| l.manifest.name.clone()));
            let _ = state.compute.backend.get();
            let Some(md) = self.model_data() else { return };
            if self.ready.get_untracked() == Some(md.generation) {
                return;
            }
            let first = self.ready.get_untracked().is_none();
            self.stop_worker();
            self.coords.set(None);
            self.compare.set(None);
            self.sensitivity.set(None);
            self.job.set(Job::Idle);
            let mut view = View::default_for(&md.fingerprint);
            view.spec = Spec::new(projection::Method::Pca, 2);
            let hash = browser::fragment();
            // Any fragment is a view (one without its version is reported, not ignored).
            if first && !hash.trim_start_matches('#').is_empty() {
                let limits = Limits {
                    fingerprint: &md.fingerprint,
                    materials: md.n,
                    targets: state
                        .compute
                        .engine()
                        .map_or(0, |e| e.bundle.manifest.targets.len()),
                    snapshots: md.steps.len(),
                    metadata: &md.metadata_keys,
                };
                match view::from_fragment(&hash, &limits) {
                    Ok(v) => {
                        view = v;
                        self.open.set(true);
                    }
                    Err(e) => {
                        self.open.set(true);
                        self.message
                            .set(Some(format!("The view in this link cannot be shown: {e}. Showing the default view instead.")));
                    }
                }
            }
            self.view.set(view);
            self.ready.set(Some(md.generation));
            self.link.set(browser::current_url());
            if self.open.get_untracked() {
                self.refresh();
            }
        });
    }

    /// Sensitivities belong to the formulation being edited: recomputed when it changes (and
    /// only if they colour the map).
    pub fn follow_formulation(self) {
        Effect::new(move |_| {
            self.state.edit.track();
            self.sensitivity.set(None);
            let colour_is_sensitivity = self
                .view
                .with_untracked(|v| matches!(v.colour, Colour::Sensitivity(_)));
            if colour_is_sensitivity && self.open.get_untracked() {
                self.refresh();
            }
        });
    }

    /// Make sure the coordinates of the view's projection (and comparison) are there or on
    /// their way, then draw.
    pub fn refresh(self) {
        let state = self.state;
        let v = self.view.get_untracked();
        if let Some(o) = &v.other
            && self.other_data(&o.path).is_none()
        {
            self.compare.set(None);
            self.load_other(o.clone());
        }
        // One job at a time: a comparison that needs computing waits for the main picture
        // (`receive` starts it).
        let mut computing = false;
        for (spec, slot, md) in [
            (Some(v.spec.clone()), self.coords, self.data()),
            (v.compare.clone(), self.compare, self.compare_data(&v)),
        ] {
            let (Some(spec), Some(md)) = (spec, md) else {
                slot.set(None);
                continue;
            };
            let other = v.other.is_some() && slot == self.compare;
            if slot.with_untracked(|c| c.as_ref().is_some_and(|c| c.spec == spec)) {
                continue;
            }
            match self.available(&md, &spec) {
                Some(c) => slot.set(Some(c)),
                None if !computing => {
                    computing = true;
                    self.compute(spec, other);
                }
                None => {}
            }
        }
        if matches!(v.colour, Colour::Sensitivity(_)) && self.sensitivity.get_untracked().is_none()
        {
            spawn_local(compute_sensitivity(state, self));
        }
        self.redraw();
    }

    /// Change the view and put it in the address.
    pub fn change(self, f: impl FnOnce(&mut View)) {
        self.view.update(|v| {
            f(v);
            // Another model shows the same projection as the main plot.
            if let Some(md) = v.other.as_ref().and_then(|o| self.other_data(&o.path)) {
                v.compare = Some(fitted(&v.spec, md.n));
            }
        });
        self.write_fragment();
        self.refresh();
    }

    pub fn write_fragment(self) {
        if self.ready.get_untracked().is_none() {
            return;
        }
        browser::set_fragment(&view::to_fragment(&self.view.get_untracked()));
        self.link.set(browser::current_url());
    }

    /// The nearest materials of the focused one, in the full code space.
    pub fn neighbours(self) -> Vec<Neighbour> {
        let (Some(md), v) = (self.data(), self.view.get_untracked()) else {
            return Vec::new();
        };
        v.focus
            .map_or_else(Vec::new, |f| md.nearest(f, v.neighbours, v.distance))
    }

    pub fn redraw(self) {
        if !self.open.get_untracked() {
            return;
        }
        spawn_local(async move {
            if let Err(e) = draw(self).await {
                self.job.set(Job::Failed(e));
            }
        });
    }

    /// Send the selected materials to the editor (at 0 %, to be set there).
    pub fn add_selection(self) {
        let state = self.state;
        let v = self.view.get_untracked();
        let Some(md) = self.data() else { return };
        let mut edit = state.edit.get_untracked();
        let mut added = Vec::new();
        for &i in &v.selection {
            if edit.form.position(i).is_none() && edit.form.add(i, &md.names[i]).is_ok() {
                added.push(md.names[i].as_str());
            }
        }
        let n = added.len();
        if n > 0 {
            state.apply(edit);
        }
        // Named (the first ten), since the formulation is on another page.
        let mut names = added
            .iter()
            .take(10)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if n > 10 {
            names.push_str(&format!(" and {} more", n - 10));
        }
        state.notice.set(Some(Notice::Info(format!(
            "Added {n} material(s) to the formulation at 0 %{}{} ({} were there already); edit them on Predict.",
            if n > 0 { ": " } else { "" },
            names,
            v.selection.len() - n
        ))));
    }

    pub fn export(self, format: &str) {
        let (Some(md), Some(c)) = (self.data(), self.coords.get_untracked()) else {
            return;
        };
        let name = format!("mixlab-{}", c.spec);
        let result = match format {
            "csv" => browser::download(
                &format!("{name}.csv"),
                "text/csv",
                &export::coordinates_csv(&md.names, &c.data, c.spec.dims),
            ),
            "json" => browser::download(
                &format!("{name}.json"),
                "application/json",
                &export::coordinates_json(&md.names, &c.data, &c.spec),
            ),
            image => plot::download_image("explorer-plot", image, &name),
        };
        if let Err(e) = result {
            self.job.set(Job::Failed(e));
        }
    }
}

/// Each target's change per +1 % of each material (the editor's definition: the q.s. gives
/// the room); 0 where a material cannot take it (locked, the q.s. itself).
pub(super) async fn compute_sensitivity(state: State, ex: Explorer) {
    let Some(e) = state.compute.engine() else {
        return;
    };
    let m = &e.bundle.manifest;
    let edit = state.edit.get_untracked();
    let plan = sensitivity::Plan::new(&edit.form, 0..m.materials.len());
    match e.model.predict_async(&plan.batch(m, &edit.conds)).await {
        Ok(p) => {
            let per_target = plan
                .per_material(&p, m.materials.len())
                .into_iter()
                .map(|t| t.into_iter().map(|v| v.unwrap_or(0.0)).collect())
                .collect();
            ex.sensitivity.set(Some(Arc::new(per_target)));
            ex.redraw();
        }
        Err(err) => ex.job.set(Job::Failed(format!(
            "Sensitivities could not be computed: {err}"
        ))),
    }
}
