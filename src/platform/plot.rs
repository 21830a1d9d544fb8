//! plotly.js from Rust: loaded once, lazily, and drawn with `Plotly.react`. The panels use the
//! cartesian build (0.45 MB gzip); the explorer loads the full one (WebGL, 3-D) when opened.

use leptos::prelude::*;
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::platform::browser::{self, js_message};

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

/// The full plotly.js build (WebGL scatter, 3-D), loaded only by the explorer.
const PLOTLY_FULL_FILE: &str = "plotly-strict.min.js";

fn global(name: &str) -> Option<JsValue> {
    let w: JsValue = browser::window()?.into();
    js_sys::Reflect::get(&w, &name.into())
        .ok()
        .filter(|p| !p.is_undefined())
}

fn plotly() -> Option<JsValue> {
    global("Plotly")
}

/// Load a script once (by element id) and wait for it.
async fn load_script(id: &str, src: &str, ready: impl Fn() -> bool) -> Result<(), String> {
    let doc = document();
    let script = match doc.get_element_by_id(id) {
        Some(s) => s,
        None => {
            let s = doc.create_element("script").map_err(|e| js_message(&e))?;
            s.set_id(id);
            let _ = s.set_attribute("src", src);
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
    if !ready() {
        JsFuture::from(promise)
            .await
            .map_err(|_| format!("The plotting library ({src}) could not be loaded."))?;
    }
    Ok(())
}

/// Load the full plotly.js as `window.PlotlyFull` (the 2-D panels keep the small cartesian
/// build as `window.Plotly`: both are 3.0.1, each draws its own plots).
pub async fn ensure_plotly_full() -> Result<(), String> {
    if global("PlotlyFull").is_some() {
        return Ok(());
    }
    let w: JsValue = browser::window().ok_or("no window")?.into();
    let before = global("Plotly");
    load_script("plotly-full-script", PLOTLY_FULL_FILE, || {
        global("PlotlyFull").is_some()
    })
    .await?;
    if global("PlotlyFull").is_none() {
        let full = global("Plotly").ok_or("plotly-strict.min.js did not define Plotly")?;
        let _ = js_sys::Reflect::set(&w, &"PlotlyFull".into(), &full);
        if let Some(cartesian) = before {
            let _ = js_sys::Reflect::set(&w, &"Plotly".into(), &cartesian);
        }
    }
    Ok(())
}

/// Load the vendored plotly.js once, when the first plot is drawn (it is 4.6 MB; the
/// first prediction does not wait for it).
pub async fn ensure_plotly() -> Result<(), String> {
    if plotly().is_some() {
        return Ok(());
    }
    load_script("plotly-script", PLOTLY_FILE, || plotly().is_some()).await
}

pub async fn react(id: &str, data: &Value, layout: &Value) -> Result<(), String> {
    react_with(plotly().ok_or("plotly is not loaded")?, id, data, layout).await
}

/// `react` with the full build (the explorer's WebGL and 3-D plots).
pub async fn react_full(id: &str, data: &Value, layout: &Value) -> Result<(), String> {
    react_with(
        global("PlotlyFull").ok_or("plotly is not loaded")?,
        id,
        data,
        layout,
    )
    .await
}

/// Save the plot `id` as a PNG or SVG file (plotly renders it; WebGL traces come as images).
pub fn download_image(id: &str, format: &str, name: &str) -> Result<(), String> {
    let plotly = global("PlotlyFull").ok_or("plotly is not loaded")?;
    let el = element(id)?;
    let f: js_sys::Function = js_sys::Reflect::get(&plotly, &"downloadImage".into())
        .map_err(|e| js_message(&e))?
        .dyn_into()
        .map_err(|_| "Plotly.downloadImage is missing".to_string())?;
    let options = js_sys::JSON::parse(
        &json!({"format": format, "filename": name, "width": el.client_width().max(600), "height": 520})
            .to_string(),
    )
    .map_err(|e| js_message(&e))?;
    f.call2(&plotly, &el, &options)
        .map_err(|e| format!("the image could not be made: {}", js_message(&e)))?;
    Ok(())
}

async fn react_with(plotly: JsValue, id: &str, data: &Value, layout: &Value) -> Result<(), String> {
    let el = element(id)?;
    let parse = |v: &Value| js_sys::JSON::parse(&v.to_string()).map_err(|e| js_message(&e));
    // A fixed width from the container: plotly's autosize measures the page on every draw.
    let mut layout = layout.clone();
    layout["width"] = json!(el.client_width().max(300));
    layout["autosize"] = json!(false);
    let layout = &layout;
    let config = json!({"displaylogo": false, "responsive": false});
    let args = js_sys::Array::of4(&el, &parse(data)?, &parse(layout)?, &parse(&config)?);
    call(&plotly, "react", &args).await
}

/// The element `id` of the page.
fn element(id: &str) -> Result<web_sys::Element, String> {
    document()
        .get_element_by_id(id)
        .ok_or_else(|| format!("no #{id} element"))
}

/// `Plotly[name](...args)`, waiting for the promise plotly returns.
async fn call(plotly: &JsValue, name: &str, args: &js_sys::Array) -> Result<(), String> {
    let f: js_sys::Function = js_sys::Reflect::get(plotly, &name.into())
        .map_err(|e| js_message(&e))?
        .dyn_into()
        .map_err(|_| format!("Plotly.{name} is missing"))?;
    let result = f
        .apply(plotly, args)
        .map_err(|e| format!("plotting failed: {}", js_message(&e)))?;
    if let Ok(p) = result.dyn_into::<js_sys::Promise>() {
        JsFuture::from(p)
            .await
            .map_err(|e| format!("plotting failed: {}", js_message(&e)))?;
    }
    Ok(())
}

/// Text for plotly, which reads labels as a little HTML (`<b>`, `<a href>`…): names and
/// metadata come from anyone's files, so their `<`, `>` and `&` are escaped and shown as typed.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
