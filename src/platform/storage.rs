//! What the page keeps in the browser's localStorage, per model (keyed by its name): the
//! saved formulations and the column mapping confirmed for its files.

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

fn mapping_key(model: &str) -> String {
    format!("mixlab.mapping.v1:{model}")
}

/// The column mapping confirmed for a model's files, if any (an unreadable one reads as none).
pub fn load_mapping(model: &str) -> Option<mixlab_core::mapping::Mapping> {
    browser::load_item(&mapping_key(model)).and_then(|text| serde_json::from_str(&text).ok())
}

pub fn store_mapping(model: &str, mapping: &mixlab_core::mapping::Mapping) -> Result<(), String> {
    browser::store_item(&mapping_key(model), &mapping.to_json())
}

pub fn forget_mapping(model: &str) {
    browser::remove_item(&mapping_key(model));
}
