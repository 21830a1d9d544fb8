//! The compute concern: which backend runs the model, why, and the engine itself (the bundle's
//! model on that device). The engine is not `Send` (GPU handles), so it is a local stored value.

use std::rc::Rc;

use leptos::prelude::*;
use mixlab_core::{Bundle, Device, MixModel};

use crate::platform::backend::Backend;

/// The compute side: the bundle and its model on the chosen device.
pub struct Engine {
    pub bundle: Bundle,
    pub model: MixModel,
    pub device: Device,
    pub backend: Backend,
    /// Bumped with every new engine: results computed on an older one are dropped.
    pub generation: u64,
}

/// The auto mode's measurement: WebGPU's start-up and one prediction on each backend
/// (median milliseconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Probe {
    pub ready_ms: f64,
    pub cpu_ms: f64,
    pub webgpu_ms: f64,
}

#[derive(Clone, Copy)]
pub struct Compute {
    pub backend: RwSignal<Option<Backend>>,
    /// Why this backend (a link's choice, no WebGPU, the probe's figures).
    pub note: RwSignal<Option<String>>,
    /// The user chose a backend (link or switch): the auto probe leaves it alone.
    pub pinned: StoredValue<bool>,
    /// What the auto probe measured (shown as data attributes of the note).
    pub probe: RwSignal<Option<Probe>>,
    engine: StoredValue<Option<Rc<Engine>>, LocalStorage>,
    /// Bumped with every new engine (effects follow it).
    pub generation: RwSignal<u64>,
}

impl Compute {
    pub fn new() -> Self {
        Compute {
            backend: RwSignal::new(None),
            note: RwSignal::new(None),
            pinned: StoredValue::new(false),
            probe: RwSignal::new(None),
            engine: StoredValue::new_local(None),
            generation: RwSignal::new(0),
        }
    }

    pub fn engine(&self) -> Option<Rc<Engine>> {
        self.engine.try_get_value().flatten()
    }

    /// Whether `engine` is still the current one (the model or device may have changed while
    /// it computed).
    pub fn is_current(&self, engine: &Engine) -> bool {
        engine.generation == self.generation.get_untracked()
    }

    /// Build the model on `device` and make it current; predictions still in flight for the
    /// previous engine see a new generation and are dropped.
    pub fn put(&self, bundle: Bundle, device: Device, backend: Backend) {
        let generation = self.generation.get_untracked() + 1;
        let model = MixModel::new(&bundle, &device);
        self.engine.set_value(Some(Rc::new(Engine {
            bundle,
            model,
            device,
            backend,
            generation,
        })));
        self.backend.set(Some(backend));
        self.generation.set(generation);
    }
}
