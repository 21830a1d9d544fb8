//! The New model page: a training file in, its columns' roles and the options, then training
//! with its progress and pictures, and the model out (current at once, downloadable).

use leptos::prelude::*;
use mixlab_core::Manifest;
use mixlab_core::data::Format;
use mixlab_core::describe::format_value;
use mixlab_core::train_setup::AUTO_DEFAULT_ROWS;

use super::charts::Charts;
use super::columns::Columns;
use super::kept_list::KeptModels;
use super::new_material::NewMaterial;
use super::options::Options;
use super::trust::TrustView;
use super::{Phase, TrainJob, Trained};
use crate::platform::browser;
use crate::scoring::section::grouped;

fn seconds(ms: f64) -> String {
    if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!(
            "{:.0} min {:.0} s",
            (ms / 60_000.0).floor(),
            (ms % 60_000.0) / 1000.0
        )
    }
}

/// The progress line: member, step, time spent and left.
fn progress_text(
    job: TrainJob,
    member: usize,
    members: usize,
    step: usize,
    total: usize,
) -> String {
    let elapsed = browser::now_ms() - job.started.get_untracked();
    let left = if step > 0 {
        format!(
            ", about {} left",
            seconds(elapsed * (total - step.min(total)) as f64 / step as f64)
        )
    } else {
        String::new()
    };
    let who = if members > 1 {
        format!("member {} of {members} · ", member + 1)
    } else {
        String::new()
    };
    format!(
        "{who}step {step} of {total} · {} elapsed{left}",
        seconds(elapsed)
    )
}

fn download(name: &str, bytes: &[u8], mime: &str, job: TrainJob) {
    if let Err(e) = browser::download_bytes(name, mime, bytes) {
        job.problem
            .set(Some(format!("{name} could not be saved: {e}")));
    }
}

