//! The embedding explorer's page side: the view (a core `View`, mirrored in the URL fragment),
//! the coordinates (stored in the bundle, or computed in a worker with progress and cancel),
//! and the plotly figure. What colours, which neighbours, what the link says: the core decides.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::Bundle;
use mixlab_core::explorer::colour::{self, MetadataValues};
use mixlab_core::explorer::view::{self, Camera, Colour, Limits, OtherModel, View};
use mixlab_core::explorer::export;
use mixlab_core::maps;
use mixlab_core::formulation::Formulation;
use mixlab_core::link;
use mixlab_core::model::Batch;
use mixlab_core::neighbours::{Distance, Neighbour, nearest};
use mixlab_core::maps::{activate, representations};
use mixlab_core::projection::{self, PcaBasis, Spec};
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};

use crate::batch::{message_of, spawn_module_worker};
use crate::browser;
use crate::plot::{self, ensure_plotly_full, set_data};
use crate::score_worker::{FromWorker, ToWorker};
use crate::state::{Notice, State, engine};

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
    Main,
    Other(Rc<Bundle>),
}

/// What the explorer needs of a model, computed once per model.
pub struct ModelData {
    pub generation: u64,
    holder: Holder,
    pub label: String,
    pub names: Vec<String>,
    /// Material name → index, to link selections between two models.
    pub index_of: HashMap<String, usize>,
    pub reps: Vec<f64>,
    pub n: usize,
    pub d: usize,
    pub fingerprint: String,
    pub influence: Vec<f64>,
    pub usage: Vec<f64>,
    pub metadata_keys: Vec<String>,
    pub hover: Vec<String>,
    /// `act(code)` of each training snapshot, `[materials, d]` each.
    pub snapshots: Vec<Vec<f64>>,
    pub steps: Vec<u64>,
    /// The trained codes' PCA axes for 2-D and 3-D snapshot pictures, fitted on first use
    /// (not on every frame of the training animation).
    bases: RefCell<[Option<Rc<PcaBasis>>; 2]>,
}

impl ModelData {
    fn build(b: &Bundle, generation: u64, holder: Holder) -> ModelData {
        let m = &b.manifest;
        let (n, d) = (m.materials.len(), m.architecture.code_dim);
        let reps = representations(b);
        let act = m.architecture.code_activation;
        let snapshots = (0..m.snapshot_steps.len())
            .map(|s| activate(act, &b.snapshots[s * n * d..(s + 1) * n * d]))
            .collect();
        let hover = m
            .materials
            .iter()
            .map(|mat| {
                let mut t = format!("<b>{}</b>", plot::escape(&mat.name));
                for (k, v) in mat.metadata.iter().take(8) {
                    t.push_str(&format!("<br>{}: {}", plot::escape(k), plot::escape(v)));
                }
                t.push_str(&format!("<br>used in {} formulations", mat.usage_count));
                t
            })
            .collect();
        let names: Vec<String> = m.materials.iter().map(|x| x.name.clone()).collect();
        ModelData {
            generation,
            holder,
            label: m.name.clone(),
            index_of: names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect(),
            names,
            influence: colour::influence(&reps, n, d),
            usage: m.materials.iter().map(|x| x.usage_count as f64).collect(),
            metadata_keys: colour::metadata_keys(m),
            fingerprint: view::fingerprint(&b.weights().codes),
            reps,
            n,
            d,
            hover,
            snapshots,
            steps: m.snapshot_steps.clone(),
            bases: RefCell::default(),
        }
    }

    /// Another model's data (for a comparison), holding its bundle.
    fn of_other(b: Bundle) -> ModelData {
        let b = Rc::new(b);
        ModelData::build(&b, 0, Holder::Other(b.clone()))
    }

    fn basis(&self, dims: usize) -> Rc<PcaBasis> {
        let slot = dims.clamp(2, 3) - 2;
        self.bases.borrow_mut()[slot]
            .get_or_insert_with(|| Rc::new(PcaBasis::fit(&self.reps, self.n, self.d, dims)))
            .clone()
    }

    fn with_bundle<R>(&self, f: impl FnOnce(&Bundle) -> R) -> Option<R> {
        match &self.holder {
            Holder::Main => engine().map(|e| f(&e.bundle)),
            Holder::Other(b) => Some(f(b)),
        }
    }

