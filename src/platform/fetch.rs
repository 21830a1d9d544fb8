//! Fetching files relative to the page.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use mixlab_core::Bundle;

use crate::platform::browser::js_message;

/// GET `url` and return its body, or a message that says which URL failed and how.
pub async fn bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("Could not fetch {url}: {}", js_message(&e)))?;
    let response: web_sys::Response = response
        .dyn_into()
        .map_err(|_| format!("Could not fetch {url}: not a response"))?;
    if !response.ok() {
        return Err(format!(
            "Could not fetch {url}: HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let buffer = response
        .array_buffer()
        .map_err(|e| format!("Could not read {url}: {}", js_message(&e)))?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|e| format!("Could not read {url}: {}", js_message(&e)))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// A bundle (manifest.json + weights.safetensors) under `base`, checked.
pub async fn bundle(base: &str) -> Result<Bundle, String> {
    let manifest = bytes(&format!("{base}manifest.json")).await?;
    let weights = bytes(&format!("{base}weights.safetensors")).await?;
    Bundle::from_bytes(&manifest, &weights)
        .map_err(|e| format!("The model bundle at {base} is not usable: {e}"))
}
