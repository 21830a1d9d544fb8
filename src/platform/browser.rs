//! Small wrappers over browser APIs the app needs (URL, localStorage, files, downloads),
//! each returning a readable error instead of throwing.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

pub fn now_ms() -> f64 {
    window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// Wait `ms` milliseconds (a timer; the page keeps running meanwhile).
pub async fn sleep_ms(ms: f64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = JsFuture::from(promise).await;
}

pub fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

fn search_params() -> Option<web_sys::UrlSearchParams> {
    let search = window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()
}

pub fn query_param(name: &str) -> Option<String> {
    search_params()?.get(name)
}

/// Replace the page's query with these parameters (others kept; `None` removes one),
/// without a reload or a new history entry.
pub fn set_query(params: &[(&str, Option<&str>)]) {
    let Some(w) = window() else { return };
    let Some(q) = search_params() else { return };
    for (name, value) in params {
        match value {
            Some(v) => q.set(name, v),
            None => q.delete(name),
        }
    }
    let path = w.location().pathname().unwrap_or_default();
    let query = String::from(q.to_string());
    // The fragment (the explorer's view) is kept.
    let hash = fragment();
    let url = if query.is_empty() {
        format!("{path}{hash}")
    } else {
        format!("{path}?{query}{hash}")
    };
    if let Ok(history) = w.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// Replace the page's fragment (`#…`) without a reload, a new history entry or a scroll.
pub fn set_fragment(fragment: &str) {
    let Some(w) = window() else { return };
    let path = w.location().pathname().unwrap_or_default();
    let search = w.location().search().unwrap_or_default();
    let url = format!("{path}{search}#{fragment}");
    if let Ok(history) = w.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// The address's fragment (`#…`, the explorer's view), empty when there is none.
pub fn fragment() -> String {
    window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

pub fn current_url() -> String {
    window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default()
}

fn storage() -> Result<web_sys::Storage, String> {
    window()
        .and_then(|w| w.local_storage().ok().flatten())
        .ok_or_else(|| "this browser does not allow local storage".to_string())
}

pub fn load_item(key: &str) -> Option<String> {
    storage().ok()?.get_item(key).ok().flatten()
}

pub fn store_item(key: &str, value: &str) -> Result<(), String> {
    storage()?
        .set_item(key, value)
        .map_err(|e| format!("could not save in the browser: {}", js_message(&e)))
}

pub fn remove_item(key: &str) {
    if let Ok(s) = storage() {
        let _ = s.remove_item(key);
    }
}

/// Offer `text` as a file download.
pub fn download(name: &str, mime: &str, text: &str) -> Result<(), String> {
    download_part(name, mime, &JsValue::from_str(text))
}

/// Offer `bytes` as a file download.
pub fn download_bytes(name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    download_part(name, mime, &js_sys::Uint8Array::from(bytes).into())
}

fn download_part(name: &str, mime: &str, part: &JsValue) -> Result<(), String> {
    let parts = js_sys::Array::of1(part);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| js_message(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| js_message(&e))?;
    let document = window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| js_message(&e))?
        .unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// A user-chosen file's name and bytes.
pub async fn read_file(file: &web_sys::File) -> Result<(String, Vec<u8>), String> {
    let name = file.name();
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("could not read {name}: {}", js_message(&e)))?;
    Ok((name, js_sys::Uint8Array::new(&buffer).to_vec()))
}

/// The files of a file input or a drop, as a list.
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// The number typed in the input an event came from (`None` when empty or not a number).
pub fn number<T: std::str::FromStr>(ev: &web_sys::Event) -> Option<T> {
    leptos::prelude::event_target_value(ev).trim().parse().ok()
}
