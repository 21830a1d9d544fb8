//! "Score a file": drop or choose a CSV, read the validation report and decide, watch the
//! progress (cancel at any time), then page through the results, their histograms and, when
//! the file has the true values, a parity plot with metrics; download the scored CSV.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::scoring::{
    Decisions, DuplicateChoice, Format, IssueGroup, IssueKind, Report, SumChoice, UnknownChoice,
};

use super::columns::ColumnsView;
use super::results::ResultsView;
use crate::platform::browser;
use crate::scoring::{BatchState, Phase};
use crate::state::{DEFAULT_MODEL, Source, State};

/// `12345` → "12,345".
pub(crate) fn grouped(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(super) fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

/// A prediction for the table: 4 significant digits, probabilities in %.
pub(super) fn shown(v: f64, binary: bool) -> String {
    if binary {
        return format!("{:.1} %", v * 100.0);
    }
    let digits = if v == 0.0 {
        0
    } else {
        (3 - v.abs().log10().floor() as i32).max(0) as usize
    };
    format!("{v:.digits$}")
}

#[component]
pub fn BatchSection() -> impl IntoView {
    let state = expect_context::<State>();
    let batch = expect_context::<BatchState>();
    crate::scoring::follow_model(state, batch);
    let chosen = move |ev: web_sys::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let files = browser::files_of(input.files());
        input.set_value("");
        if let Some(f) = files.into_iter().next() {
            batch.check(f);
        }
    };
    let dropped = move |ev: web_sys::DragEvent| {
        // The page also takes drops (bundles); a file dropped here is for scoring.
        ev.prevent_default();
        ev.stop_propagation();
        if let Some(f) = browser::files_of(ev.data_transfer().and_then(|d| d.files()))
            .into_iter()
            .next()
        {
            batch.check(f);
        }
    };
    let phase_id = move || match batch.phase.get() {
        Phase::Idle => "idle",
        Phase::Checking => "checking",
        Phase::Report => "report",
        Phase::Scoring => "scoring",
        Phase::Done => "done",
        Phase::Failed(_) => "failed",
    };
    view! {
        <section class="card batch" id="batch" aria-labelledby="batch-title"
            data-phase=phase_id data-worker=move || batch.ready.get().unwrap_or_default()
            data-file=move || batch.file_name.get()>
            <h2 id="batch-title">"Score a file"</h2>
            <p class="note">"A CSV of formulations, as spreadsheets export it: wide (an id column, a column per material, the conditions; amounts as fractions, percentages or masses) or long (formulation_id, material, amount). Comma, semicolon or tab separated, decimal points or commas, UTF-8, UTF-16 or Windows-1252; headers that name the model's columns differently can be mapped. The file is read here, in your browser: nothing is uploaded."</p>
            <div id="batch-drop" class="drop-zone" on:dragover=|ev: web_sys::DragEvent| ev.prevent_default() on:drop=dropped>
                <span>"Drop a CSV here, or "</span>
                <label class="file-button">"choose a file…"
                    <input id="batch-file" type="file" accept=".csv,.txt,.tsv,text/csv,text/plain" on:change=chosen/>
                </label>
            </div>
            {move || state.loaded.with(|l| matches!(l.as_ref().map(|l| &l.source), Some(Source::Url(u)) if u == DEFAULT_MODEL)).then(|| view! {
                <p class="note">"To try it: "
                    <button id="batch-example" on:click=move |_| spawn_local(score_example(batch))>"score the example file"</button>
                    " (the 822 shampoo formulations with their measured values; "
                    <a href=EXAMPLE download="shampoo-batch.csv">"download it"</a>")."
                </p>
            })}
            <Running/>
            {move || match batch.phase.get() {
                Phase::Failed(msg) => Some(view! { <p id="batch-error" class="error" role="alert">{msg}</p> }),
                _ => None,
            }}
            {move || batch.report.get().map(|r| view! { <ReportView report=r/> })}
            {move || batch.scored.get().map(|s| view! { <ResultsView scored=s name=batch.file_name.get_untracked()/> })}
        </section>
    }
}

/// The example file for the default model (copied from `public/examples`).
const EXAMPLE: &str = "examples/shampoo-batch.csv";

async fn score_example(batch: BatchState) {
    let file = crate::platform::fetch::bytes(EXAMPLE)
        .await
        .and_then(|bytes| {
            let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes.as_slice()));
            web_sys::File::new_with_u8_array_sequence(&parts, "shampoo-batch.csv")
                .map_err(|e| browser::js_message(&e))
        });
    match file {
        Ok(f) => batch.check(f),
        Err(e) => batch.phase.set(Phase::Failed(e)),
    }
}

