//! The worker for long jobs (scoring a file, computing a projection). It is this same wasm
//! module, started inside a dedicated Web Worker (see `BatchState::spawn`), so checking and
//! scoring a 100,000-row file never blocks the page. The file is read in 1 MiB slices
//! (`FileReaderSync`), and the output CSV goes into blob parts as each batch is written:
//! neither the input nor the output is held whole in wasm memory.

use std::cell::{Cell, RefCell};
use std::io::Read;
use std::rc::Rc;

use js_sys::{Array, Uint8Array};
use mixlab_core::design::{self, Candidate, DesignError, DesignSpec, Problem, Search, Suggestion};
use mixlab_core::host_model::HostModel;
use mixlab_core::projection::{self, Spec};
use mixlab_core::scoring::{self, Decisions, Format, Plan, Report, Results, Run};
use mixlab_core::{Bundle, MixModel};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use web_sys::{
    Blob, BlobPropertyBag, DedicatedWorkerGlobalScope, File, FileReaderSync, MessageEvent,
};

use crate::platform::backend::{Choice, choose_device};

/// What the page asks of the worker (the `json` field of a message; files and bundle bytes
/// travel beside it).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ToWorker {
    /// Load the bundle in `manifest`/`weights` on `backend` ("webgpu" or "cpu").
    Model { backend: String },
    /// First pass over `file`, its headers given roles by `mapping` when there is one.
    Check {
        carry: Vec<String>,
        #[serde(default)]
        mapping: Option<mixlab_core::mapping::Mapping>,
    },
    /// Second pass over the checked file.
    Score { decisions: Decisions },
    /// Project the `[rows, cols]` matrix that travels as `data` (a Float64Array).
    Project {
        spec: Spec,
        rows: usize,
        cols: usize,
    },
    /// Search recipes for a design spec with the loaded model.
    Design { spec: Box<DesignSpec> },
    /// The next `n` experiments after the measured recipes in `file`.
    Suggest {
        spec: Box<DesignSpec>,
        n: usize,
        /// The column mapping remembered for the model, for the measured recipes' headers.
        #[serde(default)]
        mapping: Option<mixlab_core::mapping::Mapping>,
    },
    /// Panic on purpose (`mixlab_fault`): the tests' way to prove a crash is survived.
    Fault,
}

/// What the worker tells the page.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FromWorker {
    Ready {
        backend: String,
        note: Option<String>,
    },
    /// `done` of `total`: bytes read, or formulations scored for a long file.
    Progress {
        done: f64,
        total: f64,
        rows: usize,
    },
    Report {
        report: Box<Report>,
        ms: f64,
    },
    /// Scored; the output CSV is the message's `blob`.
    Done {
        results: Box<Results>,
        ms: f64,
        /// The worker's wasm memory at the end (it only grows, so this is its peak).
        memory_bytes: f64,
    },
    /// A projection's progress (at most every 100 ms).
    Projecting {
        stage: String,
        done: usize,
        total: usize,
    },
    Projected {
        spec: Spec,
        coords: Vec<f32>,
        ms: f64,
    },
    /// A design's progress (at most every 100 ms).
    Designing {
        stage: String,
        fraction: f64,
        /// The best recipes so far (ranked), shown while the search goes on.
        preview: Vec<Candidate>,
        goal_names: Vec<String>,
    },
    Designed {
        candidates: Vec<Candidate>,
        goal_names: Vec<String>,
        csv: String,
        evaluations: usize,
        ms: f64,
    },
    Suggested {
        suggestions: Vec<Suggestion>,
        goal_names: Vec<String>,
        best: f64,
        measured: usize,
        csv: String,
        ms: f64,
    },
    /// The spec cannot be met: each conflict, or why no recipe was found.
    DesignRefused {
        conflicts: Vec<String>,
    },
    Failed {
        message: String,
    },
    /// The worker panicked: its wasm instance is gone, the page must start a new one.
    Crashed {
        message: String,
    },
}

#[derive(Default)]
struct Worker {
    model: Option<Rc<MixModel>>,
    /// The same model in host f64, for designs (identical to the CLI's).
    host: Option<Rc<HostModel>>,
    file: Option<File>,
    plan: Option<Rc<Plan>>,
}

