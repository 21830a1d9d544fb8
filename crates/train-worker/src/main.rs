//! The trainer: a Web Worker the New model page starts (its own wasm module, so the app that
//! opens at every visit carries no training code). It reads a training file, trains, cross-
//! validates and fits new materials with the core's code — what `mixlab train`, `evaluate
//! --kfold` and `fit-material` run — and reports as it goes (see `mixlab_core::trainer` for the
//! messages). Training runs on the CPU or WebGPU (see `compute`); cross-validation, the
//! automatic configuration and new materials on the CPU. Cancel is the page terminating the
//! worker.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use js_sys::{Array, Uint8Array};
use mixlab_core::Bundle;
use mixlab_core::Device;
use mixlab_core::data::Dataset;
use mixlab_core::data::profile::profile;
use mixlab_core::explorer::live::LiveMap;
use mixlab_core::fit_material::FitConfig;
use mixlab_core::train::{TrainConfig, step_rate};
use mixlab_core::train_setup::{
    Compute, ComputeChoice, TRIAL_CPU_STEPS, TRIAL_CPU_WARM_STEPS, TRIAL_WEBGPU_STEPS, TrainSetup,
    auto_compute, webgpu_trial_budget_s, worth_trying_webgpu,
};
use mixlab_core::trainer::{FromTrainer, ToTrainer};
use wasm_bindgen::prelude::*;
use web_sys::{Blob, DedicatedWorkerGlobalScope, File, FileReaderSync, MessageEvent};

/// Trunk builds this as a worker; `train_worker_start` is the entry.
fn main() {}

/// Talc instead of the wasm default allocator (dlmalloc): a training step creates and drops
/// dozens of small tensors, and the allocator was a measurable share of a step
/// (docs/benchmarks.md).
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn now() -> f64 {
    js_sys::Date::now()
}

/// A message with values beside its JSON (weights).
fn post(message: &FromTrainer, extra: &[(&str, JsValue)]) {
    let object = js_sys::Object::new();
    let json = serde_json::to_string(message).unwrap_or_default();
    let _ = js_sys::Reflect::set(&object, &"json".into(), &json.into());
    for (k, v) in extra {
        let _ = js_sys::Reflect::set(&object, &(*k).into(), v);
    }
    let _ = scope().post_message(&object);
}

/// Progress at most every `.1` ms, and always the last.
struct Throttle(f64, f64);

impl Throttle {
    fn new() -> Self {
        Throttle::every(100.0)
    }

    fn every(ms: f64) -> Self {
        Throttle(f64::NEG_INFINITY, ms)
    }

    fn due(&mut self, last: bool) -> bool {
        let t = now();
        let due = last || t - self.0 >= self.1;
        if due {
            self.0 = t;
        }
        due
    }
}

/// Called by the loader once the module is instantiated, with the messages that came before.
#[wasm_bindgen]
pub fn train_worker_start(early: Array) {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        post(
            &FromTrainer::Crashed {
                message: info.to_string(),
            },
            &[],
        );
    }));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|e: MessageEvent| handle(e.data()));
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget(); // The worker lives as long as this handler.
    for m in early.iter() {
        handle(m);
    }
}

thread_local! {
    /// The model a FitMaterial request came with (sent before it, as `manifest` + `weights`).
    static BUNDLE: RefCell<Option<Bundle>> = const { RefCell::new(None) };
    static QUEUE: RefCell<VecDeque<JsValue>> = RefCell::default();
    static SERVING: Cell<bool> = const { Cell::new(false) };
}

fn handle(data: JsValue) {
    // Requests run one after the other, in order: a training on WebGPU awaits its reads, and a
    // request that comes meanwhile waits in the queue.
    QUEUE.with_borrow_mut(|q| q.push_back(data));
    if SERVING.replace(true) {
        return;
    }
    wasm_bindgen_futures::spawn_local(async {
        while let Some(data) = QUEUE.with_borrow_mut(VecDeque::pop_front) {
            if let Err(message) = serve(&data).await {
                post(&FromTrainer::Failed { message }, &[]);
            }
        }
        SERVING.set(false);
    });
}