#[component]
fn Running() -> impl IntoView {
    let batch = expect_context::<BatchState>();
    // Built once per run, updated in place: the Cancel button keeps its focus while the
    // progress moves.
    let running = Memo::new(move |_| match batch.phase.get() {
        Phase::Checking => Some("Checking"),
        Phase::Scoring => Some("Scoring"),
        _ => None,
    });
    let fraction = move || {
        batch
            .progress
            .with(|p| p.as_ref().map_or(0.0, |p| p.fraction))
    };
    let rows = move || batch.progress.with(|p| p.as_ref().map_or(0, |p| p.rows));
    move || {
        running.get().map(|verb| {
            let done = if verb == "Checking" { "Checked" } else { "Scored" };
            view! {
                <div class="batch-running" role="status">
                    <label for="batch-progress">{format!("{verb} {}…", batch.file_name.get_untracked())}</label>
                    <progress id="batch-progress" max="1" value=fraction></progress>
                    <span id="batch-rows" data-rows=rows>{move || format!("{done} {} rows ({:.0} %)", grouped(rows()), fraction() * 100.0)}</span>
                    <button id="batch-cancel" on:click=move |_| batch.cancel()>"Cancel"</button>
                </div>
            }
        })
    }
}

fn issue_line(i: &mixlab_core::scoring::Issue) -> String {
    match i.column {
        Some(c) => format!("row {}, column {} ({}): {}", i.row, c, i.name, i.problem),
        None => format!("row {}: {}", i.row, i.problem),
    }
}

#[component]
fn Group(group: IssueGroup, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    let more = group.count.saturating_sub(group.listed.len());
    view! {
        <section class="issue-group" data-kind=serde_json::to_string(&group.kind).unwrap_or_default().trim_matches('"').to_string() data-count=group.count>
            <h3>{format!("{} — {}", group.kind.title(), grouped(group.count))}</h3>
            {children.map(|c| c())}
            <ol class="issues">
                {group.listed.iter().map(|i| view! {
                    <li data-row=i.row data-column=i.column.unwrap_or(0)>{issue_line(i)}</li>
                }).collect_view()}
            </ol>
            {(more > 0).then(|| view! { <p class="note">{format!("… and {} more (the first {} are listed).", grouped(more), group.listed.len())}</p> })}
        </section>
    }
}

/// Two radio buttons for one decision.
fn choice(
    name: &'static str,
    options: [(&'static str, &'static str); 2],
    value: RwSignal<&'static str>,
) -> impl IntoView {
    view! {
        <fieldset class="choice">
            {options.into_iter().map(|(v, label)| view! {
                <label>
                    <input type="radio" name=name value=v prop:checked=move || value.get() == v on:change=move |_| value.set(v)/>
                    {label}
                </label>
            }).collect_view()}
        </fieldset>
    }
}

/// The target columns with true values, as people read them (the model's labels).
fn truth_titles(state: State, truth: &[String]) -> String {
    let engine = state.compute.engine();
    let title = |name: &String| {
        (engine.as_ref())
            .and_then(|e| e.bundle.manifest.targets.iter().find(|t| &t.name == name))
            .map_or_else(|| name.clone(), |t| t.title().to_string())
    };
    truth.iter().map(title).collect::<Vec<_>>().join(", ")
}

