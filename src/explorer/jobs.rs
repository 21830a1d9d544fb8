//! Projections computed in the worker (progress, cancel, a crashed worker restarted) and the
//! other model of a comparison fetched.

use super::*;

pub(super) struct ProjWorker {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

thread_local! {
    // A thread-local, not a stored value: `mixlab_fault` (the crash tests' hook) reaches it
    // from JavaScript, outside the component tree.
    pub(super) static WORKER: RefCell<Option<ProjWorker>> = const { RefCell::new(None) };
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

impl Explorer {
    /// Fetch the other model of a comparison (from this site only), check it against the
    /// view, and show it; a failure is reported and the comparison dropped.
    pub(super) fn load_other(self, other: OtherModel) {
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
                    self.set_other(other.path.clone(), md);
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
        if let Some(md) = self.other_data(&path) {
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
                    self.set_other(path.clone(), md);
                    self.compare_with_model(path);
                }
                Err(e) => self.message.set(Some(e)),
            }
        });
    }

    /// Fetch another model for a comparison (from this site). It shows as loading from this
    /// call on, not from the first poll, so a second refresh in the same tick does not fetch it
    /// again (see `load_other`).
    pub(super) fn fetch_other(
        self,
        path: String,
    ) -> impl Future<Output = Result<ModelData, String>> {
        self.loading_other.set(Some(path.clone()));
        async move {
            let result = crate::platform::fetch::bundle(&path)
                .await
                .map(ModelData::of_other);
            self.loading_other.set(None);
            result
        }
    }

    /// Compute `spec` in the worker (a running job for another spec is stopped first).
    pub(super) fn compute(self, spec: Spec, other: bool) {
        let v = self.view.get_untracked();
        let Some(md) = (if other {
            self.compare_data(&v)
        } else {
            self.data()
        }) else {
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

    pub(super) fn start_worker(self) -> Result<(), String> {
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

    pub(super) fn stop_worker(self) {
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

    pub(super) fn receive(self, event_data: JsValue) {
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
                let md = if other {
                    self.compare_data(&v)
                } else {
                    self.data()
                };
                let c = Arc::new(Coords {
                    spec: spec.clone(),
                    data: coords,
                    origin: Origin::Computed(ms),
                });
                if let Some(md) = &md {
                    self.remember(md, c.clone());
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
}