thread_local! {
    static WORKER: RefCell<Worker> = RefCell::default();
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn now() -> f64 {
    js_sys::Date::now()
}

fn post(message: &FromWorker, blob: Option<&Blob>) {
    let object = js_sys::Object::new();
    let json = serde_json::to_string(message).unwrap_or_default();
    let _ = js_sys::Reflect::set(&object, &"json".into(), &json.into());
    if let Some(b) = blob {
        let _ = js_sys::Reflect::set(&object, &"blob".into(), b);
    }
    let _ = scope().post_message(&object);
}

fn fail(message: String) {
    post(&FromWorker::Failed { message }, None);
}

/// Called by the worker's loader once the module is instantiated: handle the messages that
/// came before (`early`) and every one after.
#[wasm_bindgen]
pub fn score_worker_start(early: Array) {
    // A panic aborts this instance: say so, so that the page restarts the worker.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        post(
            &FromWorker::Crashed {
                message: info.to_string(),
            },
            None,
        );
    }));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|e: MessageEvent| handle(e.data()));
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget(); // The worker lives as long as this handler.
    for m in early.iter() {
        handle(m);
    }
}

/// A request with what travelled beside it.
struct Request {
    request: ToWorker,
    manifest: Option<Vec<u8>>,
    weights: Option<Vec<u8>>,
    file: Option<File>,
    data: Option<Vec<f64>>,
}

thread_local! {
    /// Requests are served one at a time, in order: a file sent while the model is still
    /// starting (WebGPU takes a moment) waits for it instead of failing.
    static QUEUE: RefCell<std::collections::VecDeque<Request>> = RefCell::default();
    static SERVING: Cell<bool> = const { Cell::new(false) };
}

fn handle(data: JsValue) {
    let field = |name: &str| js_sys::Reflect::get(&data, &name.into()).ok();
    let Some(json) = field("json").and_then(|j| j.as_string()) else {
        return fail("a message without a request".into());
    };
    let request: ToWorker = match serde_json::from_str(&json) {
        Ok(r) => r,
        Err(e) => return fail(format!("an unreadable request: {e}")),
    };
    let bytes = |name: &str| {
        field(name)
            .filter(|v| v.is_object())
            .map(|v| Uint8Array::new(&v).to_vec())
    };
    QUEUE.with_borrow_mut(|q| {
        q.push_back(Request {
            request,
            manifest: bytes("manifest"),
            weights: bytes("weights"),
            file: field("file").and_then(|f| f.dyn_into::<File>().ok()),
            data: field("data")
                .and_then(|d| d.dyn_into::<js_sys::Float64Array>().ok())
                .map(|d| d.to_vec()),
        })
    });
    if !SERVING.replace(true) {
        wasm_bindgen_futures::spawn_local(serve());
    }
}

async fn serve() {
    while let Some(r) = QUEUE.with_borrow_mut(|q| q.pop_front()) {
        let outcome = match r.request {
            ToWorker::Model { backend } => load_model(r.manifest, r.weights, &backend).await,
            ToWorker::Check { carry, mapping } => match r.file {
                Some(file) => check(file, &carry, mapping.as_ref()),
                None => Err("no file came with the request".into()),
            },
            ToWorker::Score { decisions } => score(decisions).await,
            ToWorker::Project { spec, rows, cols } => project(r.data, rows, cols, spec),
            ToWorker::Design { spec } => design(*spec).await,
            ToWorker::Suggest { spec, n, mapping } => match r.file {
                Some(file) => suggest(*spec, n, file, mapping),
                None => Err("no file came with the request".into()),
            },
            ToWorker::Fault => panic!("a fault injected by mixlab_fault(\"worker\")"),
        };
        if let Err(message) = outcome {
            fail(message);
        }
    }
    SERVING.set(false);
}

async fn load_model(
    manifest: Option<Vec<u8>>,
    weights: Option<Vec<u8>>,
    backend: &str,
) -> Result<(), String> {
    let (Some(manifest), Some(weights)) = (manifest, weights) else {
        return Err("the model's files did not reach the worker".into());
    };
    let bundle = Bundle::from_bytes(&manifest, &weights).map_err(|e| e.to_string())?;
    let (device, chosen, note) = choose_device(Choice::parse(Some(backend))).await;
    let model = MixModel::new(&bundle, &device);
    let host = HostModel::new(&bundle);
    WORKER.with_borrow_mut(|w| {
        w.model = Some(Rc::new(model));
        w.host = Some(Rc::new(host));
        w.plan = None;
    });
    post(
        &FromWorker::Ready {
            backend: chosen.id().into(),
            note,
        },
        None,
    );
    Ok(())
}

/// A projection for the explorer; progress goes to the page as it runs (the page cancels by
/// terminating this worker).
fn project(data: Option<Vec<f64>>, rows: usize, cols: usize, spec: Spec) -> Result<(), String> {
    let data = data
        .filter(|d| d.len() == rows * cols)
        .ok_or("the codes did not reach the worker")?;
    let started = now();
    let mut last = 0.0;
    let coords = projection::project(&data, rows, cols, &spec, &mut |p| {
        let t = now();
        if t - last >= 100.0 || p.done == p.total {
            last = t;
            post(
                &FromWorker::Projecting {
                    stage: p.stage.into(),
                    done: p.done,
                    total: p.total,
                },
                None,
            );
        }
        true
    })
    .map_err(|e| e.to_string())?;
    let ms = now() - started;
    post(&FromWorker::Projected { spec, coords, ms }, None);
    Ok(())
}