    /// The nearest materials of `focus` in this model's full code space.
    fn nearest(&self, focus: usize, k: usize, distance: Distance) -> Vec<Neighbour> {
        if focus >= self.n {
            return Vec::new();
        }
        nearest(
            &projection::rows_of(&self.reps, self.n, self.d),
            focus,
            k,
            distance,
        )
    }
}

#[derive(Clone, Copy)]
pub struct Explorer {
    state: State,
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
}

struct ProjWorker {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

thread_local! {
    static DATA: RefCell<Option<Rc<ModelData>>> = const { RefCell::new(None) };
    /// The other model of a side-by-side comparison, by path.
    static OTHER: RefCell<Option<(String, Rc<ModelData>)>> = const { RefCell::new(None) };
    /// Computed coordinates by model fingerprint and spec token.
    static CACHE: RefCell<HashMap<String, Arc<Coords>>> = RefCell::new(HashMap::new());
    static WORKER: RefCell<Option<ProjWorker>> = const { RefCell::new(None) };
    static BOUND: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

pub fn data() -> Option<Rc<ModelData>> {
    DATA.with_borrow(|d| d.clone())
}

/// The other model of the comparison, once loaded.
pub fn other_data(path: &str) -> Option<Rc<ModelData>> {
    OTHER.with_borrow(|o| {
        o.as_ref()
            .filter(|(p, _)| p == path)
            .map(|(_, d)| d.clone())
    })
}

/// The model the second plot shows: the other one of the view, or this one.
fn compare_data(v: &View) -> Option<Rc<ModelData>> {
    match &v.other {
        Some(o) => other_data(&o.path),
        None => data(),
    }
}

/// Make the projection worker panic (see `crash::mixlab_fault`); nothing when none runs.
pub fn inject_fault() {
    let message = message_of(
        serde_json::to_string(&ToWorker::Fault).unwrap_or_default(),
        &[],
    );
    WORKER.with_borrow(|w| {
        if let Some(w) = w {
            let _ = w.worker.post_message(&message);
        }
    });
}

fn cache_key(md: &ModelData, spec: &Spec) -> String {
    format!("{}/{}", md.fingerprint, spec.to_string())
}

fn model_data() -> Option<Rc<ModelData>> {
    let e = engine()?;
    if let Some(d) = data().filter(|d| d.generation == e.generation) {
        return Some(d);
    }
    let built = Rc::new(ModelData::build(&e.bundle, e.generation, Holder::Main));
    DATA.with_borrow_mut(|s| *s = Some(built.clone()));
    CACHE.with_borrow_mut(HashMap::clear);
    Some(built)
}

/// Coordinates without computing: raw codes, stored in the bundle, or computed before.
fn available(md: &ModelData, spec: &Spec) -> Option<Arc<Coords>> {
    if md.d <= spec.dims {
        let data = projection::project(&md.reps, md.n, md.d, spec, &mut |_| true).ok()?;
        return Some(Arc::new(Coords {
            spec: spec.clone(),
            data,
            origin: Origin::Raw,
        }));
    }
    if let Some(c) = CACHE.with_borrow(|c| c.get(&cache_key(md, spec)).cloned()) {
        return Some(c);
    }
    md.with_bundle(|b| {
        maps::find(b, spec).map(|data| {
            Arc::new(Coords {
                spec: spec.clone(),
                data: data.to_vec(),
                origin: Origin::Bundle,
            })
        })
    })
    .flatten()
}

/// `spec` for a model of `n` materials: itself when it fits, else the method's defaults for
/// that size (with the same seed).
fn fitted(spec: &Spec, n: usize) -> Spec {
    if spec.validate(n).is_ok() {
        return spec.clone();
    }
    let mut s = Spec::for_points(spec.method, spec.dims, n);
    s.seed = spec.seed;
    s
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
            let _ = state.backend.get();
            let Some(md) = model_data() else { return };
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
            let hash = fragment();
            // Any fragment is a view (one without its version is reported, not ignored).
            if first && !hash.trim_start_matches('#').is_empty() {
                let limits = Limits {
                    fingerprint: &md.fingerprint,
                    materials: md.n,
                    targets: engine().map_or(0, |e| e.bundle.manifest.targets.len()),
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
            && other_data(&o.path).is_none()
        {
            self.compare.set(None);
            self.load_other(o.clone());
        }
        // One job at a time: a comparison that needs computing waits for the main picture
        // (`receive` starts it).
        let mut computing = false;
        for (spec, slot, md) in [
            (Some(v.spec.clone()), self.coords, data()),
            (v.compare.clone(), self.compare, compare_data(&v)),
        ] {
            let (Some(spec), Some(md)) = (spec, md) else {
                slot.set(None);
                continue;
            };
            let other = v.other.is_some() && slot == self.compare;
            if slot.with_untracked(|c| c.as_ref().is_some_and(|c| c.spec == spec)) {
                continue;
            }
            match available(&md, &spec) {
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

    /// Fetch the other model of a comparison (from this site only), check it against the
    /// view, and show it; a failure is reported and the comparison dropped.
    fn load_other(self, other: OtherModel) {
        if self.loading_other.get_untracked().as_deref() == Some(other.path.as_str()) {
            return;
        }
        let fetching = self.fetch_other(other.path.clone());
        spawn_local(async move {
            let result = fetching.await.and_then(|md| {
                self.view
                    .with_untracked(|v| v.check_other(&md.fingerprint, md.n))
                    .map_err(|e| {
                        format!("The compared model in this link cannot be shown: {e}.")
                    })?;
                Ok(md)
            });
            // The user may have moved on while it loaded.
            if self
                .view
                .with_untracked(|v| v.other.as_ref() != Some(&other))
            {
                return;
            }
            match result {
                Ok(md) => {
                    OTHER.with_borrow_mut(|o| *o = Some((other.path.clone(), Rc::new(md))));
                    self.refresh();
                }
                Err(e) => {
                    self.message.set(Some(e));
                    self.change(|v| {
                        v.other = None;
                        v.compare = None;
                    });
                }
            }
        });
    }

    /// Compare with another bundle (a path on this site): fetched first, then shown with the
    /// same projection as the main plot (fitted to its number of materials).
    pub fn compare_with_model(self, path: String) {
        let path = match link::bundle_path(&path) {
            Ok(p) => p,
            Err(e) => {
                let shown = match e {
                    link::LinkError::Model(p) => p,
                    _ => path,
                };
                self.message
                    .set(Some(format!("{shown:?} is not a model on this site.")));
                return;
            }
        };
        if let Some(md) = other_data(&path) {
            self.change(|v| {
                v.other = Some(OtherModel {
                    path,
                    fingerprint: md.fingerprint.clone(),
                });
                v.compare = Some(fitted(&v.spec, md.n));
            });
            return;
        }
        let fetching = self.fetch_other(path.clone());
        spawn_local(async move {
            match fetching.await {
                Ok(md) => {
                    OTHER.with_borrow_mut(|o| *o = Some((path.clone(), Rc::new(md))));
                    self.compare_with_model(path);
                }
                Err(e) => self.message.set(Some(e)),
            }
        });
    }

    /// Fetch another model for a comparison (from this site). It shows as loading from this
    /// call on, not from the first poll, so a second refresh in the same tick does not fetch it
    /// again (see `load_other`).
    fn fetch_other(self, path: String) -> impl Future<Output = Result<ModelData, String>> {
        self.loading_other.set(Some(path.clone()));
        async move {
            let result = crate::fetch_bundle(&path).await.map(ModelData::of_other);
            self.loading_other.set(None);
            result
        }
    }

    /// Compute `spec` in the worker (a running job for another spec is stopped first).
    fn compute(self, spec: Spec, other: bool) {
        let v = self.view.get_untracked();
        let Some(md) = (if other { compare_data(&v) } else { data() }) else {
            return;
        };
        if let Err(e) = spec.validate(md.n) {
            self.job.set(Job::Failed(e.to_string()));
            return;
        }
        if let Job::Running {
            spec: running,
            other: running_other,
            ..
        } = self.job.get_untracked()
        {
            if running == spec && running_other == other {
                return;
            }
            self.stop_worker();
        }
        if WORKER.with_borrow(Option::is_none)
            && let Err(e) = self.start_worker()
        {
            self.job.set(Job::Failed(format!(
                "The projection worker could not start: {e}"
            )));
            return;
        }
        self.job.set(Job::Running {
            spec: spec.clone(),
            other,
            stage: "starting".into(),
            fraction: 0.0,
        });
        let request = ToWorker::Project {
            spec,
            rows: md.n,
            cols: md.d,
        };
        let data = js_sys::Float64Array::from(md.reps.as_slice());
        let message = message_of(
            serde_json::to_string(&request).unwrap_or_default(),
            &[("data", data.into())],
        );
        WORKER.with_borrow(|w| {
            if let Some(w) = w {
                let _ = w.worker.post_message(&message);
            }
        });
    }

    fn start_worker(self) -> Result<(), String> {
        let on_message =
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| self.receive(e.data()));
        let worker = spawn_module_worker(&on_message)?;
        WORKER.with_borrow_mut(|w| {
            *w = Some(ProjWorker {
                worker,
                _on_message: on_message,
            })
        });
        Ok(())
    }

    fn stop_worker(self) {
        WORKER.with_borrow_mut(|w| {
            if let Some(w) = w.take() {
                w.worker.terminate();
            }
        });
    }

    /// Stop the running projection; the picture shown stays, and so does its spec.
    pub fn cancel(self) {
        self.stop_worker();
        self.job.set(Job::Idle);
        let shown = self.coords.get_untracked().map(|c| c.spec.clone());
        let compared = self.compare.get_untracked().map(|c| c.spec.clone());
        self.view.update(|v| {
            if let Some(s) = shown {
                v.spec = s;
            }
            v.compare = compared;
        });
        self.write_fragment();
    }

    fn receive(self, event_data: JsValue) {
        let Some(json) = js_sys::Reflect::get(&event_data, &"json".into())
            .ok()
            .and_then(|j| j.as_string())
        else {
            return;
        };
        let Ok(message) = serde_json::from_str::<FromWorker>(&json) else {
            return;
        };
        match message {
            FromWorker::Projecting { stage, done, total } => {
                self.job.update(|j| {
                    if let Job::Running {
                        stage: s, fraction, ..
                    } = j
                    {
                        *s = stage;
                        *fraction = if total > 0 {
                            done as f64 / total as f64
                        } else {
                            0.0
                        };
                    }
                });
            }
            FromWorker::Projected { spec, coords, ms } => {
                let other = matches!(self.job.get_untracked(), Job::Running { other: true, .. });
                let v = self.view.get_untracked();
                let md = if other { compare_data(&v) } else { data() };
                let c = Arc::new(Coords {
                    spec: spec.clone(),
                    data: coords,
                    origin: Origin::Computed(ms),
                });
                if let Some(md) = &md {
                    CACHE.with_borrow_mut(|cache| cache.insert(cache_key(md, &spec), c.clone()));
                }
                self.job.set(Job::Idle);
                if !other && v.spec == spec {
                    self.coords.set(Some(c.clone()));
                }
                if v.compare.as_ref() == Some(&spec) && v.other.is_some() == other {
                    self.compare.set(Some(c));
                }
                // The comparison may still be waiting for its turn.
                if let Some(cmp) = v.compare.clone().filter(|s| {
                    self.compare
                        .with_untracked(|c| c.as_ref().is_none_or(|c| &c.spec != s))
                }) {
                    self.compute(cmp, v.other.is_some());
                }
                self.redraw();
            }
            FromWorker::Failed { message } => {
                self.job.set(Job::Failed(message));
            }
            FromWorker::Crashed { message } => {
                // Its instance is gone: the next projection starts a fresh worker.
                self.stop_worker();
                self.job.set(Job::Failed(format!(
                    "The projection worker stopped on an internal error ({message}); the \
                     next projection starts a new one."
                )));
            }
            _ => {}
        }
    }

    /// Change the view and put it in the address.
    pub fn change(self, f: impl FnOnce(&mut View)) {
        self.view.update(|v| {
            f(v);
            // Another model shows the same projection as the main plot.
            if let Some(md) = v.other.as_ref().and_then(|o| other_data(&o.path)) {
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
        let (Some(md), v) = (data(), self.view.get_untracked()) else {
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
        let Some(md) = data() else { return };
        let mut edit = state.edit.get_untracked();
        let mut added = 0;
        for &i in &v.selection {
            if edit.form.position(i).is_none() && edit.form.add(i, &md.names[i]).is_ok() {
                added += 1;
            }
        }
        if added > 0 {
            state.apply(edit);
        }
        state.notice.set(Some(Notice::Info(format!(
            "Added {added} material(s) to the formulation at 0 % ({} were there already).",
            v.selection.len() - added
        ))));
    }

    pub fn export(self, format: &str) {
        let (Some(md), Some(c)) = (data(), self.coords.get_untracked()) else {
            return;
        };
        let name = format!("mixlab-{}", c.spec.to_string());
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

fn fragment() -> String {
    browser::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Each target's change per +1 % of each material in the current formulation.
async fn compute_sensitivity(state: State, ex: Explorer) {
    let Some(e) = engine() else { return };
    let m = &e.bundle.manifest;
    let edit = state.edit.get_untracked();
    let rows = colour::sensitivity_rows(m, &edit.form);
    let batch = batch_of_dense(m, &rows, &edit.conds);
    match e.model.predict_async(&batch).await {
        Ok(p) => {
            let per_target = (0..p.targets)
                .map(|t| {
                    let base = p.values[t];
                    (1..rows.len())
                        .map(|r| p.values[r * p.targets + t] - base)
                        .collect()
                })
                .collect();
            ex.sensitivity.set(Some(Arc::new(per_target)));
            ex.redraw();
        }
        Err(err) => ex.job.set(Job::Failed(format!(
            "Sensitivities could not be computed: {err}"
        ))),
    }
}

fn batch_of_dense(m: &mixlab_core::Manifest, rows: &[Vec<f32>], conds: &[f64]) -> Batch {
    let forms: Vec<Formulation> = rows
        .iter()
        .map(|r| {
            Formulation::from_fractions(
                r.iter()
                    .enumerate()
                    .filter(|(_, v)| **v > 0.0)
                    .map(|(i, v)| (i, f64::from(*v))),
            )
        })
        .collect();
    mixlab_core::formulation::batch_of(m, forms.iter(), conds)
}

const PALETTE: [&str; 12] = [
    "#2f6fde", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8", "#0c8599", "#f08c00", "#5c940d",
    "#862e9c", "#d6336c", "#495057", "#1098ad",
];

/// Marker colours (and a colour bar title) for the view's colouring.
fn colours(ex: Explorer, md: &ModelData, v: &View) -> (Value, Option<String>, Vec<String>) {
    let continuous =
        |values: &[f64], title: &str| (json!(values), Some(title.to_string()), Vec::new());
    match &v.colour {
        Colour::Influence => continuous(&md.influence, "influence ‖act(code)‖"),
        Colour::Usage => continuous(&md.usage, "formulations using it"),
        Colour::Cluster(k) => {
            let labels = colour::kmeans(&md.reps, md.n, md.d, *k, 1);
            let c: Vec<&str> = labels.iter().map(|l| PALETTE[l % PALETTE.len()]).collect();
            let text = labels
                .iter()
                .map(|l| format!("cluster {}", l + 1))
                .collect();
            (json!(c), None, text)
        }
        Colour::Metadata(key) => {
            let Some(values) = md.with_bundle(|b| colour::metadata_values(&b.manifest, key)) else {
                return (json!("#2f6fde"), None, Vec::new());
            };
            match values {
                MetadataValues::Numbers(nums) => {
                    let vals: Vec<Value> = nums.iter().map(|v| json!(v)).collect();
                    (json!(vals), Some(plot::escape(key)), Vec::new())
                }
                MetadataValues::Categories { names, of } => {
                    let c: Vec<&str> = of
                        .iter()
                        .map(|i| i.map_or("#bbbbbb", |i| PALETTE[i % PALETTE.len()]))
                        .collect();
                    let text = of
                        .iter()
                        .map(|i| i.map_or("(none)".to_string(), |i| names[i].clone()))
                        .map(|n| plot::escape(&format!("{key}: {n}")))
                        .collect();
                    (json!(c), None, text)
                }
            }
        }
        Colour::Sensitivity(t) => {
            let title = engine()
                .and_then(|e| {
                    e.bundle
                        .manifest
                        .targets
                        .get(*t)
                        .map(|x| format!("Δ {} per +1 %", plot::escape(&x.name)))
                })
                .unwrap_or_default();
            match ex.sensitivity.get_untracked() {
                Some(s) => continuous(s.get(*t).map_or(&[][..], |v| v.as_slice()), &title),
                None => (json!("#bbbbbb"), None, Vec::new()),
            }
        }
    }
}

/// The coordinates to draw for `coords`: the trained ones, or a training snapshot on the
/// trained codes' PCA axes (the step slider).
fn positions(md: &ModelData, v: &View, coords: &Coords) -> (Vec<f64>, bool) {
    if let Some(s) = v.step.filter(|s| *s < md.snapshots.len()) {
        return (
            md.basis(coords.spec.dims).apply(&md.snapshots[s], md.n),
            true,
        );
    }
    (coords.data.iter().map(|&v| f64::from(v)).collect(), false)
}

fn figure(ex: Explorer, md: &ModelData, v: &View, coords: &Coords, main: bool) -> (Value, Value) {
    let dims = coords.spec.dims;
    let (pos, snapshot) = positions(md, v, coords);
    let axis = |a: usize| -> Vec<f64> { (0..md.n).map(|i| pos[i * dims + a]).collect() };
    let (colour, bar, extra) = colours(ex, md, v);
    let max_usage = md.usage.iter().cloned().fold(1.0f64, f64::max);
    let size: Value = if v.size_by_usage {
        json!(
            md.usage
                .iter()
                .map(|u| 6.0 + 12.0 * (u / max_usage).sqrt())
                .collect::<Vec<_>>()
        )
    } else {
        json!(9)
    };
    let hover: Vec<String> = md
        .hover
        .iter()
        .enumerate()
        .map(|(i, h)| match extra.get(i) {
            Some(x) => format!("{h}<br>{x}"),
            None => h.clone(),
        })
        .collect();
    let mut marker =
        json!({"color": colour, "size": size, "line": {"width": 0.5, "color": "#333"}});
    if let Some(title) = &bar {
        marker["colorscale"] = json!(if matches!(v.colour, Colour::Sensitivity(_)) {
            "RdBu"
        } else {
            "Viridis"
        });
        marker["showscale"] = json!(main);
        marker["colorbar"] = json!({"title": {"text": title}});
        if matches!(v.colour, Colour::Sensitivity(_)) {
            marker["cmid"] = json!(0.0);
        }
    }
    let ids: Vec<usize> = (0..md.n).collect();
    let mut points = json!({
        "x": axis(0), "y": axis(1), "mode": "markers", "marker": marker,
        "text": hover, "hovertemplate": "%{text}<extra></extra>", "customdata": ids,
        "name": "materials", "showlegend": false,
    });
    points["type"] = json!(if dims == 3 { "scatter3d" } else { "scattergl" });
    if dims == 3 {
        points["z"] = json!(axis(2));
        points["marker"]["line"] = json!({"width": 0});
    }
    if !v.selection.is_empty() {
        points["selectedpoints"] = json!(v.selection.iter().collect::<Vec<_>>());
        points["unselected"] = json!({"marker": {"opacity": 0.2}});
    }
    let mut data = vec![points];
    // The focused material and lines to its nearest materials (found in the full code space).
    let mut label = None;
    if let Some(f) = v.focus.filter(|f| *f < md.n) {
        let near = md.nearest(f, v.neighbours, v.distance);
        let (mut lx, mut ly, mut lz) = (Vec::new(), Vec::new(), Vec::new());
        for nb in &near {
            for p in [f, nb.index] {
                lx.push(json!(pos[p * dims]));
                ly.push(json!(pos[p * dims + 1]));
                if dims == 3 {
                    lz.push(json!(pos[p * dims + 2]));
                }
            }
            lx.push(Value::Null);
            ly.push(Value::Null);
            lz.push(Value::Null);
        }
        let kind = if dims == 3 { "scatter3d" } else { "scattergl" };
        let mut lines = json!({"type": kind, "mode": "lines", "x": lx, "y": ly,
            "line": {"color": "#b42318", "width": 2}, "hoverinfo": "skip", "name": "nearest", "showlegend": false});
        // The name: text on scatter3d, an annotation in 2-D (scattergl draws no text).
        let mut focus = json!({"type": kind, "mode": if dims == 3 { "markers+text" } else { "markers" },
            "x": [pos[f * dims]], "y": [pos[f * dims + 1]],
            "marker": {"size": 16, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "#b42318"}},
            "hoverinfo": "skip", "name": "focus", "showlegend": false});
        if dims == 3 {
            lines["z"] = json!(lz);
            focus["z"] = json!([pos[f * dims + 2]]);
            focus["text"] = json!([plot::escape(&md.names[f])]);
            focus["textposition"] = json!("top center");
        } else {
            label = Some(
                json!({"x": pos[f * dims], "y": pos[f * dims + 1], "text": plot::escape(&md.names[f]),
                "showarrow": true, "arrowhead": 0, "ax": 0, "ay": -24, "font": {"color": "#b42318"}}),
            );
        }
        data.push(lines);
        data.push(focus);
    }
    let title = if snapshot {
        let s = v.step.unwrap_or(0);
        format!(
            "training step {} (PCA axes of the trained codes)",
            md.steps.get(s).copied().unwrap_or(0)
        )
    } else {
        format!("{} {}-D", coords.spec.method.label(), dims)
    };
    let title = match (main, &v.other) {
        (false, Some(_)) => format!("{}: {title}", plot::escape(&md.label)),
        _ => title,
    };
    let mut layout = json!({
        "height": 520, "margin": {"l": 40, "r": 10, "t": 36, "b": 36},
        "title": {"text": title, "font": {"size": 14}},
        "uirevision": format!("{}-{}", coords.spec.to_string(), snapshot),
        "hovermode": "closest", "dragmode": if dims == 2 { "lasso" } else { "orbit" },
    });
    if let Some(l) = label {
        layout["annotations"] = json!([l]);
    }
    if dims == 2 {
        layout["xaxis"] = json!({"zeroline": false});
        layout["yaxis"] = json!({"zeroline": false});
        if main && let Some(Camera::Ranges(r)) = &v.camera {
            layout["xaxis"]["range"] = json!([r[0], r[1]]);
            layout["yaxis"]["range"] = json!([r[2], r[3]]);
        }
    } else if main && let Some(Camera::Eye(e)) = &v.camera {
        layout["scene"] = json!({"camera": {
            "eye": {"x": e[0], "y": e[1], "z": e[2]},
            "center": {"x": e[3], "y": e[4], "z": e[5]},
            "up": {"x": e[6], "y": e[7], "z": e[8]}}});
    }
    (Value::Array(data), layout)
}

async fn draw(ex: Explorer) -> Result<(), String> {
    let (Some(md), Some(c)) = (data(), ex.coords.get_untracked()) else {
        return Ok(());
    };
    ensure_plotly_full().await?;
    let v = ex.view.get_untracked();
    let (d, l) = figure(ex, &md, &v, &c, true);
    plot::react_full("explorer-plot", &d, &l).await?;
    bind_events(ex, "explorer-plot");
    if let (Some(cmp), Some(mb)) = (ex.compare.get_untracked(), compare_data(&v)) {
        let vb = if v.other.is_some() {
            linked_view(&v, &md, &mb)
        } else {
            v.clone()
        };
        let (d, l) = figure(ex, &mb, &vb, &cmp, false);
        plot::react_full("explorer-plot-b", &d, &l).await?;
        bind_events(ex, "explorer-plot-b");
        set_data(
            "explorer",
            &[
                ("data-compare-spec", cmp.spec.to_string()),
                ("data-compare-model", mb.label.clone()),
            ],
        );
    }
    let origin = match &c.origin {
        Origin::Raw => "raw".to_string(),
        Origin::Bundle => "bundle".to_string(),
        Origin::Computed(_) => "computed".to_string(),
    };
    let ms = match c.origin {
        Origin::Computed(ms) => format!("{ms:.1}"),
        _ => "0".into(),
    };
    ex.draws.update(|d| *d += 1);
    set_data(
        "explorer",
        &[
            ("data-spec", c.spec.to_string()),
            ("data-origin", origin),
            ("data-ms", ms),
            ("data-draws", ex.draws.get_untracked().to_string()),
        ],
    );
    Ok(())
}

/// The view as another model shows it: the selection and focus carried over by material name
/// (materials it lacks are left out), and a colouring it has (sensitivities belong to the
/// formulation being edited, metadata keys to a bundle).
fn linked_view(v: &View, a: &ModelData, b: &ModelData) -> View {
    let to_b = |i: usize| a.names.get(i).and_then(|n| b.index_of.get(n)).copied();
    let mut vb = v.clone();
    vb.selection = v.selection.iter().filter_map(|&i| to_b(i)).collect();
    vb.focus = v.focus.and_then(to_b);
    vb.step = v.step.filter(|s| *s < b.steps.len());
    vb.colour = match &v.colour {
        Colour::Sensitivity(_) => Colour::Influence,
        Colour::Metadata(k) if !b.metadata_keys.contains(k) => Colour::Influence,
        c => c.clone(),
    };
    vb
}

/// Materials picked on the second plot, as indices of the main model (by name when the
/// second plot shows another model; materials the main model lacks are dropped).
fn to_main(ex: Explorer, picked: Vec<usize>, second: bool) -> Vec<usize> {
    let v = ex.view.get_untracked();
    if !second || v.other.is_none() {
        return picked;
    }
    let (Some(a), Some(b)) = (data(), compare_data(&v)) else {
        return Vec::new();
    };
    picked
        .into_iter()
        .filter_map(|i| b.names.get(i).and_then(|n| a.index_of.get(n)).copied())
        .collect()
}

/// Click → focus; box/lasso → selection; zoom/rotate → the view's camera. Bound once per plot.
fn bind_events(ex: Explorer, id: &str) {
    if BOUND.with_borrow(|b| b.iter().any(|x| x == id)) {
        return;
    }
    let Some(el) = leptos::prelude::document().get_element_by_id(id) else {
        return;
    };
    let Ok(on) =
        js_sys::Reflect::get(&el, &"on".into()).and_then(|f| f.dyn_into::<js_sys::Function>())
    else {
        return;
    };
    let points_of = |e: &JsValue| -> Vec<usize> {
        js_sys::Reflect::get(e, &"points".into())
            .ok()
            .map(|p| js_sys::Array::from(&p))
            .map(|a| {
                a.iter()
                    .filter(|p| {
                        js_sys::Reflect::get(p, &"curveNumber".into())
                            .ok()
                            .and_then(|c| c.as_f64())
                            == Some(0.0)
                    })
                    .filter_map(|p| {
                        js_sys::Reflect::get(&p, &"customdata".into())
                            .ok()?
                            .as_f64()
                    })
                    .map(|v| v as usize)
                    .collect()
            })
            .unwrap_or_default()
    };
    let second = id == "explorer-plot-b";
    let click = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        if let Some(&i) = to_main(ex, points_of(&e), second).first() {
            ex.change(|v| v.focus = Some(i));
        }
    });
    let selected = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        if e.is_undefined() || e.is_null() {
            return;
        }
        let picked = to_main(ex, points_of(&e), second);
        // Redrawing with the new selection makes plotly report an empty one: the user clears
        // a selection by double-click (plotly_deselect) or the Clear button instead.
        if picked.is_empty() {
            return;
        }
        ex.change(|v| v.selection = picked.into_iter().collect());
    });
    let deselect = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        ex.change(|v| v.selection.clear());
    });
    let main = id == "explorer-plot";
    let target = el.clone();
    let relayout = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        if !main {
            return;
        }
        if let Some(cam) = camera_of(&target) {
            ex.view.update(|v| v.camera = Some(cam));
            ex.write_fragment();
        }
    });
    for (name, f) in [
        ("plotly_click", &click),
        ("plotly_selected", &selected),
        ("plotly_deselect", &deselect),
        ("plotly_relayout", &relayout),
    ] {
        let _ = on.call2(&el, &name.into(), f.as_ref().unchecked_ref());
    }
    click.forget();
    selected.forget();
    deselect.forget();
    relayout.forget();
    BOUND.with_borrow_mut(|b| b.push(id.to_string()));
}

/// The plot's current zoom (2-D axis ranges) or camera (3-D), read from its full layout.
fn camera_of(el: &web_sys::Element) -> Option<Camera> {
    let get = |o: &JsValue, path: &[&str]| -> Option<JsValue> {
        path.iter().try_fold(o.clone(), |o, k| {
            js_sys::Reflect::get(&o, &(*k).into())
                .ok()
                .filter(|v| !v.is_undefined())
        })
    };
    let layout = get(el, &["_fullLayout"])?;
    if let Some(cam) = get(&layout, &["scene", "camera"]) {
        let mut e = [0.0; 9];
        for (i, (part, axis)) in ["eye", "center", "up"]
            .iter()
            .flat_map(|p| ["x", "y", "z"].map(move |a| (p, a)))
            .enumerate()
        {
            e[i] = get(&cam, &[part, axis])?.as_f64()?;
        }
        return Some(Camera::Eye(e));
    }
    let range = |axis: &str| -> Option<(f64, f64)> {
        let r = js_sys::Array::from(&get(&layout, &[axis, "range"])?);
        Some((r.get(0).as_f64()?, r.get(1).as_f64()?))
    };
    let (x, y) = (range("xaxis")?, range("yaxis")?);
    Some(Camera::Ranges([x.0, x.1, y.0, y.1]))
}