async fn serve(data: &JsValue) -> Result<(), String> {
    let field = |name: &str| js_sys::Reflect::get(data, &name.into()).ok();
    let bytes = |name: &str| {
        field(name)
            .filter(|v| v.is_object())
            .map(|v| Uint8Array::new(&v).to_vec())
    };
    let file = |name: &str| field(name).and_then(|f| f.dyn_into::<File>().ok());
    let json = field("json")
        .and_then(|j| j.as_string())
        .ok_or("a message without a request")?;
    if let (Some(m), Some(w)) = (bytes("manifest"), bytes("weights")) {
        let bundle = Bundle::from_bytes(&m, &w).map_err(|e| e.to_string())?;
        BUNDLE.with_borrow_mut(|b| *b = Some(bundle));
    }
    let request: ToTrainer =
        serde_json::from_str(&json).map_err(|e| format!("an unreadable request: {e}"))?;
    let the_file = || file("file").ok_or_else(|| "no file came with the request".to_string());
    match request {
        ToTrainer::Profile => profile_file(&the_file()?),
        ToTrainer::Train { setup } => train(&setup, &the_file()?, file("materials")).await,
        ToTrainer::CrossValidate {
            setup,
            folds,
            group_by_mixture,
        } => cross_validate(&setup, folds, group_by_mixture, &the_file()?),
        ToTrainer::FitMaterial { material, config } => {
            fit_material(&material, &config, &the_file()?)
        }
        ToTrainer::Fault => panic!("a fault injected on purpose"),
    }
}

/// A file's bytes, read in 8 MiB slices (`FileReaderSync`: workers only).
fn read_all(blob: &Blob, name: &str) -> Result<Vec<u8>, String> {
    read_slices(blob, name, |_| {})
}

/// A file's bytes and their SHA-256, hashed slice by slice as they are read (under the reading's
/// progress: a study-scale file's hash alone takes a second).
fn read_hashed(blob: &Blob, name: &str) -> Result<(Vec<u8>, String), String> {
    let mut hash = mixlab_core::data::Sha256Hex::default();
    let bytes = read_slices(blob, name, |slice| hash.update(slice))?;
    Ok((bytes, hash.finish()))
}

fn read_slices(blob: &Blob, name: &str, mut each: impl FnMut(&[u8])) -> Result<Vec<u8>, String> {
    const SLICE: f64 = 8.0 * 1024.0 * 1024.0;
    let reader = FileReaderSync::new().map_err(|e| format!("FileReaderSync: {e:?}"))?;
    let size = blob.size();
    let mut out = Vec::with_capacity(size as usize);
    let mut at = 0.0;
    let mut throttle = Throttle::new();
    while at < size {
        // Loading the bytes is the first tenth of reading (then the pass over them).
        if size > SLICE && throttle.due(false) {
            post(
                &FromTrainer::Reading {
                    fraction: 0.1 * at / size,
                },
                &[],
            );
        }
        let end = (at + SLICE).min(size);
        let part = blob
            .slice_with_f64_and_f64(at, end)
            .and_then(|s| reader.read_as_array_buffer(&s))
            .map_err(|e| format!("{name} could not be read: {e:?}"))?;
        let from = out.len();
        out.extend_from_slice(&Uint8Array::new(&part).to_vec());
        each(&out[from..]);
        at = end;
    }
    Ok(out)
}

fn profile_file(file: &File) -> Result<(), String> {
    let started = now();
    let name = file.name();
    let bytes = read_all(file, &name)?;
    let profile = profile(bytes.as_slice()).map_err(|e| format!("{name}: {e}"))?;
    post(
        &FromTrainer::Profiled {
            profile: Box::new(profile),
            file: name,
            ms: now() - started,
        },
        &[],
    );
    Ok(())
}

/// Bytes handed to the reader, the share read posted as it goes (`base + scale × share`).
struct Reporting<'a> {
    bytes: &'a [u8],
    at: usize,
    base: f64,
    scale: f64,
    throttle: Throttle,
}

impl<'a> Reporting<'a> {
    fn new(bytes: &'a [u8], base: f64, scale: f64) -> Self {
        Reporting {
            bytes,
            at: 0,
            base,
            scale,
            throttle: Throttle::new(),
        }
    }
}

impl std::io::Read for Reporting<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = out.len().min(self.bytes.len() - self.at);
        out[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        if self.throttle.due(false) {
            let share = self.at as f64 / self.bytes.len().max(1) as f64;
            post(
                &FromTrainer::Reading {
                    fraction: self.base + self.scale * share,
                },
                &[],
            );
        }
        Ok(n)
    }
}