fn model() -> Result<Rc<MixModel>, String> {
    WORKER
        .with_borrow(|w| w.model.clone())
        .ok_or_else(|| "the model is not loaded in the worker yet".into())
}

/// Progress messages at most every 100 ms.
struct Progress {
    total: f64,
    /// Bytes read (shared with the file's reader), or formulations scored for a long file.
    done: Rc<Cell<f64>>,
    last: f64,
}

impl Progress {
    fn new(total: f64) -> Self {
        Progress {
            total,
            done: Rc::new(Cell::new(0.0)),
            last: now(),
        }
    }

    fn tell(&mut self, rows: usize, force: bool) {
        let t = now();
        if force || t - self.last >= 100.0 {
            self.last = t;
            let message = FromWorker::Progress {
                done: self.done.get(),
                total: self.total,
                rows,
            };
            post(&message, None);
        }
    }
}

fn check(
    file: File,
    carry: &[String],
    mapping: Option<&mixlab_core::mapping::Mapping>,
) -> Result<(), String> {
    let model = model()?;
    let t0 = now();
    let mut progress = Progress::new(file.size());
    let input = BlobReader::new(&file, progress.done.clone())?;
    let plan = scoring::check(&model.manifest, input, carry, mapping, |rows| {
        progress.tell(rows, false)
    })
    .map_err(|e| format!("{}: {e}", file.name()))?;
    let report = Box::new(plan.report.clone());
    WORKER.with_borrow_mut(|w| {
        w.plan = Some(Rc::new(plan));
        w.file = Some(file);
    });
    post(
        &FromWorker::Report {
            report,
            ms: now() - t0,
        },
        None,
    );
    Ok(())
}

async fn score(decisions: Decisions) -> Result<(), String> {
    let model = model()?;
    let (plan, file) = WORKER.with_borrow(|w| (w.plan.clone(), w.file.clone()));
    let (Some(plan), Some(file)) = (plan, file) else {
        return Err("no checked file to score".into());
    };
    let t0 = now();
    let mut progress = Progress::new(file.size());
    let mut run = Run::new(&plan, &model.manifest, decisions).map_err(|e| e.to_string())?;
    let parts = Array::new();
    match plan.layout.format {
        Format::Wide => {
            let mut records =
                mixlab_core::table::records(BlobReader::new(&file, progress.done.clone())?)
                    .map_err(|e| e.to_string())?;
            while let Some((row, record)) = records.next_record().map_err(|e| e.to_string())? {
                run.push_record(record, row);
                if run.full() {
                    step(&model, &mut run, &parts).await?;
                    progress.tell(run.done(), false);
                }
            }
        }
        Format::Long => {
            progress.total = run.formulations() as f64;
            for f in 0..run.formulations() {
                run.push_formulation(f);
                if run.full() {
                    step(&model, &mut run, &parts).await?;
                    progress.done.set((f + 1) as f64);
                    progress.tell(run.done(), false);
                }
            }
        }
    }
    step(&model, &mut run, &parts).await?;
    progress.tell(run.done(), true);
    let (results, rest) = run.finish().map_err(|e| e.to_string())?;
    parts.push(&blob_of(&rest)?.into());
    let options = BlobPropertyBag::new();
    options.set_type("text/csv;charset=utf-8");
    let blob = Blob::new_with_blob_sequence_and_options(&parts, &options)
        .map_err(|e| format!("the output could not be assembled: {e:?}"))?;
    let memory_bytes = wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64;
    let done = FromWorker::Done {
        results: Box::new(results),
        ms: now() - t0,
        memory_bytes,
    };
    post(&done, Some(&blob));
    Ok(())
}

/// Predict the waiting rows and move the written output into a blob part.
async fn step(model: &MixModel, run: &mut Run<'_>, parts: &Array) -> Result<(), String> {
    let prediction = match run.batch() {
        Some(b) => Some(model.predict_async(&b).await.map_err(|e| e.to_string())?),
        None => None,
    };
    run.absorb(prediction.as_ref()).map_err(|e| e.to_string())?;
    let bytes = run.take_output().map_err(|e| e.to_string())?;
    parts.push(&blob_of(&bytes)?.into());
    Ok(())
}

