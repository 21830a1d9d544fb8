//! plotly.js from Rust: loaded once, lazily (it is 4.6 MB), and drawn with `Plotly.react`.

use leptos::prelude::*;
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::browser::{self, js_message};

/// The vendored plotly.js build (public/vendor/plotly), copied next to the app by Trunk.
const PLOTLY_FILE: &str = "plotly-cartesian.min.js";

/// Set data attributes on the element `id` (what tests and benchmarks read back).
pub fn set_data(id: &str, attrs: &[(&str, String)]) {
    if let Some(el) = document().get_element_by_id(id) {
        for (k, v) in attrs {
            let _ = el.set_attribute(k, v);
        }
    }
}

fn plotly() -> Option<JsValue> {
    let w: JsValue = browser::window()?.into();
    js_sys::Reflect::get(&w, &"Plotly".into())
        .ok()
        .filter(|p| !p.is_undefined())
}

/// Load the vendored plotly.js once, when the first plot is drawn (it is 4.6 MB; the
/// first prediction does not wait for it).
pub async fn ensure_plotly() -> Result<(), String> {
    if plotly().is_some() {
        return Ok(());
    }
    let doc = document();
    let script = match doc.get_element_by_id("plotly-script") {
        Some(s) => s,
        None => {
            let s = doc.create_element("script").map_err(|e| js_message(&e))?;
            s.set_id("plotly-script");
            let _ = s.set_attribute("src", PLOTLY_FILE);
            if let Some(head) = doc.head() {
                let _ = head.append_child(&s);
            }
            s
        }
    };
    let target: web_sys::EventTarget = script.unchecked_into();
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let _ = target.add_event_listener_with_callback("load", &resolve);
        let _ = target.add_event_listener_with_callback("error", &reject);
    });
    // It may have finished loading between the check and the listeners.
    if plotly().is_none() {
        JsFuture::from(promise).await.map_err(|_| {
            "The plotting library (plotly-cartesian.min.js) could not be loaded.".to_string()
        })?;
    }
    Ok(())
}

pub async fn react(id: &str, data: &Value, layout: &Value) -> Result<(), String> {
    let plotly = plotly().ok_or("plotly is not loaded")?;
    let el = document()
        .get_element_by_id(id)
        .ok_or_else(|| format!("no #{id} element"))?;
    let react: js_sys::Function = js_sys::Reflect::get(&plotly, &"react".into())
        .map_err(|e| js_message(&e))?
        .dyn_into()
        .map_err(|_| "Plotly.react is missing".to_string())?;
    let parse = |v: &Value| js_sys::JSON::parse(&v.to_string()).map_err(|e| js_message(&e));
    // A fixed width from the container: plotly's autosize measures the page on every draw.
    let mut layout = layout.clone();
    layout["width"] = json!(el.client_width().max(300));
    layout["autosize"] = json!(false);
    let layout = &layout;
    let config = json!({"displaylogo": false, "responsive": false});
    let args = js_sys::Array::of4(&el, &parse(data)?, &parse(layout)?, &parse(&config)?);
    let result = react
        .apply(&plotly, &args)
        .map_err(|e| format!("plotting failed: {}", js_message(&e)))?;
    if let Ok(p) = result.dyn_into::<js_sys::Promise>() {
        JsFuture::from(p)
            .await
            .map_err(|e| format!("plotting failed: {}", js_message(&e)))?;
    }
    Ok(())
}