#[component]
fn ReportView(report: Arc<Report>) -> impl IntoView {
    let batch = expect_context::<BatchState>();
    let state = expect_context::<State>();
    let unknown = RwSignal::new("drop");
    let off_sum = RwSignal::new("normalise");
    let duplicates = RwSignal::new("keep");
    let fill: Vec<(String, RwSignal<String>)> = report
        .missing_conditions
        .iter()
        .map(|m| (m.name.clone(), RwSignal::new(m.default.to_string())))
        .collect();
    let fill_for_score = fill.clone();
    let fill_error = RwSignal::new(None::<String>);
    let score = move |_| {
        let mut values = Vec::new();
        for (name, v) in &fill_for_score {
            match v.get_untracked().trim().replace(',', ".").parse::<f64>() {
                Ok(x) if x.is_finite() => values.push((name.clone(), x)),
                _ => return fill_error.set(Some(format!("The value for {name} is not a number."))),
            }
        }
        fill_error.set(None);
        batch.score(Decisions {
            unknown: if unknown.get_untracked() == "skip" {
                UnknownChoice::Skip
            } else {
                UnknownChoice::Drop
            },
            off_sum: if off_sum.get_untracked() == "skip" {
                SumChoice::Skip
            } else {
                SumChoice::Normalise
            },
            duplicates: if duplicates.get_untracked() == "skip" {
                DuplicateChoice::Skip
            } else {
                DuplicateChoice::Keep
            },
            fill: values,
        });
    };
    let r = report.clone();
    let format = format!(
        "{}, {} separated{}",
        match r.format {
            Format::Wide => "wide",
            Format::Long => "long",
        },
        match r.dialect.delimiter {
            b';' => "semicolon",
            b'\t' => "tab",
            b'|' => "pipe",
            _ => "comma",
        },
        if r.dialect.decimal_comma {
            ", decimal commas read"
        } else {
            ""
        }
    );
    let skipped_kinds: Vec<IssueGroup> = r
        .groups
        .iter()
        .filter(|g| !g.kind.decided())
        .cloned()
        .collect();
    let group_of = |kind: IssueKind| r.groups.iter().find(|g| g.kind == kind).cloned();
    let can_score = move || !matches!(batch.phase.get(), Phase::Checking | Phase::Scoring);
    view! {
        <div id="batch-report" data-check-ms=format!("{:.1}", batch.check_ms.get_untracked()) data-formulations=r.formulations data-clean=r.clean data-needs-decision=r.needs_decision().to_string()>
            <h3>"Check"</h3>
            <p id="batch-overview">{format!(
                "{}: {} rows, {} formulations ({format}); {} without any problem{}.",
                batch.file_name.get_untracked(), grouped(r.lines), grouped(r.formulations), grouped(r.clean),
                if r.truth.is_empty() { String::new() } else { format!("; true values of {} found", truth_titles(state, &r.truth)) },
            )}</p>
            {(!r.notes.is_empty()).then(|| view! {
                <ul id="batch-notes" class="note">
                    {r.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}
                </ul>
            })}
            <ColumnsView report=report.clone()/>
            {(!r.carried.is_empty()).then(|| view! {
                <p class="note" id="batch-carried">{format!("Not inputs of this model, copied to the output as they are: {}.", r.carried.join(", "))}</p>
            })}
            {group_of(IssueKind::UnknownMaterial).map(|g| {
                let materials = r.unknown_materials.clone();
                view! {
                    <Group group=g>
                        <ul id="batch-unknown">
                            {materials.into_iter().map(|u| view! {
                                <li data-name=u.name.clone() data-suggestions=u.suggestions.join("|")>
                                    <strong>{u.name.clone()}</strong>
                                    {format!(" ({}in {} formulations)", u.column.map(|c| format!("column {c}, ")).unwrap_or_default(), grouped(u.formulations))}
                                    {(!u.suggestions.is_empty()).then(|| format!(" — did you mean {}?", u.suggestions.join(", or ")))}
                                </li>
                            }).collect_view()}
                        </ul>
                        {choice("batch-unknown", [("drop", "Drop these materials and renormalise the rest to 100 %"), ("skip", "Skip the rows that contain them")], unknown)}
                    </Group>
                }
            })}
            {group_of(IssueKind::OffSum).map(|g| view! {
                <Group group=g>
                    {choice("batch-off-sum", [("normalise", "Normalise each row to 100 %"), ("skip", "Skip these rows")], off_sum)}
                </Group>
            })}
            {group_of(IssueKind::DuplicateId).map(|g| view! {
                <Group group=g>
                    {choice("batch-duplicates", [("keep", "Score every row"), ("skip", "Score only the first row of each id")], duplicates)}
                </Group>
            })}
            {(!skipped_kinds.is_empty()).then(|| view! {
                <p class="note">"The rows below cannot be scored; they are skipped, and stay in the output with the reason in its status column."</p>
            })}
            {skipped_kinds.into_iter().map(|g| view! { <Group group=g/> }).collect_view()}
            {(!fill.is_empty()).then(|| view! {
                <section class="issue-group" data-kind="missing_condition" data-count=fill.len()>
                    <h3>"Conditions the file lacks"</h3>
                    <p class="note">"The model needs these; every row is scored with the value below (the middle of the training range unless you change it)."</p>
                    {fill.iter().map(|(name, v)| {
                        let v = *v;
                        let id = format!("batch-fill-{name}");
                        view! {
                            <label for=id.clone()>{name.clone()}" "</label>
                            <input id=id class="batch-fill" data-name=name.clone() type="text" inputmode="decimal"
                                prop:value=move || v.get() on:input=move |ev| v.set(event_target_value(&ev))/>
                        }
                    }).collect_view()}
                </section>
            })}
            {move || fill_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {r.needs_decision().then(|| view! {
                <button id="batch-score" class="primary" disabled=move || !can_score() on:click=score>"Score with these choices"</button>
            })}
        </div>
    }
}
