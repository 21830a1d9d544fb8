//! Opening a model: the one in the page's link at start, a hosted one from the picker, or
//! the user's own files.

use leptos::prelude::*;
use mixlab_core::{Bundle, link};

use crate::editor::panels;
use crate::platform::backend::{Choice, choose_device};
use crate::platform::{browser, fetch};
use crate::state::{DEFAULT_MODEL, Edit, Notice, Source, State, Status, default_edit};

/// The formulation and conditions in the page's link, or the default with the reason the
/// link's could not be used.
fn edit_from_link(bundle: &Bundle) -> (Edit, Option<String>) {
    let m = &bundle.manifest;
    let mut edit = default_edit(m);
    let mut problem = None;
    if let Some(text) = browser::query_param("f") {
        match link::formulation_from_text(m, &text) {
            Ok(form) => edit.form = form,
            Err(e) => problem = Some(format!("its formulation: {e}")),
        }
    }
    if let Some(text) = browser::query_param("c") {
        match link::conditions_from_text(m, &text, &edit.conds) {
            Ok(c) => edit.conds = c,
            Err(e) => problem = Some(format!("its conditions: {e}")),
        }
    }
    if problem.is_some() {
        edit = default_edit(m);
    }
    (edit, problem)
}

pub async fn start(state: State) {
    // A link's model must be a bundle on this site; one that is not, or fails to load, is
    // reported and the default model opens instead.
    let mut fallback = None;
    let mut base = match browser::query_param("model").map(|m| link::bundle_path(&m)) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            fallback = Some(e.to_string());
            DEFAULT_MODEL.to_string()
        }
        None => DEFAULT_MODEL.to_string(),
    };
    state
        .status
        .set(Status::Loading(format!("Loading model from {base}…")));
    let bundle = match fetch::bundle(&base).await {
        Ok(b) => b,
        Err(msg) if base != DEFAULT_MODEL => {
            fallback = Some(msg);
            base = DEFAULT_MODEL.to_string();
            match fetch::bundle(&base).await {
                Ok(b) => b,
                Err(msg) => return state.status.set(Status::Failed(msg)),
            }
        }
        Err(msg) => return state.status.set(Status::Failed(msg)),
    };
    state
        .status
        .set(Status::Loading("Starting the compute backend…".into()));
    let choice = Choice::parse(browser::query_param("backend").as_deref());
    state.compute.pinned.set_value(choice != Choice::Auto);
    let (device, backend, note) = choose_device(choice).await;
    state.compute.note.set(note);
    let (edit, problem) = match &fallback {
        Some(_) => (default_edit(&bundle.manifest), None),
        None => edit_from_link(&bundle),
    };
    if let Some(why) = fallback {
        state.notice.set(Some(Notice::Error(format!(
            "The link's model could not be opened ({why}); showing the default model instead."
        ))));
    }
    if let Some(p) = problem {
        state.notice.set(Some(Notice::Error(format!(
            "The link could not be opened as it is ({p}); showing the model's default formulation instead."
        ))));
    }
    state.install(bundle, Source::Url(base), device, backend, edit);
    state.write_url();
    state.status.set(Status::Ready);
    refresh_kept(state).await;
    if choice == Choice::Auto {
        super::compute::probe_webgpu(state).await;
    }
}

/// Switch to another hosted bundle; on failure the current model and formulation stay.
pub async fn open_url(state: State, base: String) {
    state
        .notice
        .set(Some(Notice::Info(format!("Loading model from {base}…"))));
    match fetch::bundle(&base).await {
        Ok(bundle) => {
            let Some(e) = state.compute.engine() else {
                return;
            };
            let edit = default_edit(&bundle.manifest);
            state.install(bundle, Source::Url(base), e.device.clone(), e.backend, edit);
            state.write_url();
            state.notice.set(None);
        }
        Err(msg) => state.notice.set(Some(Notice::Error(format!(
            "{msg} The current model is still loaded."
        )))),
    }
}

/// The model picker's value prefix for kept models (`kept:<id>`).
pub const KEPT: &str = "kept:";

/// Refresh the list of models kept in this browser (a failure is said, the list stays).
pub async fn refresh_kept(state: State) {
    match crate::platform::kept::list().await {
        Ok(list) => state.kept.set(list),
        Err(e) => state.notice.set(Some(Notice::Error(e))),
    }
}

/// Open a model kept in this browser; on failure the current model stays.
pub async fn open_kept(state: State, id: String) {
    let read = async {
        let (m, w) = crate::platform::kept::load(&id).await?;
        Bundle::from_bytes(&m, &w).map_err(|e| format!("The kept model is not usable: {e}"))
    };
    match read.await {
        Ok(bundle) => {
            let Some(e) = state.compute.engine() else {
                return;
            };
            let edit = default_edit(&bundle.manifest);
            state.install(bundle, Source::Kept(id), e.device.clone(), e.backend, edit);
            browser::set_query(&[("model", None), ("f", None), ("c", None)]);
            state.notice.set(None);
        }
        Err(msg) => state.notice.set(Some(Notice::Error(format!(
            "{msg} The current model is still loaded."
        )))),
    }
}

/// Open a bundle from the user's files (manifest.json + weights.safetensors), or import a
/// CSV of formulations; anything else is refused with a message.
pub async fn open_files(state: State, files: Vec<web_sys::File>) {
    let mut manifest = None;
    let mut weights = None;
    for file in files {
        let name = file.name().to_lowercase();
        if name.ends_with(".csv") {
            panels::import_csv(state, &file).await;
        } else if name.ends_with(".json") {
            manifest = Some(file);
        } else if name.ends_with(".safetensors") {
            weights = Some(file);
        } else {
            state.notice.set(Some(Notice::Error(format!(
                "{} is neither a bundle file (manifest.json, weights.safetensors) nor a CSV.",
                file.name()
            ))));
            return;
        }
    }
    let (manifest, weights) = match (manifest, weights) {
        (None, None) => return,
        (Some(m), Some(w)) => (m, w),
        _ => {
            return state.notice.set(Some(Notice::Error(
                "A bundle is two files: choose manifest.json and weights.safetensors together."
                    .into(),
            )));
        }
    };
    let read = async {
        let (mname, m) = browser::read_file(&manifest).await?;
        let (wname, w) = browser::read_file(&weights).await?;
        let bundle = Bundle::from_bytes(&m, &w)
            .map_err(|e| format!("The bundle in {mname} + {wname} is not usable: {e}"))?;
        Ok::<_, String>((bundle, format!("{mname} + {wname}")))
    };
    match read.await {
        Ok((bundle, names)) => {
            let Some(e) = state.compute.engine() else {
                return;
            };
            let edit = default_edit(&bundle.manifest);
            state.install(
                bundle,
                Source::Files(names.clone()),
                e.device.clone(),
                e.backend,
                edit,
            );
            browser::set_query(&[("model", None), ("f", None), ("c", None)]);
            state.notice.set(Some(Notice::Info(format!(
                "Opened {names} from your computer (it stays there; links cannot include it)."
            ))));
        }
        Err(msg) => state.notice.set(Some(Notice::Error(format!(
            "{msg} The current model is still loaded."
        )))),
    }
}
