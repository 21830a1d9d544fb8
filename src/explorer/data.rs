//! What the explorer keeps of a model (its representations, fingerprint, snapshots on PCA
//! axes) and the coordinates it has: stored in the bundle, computed before, or the raw codes.

use super::*;

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
    /// What the influence colour scale is titled (it says when doses are scaled).
    pub influence_title: &'static str,
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
    pub(super) fn build(b: &Bundle, generation: u64, holder: Holder) -> ModelData {
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
                if mat.dose_scale != 1.0 {
                    t.push_str(&format!("<br>dose scale {:.3} %", mat.dose_scale * 100.0));
                }
                if m.architecture.log_dose {
                    t.push_str(&format!(
                        "<br>log-dose scale {:.3} %",
                        mat.log_dose_scale * 100.0
                    ));
                }
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
            influence_title: match (m.dose_multipliers().is_some(), m.architecture.log_dose) {
                // Doses are pooled divided by their training spread: the norm is how far one
                // spread of the dose moves the mixture, which is what makes materials comparable.
                (true, false) => "influence ‖act(code)‖ per training spread of the dose",
                (true, true) => {
                    "influence ‖act(code)‖ (dose per training spread and log-dose blocks)"
                }
                (false, true) => "influence ‖act(code)‖ (dose and log-dose blocks)",
                (false, false) => "influence ‖act(code)‖",
            },
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
    pub(super) fn of_other(b: Bundle) -> ModelData {
        let b = Rc::new(b);
        ModelData::build(&b, 0, Holder::Other(b.clone()))
    }

    pub(super) fn basis(&self, dims: usize) -> Rc<PcaBasis> {
        let slot = dims.clamp(2, 3) - 2;
        self.bases.borrow_mut()[slot]
            .get_or_insert_with(|| Rc::new(PcaBasis::fit(&self.reps, self.n, self.d, dims)))
            .clone()
    }

    pub(super) fn with_bundle<R>(&self, f: impl FnOnce(&Bundle) -> R) -> Option<R> {
        match &self.holder {
            Holder::Main(e) => Some(f(&e.bundle)),
            Holder::Other(b) => Some(f(b)),
        }
    }

    /// The nearest materials of `focus` in this model's full code space.
    pub(super) fn nearest(&self, focus: usize, k: usize, distance: Distance) -> Vec<Neighbour> {
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

/// What the explorer keeps between draws: the model's data, the other model of a comparison,
/// computed coordinates. `Rc`s, so local stored values.
#[derive(Clone, Copy)]
pub struct Store {
    data: StoredValue<Option<Rc<ModelData>>, LocalStorage>,
    /// The other model of a side-by-side comparison, by path.
    other: StoredValue<Option<(String, Rc<ModelData>)>, LocalStorage>,
    /// Computed coordinates by model fingerprint and spec token.
    cache: StoredValue<HashMap<String, Arc<Coords>>>,
    /// The plots whose plotly events are bound.
    pub(super) bound: StoredValue<Vec<String>>,
}

impl Store {
    pub fn new() -> Self {
        Store {
            data: StoredValue::new_local(None),
            other: StoredValue::new_local(None),
            cache: StoredValue::new(HashMap::new()),
            bound: StoredValue::new(Vec::new()),
        }
    }
}

impl Explorer {
    pub fn data(&self) -> Option<Rc<ModelData>> {
        self.store.data.try_get_value().flatten()
    }

    /// The other model of the comparison, once loaded.
    pub fn other_data(&self, path: &str) -> Option<Rc<ModelData>> {
        self.store.other.try_with_value(|o| {
            o.as_ref()
                .filter(|(p, _)| p == path)
                .map(|(_, d)| d.clone())
        })?
    }

    pub(super) fn set_other(&self, path: String, md: ModelData) {
        self.store.other.set_value(Some((path, Rc::new(md))));
    }

    /// The model the second plot shows: the other one of the view, or this one.
    pub(super) fn compare_data(&self, v: &View) -> Option<Rc<ModelData>> {
        match &v.other {
            Some(o) => self.other_data(&o.path),
            None => self.data(),
        }
    }

    /// The current model's data, built once per engine.
    pub(super) fn model_data(&self) -> Option<Rc<ModelData>> {
        let e = self.state.compute.engine()?;
        if let Some(d) = self.data().filter(|d| d.generation == e.generation) {
            return Some(d);
        }
        let built = Rc::new(ModelData::build(
            &e.bundle,
            e.generation,
            Holder::Main(e.clone()),
        ));
        self.store.data.set_value(Some(built.clone()));
        self.store.cache.update_value(HashMap::clear);
        Some(built)
    }

    pub(super) fn remember(&self, md: &ModelData, coords: Arc<Coords>) {
        let key = cache_key(md, &coords.spec);
        self.store.cache.update_value(|c| {
            c.insert(key, coords);
        });
    }

    /// Coordinates without computing: raw codes, stored in the bundle, or computed before.
    pub(super) fn available(&self, md: &ModelData, spec: &Spec) -> Option<Arc<Coords>> {
        if md.d <= spec.dims {
            let data = projection::project(&md.reps, md.n, md.d, spec, &mut |_| true).ok()?;
            return Some(Arc::new(Coords {
                spec: spec.clone(),
                data,
                origin: Origin::Raw,
            }));
        }
        let key = cache_key(md, spec);
        if let Some(c) = self.store.cache.with_value(|c| c.get(&key).cloned()) {
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
}

pub(super) fn cache_key(md: &ModelData, spec: &Spec) -> String {
    format!("{}/{}", md.fingerprint, spec)
}

/// `spec` for a model of `n` materials: itself when it fits, else the method's defaults for
/// that size (with the same seed).
pub(super) fn fitted(spec: &Spec, n: usize) -> Spec {
    if spec.validate(n).is_ok() {
        return spec.clone();
    }
    let mut s = Spec::for_points(spec.method, spec.dims, n);
    s.seed = spec.seed;
    s
}
