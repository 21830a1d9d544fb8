//! Mixlab's web app (Leptos, client-side rendered). Thin: it fetches a bundle, picks a compute
//! backend and shows what `mixlab-core` predicts; all model logic lives in the core crate.

mod backend;
mod fetch;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::Bundle;
use mixlab_core::bundle::{Manifest, TargetKind};
use mixlab_core::model::{Batch, MixModel};

use backend::{Backend, choose_device};

/// Where the bundled default model lives, relative to the page (so any sub-path works).
const DEFAULT_MODEL: &str = "models/shampoo/";

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
    leptos::mount::mount_to_body(App);
}

/// One predicted target as shown.
#[derive(Clone, Debug, PartialEq)]
struct Shown {
    name: String,
    unit: String,
    kind: TargetKind,
    value: f64,
    /// Standard deviation over the ensemble's members (0 for a single model).
    spread: f64,
}

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Loading(String),
    Ready {
        model: String,
        backend: Backend,
        note: Option<String>,
        predictions: Vec<Shown>,
        formulation: Vec<(String, f64)>,
        elapsed_ms: f64,
    },
    Failed(String),
}

fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

async fn load_and_predict(set_status: WriteSignal<Status>) -> Result<(), String> {
    let base = query_param("model").unwrap_or_else(|| DEFAULT_MODEL.to_string());
    let base = if base.ends_with('/') {
        base
    } else {
        format!("{base}/")
    };
    set_status.set(Status::Loading(format!("Loading model from {base}…")));
    let manifest = fetch::bytes(&format!("{base}manifest.json")).await?;
    let weights = fetch::bytes(&format!("{base}weights.safetensors")).await?;
    let bundle = Bundle::from_bytes(&manifest, &weights)
        .map_err(|e| format!("The model bundle at {base} is not usable: {e}"))?;

    set_status.set(Status::Loading("Starting the compute backend…".into()));
    let (device, backend, note) = choose_device(query_param("backend").as_deref()).await;
    let model = MixModel::new(&bundle, &device);
    let batch = Batch::default_of(&bundle.manifest);
    let pred = model
        .predict_async(&batch)
        .await
        .map_err(|e| format!("Prediction failed on {}: {e}", backend.label()))?;
    set_status.set(Status::Ready {
        model: bundle.manifest.name.clone(),
        backend,
        note,
        predictions: shown(&bundle.manifest, pred.row(0), pred.spread_row(0)),
        formulation: formulation_rows(&bundle.manifest, &batch),
        elapsed_ms: now_ms(),
    });
    Ok(())
}

fn shown(manifest: &Manifest, values: &[f64], spread: &[f64]) -> Vec<Shown> {
    manifest
        .targets
        .iter()
        .zip(values.iter().zip(spread))
        .map(|(t, (&value, &spread))| Shown {
            name: t.name.clone(),
            unit: t.unit.clone(),
            kind: t.kind,
            value,
            spread,
        })
        .collect()
}

fn formulation_rows(manifest: &Manifest, batch: &Batch) -> Vec<(String, f64)> {
    manifest
        .materials
        .iter()
        .zip(&batch.fractions)
        .filter(|(_, f)| **f > 0.0)
        .map(|(m, f)| (m.name.clone(), f64::from(*f)))
        .collect()
}

/// Three significant digits, no exponent for everyday magnitudes.
fn format_value(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.digits$}")
}

#[component]
fn App() -> impl IntoView {
    let (status, set_status) = signal(Status::Loading("Starting…".into()));
    spawn_local(async move {
        if let Err(message) = load_and_predict(set_status).await {
            set_status.set(Status::Failed(message));
        }
    });
    view! {
        <header class="bar">
            <h1>"Mixlab"</h1>
            <span class="tagline">"Mixture models in your browser — your data never leaves it."</span>
        </header>
        <main>
            {move || match status.get() {
                Status::Loading(msg) => view! { <p id="status" class="status">{msg}</p> }.into_any(),
                Status::Failed(msg) => view! {
                    <div id="error" class="error" role="alert">
                        <strong>"Something went wrong. "</strong>
                        <span class="message">{msg}</span>
                    </div>
                }.into_any(),
                Status::Ready { model, backend, note, predictions, formulation, elapsed_ms } => view! {
                    <section class="card">
                        <p class="status-line">
                            "Model " <strong id="model-name">{model}</strong> " · computed on "
                            <span id="backend" data-backend=backend.id()>{backend.label()}</span>
                            <span id="first-prediction" data-ms=format!("{elapsed_ms:.1}")>
                                {format!(" · first prediction {elapsed_ms:.0} ms after navigation")}
                            </span>
                        </p>
                        {note.map(|n| view! { <p id="backend-note" class="note">{n}</p> })}
                        <h2>"Prediction for the default formulation"</h2>
                        <table id="predictions">
                            <thead><tr><th>"Target"</th><th>"Prediction"</th></tr></thead>
                            <tbody>
                                {predictions.into_iter().map(|p| {
                                    let text = match p.kind {
                                        TargetKind::Binary => format!("{:.1} ± {:.1} % probability", 100.0 * p.value, 100.0 * p.spread),
                                        TargetKind::Regression => format!("{} ± {} {}", format_value(p.value), format_value(p.spread), p.unit),
                                    };
                                    view! {
                                        <tr data-target=p.name.clone()>
                                            <td>{p.name.clone()}</td>
                                            <td class="value" data-value=p.value.to_string() data-spread=p.spread.to_string()>{text}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <h2>"Formulation"</h2>
                        <table id="formulation">
                            <thead><tr><th>"Material"</th><th>"Mass %"</th></tr></thead>
                            <tbody>
                                {formulation.into_iter().map(|(name, f)| view! {
                                    <tr><td>{name}</td><td>{format!("{:.2}", 100.0 * f)}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                }.into_any(),
            }}
        </main>
    }
}
