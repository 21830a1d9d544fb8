//! The panels around the editor: predictions, domain warnings, the formulation tools
//! (examples, undo/redo, saved formulations, CSV, share link).

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::bundle::TargetKind;
use mixlab_core::formulation::Formulation;
use mixlab_core::link;
use mixlab_core::saved::{self, Saved};

use crate::platform::browser;
use crate::platform::storage;
use crate::state::{Edit, Notice, State, default_edit};
use mixlab_core::describe::format_value;

#[component]
pub fn Predictions() -> impl IntoView {
    let state = expect_context::<State>();
    let shown = move || state.live.shown.get();
    view! {
        <section class="card" aria-labelledby="predictions-title">
            <h2 id="predictions-title">"Predictions"</h2>
            {move || state.live.error.get().map(|e| view! { <p id="predict-error" class="error" role="alert">{e}</p> })}
            <table id="predictions" aria-live="polite"
                data-seq=move || shown().map_or(0, |s| s.seq).to_string()
                data-busy=move || state.live.busy.get().to_string()
                data-input-ts=move || shown().map_or(0.0, |s| s.input_ts).to_string()>
                <thead><tr><th scope="col">"Target"</th><th scope="col">"Prediction"</th></tr></thead>
                <tbody>
                    {move || shown().map(|s| s.targets.into_iter().map(|p| {
                        let text = match p.kind {
                            TargetKind::Binary => format!("{:.1} ± {:.1} % probability", 100.0 * p.value, 100.0 * p.spread),
                            TargetKind::Regression => format!("{} ± {} {}", format_value(p.value), format_value(p.spread), p.unit),
                        };
                        view! {
                            <tr data-target=p.name.clone()>
                                <th scope="row">{p.title.clone()}</th>
                                <td class="value" data-value=p.value.to_string() data-spread=p.spread.to_string()>{text}</td>
                            </tr>
                        }
                    }).collect_view())}
                </tbody>
            </table>
            <DomainWarnings/>
        </section>
    }
}

#[component]
fn DomainWarnings() -> impl IntoView {
    let state = expect_context::<State>();
    let warnings = move || {
        let loaded = state.loaded.get()?;
        let list = state
            .edit
            .with(|e| loaded.domain.check(&loaded.manifest, &e.form, &e.conds));
        (!list.is_empty()).then_some(list)
    };
    view! {
        {move || warnings().map(|list| view! {
            <div id="domain-warnings" class="warning" role="status">
                <strong>"Outside the training domain — the prediction is an extrapolation:"</strong>
                <ul>{list.into_iter().map(|w| view! { <li>{w.to_string()}</li> }).collect_view()}</ul>
            </div>
        })}
    }
}

fn saved_edit(state: &State, s: &Saved) -> Result<Edit, String> {
    let m = state.manifest().ok_or("no model")?;
    let form = link::formulation_from_text(&m, &s.formulation).map_err(|e| e.to_string())?;
    let conds = link::conditions_from_text(&m, &s.conditions, &m.default_condition_values())
        .map_err(|e| e.to_string())?;
    Ok(Edit { form, conds })
}

fn open_saved(state: State, s: &Saved) {
    match saved_edit(&state, s) {
        Ok(e) => state.apply(e),
        Err(e) => state.notice.set(Some(Notice::Error(format!(
            "“{}” cannot be opened: {e}",
            s.name
        )))),
    }
}

fn store(state: State, list: Vec<Saved>) {
    let Some(m) = state.manifest() else { return };
    if let Err(e) = storage::store_saved(&m.name, &list) {
        state.notice.set(Some(Notice::Error(e)));
    }
    state.saved.set(list);
}

/// Add `items` to the saved list; a name already there gets " (2)", " (3)"...
fn add_saved(state: State, items: Vec<Saved>) {
    let mut list = state.saved.get_untracked();
    for mut s in items {
        let base = s.name.clone();
        let mut k = 2;
        while list.iter().any(|x| x.name == s.name) {
            s.name = format!("{base} ({k})");
            k += 1;
        }
        list.push(s);
    }
    store(state, list);
}