fn blob_of(bytes: &[u8]) -> Result<Blob, String> {
    Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::from(bytes)))
        .map_err(|e| format!("the output could not be stored: {e:?}"))
}

/// A file read in slices with `FileReaderSync` (workers only): a `Read` for the CSV parser.
struct BlobReader {
    blob: Blob,
    reader: FileReaderSync,
    pos: f64,
    size: f64,
    buf: Vec<u8>,
    at: usize,
    /// Bytes read so far, for progress.
    read: Rc<Cell<f64>>,
}

const SLICE: f64 = 1024.0 * 1024.0;

impl BlobReader {
    fn new(blob: &Blob, read: Rc<Cell<f64>>) -> Result<Self, String> {
        Ok(BlobReader {
            blob: blob.clone(),
            reader: FileReaderSync::new().map_err(|e| format!("FileReaderSync: {e:?}"))?,
            pos: 0.0,
            size: blob.size(),
            buf: Vec::new(),
            at: 0,
            read,
        })
    }
}

impl Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buf.len() {
            if self.pos >= self.size {
                return Ok(0);
            }
            let end = (self.pos + SLICE).min(self.size);
            let err = |e: JsValue| std::io::Error::other(format!("{e:?}"));
            let slice = self
                .blob
                .slice_with_f64_and_f64(self.pos, end)
                .map_err(err)?;
            let buffer = self.reader.read_as_array_buffer(&slice).map_err(err)?;
            let array = Uint8Array::new(&buffer.into());
            self.buf.resize(array.length() as usize, 0);
            array.copy_to(&mut self.buf);
            self.at = 0;
            self.pos = end;
            self.read.set(end);
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A design: the search's batches predicted here, progress posted as it goes.
async fn design(spec: DesignSpec) -> Result<(), String> {
    let model = WORKER
        .with_borrow(|w| w.host.clone())
        .ok_or("the worker has no model yet")?;
    let started = now();
    let manifest = &model.manifest;
    let problem = match Problem::new(&spec, manifest) {
        Ok(p) => p,
        Err(DesignError::Infeasible(conflicts)) => {
            post(&FromWorker::DesignRefused { conflicts }, None);
            return Ok(());
        }
        Err(e) => return Err(e.to_string()),
    };
    let goal_names = problem.goal_names.clone();
    let mut search = Search::new(problem.clone(), manifest);
    // The first preview comes early: ranked recipes in well under a second.
    let mut told = now() - 100.0;
    while let Some(rows) = search.ask() {
        search.tell_members(&model.predict_rows_members(&rows));
        if now() - told > 250.0 {
            told = now();
            post(
                &FromWorker::Designing {
                    stage: search.stage().into(),
                    fraction: search.progress(),
                    preview: design::preview(&search, manifest),
                    goal_names: goal_names.clone(),
                },
                None,
            );
        }
    }
    let evaluations = search.evaluations;
    match design::conclude(search, manifest) {
        Ok(candidates) => {
            let csv = design::to_csv(manifest, &problem, &candidates);
            post(
                &FromWorker::Designed {
                    candidates,
                    goal_names,
                    csv,
                    evaluations,
                    ms: now() - started,
                },
                None,
            );
        }
        Err(e) => post(
            &FromWorker::DesignRefused {
                conflicts: vec![e.to_string()],
            },
            None,
        ),
    }
    Ok(())
}

/// The next experiments after the measured recipes of `file`.
fn suggest(
    spec: DesignSpec,
    n: usize,
    file: File,
    mapping: Option<mixlab_core::mapping::Mapping>,
) -> Result<(), String> {
    let model = WORKER
        .with_borrow(|w| w.host.clone())
        .ok_or("the worker has no model yet")?;
    let started = now();
    let mut bytes = Vec::new();
    BlobReader::new(&file, Rc::new(Cell::new(0.0)))?
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", file.name()))?;
    let refuse = |e: DesignError| {
        let conflicts = match e {
            DesignError::Infeasible(c) => c,
            e => vec![format!("{}: {e}", file.name())],
        };
        post(&FromWorker::DesignRefused { conflicts }, None);
    };
    let measured = match design::read_measured(&bytes, &model.manifest, mapping.as_ref()) {
        Ok(m) => m,
        Err(e) => {
            refuse(e);
            return Ok(());
        }
    };
    match design::suggest(&spec, &model.manifest, &model, &measured, n) {
        Ok((problem, best, suggestions)) => post(
            &FromWorker::Suggested {
                csv: design::suggestions_csv(&model.manifest, &problem, &suggestions),
                goal_names: problem.goal_names.clone(),
                suggestions,
                best,
                measured: measured.len(),
                ms: now() - started,
            },
            None,
        ),
        Err(e) => refuse(e),
    }
    Ok(())
}
