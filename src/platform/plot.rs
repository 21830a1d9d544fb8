//! plotly.js from Rust: figures are built with the plotly crate's typed traces and layouts
//! (`Figure`), and drawn by the vendored plotly.js with `Plotly.react`, loaded once, lazily.
//! The panels use the cartesian build (0.45 MB gzip); the explorer loads the full one (WebGL,
//! 3-D) when opened.

use leptos::prelude::*;
use plotly::layout::{Axis, Layout};
use plotly::{Plot, Trace};
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::platform::browser::{self, js_message};

/// A figure ready for plotly.js: the plotly crate's `Plot` as JSON, plus the few attributes
/// the crate does not model (see the design notes), set by name.
pub struct Figure(Value);

impl Figure {
    pub fn new(traces: Vec<Box<dyn Trace>>, layout: Layout) -> Figure {
        let mut plot = Plot::new();
        plot.add_traces(traces);
        plot.set_layout(layout);
        Figure(serde_json::from_str(&plot.to_json()).unwrap_or(Value::Null))
    }

    /// A cartesian axis by its layout key (`xaxis`, `yaxis12`…): the crate names only eight
    /// of each, and the sensitivity chart has one per target.
    pub fn axis(mut self, key: &str, axis: &Axis) -> Figure {
        self.0["layout"][key] = serde_json::to_value(axis).unwrap_or(Value::Null);
        self
    }

    /// A layout attribute the crate lacks (`uirevision`).
    pub fn layout_attr(mut self, key: &str, value: Value) -> Figure {
        self.0["layout"][key] = value;
        self
    }

    /// A trace written as plotly.js JSON (a trace type used once, such as the trust view's box
    /// plot: its typed builder would add more code to the app than it saves).
    pub fn json_trace(mut self, trace: Value) -> Figure {
        if let Some(data) = self.0["data"].as_array_mut() {
            data.push(trace);
        } else {
            self.0["data"] = Value::Array(vec![trace]);
        }
        self
    }

    /// An attribute of trace `i` the crate lacks (`selectedpoints`, `unselected`, a 3-D
    /// trace's `textfont`).
    pub fn trace_attr(mut self, i: usize, key: &str, value: Value) -> Figure {
        if let Some(trace) = self.0["data"].get_mut(i) {
            trace[key] = value;
        }
        self
    }
}

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

pub async fn react(id: &str, figure: Figure) -> Result<(), String> {
    react_with(plotly().ok_or("plotly is not loaded")?, id, figure).await
}

/// `react` with the full build (the explorer's WebGL and 3-D plots).
pub async fn react_full(id: &str, figure: Figure) -> Result<(), String> {
    react_with(
        global("PlotlyFull").ok_or("plotly is not loaded")?,
        id,
        figure,
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

async fn react_with(plotly: JsValue, id: &str, figure: Figure) -> Result<(), String> {
    let el = element(id)?;
    let mut figure = figure.0;
    // A fixed width from the container: plotly's autosize measures the page on every draw.
    figure["layout"]["width"] = json!(el.client_width().max(300));
    figure["layout"]["autosize"] = json!(false);
    figure["config"] = json!({"displaylogo": false, "responsive": false});
    let figure = js_sys::JSON::parse(&figure.to_string()).map_err(|e| js_message(&e))?;
    call(&plotly, "react", &js_sys::Array::of2(&el, &figure)).await
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
