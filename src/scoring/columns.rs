//! The check report's column roles: each header that is not the model's exact name, what it
//! was taken for (recognised, from the mapping, unnamed, unknown) and a choice of role with the
//! suggestions first. "Apply" checks the file again with that mapping and remembers it for the
//! model's next files; "Export" saves it for `mixlab score --mapping`; a mapping file (from
//! `mixlab map` or another browser) can be loaded.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::mapping::{How, Mapping, Role};
use mixlab_core::scoring::{Format, Report};

use crate::platform::browser;
use crate::scoring::BatchState;
use crate::state::State;

/// Above this many materials the choice lists only the suggestions (a select of thousands of
/// options per column helps nobody).
const LISTED_MATERIALS: usize = 1000;

/// Rows of the table at most.
const SHOWN_COLUMNS: usize = 100;

fn how_text(how: How) -> &'static str {
    match how {
        How::Exact => "the model's name",
        How::Recognised => "recognised (case, spacing, units or an alias)",
        How::Mapped => "from your mapping",
        How::Unnamed => "unnamed column",
        How::Unknown => "not the model's",
    }
}

#[component]
pub fn ColumnsView(report: Arc<Report>) -> impl IntoView {
    let batch = expect_context::<BatchState>();
    let state = expect_context::<State>();
    let Some(engine) = state.compute.engine() else {
        return ().into_any();
    };
    let manifest = Arc::new(engine.bundle.manifest.clone());
    let mut shown: Vec<_> = report
        .columns
        .iter()
        .filter(|c| c.how != How::Exact)
        .cloned()
        .collect();
    // The unknown ones first; past a hundred rows a table helps nobody (a mapping file does).
    shown.sort_by_key(|c| c.how != How::Unknown);
    let hidden = shown.len().saturating_sub(SHOWN_COLUMNS);
    shown.truncate(SHOWN_COLUMNS);
    if report.format != Format::Wide
        || (shown.is_empty() && batch.mapping.get_untracked().is_none())
    {
        return ().into_any();
    }
    let exact = report
        .columns
        .iter()
        .filter(|c| c.how == How::Exact)
        .count();
    let rows: Vec<(String, RwSignal<String>)> = shown
        .iter()
        .map(|c| {
            let start = c
                .role
                .as_ref()
                .or(c.suggestions.first().map(|s| &s.role))
                .map(Role::token)
                .unwrap_or_default();
            (c.header.clone(), RwSignal::new(start))
        })
        .collect();
    let model = manifest.name.clone();
    let build = {
        let rows = rows.clone();
        move || {
            let mut m = batch
                .mapping
                .get_untracked()
                .unwrap_or_else(|| Mapping::new(&model));
            for (header, v) in &rows {
                match Role::from_token(&v.get_untracked()) {
                    Some(role) => m.columns.insert(header.clone(), role),
                    None => m.columns.remove(header),
                };
            }
            m
        }
    };
    let apply = {
        let build = build.clone();
        move |_| batch.remap(build())
    };
    let name = format!("{}-mapping.json", manifest.name);
    let export = move |_| {
        let _ = browser::download(&name, "application/json", &build().to_json());
    };
    let error = RwSignal::new(None::<String>);
    let import_manifest = manifest.clone();
    let import = move |ev: web_sys::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let files = browser::files_of(input.files());
        input.set_value("");
        let Some(file) = files.into_iter().next() else {
            return;
        };
        let manifest = import_manifest.clone();
        spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text())
                .await
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default();
            match Mapping::from_json(&text, &manifest) {
                Ok(m) => {
                    error.set(None);
                    batch.remap(m);
                }
                Err(e) => error.set(Some(format!("{}: {e}", file.name()))),
            }
        });
    };
    // Every role a column may take, as (value, label): the same list in each row's choice.
    let listed = manifest.materials.len() <= LISTED_MATERIALS;
    let materials = manifest.materials.iter().filter(|_| listed);
    let roles = (materials.map(|m| Role::Material(m.name.clone())))
        .chain(
            manifest
                .conditions
                .iter()
                .map(|c| Role::Condition(c.name.clone())),
        )
        .chain(
            manifest
                .targets
                .iter()
                .map(|t| Role::Target(t.name.clone())),
        );
    let mut all: Vec<(String, String)> = vec![
        ("id".into(), "the id".into()),
        ("ignore".into(), "ignored (copied to the output)".into()),
    ];
    all.extend(roles.map(|r| (r.token(), r.describe())));
    let all = Arc::new(all);
    // Each option knows whether it is chosen: a select's value set before its options exist
    // would not stick.
    let options = move |suggested: Vec<(Role, String)>, v: RwSignal<String>| {
        let option = move |value: String, label: String| {
            let chosen = value.clone();
            view! { <option value=value selected=move || v.get() == chosen>{label}</option> }
        };
        let all = all.clone();
        view! {
            {option(String::new(), "not mapped (read as it is)".into())}
            {(!suggested.is_empty()).then(|| view! {
                <optgroup label="Suggested">
                    {suggested.into_iter().map(|(r, label)| option(r.token(), label)).collect_view()}
                </optgroup>
            })}
            <optgroup label="All roles">
                {all.iter().map(|(value, label)| option(value.clone(), label.clone())).collect_view()}
            </optgroup>
        }
    };
    let remembered = move || batch.mapping.get().is_some();
    view! {
        <section id="batch-columns" class="columns-group" data-shown=shown.len()>
            <h3>"Columns"</h3>
            <p class="note">{format!(
                "{exact} column(s) carry the model's own names. Check the others: choose what each one is, then apply — the file is checked again, and the mapping is remembered for this model's next files."
            )}</p>
            <table class="columns-table">
                <thead><tr><th>"Column"</th><th>"Taken as"</th><th>"Role"</th></tr></thead>
                <tbody>
                    {shown.iter().zip(rows.iter()).map(|(c, (header, v))| {
                        let v = *v;
                        let suggested: Vec<(Role, String)> = c.suggestions.iter().take(3).map(|s| {
                            (s.role.clone(), format!("{} — {:.0} %, {}", s.role.describe(), s.score * 100.0, s.why))
                        }).collect();
                        let picked_suggestion = c.role.is_none() && !c.suggestions.is_empty();
                        view! {
                            <tr data-header=header.clone() data-how=serde_json::to_string(&c.how).unwrap_or_default().trim_matches('"').to_string()>
                                <td><code>{if header.is_empty() { "(unnamed)".to_string() } else { header.clone() }}</code></td>
                                <td>{how_text(c.how)}{picked_suggestion.then_some(" — best suggestion preselected")}</td>
                                <td>
                                    <select class="batch-role" data-header=header.clone() aria-label=format!("Role of column {header}")
                                        on:change=move |ev| v.set(event_target_value(&ev))>
                                        {options.clone()(suggested, v)}
                                    </select>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {(hidden > 0).then(|| view! {
                <p class="note" id="batch-columns-hidden">{format!("{hidden} more columns are not listed: give them roles in a mapping file (mixlab map writes one) and load it here.")}</p>
            })}
            <div class="actions">
                <button id="batch-apply-mapping" class="primary" on:click=apply>"Apply mapping"</button>
                <button id="batch-export-mapping" on:click=export>"Export mapping"</button>
                <label class="file-button">"Load a mapping…"
                    <input id="batch-mapping-file" type="file" accept=".json,application/json" on:change=import/>
                </label>
                {move || remembered().then(|| view! {
                    <button id="batch-forget-mapping" on:click=move |_| batch.forget_mapping()>"Forget the remembered mapping"</button>
                })}
            </div>
            {move || error.get().map(|e| view! { <p id="batch-mapping-error" class="error" role="alert">{e}</p> })}
        </section>
    }
    .into_any()
}
