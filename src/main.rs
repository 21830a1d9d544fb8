//! Mixlab's web app (Leptos, client-side rendered). Thin: it fetches a bundle, picks a compute
//! backend and shows what `mixlab-core` predicts; all model logic lives in the core crate.

mod analysis;
mod backend;
mod batch;
mod batch_view;
mod browser;
mod crash;
mod editor;
mod explorer;
mod explorer_view;
mod fetch;
mod panels;
mod plot;
mod score_worker;
mod state;
mod storage;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::{Bundle, Device, link};

use backend::{Backend, choose_device};
use state::{BUNDLED, DEFAULT_MODEL, Edit, Notice, Source, State, Status, default_edit, engine};

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    /// The app is a bin crate, so wasm-ld emits a "command" module whose exports re-run the
    /// static constructors on every call unless they are run once here (cubecl registers its
    /// kernels through `inventory`, which relies on them).
    fn __wasm_call_ctors();
}

fn main() {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: called once, first thing, before any other code touches the statics.
    unsafe {
        __wasm_call_ctors();
    }
    console_error_panic_hook::set_once();
    // The same module also runs in the batch-scoring worker, which has no page to mount.
    if web_sys::window().is_none() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        crash::show(&info.to_string());
    }));
    leptos::mount::mount_to_body(App);
}

pub(crate) async fn fetch_bundle(base: &str) -> Result<Bundle, String> {
    let manifest = fetch::bytes(&format!("{base}manifest.json")).await?;
    let weights = fetch::bytes(&format!("{base}weights.safetensors")).await?;
    Bundle::from_bytes(&manifest, &weights)
        .map_err(|e| format!("The model bundle at {base} is not usable: {e}"))
}

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

async fn start(state: State) {
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
    let bundle = match fetch_bundle(&base).await {
        Ok(b) => b,
        Err(msg) if base != DEFAULT_MODEL => {
            fallback = Some(msg);
            base = DEFAULT_MODEL.to_string();
            match fetch_bundle(&base).await {
                Ok(b) => b,
                Err(msg) => return state.status.set(Status::Failed(msg)),
            }
        }
        Err(msg) => return state.status.set(Status::Failed(msg)),
    };
    state
        .status
        .set(Status::Loading("Starting the compute backend…".into()));
    let (device, backend, note) = choose_device(browser::query_param("backend").as_deref()).await;
    state.backend_note.set(note);
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
}

