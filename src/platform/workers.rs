//! Web Workers running this app's own wasm module (scoring, projections, designs): the loader,
//! and requests as `json` plus transferable values.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::platform::browser::js_message;

/// The worker's loader: a module worker from a blob (so starting one fetches nothing but the
/// app's own script, which the browser already has). It imports the app's wasm-bindgen glue,
/// instantiates the page's compiled module, and hands over to `score_worker_start`; messages
/// that arrive meanwhile are queued for it.
const LOADER: &str = r#"
self.onmessage = async (first) => {
  const early = [];
  self.onmessage = (e) => early.push(e.data);
  try {
    const glue = await import(first.data.glue);
    await glue.default({ module_or_path: first.data.module });
    glue.score_worker_start(early);
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

/// A worker running this app's own wasm module (see [`LOADER`]); its messages go to
/// `on_message`, which the caller keeps alive as long as the worker.
pub fn spawn_module_worker(
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
    let _ = js_sys::Reflect::set(&init, &"glue".into(), &glue_url()?.into());
    let _ = js_sys::Reflect::set(&init, &"module".into(), &wasm_bindgen::module());
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
