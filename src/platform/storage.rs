//! Saved formulations in the browser's localStorage, one list per model (keyed by its name).

use mixlab_core::saved::Saved;

use crate::platform::browser;

fn key(model: &str) -> String {
    format!("mixlab.saved.v1:{model}")
}

/// The saved list; an unreadable entry (edited by hand, older format) reads as empty rather
/// than breaking the page.
pub fn load_saved(model: &str) -> Vec<Saved> {
    browser::load_item(&key(model))
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

pub fn store_saved(model: &str, saved: &[Saved]) -> Result<(), String> {
    let text = serde_json::to_string(saved).map_err(|e| e.to_string())?;
    browser::store_item(&key(model), &text)
}