/// Switch to another hosted bundle; on failure the current model and formulation stay.
async fn open_url(state: State, base: String) {
    state
        .notice
        .set(Some(Notice::Info(format!("Loading model from {base}…"))));
    match fetch_bundle(&base).await {
        Ok(bundle) => {
            let Some(e) = engine() else { return };
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

/// Open a bundle from the user's files (manifest.json + weights.safetensors), or import a
/// CSV of formulations; anything else is refused with a message.
async fn open_files(state: State, files: Vec<web_sys::File>) {
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
            let Some(e) = engine() else { return };
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

#[component]
fn StatusBar(state: State) -> impl IntoView {
    let current = move || {
        state.loaded.with(|l| match l.as_ref().map(|l| &l.source) {
            Some(Source::Url(u)) => u.clone(),
            _ => String::new(),
        })
    };
    let pick = move |ev: web_sys::Event| {
        let value = event_target_value(&ev);
        if !value.is_empty() {
            spawn_local(open_url(state, value));
        }
    };
    let open = move |ev: web_sys::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let files = browser::files_of(input.files());
        input.set_value("");
        spawn_local(open_files(state, files));
    };
    let switch = move |ev: web_sys::Event| {
        let want = event_target_value(&ev);
        spawn_local(async move {
            let (device, backend, note) = if want == "cpu" {
                (Device::flex(), Backend::Cpu, None)
            } else {
                choose_device(Some("webgpu")).await
            };
            state.backend_note.set(note);
            state.switch_device(device, backend);
        });
    };
    view! {
        <div class="status-line">
            <label for="model-picker">"Model"</label>
            <select id="model-picker" on:change=pick prop:value=current>
                {BUNDLED.iter().map(|(path, label)| view! { <option value=*path>{*label}</option> }).collect_view()}
                {move || {
                    let c = current();
                    (!c.is_empty() && !BUNDLED.iter().any(|(p, _)| *p == c)).then(|| view! { <option value=c.clone()>{c.clone()}</option> })
                }}
                {move || state.loaded.with(|l| match l.as_ref().map(|l| &l.source) {
                    Some(Source::Files(names)) => Some(view! { <option value="" selected>{format!("{names} (opened from your computer)")}</option> }),
                    _ => None,
                })}
            </select>
            <label class="file-button">"Open bundle…"
                <input id="open-bundle" type="file" multiple accept=".json,.safetensors,.csv" on:change=open/>
            </label>
            <strong id="model-name">{move || state.loaded.with(|l| l.as_ref().map(|l| l.manifest.name.clone()))}</strong>
            <span class="spacer"></span>
            {move || state.backend.get().map(|b| view! {
                <span>"Computed on "<span id="backend" data-backend=b.id()>{b.label()}</span></span>
                <label for="backend-switch" class="sr-only">"Compute backend"</label>
                <select id="backend-switch" on:change=switch prop:value=b.id()>
                    <option value="webgpu">"WebGPU"</option>
                    <option value="cpu">"CPU"</option>
                </select>
            })}
            {move || state.first_ms.get().map(|ms| view! {
                <span id="first-prediction" data-ms=format!("{ms:.1}")>{format!("first prediction {ms:.0} ms after navigation")}</span>
            })}
        </div>
        {move || state.backend_note.get().map(|n| view! { <p id="backend-note" class="note">{n}</p> })}
    }
}

#[component]
fn NoticeBar(state: State) -> impl IntoView {
    move || {
        state.notice.get().map(|n| {
            let (class, role, text) = match n {
                Notice::Info(t) => ("notice", "status", t),
                Notice::Error(t) => ("notice error", "alert", t),
            };
            view! {
                <div id="notice" class=class role=role>
                    <span class="message">{text}</span>
                    <button class="dismiss" aria-label="Dismiss" on:click=move |_| state.notice.set(None)>"×"</button>
                </div>
            }
        })
    }
}

#[component]
fn Analysis(state: State) -> impl IntoView {
    let focused = move || {
        let m = state.focused.get()?;
        state.loaded.with(|l| {
            l.as_ref()
                .and_then(|l| l.manifest.materials.get(m).map(|x| x.name.clone()))
        })
    };
    view! {
        <section class="card" aria-labelledby="curve-title">
            <h2 id="curve-title">{move || match focused() {
                Some(n) => format!("Response to {n}"),
                None => "Response curve".to_string(),
            }}</h2>
            <p class="note">"Each target as this material sweeps its range, the q.s./rescale rule applied; the band is ± the ensemble spread, the green area the material's training range, the red point the current formulation. Focus a row to change the material."</p>
            <div id="response-curve" class="plot" role="img" aria-label="Response curve"></div>
            <h2>"Sensitivity"</h2>
            <p class="note">"Change of each target per +1 % of each material (rows that cannot move are left out)."</p>
            <div id="sensitivity" class="plot" role="img" aria-label="Sensitivity bar chart"></div>
        </section>
    }
}

#[component]
fn App() -> impl IntoView {
    let state = State::new();
    spawn_local(start(state));
    // Undo/redo from the keyboard, except where a text box has its own undo (number boxes
    // commit on Enter, so there the formulation's undo is the useful one).
    let _keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let in_text = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok())
            .is_some_and(|i| matches!(i.type_().as_str(), "text" | "search"));
        if in_text || !(ev.ctrl_key() || ev.meta_key()) {
            return;
        }
        match ev.key().to_lowercase().as_str() {
            "z" if ev.shift_key() => state.redo(),
            "z" => state.undo(),
            "y" => state.redo(),
            _ => return,
        }
        ev.prevent_default();
    });
    // A drag ends wherever the pointer is released.
    let _up = window_event_listener(leptos::ev::pointerup, move |_| {
        analysis::set_dragging(state, false)
    });
    let _cancel = window_event_listener(leptos::ev::pointercancel, move |_| {
        analysis::set_dragging(state, false)
    });
    let batch = batch::BatchState::new();
    let ex = explorer::Explorer::new(state);
    ex.follow_model();
    ex.follow_formulation();
    // Drop a bundle, saved formulations or a CSV to score anywhere on the page.
    let _over = window_event_listener(leptos::ev::dragover, |ev| ev.prevent_default());
    let _drop = window_event_listener(leptos::ev::drop, move |ev| {
        ev.prevent_default();
        let files = browser::files_of(ev.data_transfer().and_then(|d| d.files()));
        spawn_local(async move {
            if let [one] = files.as_slice()
                && batch::is_for_scoring(one).await
            {
                batch.check(one.clone());
                if let Some(el) = document().get_element_by_id("batch") {
                    el.scroll_into_view();
                }
                return;
            }
            open_files(state, files).await;
        });
    });
    view! {
        <header class="bar">
            <h1>"Mixlab"</h1>
            <span class="tagline">"Mixture models in your browser — your data never leaves it."</span>
        </header>
        <main>
            {move || match state.status.get() {
                Status::Loading(msg) => view! { <p id="status" class="status">{msg}</p> }.into_any(),
                Status::Failed(msg) => view! {
                    <div id="error" class="error" role="alert">
                        <strong>"Something went wrong. "</strong>
                        <span class="message">{msg}</span>
                        <p><a href="?">"Open the default model"</a></p>
                    </div>
                }.into_any(),
                Status::Ready => view! {
                    <StatusBar state/>
                    <NoticeBar state/>
                    <div class="layout">
                        <div class="column">
                            <editor::Editor state/>
                            <panels::Tools state/>
                        </div>
                        <div class="column">
                            <panels::Predictions state/>
                            <Analysis state/>
                        </div>
                    </div>
                    <batch_view::BatchSection state batch/>
                    <explorer_view::ExplorerSection state ex/>
                    <panels::ModelCard state/>
                }.into_any(),
            }}
        </main>
    }
}