#[component]
pub fn Tools() -> impl IntoView {
    let state = expect_context::<State>();
    let examples = move || {
        state.loaded.with(|l| {
            l.as_ref()
                .map(|l| {
                    l.manifest
                        .examples
                        .iter()
                        .map(|e| e.name.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let pick_example = move |ev: web_sys::Event| {
        let value = event_target_value(&ev);
        let Some(m) = state.manifest() else { return };
        let edit = if value == "default" {
            default_edit(&m)
        } else if let Some(e) = value.parse::<usize>().ok().and_then(|k| m.examples.get(k)) {
            let mut conds = m.default_condition_values();
            for (j, c) in m.conditions.iter().enumerate() {
                if let Some(v) = e.conditions.get(&c.name) {
                    conds[j] = *v;
                }
            }
            Edit {
                form: Formulation::from_named(&m, &e.formulation),
                conds,
            }
        } else {
            return;
        };
        state.apply(edit);
        let input: web_sys::HtmlSelectElement = event_target(&ev);
        input.set_value("");
    };
    let save_name = RwSignal::new(String::new());
    let save = move |_| {
        let Some(m) = state.manifest() else { return };
        let edit = state.edit.get_untracked();
        let name = save_name.get_untracked().trim().to_string();
        let name = if name.is_empty() {
            format!("Formulation {}", state.saved.with_untracked(Vec::len) + 1)
        } else {
            name
        };
        add_saved(
            state,
            vec![Saved {
                name: name.clone(),
                formulation: link::formulation_to_text(&m, &edit.form),
                conditions: link::conditions_to_text(&m, &edit.conds),
            }],
        );
        save_name.set(String::new());
        state.notice.set(Some(Notice::Info(format!(
            "Saved “{name}” in this browser."
        ))));
    };
    let export = move |_| {
        let Some(m) = state.manifest() else { return };
        let list = state.saved.get_untracked();
        let mut items = Vec::new();
        if list.is_empty() {
            let e = state.edit.get_untracked();
            items.push(("current".to_string(), e.form, e.conds));
        }
        for s in &list {
            match saved_edit(&state, s) {
                Ok(e) => items.push((s.name.clone(), e.form, e.conds)),
                Err(e) => state.notice.set(Some(Notice::Error(format!(
                    "“{}” was skipped: {e}",
                    s.name
                )))),
            }
        }
        let csv = saved::to_csv(&m, &items);
        if let Err(e) = browser::download("formulations.csv", "text/csv", &csv) {
            state
                .notice
                .set(Some(Notice::Error(format!("The download failed: {e}"))));
        }
    };
    let import = move |ev: web_sys::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let files = browser::files_of(input.files());
        input.set_value("");
        spawn_local(async move {
            for file in files {
                import_csv(state, &file).await;
            }
        });
    };
    let undo_flags = move || state.can_undo.get();
    view! {
        <section class="card tools" aria-label="Formulation tools">
            <div class="toolbar">
                <button id="undo" on:click=move |_| state.undo() disabled=move || !undo_flags().0 title="Ctrl+Z">"Undo"</button>
                <button id="redo" on:click=move |_| state.redo() disabled=move || !undo_flags().1 title="Ctrl+Y">"Redo"</button>
                <label for="examples" class="sr-only">"Start from an example"</label>
                <select id="examples" on:change=pick_example>
                    <option value="" selected>"Start from an example…"</option>
                    <option value="default">"The model's default formulation"</option>
                    {move || examples().into_iter().enumerate().map(|(k, name)| view! {
                        <option value=k.to_string()>{name}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="toolbar">
                <label for="save-name">"Save as"</label>
                <input id="save-name" type="text" placeholder="name" prop:value=move || save_name.get()
                    on:input=move |ev| save_name.set(event_target_value(&ev))/>
                <button id="save" on:click=save>"Save in this browser"</button>
                <button id="export-csv" on:click=export>"Export CSV"</button>
                <label class="file-button">"Import CSV…"
                    <input id="import-csv" type="file" accept=".csv,text/csv" on:change=import/>
                </label>
            </div>
            <ul id="saved" class="saved">
                {move || state.saved.get().into_iter().enumerate().map(|(k, s)| {
                    let s2 = s.clone();
                    view! {
                        <li data-name=s.name.clone()>
                            <span>{s.name.clone()}</span>
                            <button class="load" on:click=move |_| open_saved(state, &s2)>"Open"</button>
                            <button class="delete" aria-label=format!("Delete {}", s.name) on:click=move |_| {
                                let mut list = state.saved.get_untracked();
                                if k < list.len() { list.remove(k); }
                                store(state, list);
                            }>"Delete"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <p class="share">
                <label for="share-url">"Share link"</label>
                <input id="share-url" type="text" readonly
                    prop:value=move || { state.edit.track(); state.can_undo.track(); browser::current_url() }/>
            </p>
        </section>
    }
}

/// Import formulations from a CSV (the export's layout); errors name the row and column.
pub async fn import_csv(state: State, file: &web_sys::File) {
    let Some(m) = state.manifest() else { return };
    // The core's one reader: the same encoding and dialect handling as a file to score.
    let result = browser::read_file(file).await.and_then(|(name, bytes)| {
        saved::from_csv(&m, bytes.as_slice()).map_err(|e| format!("{name}: {e}"))
    });
    match result {
        Ok(items) => {
            let n = items.len();
            add_saved(state, items);
            state.notice.set(Some(Notice::Info(format!(
                "Imported {n} formulation(s) into the saved list."
            ))));
        }
        Err(e) => state
            .notice
            .set(Some(Notice::Error(format!("Nothing was imported: {e}")))),
    }
}
