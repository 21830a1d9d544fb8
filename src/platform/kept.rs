//! Models kept in this browser (trained in the page): one folder per model in the origin-private
//! file system (OPFS) — `models/<id>/manifest.json`, `weights.safetensors` and `meta.json` (the
//! shown name, when it was kept, its size). OPFS rather than IndexedDB: plain files of any size,
//! promise-based, and what is written is exactly the bundle `mixlab` reads.

use js_sys::{Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{FileSystemDirectoryHandle, FileSystemFileHandle, FileSystemWritableFileStream};

use crate::platform::browser::{self, js_message};

/// What the model list shows of a kept model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeptModel {
    pub id: String,
    pub name: String,
    /// Milliseconds since 1970 when it was kept.
    pub kept_at: f64,
    pub bytes: f64,
}

const FOLDER: &str = "models";

/// A storage failure in the user's words; a full disk is named as such.
fn storage_error(e: &JsValue, doing: &str) -> String {
    let name = Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    if name == "QuotaExceededError" {
        format!(
            "The browser's storage for this site is full, so the model could not be {doing} \
             ({}). Delete kept models you no longer need, or download this one.",
            js_message(e)
        )
    } else {
        format!("The model could not be {doing}: {}", js_message(e))
    }
}

async fn wait(p: js_sys::Promise, doing: &str) -> Result<JsValue, String> {
    JsFuture::from(p)
        .await
        .map_err(|e| storage_error(&e, doing))
}

async fn root(doing: &str) -> Result<FileSystemDirectoryHandle, String> {
    let navigator = browser::window().ok_or("no window")?.navigator();
    let dir = wait(navigator.storage().get_directory(), doing).await?;
    let options = web_sys::FileSystemGetDirectoryOptions::new();
    options.set_create(true);
    let models = wait(
        dir.unchecked_into::<FileSystemDirectoryHandle>()
            .get_directory_handle_with_options(FOLDER, &options),
        doing,
    )
    .await?;
    Ok(models.unchecked_into())
}

async fn folder(id: &str, create: bool, doing: &str) -> Result<FileSystemDirectoryHandle, String> {
    let options = web_sys::FileSystemGetDirectoryOptions::new();
    options.set_create(create);
    let dir = wait(
        root(doing)
            .await?
            .get_directory_handle_with_options(id, &options),
        doing,
    )
    .await?;
    Ok(dir.unchecked_into())
}

async fn write(dir: &FileSystemDirectoryHandle, name: &str, bytes: &[u8]) -> Result<(), String> {
    let doing = "kept in this browser";
    let options = web_sys::FileSystemGetFileOptions::new();
    options.set_create(true);
    let file: FileSystemFileHandle = wait(dir.get_file_handle_with_options(name, &options), doing)
        .await?
        .unchecked_into();
    let stream: FileSystemWritableFileStream =
        wait(file.create_writable(), doing).await?.unchecked_into();
    let data = Uint8Array::from(bytes);
    let written = stream
        .write_with_buffer_source(&data)
        .map_err(|e| storage_error(&e, doing))?;
    if let Err(e) = wait(written, doing).await {
        let _ = JsFuture::from(stream.abort()).await;
        return Err(e);
    }
    wait(stream.close(), doing).await?;
    Ok(())
}

async fn read(dir: &FileSystemDirectoryHandle, name: &str) -> Result<Vec<u8>, String> {
    let doing = "read back";
    let file: FileSystemFileHandle = wait(dir.get_file_handle(name), doing)
        .await?
        .unchecked_into();
    let blob: web_sys::File = wait(file.get_file(), doing).await?.unchecked_into();
    let buffer = wait(blob.array_buffer(), doing).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Keep a bundle; returns its entry. A failure leaves nothing half-written behind.
pub async fn keep(name: &str, manifest_json: &str, weights: &[u8]) -> Result<KeptModel, String> {
    let now = js_sys::Date::now();
    let id = format!("m{:.0}", now);
    let entry = KeptModel {
        id: id.clone(),
        name: name.to_string(),
        kept_at: now,
        bytes: (manifest_json.len() + weights.len()) as f64,
    };
    let dir = folder(&id, true, "kept in this browser").await?;
    let meta = serde_json::to_string(&entry).unwrap_or_default();
    let all = async {
        write(&dir, "weights.safetensors", weights).await?;
        write(&dir, "manifest.json", manifest_json.as_bytes()).await?;
        // Written last: a folder without it is not listed.
        write(&dir, "meta.json", meta.as_bytes()).await
    };
    if let Err(e) = all.await {
        let _ = delete(&id).await;
        return Err(e);
    }
    Ok(entry)
}

/// The kept models, newest first.
pub async fn list() -> Result<Vec<KeptModel>, String> {
    let doing = "listed";
    let root = root(doing).await?;
    let keys = root.keys();
    let mut out = Vec::new();
    loop {
        let next = wait(keys.next().map_err(|e| storage_error(&e, doing))?, doing).await?;
        if Reflect::get(&next, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true)
        {
            break;
        }
        let Some(id) = Reflect::get(&next, &"value".into())
            .ok()
            .and_then(|v| v.as_string())
        else {
            continue;
        };
        let Ok(dir) = folder(&id, false, doing).await else {
            continue;
        };
        if let Ok(meta) = read(&dir, "meta.json").await
            && let Ok(entry) = serde_json::from_slice::<KeptModel>(&meta)
        {
            out.push(entry);
        }
    }
    out.sort_by(|a, b| b.kept_at.total_cmp(&a.kept_at));
    Ok(out)
}

/// A kept model's manifest and weights.
pub async fn load(id: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let dir = folder(id, false, "read back").await?;
    Ok((
        read(&dir, "manifest.json").await?,
        read(&dir, "weights.safetensors").await?,
    ))
}

/// Give a kept model another name (in its list entry and its manifest).
pub async fn rename(id: &str, name: &str) -> Result<(), String> {
    let doing = "renamed";
    let dir = folder(id, false, doing).await?;
    let mut entry: KeptModel = serde_json::from_slice(&read(&dir, "meta.json").await?)
        .map_err(|e| format!("The model's entry could not be read: {e}"))?;
    let manifest = read(&dir, "manifest.json").await?;
    let mut m = mixlab_core::Manifest::from_json(&manifest).map_err(|e| e.to_string())?;
    m.name = name.to_string();
    write(&dir, "manifest.json", m.to_json().as_bytes()).await?;
    entry.name = name.to_string();
    write(
        &dir,
        "meta.json",
        serde_json::to_string(&entry).unwrap_or_default().as_bytes(),
    )
    .await
}

/// Replace a kept model's manifest (new figures on its card).
pub async fn replace_manifest(id: &str, manifest_json: &str) -> Result<(), String> {
    let dir = folder(id, false, "updated").await?;
    write(&dir, "manifest.json", manifest_json.as_bytes()).await
}

pub async fn delete(id: &str) -> Result<(), String> {
    let options = web_sys::FileSystemRemoveOptions::new();
    options.set_recursive(true);
    wait(
        root("deleted")
            .await?
            .remove_entry_with_options(id, &options),
        "deleted",
    )
    .await
    .map(|_| ())
}