/// A training file read as `setup` says and checked as `mixlab train` checks it, with the
/// SHA-256 of its bytes (which are dropped here: a study-scale file is 90 MB).
fn training_data(setup: &TrainSetup, file: &File) -> Result<(Dataset, String), String> {
    let name = file.name();
    let (bytes, sha256) = read_hashed(file, &name)?;
    let in_file = |e: &dyn std::fmt::Display| format!("{name}: {e}");
    // The page profiled the file when it was chosen; here its header says wide or long.
    let format = mixlab_core::data::format_of(bytes.as_slice()).map_err(|e| in_file(&e))?;
    let spec = setup.spec(format).map_err(|e| e.to_string())?;
    let ds = mixlab_core::data::read_dataset(Reporting::new(&bytes, 0.1, 0.9), None, &spec)
        .map_err(|e| in_file(&e))?;
    post(&FromTrainer::Reading { fraction: 1.0 }, &[]);
    ds.check_log_conditions(&setup.log_conditions())
        .map_err(|e| in_file(&e))?;
    ds.check_trainable().map_err(|e| in_file(&e))?;
    (setup.options)
        .check_materials(&ds.materials)
        .map_err(|e| e.to_string())?;
    Ok((ds, sha256))
}

/// Where `setup` says to train `cfg`'s model: the CPU, WebGPU, or (Auto) the faster of the two
/// as measured on a few steps of this very model.
async fn compute(setup: &TrainSetup, ds: &Dataset, cfg: &TrainConfig) -> (Device, ComputeChoice) {
    let cpu = |note: String| {
        (
            Device::flex(),
            ComputeChoice {
                webgpu: false,
                note,
            },
        )
    };
    match setup.compute {
        Compute::Cpu => cpu("CPU, as chosen in the options".into()),
        Compute::Webgpu => match mixlab_webgpu::device().await {
            Ok(device) => (
                device,
                ComputeChoice {
                    webgpu: true,
                    note: "WebGPU, as chosen in the options".into(),
                },
            ),
            Err(why) => cpu(format!("CPU: WebGPU was chosen, but {why}")),
        },
        Compute::Auto => {
            let steps = cfg.steps * cfg.members.max(1);
            let on = |device: &Device| TrainConfig {
                device: device.clone(),
                ..cfg.clone()
            };
            let on_cpu = on(&Device::flex());
            let (warm, timed) = TRIAL_CPU_STEPS;
            let mut cpu_rate = step_rate(ds, &on_cpu, warm, timed, seconds, measured()).await;
            if worth_trying_webgpu(cpu_rate, steps) {
                let (warm, timed) = TRIAL_CPU_WARM_STEPS;
                let again = step_rate(ds, &on_cpu, warm, timed, seconds, measured()).await;
                cpu_rate = cpu_rate.max(again);
            }
            if !worth_trying_webgpu(cpu_rate, steps) {
                return cpu(auto_compute(cpu_rate, steps, None).note);
            }
            let gpu = match ticking(mixlab_webgpu::device(), "WebGPU", None).await {
                Some(Ok(device)) => {
                    let (warm, timed) = TRIAL_WEBGPU_STEPS;
                    // A WebGPU that cannot do a dozen steps in the budget is not worth waiting
                    // for (the steps it has queued finish unwatched).
                    let budget = webgpu_trial_budget_s(cpu_rate, steps);
                    let on_gpu = on(&device);
                    // Its reads yield to the worker's timers, which report (`ticking`).
                    let trial = step_rate(ds, &on_gpu, warm, timed, seconds, |_| {});
                    match ticking(trial, "WebGPU", Some(budget)).await {
                        Some(rate) => Ok((rate, device)),
                        None => Err(format!(
                            "WebGPU did not finish {} trial steps of this model in {budget:.0} s",
                            warm + timed
                        )),
                    }
                }
                Some(Err(why)) => Err(why),
                None => Err("WebGPU did not start".into()),
            };
            let choice = auto_compute(
                cpu_rate,
                steps,
                Some(gpu.as_ref().map(|g| g.0).map_err(Clone::clone)),
            );
            match gpu {
                Ok((_, device)) if choice.webgpu => (device, choice),
                _ => (Device::flex(), choice),
            }
        }
    }
}

/// Where a trial on `backend` that began at `started` is.
fn post_measuring(backend: &str, started: f64, budget: Option<f64>) {
    post(
        &FromTrainer::Measuring {
            backend: backend.into(),
            seconds: seconds() - started,
            budget,
        },
        &[],
    );
}