/// What training made: figures, downloads, the command line that makes the same model.
fn result_view(job: TrainJob, t: &Trained) -> impl IntoView + use<> {
    let manifest = Manifest::from_json(t.manifest_json.as_bytes()).ok();
    let metrics: Vec<(String, String)> = manifest
        .as_ref()
        .map(|m| {
            m.metrics
                .iter()
                .map(|(k, v)| {
                    let value = v
                        .get("value")
                        .and_then(|x| x.as_f64())
                        .map_or(v.to_string(), format_value);
                    (crate::model::metric_name(m, k), value)
                })
                .collect()
        })
        .unwrap_or_default();
    let name = manifest
        .as_ref()
        .map(|m| m.name.clone())
        .unwrap_or_default();
    // What --auto chose and from how many candidates, when it ran.
    let auto = manifest.as_ref().and_then(|m| {
        let a = m.training.get("auto")?;
        let chosen: Vec<String> = serde_json::from_value(a.get("chosen")?.clone()).ok()?;
        let tried = a.get("trials")?.as_array()?.len();
        let inner = a.get("inner")?.as_str()?.to_string();
        Some((chosen.join(" "), tried, inner))
    });
    let (mj, w) = (t.manifest_json.clone(), t.weights.clone());
    view! {
        <div id="train-result" class="result" data-ms=format!("{:.1}", t.ms) data-train-ms=format!("{:.1}", t.train_ms)>
            <p>{format!("Trained in {} on {} formulations ({} held out for validation). ", seconds(t.ms), t.rows, t.validation_rows)}
                <strong>{format!("“{name}” is now the current model")}</strong>": Predict, Score a file, Explore and Design use it."</p>
            {auto.map(|(chosen, tried, inner)| {
                let shown = chosen.clone();
                view! {
                    <p id="train-auto-chosen" data-chosen=chosen>{format!("Chosen automatically after {tried} candidates scored on held-out rows ({inner} of the file): ")}<code>{shown}</code></p>
                }
            })}
            <p id="train-compute" class="note" data-backend=if t.webgpu { "webgpu" } else { "cpu" }>{format!("Trained on {}.", t.compute)}</p>
            {(!t.notes.is_empty()).then(|| view! { <ul class="notes">{t.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul> })}
            <table id="train-metrics" class="metrics"><tbody>{metrics.into_iter().map(|(k, v)| view! {
                <tr data-metric=k.clone()><th scope="row">{k.clone()}</th><td>{v}</td></tr>
            }).collect_view()}</tbody></table>
            <div class="controls">
                <button id="train-download-manifest" on:click=move |_| download("manifest.json", mj.as_bytes(), "application/json", job)>"Download manifest.json"</button>
                <button id="train-download-weights" on:click=move |_| download("weights.safetensors", &w, "application/octet-stream", job)>"Download weights.safetensors"</button>
            </div>
            <p class="note">"The two files are the model: open them together in Mixlab (drop both on the page) or use them with the command line (" <code>"mixlab score --bundle DIR"</code>"). The same model from the command line:"</p>
            <pre id="train-command">{t.command.clone()}</pre>
            <TrustView/>
        </div>
    }
}

#[component]
pub fn TrainSection() -> impl IntoView {
    let job = expect_context::<TrainJob>();
    let running = move || matches!(job.phase.get(), Phase::Training { .. } | Phase::Reading);
    // The progress row stays one element while training (its numbers change, not the row).
    let training = Memo::new(move |_| matches!(job.phase.get(), Phase::Training { .. }));
    let count = move || match job.phase.get() {
        Phase::Training {
            member,
            members,
            step,
            total,
        } => (member, members, step, total),
        _ => (0, 1, 0, 1),
    };
    view! {
        <section id="train-section" class="card" aria-labelledby="train-title">
            <h2 id="train-title">"New model: train on your own data"</h2>
            <div id="train" data-phase=move || match job.phase.get() {
                Phase::Idle => "idle", Phase::Reading => "reading", Phase::Training { .. } => "training",
                Phase::Done => "done", Phase::Failed(_) => "failed",
            }>
                <p class="note">"Choose a CSV of your formulations: a row per formulation with a column per raw material (fractions, percentages or masses) and the measured properties, or the long format (formulation_id, material, amount). The file is read and the model trained in this tab; nothing is sent anywhere. The options start at " <code>"mixlab train"</code>"'s defaults, and for files up to " {grouped(AUTO_DEFAULT_ROWS)} " rows the configuration is chosen on held-out rows first (" <code>"--auto"</code>"); the same file, options and seed give the same model."</p>
                {move || job.problem.get().map(|p| view! {
                    <p id="train-problem" class="notice error" role="alert">{p}
                        <button class="dismiss" aria-label="Dismiss" on:click=move |_| job.problem.set(None)>"×"</button>
                    </p>
                })}
                {move || match job.phase.get() {
                    Phase::Failed(m) => Some(view! { <p id="train-error" class="notice error" role="alert">{m}</p> }),
                    _ => None,
                }}
                <div class="controls">
                    <label class="file-button">"Choose a training CSV…"
                        <input id="train-file" type="file" accept=".csv,.tsv,.txt,text/csv,text/plain" prop:disabled=running on:change=move |ev| {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                                job.choose(file);
                            }
                            input.set_value("");
                        }/>
                    </label>
                    <label class="file-button" title="A CSV with the material's name first and its metadata (type, supplier, price…) in the other columns">"Materials table (optional)…"
                        <input id="train-materials" type="file" accept=".csv,.tsv,.txt,text/csv" on:change=move |ev| {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            job.choose_materials(input.files().and_then(|f| f.get(0)));
                            input.set_value("");
                        }/>
                    </label>
                    {move || job.materials_name.get().map(|n| view! {
                        <span id="train-materials-name">{n}" "
                            <button class="dismiss" aria-label="Remove the materials table" on:click=move |_| job.choose_materials(None)>"×"</button>
                        </span>
                    })}
                </div>
                {move || (job.phase.get() == Phase::Reading).then(|| view! { <p class="status">"Reading the file…"</p> })}
                {move || job.chosen.get().map(|c| {
                    let p = &c.profile;
                    let format = match p.format { Format::Wide => "a column per material", Format::Long => "long format" };
                    view! {
                        <p id="train-file-summary" data-rows=p.rows data-columns=p.columns.len()>
                            {format!("{}: {} rows, {} columns ({format}), read in {:.0} ms. Check each column's role:", c.file, p.rows, p.columns.len(), c.ms)}
                        </p>
                        {(!p.notes.is_empty()).then(|| view! { <ul id="train-notes" class="notes">{p.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul> })}
                    }
                })}
                <Columns/>
                {move || job.chosen.with(Option::is_some).then(|| view! {
                    <h3>"Options"</h3>
                    <Options/>
                    <div class="controls">
                        <button id="train-run" class="primary" prop:disabled=running on:click=move |_| job.train()>"Train"</button>
                        {move || matches!(job.phase.get(), Phase::Training { .. }).then(|| view! {
                            <button id="train-cancel" on:click=move |_| job.cancel()>"Cancel"</button>
                        })}
                    </div>
                })}
                {move || training.get().then(|| view! {
                    <div class="progress-row">
                        // Reading the file first (its share), then the steps.
                        // Reading and choosing the configuration report a share of their own.
                        <progress id="train-progress" max=move || if job.reading.get().is_some() || job.choosing.with(Option::is_some) { 1 } else { count().3 }
                            prop:value=move || job.reading.get().or_else(|| job.choosing.with(|c| c.as_ref().map(|c| c.1))).unwrap_or(count().2 as f64)
                            data-step=move || match (job.reading.get(), job.choosing.get()) {
                                (Some(f), _) => format!("reading {:.0}", 100.0 * f),
                                // The words too: timing a device reports its seconds there.
                                (None, Some((what, f))) => format!("choosing {f:.3} {what}"),
                                (None, None) => count().2.to_string(),
                            }
                            data-total=move || count().3></progress>
                        <span id="train-progress-text">{move || match (job.reading.get(), job.choosing.get()) {
                            (Some(f), _) if f >= 1.0 => "file read: checking the data…".to_string(),
                            (Some(f), _) => format!("reading the file: {:.0} %", 100.0 * f),
                            (None, Some((choosing, _))) => choosing,
                            (None, None) => {
                                let (m, ms, s, t) = count();
                                if s >= t && t > 1 {
                                    "every step done: scoring the formulations and writing the model…".to_string()
                                } else {
                                    progress_text(job, m, ms, s, t)
                                }
                            }
                        }}</span>
                        <span class="note">{move || (job.rows.get() > 0).then(|| {
                            let on = match job.compute.get() {
                                Some((true, _)) => ", on WebGPU",
                                Some((false, _)) => ", on the CPU",
                                None => "",
                            };
                            format!("{} formulations, {} materials{on}", job.rows.get(), job.names.with(|n| n.len()))
                        })}</span>
                    </div>
                })}
                <Charts/>
                {move || job.trained.get().map(|t| result_view(job, &t))}
                <NewMaterial/>
                <KeptModels/>
            </div>
        </section>
    }
}
