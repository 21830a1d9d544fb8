//! Web Workers running this app's own wasm module (scoring, projections, designs): the loader,
//! and requests as `json` plus transferable values.

use leptos::prelude::{GetValue, LocalStorage, SetValue, StoredValue, UpdateValue};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::platform::browser::js_message;

/// The worker's loader: a module worker from a blob. It imports a wasm-bindgen glue script of
/// this site, instantiates its module (the page's own, already compiled; or the trainer's, by
/// URL) and hands over to the module's start function; messages that arrive meanwhile are
/// queued for it.
const LOADER: &str = r#"
self.onmessage = async (first) => {
  const early = [];
  self.onmessage = (e) => early.push(e.data);
  try {
    const glue = await import(first.data.glue);
    await glue.default({ module_or_path: first.data.module });
    glue[first.data.start](early);
  } catch (err) {
    self.postMessage({ json: JSON.stringify({ kind: "failed", message: "the worker could not start: " + err }) });
  }
};
"#;

/// The absolute URL of the app's wasm-bindgen glue (Trunk preloads it).
fn glue_url() -> Result<String, String> {
    let doc = leptos::prelude::document();
    let link = doc
        .query_selector("link[rel=modulepreload][href$='.js']")
        .ok()
        .flatten()
        .ok_or("the page does not name its script")?;
    js_sys::Reflect::get(&link, &"href".into())
        .ok()
        .and_then(|h| h.as_string())
        .ok_or_else(|| "the page's script has no address".into())
}

/// Which wasm a worker runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerCode {
    /// The page's own module (scoring, projections, designs): nothing more to load.
    App,
    /// The trainer (crates/train-worker), loaded the first time the New model page trains.
    Trainer,
}

/// The trainer's files as Trunk writes them (named after its binary).
const TRAINER_GLUE: &str = "mixlab-train-worker.js";
const TRAINER_WASM: &str = "mixlab-train-worker_bg.wasm";

/// A file of this site by its path relative to the page.
fn site_url(path: &str) -> Result<String, String> {
    let base = leptos::prelude::document()
        .base_uri()
        .ok()
        .flatten()
        .ok_or("the page has no address")?;
    web_sys::Url::new_with_base(path, &base)
        .map(|u| u.href())
        .map_err(|e| js_message(&e))
}

/// A worker running this app's own wasm module (see [`LOADER`]); its messages go to
/// `on_message`, which the caller keeps alive as long as the worker.
pub fn spawn_module_worker(
    on_message: &Closure<dyn FnMut(MessageEvent)>,
) -> Result<Worker, String> {
    spawn_worker(WorkerCode::App, on_message)
}

/// A worker running `code` (see [`LOADER`]).
pub fn spawn_worker(
    code: WorkerCode,
    on_message: &Closure<dyn FnMut(MessageEvent)>,
) -> Result<Worker, String> {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(
        &js_sys::Array::of1(&LOADER.into()),
        &options,
    )
    .map_err(|e| js_message(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| js_message(&e))?;
    let worker_options = WorkerOptions::new();
    worker_options.set_type(WorkerType::Module);
    let worker = Worker::new_with_options(&url, &worker_options).map_err(|e| js_message(&e))?;
    let _ = web_sys::Url::revoke_object_url(&url);
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let init = js_sys::Object::new();
    let (glue, module, start): (String, JsValue, &str) = match code {
        WorkerCode::App => (glue_url()?, wasm_bindgen::module(), "score_worker_start"),
        WorkerCode::Trainer => (
            site_url(TRAINER_GLUE)?,
            site_url(TRAINER_WASM)?.into(),
            "train_worker_start",
        ),
    };
    let _ = js_sys::Reflect::set(&init, &"glue".into(), &glue.into());
    let _ = js_sys::Reflect::set(&init, &"module".into(), &module);
    let _ = js_sys::Reflect::set(&init, &"start".into(), &start.into());
    worker.post_message(&init).map_err(|e| js_message(&e))?;
    Ok(worker)
}

/// A request to a worker: `json` plus transferable values beside it.
pub fn message_of(json: String, extra: &[(&str, JsValue)]) -> js_sys::Object {
    let object = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&object, &"json".into(), &json.into());
    for (k, v) in extra {
        let _ = js_sys::Reflect::set(&object, &(*k).into(), v);
    }
    object
}

/// A worker's message: its `json` field read as `T`, and a field beside it (weights, a blob).
pub fn read_message<T: serde::de::DeserializeOwned>(data: &JsValue) -> Result<T, String> {
    let json = js_sys::Reflect::get(data, &"json".into())
        .ok()
        .and_then(|j| j.as_string())
        .unwrap_or_default();
    serde_json::from_str(&json).map_err(|e| format!("the worker said something unreadable: {e}"))
}

/// The bytes a message carries beside its JSON under `name` (`None` when absent).
pub fn message_bytes(data: &JsValue, name: &str) -> Option<Vec<u8>> {
    js_sys::Reflect::get(data, &name.into())
        .ok()
        .filter(|v| v.is_object())
        .map(|v| js_sys::Uint8Array::new(&v).to_vec())
}

struct Running {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

/// A page feature's own worker, one run at a time: starting a run ends the one before, and
/// messages of an ended run are dropped (each run has its generation), so Cancel is `stop`.
#[derive(Clone, Copy)]
pub struct JobWorker {
    code: WorkerCode,
    running: StoredValue<Option<Running>, LocalStorage>,
    generation: StoredValue<u64>,
}

impl JobWorker {
    pub fn new(code: WorkerCode) -> Self {
        JobWorker {
            code,
            running: StoredValue::new_local(None),
            generation: StoredValue::new(0),
        }
    }

    /// A fresh worker for `requests` (each a request's JSON and the values beside it); its
    /// messages go to `on_message` while this run is the current one.
    pub fn start(
        self,
        requests: &[(String, Vec<(&str, JsValue)>)],
        on_message: impl Fn(JsValue) + 'static,
    ) -> Result<(), String> {
        self.stop();
        self.generation.update_value(|g| *g += 1);
        let generation = self.generation.get_value();
        let closure = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
            if self.generation.get_value() == generation {
                on_message(m.data());
            }
        });
        let worker = spawn_worker(self.code, &closure)?;
        for (json, extra) in requests {
            worker
                .post_message(&message_of(json.clone(), extra))
                .map_err(|e| js_message(&e))?;
        }
        self.running.set_value(Some(Running {
            worker,
            _on_message: closure,
        }));
        Ok(())
    }

    /// End the current run (its worker is terminated; later messages are dropped).
    pub fn stop(self) {
        self.generation.update_value(|g| *g += 1);
        if let Some(r) = self.running.try_update_value(Option::take).flatten() {
            r.worker.terminate();
        }
    }
}