/// The CPU trial's step callback: `Measuring` at once and then when nothing was posted for
/// 250 ms (the trial holds the worker's thread, so the timers of [`ticking`] cannot fire).
fn measured() -> impl FnMut(usize) {
    let started = seconds();
    post_measuring("CPU", started, None);
    let mut throttle = Throttle::every(250.0);
    throttle.due(true);
    move |_| {
        if throttle.due(false) {
            post_measuring("CPU", started, None);
        }
    }
}

/// `work`, with a `Measuring` message every 250 ms while it runs (the bar moves during the
/// trial) — or `None` once `budget` seconds have passed without it finishing.
async fn ticking<T>(
    work: impl std::future::Future<Output = T>,
    backend: &str,
    budget: Option<f64>,
) -> Option<T> {
    let started = seconds();
    let report = || post_measuring(backend, started, budget);
    report();
    let ticks = async {
        loop {
            sleep_ms(250.0).await;
            report();
            if budget.is_some_and(|b| seconds() - started >= b) {
                return None;
            }
        }
    };
    futures_lite::future::or(async { Some(work.await) }, ticks).await
}

/// A timer the worker's event loop wakes.
async fn sleep_ms(ms: f64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

fn seconds() -> f64 {
    now() / 1000.0
}

async fn train(setup: &TrainSetup, file: &File, materials: Option<File>) -> Result<(), String> {
    let started = now();
    let name = file.name();
    let (ds, sha256) = training_data(setup, file)?;
    let mut cfg = setup.config().map_err(|e| e.to_string())?;
    post(
        &FromTrainer::TrainingStarted {
            materials: ds.materials.clone(),
            rows: ds.rows(),
        },
        &[],
    );
    let auto = setup.options.auto.then(|| {
        let mut throttle = Throttle::new();
        let rows: Vec<usize> = (0..ds.rows()).collect();
        let (chosen, report) = mixlab_core::auto::choose(
            &ds,
            &rows,
            &cfg,
            setup.options.auto_metric,
            setup.options.auto_budget,
            || now() / 1000.0,
            |p| {
                if throttle.due(false) {
                    post(
                        &FromTrainer::Choosing {
                            trial: p.trial,
                            total: p.total,
                            change: p.change.to_string(),
                            step: p.step,
                            steps: p.steps,
                        },
                        &[],
                    );
                }
            },
        );
        cfg = chosen;
        report
    });
    let (device, choice) = compute(setup, &ds, &cfg).await;
    cfg.device = device;
    post(
        &FromTrainer::Computing {
            webgpu: choice.webgpu,
            note: choice.note.clone(),
        },
        &[],
    );
    let (n, d) = (ds.materials.len(), cfg.stored_code_dim());
    let mut map = LiveMap::default();
    // The curve and the map at most every 100 ms; between checks (a large model's are seconds
    // apart) the step alone when nothing was posted for 250 ms, so the bar keeps moving.
    let mut checks = Throttle::new();
    let mut steps = Throttle::every(250.0);
    let loop_started = now();
    let (mut bundle, report) = mixlab_core::train::train_async(&ds, &cfg, |tick| {
        let last = tick.step == tick.total;
        let due = match tick.point {
            // The first check always, so the curve and the map appear at once.
            Some(point) => checks.due(last || point.step <= mixlab_core::train::CHECK_EVERY),
            None => steps.due(last || tick.step == 1),
        };
        if !due {
            return;
        }
        steps.due(true);
        let codes = (tick.member == 0).then(|| tick.codes()).flatten();
        let frame = codes.map(|codes| map.frame(&codes, n, d, cfg.code_activation));
        post(
            &FromTrainer::Training {
                member: tick.member,
                members: cfg.members,
                step: tick.step,
                total: tick.total,
                point: tick.point,
                map: frame,
            },
            &[],
        );
    })
    .await;
    let train_ms = now() - loop_started;
    let m = &mut bundle.manifest;
    let backend = if choice.webgpu { "webgpu" } else { "cpu" };
    m.training.insert("backend".into(), backend.into());
    if let Some(report) = &auto {
        report.record(m);
    }
    m.name = setup.name.clone();
    m.description = setup.description.clone();
    mixlab_core::describe::describe_dataset(m, &name, ds.rows(), sha256);
    let mut notes = Vec::new();
    if let Some(file) = materials {
        let table = read_all(&file, &file.name())?;
        let skipped = mixlab_core::describe::add_material_metadata(m, table.as_slice())
            .map_err(|e| format!("{}: {e}", file.name()))?;
        if !skipped.is_empty() {
            notes.push(format!(
                "{}: {} rows name no material of this data and were skipped ({}).",
                file.name(),
                skipped.len(),
                skipped
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let weights = Uint8Array::from(bundle.weights_bytes().as_slice());
    post(
        &FromTrainer::Trained {
            manifest: bundle.manifest.to_json(),
            curve: report.curve,
            rows: report.train_rows.len(),
            validation_rows: report.validation_rows.len(),
            notes,
            webgpu: choice.webgpu,
            compute: choice.note,
            train_ms,
            ms: now() - started,
        },
        &[("weights", weights.into())],
    );
    Ok(())
}

fn cross_validate(
    setup: &TrainSetup,
    folds: usize,
    group_by_mixture: bool,
    file: &File,
) -> Result<(), String> {
    let started = now();
    let (ds, _) = training_data(setup, file)?;
    let cfg = setup.config().map_err(|e| e.to_string())?;
    let groups = group_by_mixture.then(|| ds.mixture_keys());
    let splits = mixlab_core::metrics::kfold_splits(ds.rows(), groups.as_deref(), folds, cfg.seed);
    let total = cfg.steps * cfg.members.max(1);
    let mut throttle = Throttle::new();
    let mut chosen = Vec::new();
    let results = if setup.options.auto {
        // Each fold chooses on its own training rows, as `evaluate --kfold --auto` does.
        mixlab_core::evaluate::cross_validate_auto(
            &ds,
            &cfg,
            &splits,
            setup.options.auto_metric,
            setup.options.auto_budget,
            || now() / 1000.0,
            |fold, detail| {
                if throttle.due(false) {
                    post(
                        &FromTrainer::Validating {
                            fold,
                            folds: splits.len(),
                            step: 0,
                            total: 1,
                            detail: Some(detail),
                        },
                        &[],
                    );
                }
            },
        )
        .into_iter()
        .map(|(result, auto)| {
            chosen.push(auto.chosen);
            result
        })
        .collect()
    } else {
        mixlab_core::evaluate::cross_validate(&ds, &cfg, &splits, |fold, step, _| {
            if throttle.due(step == total) {
                post(
                    &FromTrainer::Validating {
                        fold,
                        folds: splits.len(),
                        step,
                        total,
                        detail: None,
                    },
                    &[],
                );
            }
        })
    };
    let trust = mixlab_core::trust::Trust {
        chosen,
        ..mixlab_core::evaluate::trust(&ds, &results)
    };
    post(
        &FromTrainer::Validated {
            trust: Box::new(trust),
            ms: now() - started,
        },
        &[],
    );
    Ok(())
}

/// A new material from a few trials: only its code learns.
fn fit_material(material: &str, config: &FitConfig, file: &File) -> Result<(), String> {
    let started = now();
    let bundle = BUNDLE
        .with_borrow(Clone::clone)
        .ok_or("the model did not come with the request")?;
    let name = file.name();
    let bytes = read_all(file, &name)?;
    let in_file = |e: &dyn std::fmt::Display| format!("{name}: {e}");
    let spec = mixlab_core::fit_material::trials_spec(&bundle.manifest, &bytes)
        .map_err(|e| in_file(&e))?;
    let ds =
        mixlab_core::data::read_dataset(bytes.as_slice(), None, &spec).map_err(|e| in_file(&e))?;
    let total = config.steps * bundle.members.len();
    let mut throttle = Throttle::new();
    let (mut grown, report) =
        mixlab_core::fit_material::fit_material(&bundle, material, &ds, config, |step, _| {
            if throttle.due(step == total) {
                post(&FromTrainer::Fitting { step, total }, &[]);
            }
        })
        .map_err(|e| in_file(&e))?;
    grown.manifest.name = format!("{} + {material}", bundle.manifest.name);
    let errors = (report.after.iter())
        .filter_map(|(target, after)| {
            let before = report.before.get(target)?;
            Some((target.clone(), after.rows, before.mae, after.mae))
        })
        .collect();
    let weights = Uint8Array::from(grown.weights_bytes().as_slice());
    post(
        &FromTrainer::Fitted {
            manifest: grown.manifest.to_json(),
            errors,
            ms: now() - started,
        },
        &[("weights", weights.into())],
    );
    Ok(())
}
