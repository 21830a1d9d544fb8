//! "Score a file": drop or choose a CSV, read the validation report and decide, watch the
//! progress (cancel at any time), then page through the results, their histograms and, when
//! the file has the true values, a parity plot with metrics; download the scored CSV.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::scoring::{
    Decisions, DuplicateChoice, Format, IssueGroup, IssueKind, Report, SumChoice, UnknownChoice,
};
use serde_json::json;

use crate::scoring::{BatchState, Phase, Scored};
use crate::platform::browser;
use crate::platform::plot::{self, ensure_plotly, react, set_data};
use crate::state::{DEFAULT_MODEL, Source, State};

/// Rows per page of the results table.
const PAGE: usize = 50;
/// Most points drawn on a parity plot.
const PARITY_POINTS: usize = 5000;

/// `12345` → "12,345".
fn grouped(n: usize) -> String {
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

fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

/// A prediction for the table: 4 significant digits, probabilities in %.
fn shown(v: f64, binary: bool) -> String {
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
pub fn BatchSection(state: State, batch: BatchState) -> impl IntoView {
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
            <p class="note">"A CSV of formulations: wide (an id column, a column per material, the conditions; amounts as fractions, percentages or masses) or long (formulation_id, material, amount). Comma or semicolon separated; with semicolons, decimal commas are read. The file is read here, in your browser: nothing is uploaded."</p>
            <div id="batch-drop" class="drop-zone" on:dragover=|ev: web_sys::DragEvent| ev.prevent_default() on:drop=dropped>
                <span>"Drop a CSV here, or "</span>
                <label class="file-button">"choose a file…"
                    <input id="batch-file" type="file" accept=".csv,.txt,text/csv" on:change=chosen/>
                </label>
            </div>
            {move || state.loaded.with(|l| matches!(l.as_ref().map(|l| &l.source), Some(Source::Url(u)) if u == DEFAULT_MODEL)).then(|| view! {
                <p class="note">"To try it: "
                    <button id="batch-example" on:click=move |_| spawn_local(score_example(batch))>"score the example file"</button>
                    " (the 822 shampoo formulations with their measured values; "
                    <a href=EXAMPLE download="shampoo-batch.csv">"download it"</a>")."
                </p>
            })}
            <Running batch/>
            {move || match batch.phase.get() {
                Phase::Failed(msg) => Some(view! { <p id="batch-error" class="error" role="alert">{msg}</p> }),
                _ => None,
            }}
            {move || batch.report.get().map(|r| view! { <ReportView batch report=r/> })}
            {move || batch.scored.get().map(|s| view! { <ResultsView scored=s name=batch.file_name.get_untracked()/> })}
        </section>
    }
}

/// The example file for the default model (copied from `public/examples`).
const EXAMPLE: &str = "examples/shampoo-batch.csv";

async fn score_example(batch: BatchState) {
    let file = crate::platform::fetch::bytes(EXAMPLE).await.and_then(|bytes| {
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
fn Running(batch: BatchState) -> impl IntoView {
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

#[component]
fn ReportView(batch: BatchState, report: Arc<Report>) -> impl IntoView {
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
        "{}, {}",
        match r.format {
            Format::Wide => "wide",
            Format::Long => "long",
        },
        if r.dialect.decimal_comma {
            "semicolon separated, decimal commas read"
        } else {
            "comma separated"
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
                if r.truth.is_empty() { String::new() } else { format!("; true values of {} found", r.truth.join(", ")) },
            )}</p>
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

#[component]
fn ResultsView(scored: Arc<Scored>, name: String) -> impl IntoView {
    let r = &scored.results;
    let n = r.ids.len();
    let sort = RwSignal::new(None::<(usize, bool)>);
    let page = RwSignal::new(0usize);
    let s = scored.clone();
    let order = Memo::new(move |_| {
        let mut idx: Vec<usize> = (0..s.results.ids.len()).collect();
        if let Some((t, desc)) = sort.get() {
            let v = &s.results.values[t];
            idx.sort_by(|&a, &b| {
                if desc {
                    v[b].total_cmp(&v[a])
                } else {
                    v[a].total_cmp(&v[b])
                }
            });
        }
        idx
    });
    let pages = n.div_ceil(PAGE).max(1);
    let rows_per_s = n as f64 / (scored.ms / 1000.0).max(1e-9);
    {
        let s = scored.clone();
        request_animation_frame(move || spawn_local(draw(s)));
    }
    let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
    let download_name = format!("{stem}-scored.csv");
    let s = scored.clone();
    let body = move || {
        let o = order.get();
        let start = page.get() * PAGE;
        o.iter().skip(start).take(PAGE).map(|&i| {
            let res = &s.results;
            view! {
                <tr data-row=res.rows[i] data-id=res.ids[i].clone()>
                    <td>{res.rows[i]}</td>
                    <td>{res.ids[i].clone()}</td>
                    {(0..res.targets.len()).map(|t| view! {
                        <td class="pred" data-target=res.targets[t].clone() data-value=res.values[t][i].to_string() data-spread=res.spread[t][i].to_string()>
                            {shown(res.values[t][i], res.binary[t])}
                            <span class="spread">{format!(" ± {}", shown(res.spread[t][i], res.binary[t]))}</span>
                        </td>
                    }).collect_view()}
                    <td class="domain" data-in-domain=res.domain[i].is_none().to_string() title=res.domain[i].clone().unwrap_or_default()>
                        {if res.domain[i].is_none() { "in domain" } else { "⚠ outside" }}
                    </td>
                </tr>
            }
        }).collect_view()
    };
    let header = r.targets.iter().enumerate().map(|(t, name)| {
        let title = r.titles.get(t).unwrap_or(name);
        let label = if r.units[t].is_empty() { title.clone() } else { format!("{title} ({})", r.units[t]) };
        let arrow = move || match sort.get() {
            Some((k, true)) if k == t => " ▼",
            Some((k, false)) if k == t => " ▲",
            _ => "",
        };
        let aria = move || match sort.get() {
            Some((k, true)) if k == t => "descending",
            Some((k, false)) if k == t => "ascending",
            _ => "none",
        };
        view! {
            <th aria-sort=aria>
                <button class="sort" data-target=name.clone() on:click=move |_| {
                    sort.update(|s| *s = match *s { Some((k, false)) if k == t => Some((t, true)), _ => Some((t, false)) });
                    page.set(0);
                }>{label}{arrow}</button>
            </th>
        }
    }).collect_view();
    view! {
        <div id="batch-results">
            <h3>"Results"</h3>
            <p id="batch-summary" data-scored=n data-skipped=r.skipped data-ms=format!("{:.1}", scored.ms)
                data-rows-per-s=format!("{rows_per_s:.0}") data-memory=format!("{:.0}", scored.memory_bytes)>
                {format!("Scored {} formulations in {:.2} s ({} per second){}.", grouped(n), scored.ms / 1000.0, grouped(rows_per_s as usize),
                    if r.skipped > 0 { format!("; {} skipped (the output's status column says why)", grouped(r.skipped)) } else { String::new() })}
            </p>
            <p><a id="batch-download" class="button" href=scored.url.clone() download=download_name>{format!("Download the results (CSV, {})", megabytes(scored.bytes))}</a></p>
            {r.metrics.iter().map(|m| view! {
                <dl class="batch-metrics" data-target=m.target.clone() data-n=m.n data-mae=m.mae.to_string() data-rmse=m.rmse.to_string()
                    data-r2=m.r2.map(|a| a.to_string()).unwrap_or_default() data-auc=m.roc_auc.map(|a| a.to_string()).unwrap_or_default()>
                    <dt>{format!("{} against the file's values (n = {})", m.target, grouped(m.n))}</dt>
                    <dd>{if binary_target(&r.targets, &r.binary, &m.target) {
                        m.roc_auc.map_or("ROC-AUC undefined (one class only)".to_string(), |a| format!("ROC-AUC {a:.3}"))
                    } else {
                        format!("MAE {:.4} · RMSE {:.4} · R² {}", m.mae, m.rmse, m.r2.map_or("undefined".into(), |v| format!("{v:.3}")))
                    }}</dd>
                </dl>
            }).collect_view()}
            <div class="batch-plots">
                {r.targets.iter().enumerate().map(|(t, name)| view! {
                    <div id=format!("batch-hist-{t}") class="plot small" role="img" aria-label=format!("Histogram of predicted {}", r.titles.get(t).unwrap_or(name))></div>
                }).collect_view()}
                {r.truth_targets.iter().filter(|&&t| !r.binary[t]).map(|&t| view! {
                    <div id=format!("batch-parity-{t}") class="plot small" role="img" aria-label=format!("Predicted against true {}", r.targets[t])></div>
                }).collect_view()}
            </div>
            <table id="batch-table">
                <thead><tr><th>"Row"</th><th>"Id"</th>{header}<th>"Domain"</th></tr></thead>
                <tbody>{body}</tbody>
            </table>
            <div class="pager">
                <button id="batch-prev" disabled=move || page.get() == 0 on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>"← Previous"</button>
                <span id="batch-page" data-page=move || page.get()>{move || {
                    let start = page.get() * PAGE;
                    format!("{}–{} of {}", grouped((start + 1).min(n)), grouped((start + PAGE).min(n)), grouped(n))
                }}</span>
                <button id="batch-next" disabled={move || page.get() + 1 >= pages} on:click=move |_| page.update(|p| *p = (*p + 1).min(pages - 1))>"Next →"</button>
            </div>
        </div>
    }
}

fn binary_target(targets: &[String], binary: &[bool], name: &str) -> bool {
    targets
        .iter()
        .position(|t| t == name)
        .is_some_and(|t| binary[t])
}

/// Histograms of every target, parity plots of the targets with true values.
async fn draw(scored: Arc<Scored>) {
    if ensure_plotly().await.is_err() {
        return;
    }
    let r = &scored.results;
    for t in 0..r.targets.len() {
        let unit = if r.binary[t] {
            "probability".to_string()
        } else {
            r.units[t].clone()
        };
        let data =
            json!([{ "type": "histogram", "x": r.values[t], "marker": {"color": "#2a6f97"} }]);
        let layout = json!({
            "title": {"text": format!("Predicted {}", plot::escape(r.titles.get(t).unwrap_or(&r.targets[t]))), "font": {"size": 13}},
            "xaxis": {"title": {"text": plot::escape(&unit)}}, "yaxis": {"title": {"text": "formulations"}},
            "height": 260, "margin": {"l": 50, "r": 10, "t": 30, "b": 40}, "bargap": 0.05,
        });
        let _ = react(&format!("batch-hist-{t}"), &data, &layout).await;
        set_data(&format!("batch-hist-{t}"), &[("data-drawn", "true".into())]);
    }
    for (j, &t) in r.truth_targets.iter().enumerate() {
        if r.binary[t] {
            continue;
        }
        let (xs, ys): (Vec<f64>, Vec<f64>) = (r.truth[j].iter().zip(&r.values[t]))
            .filter_map(|(y, p)| y.map(|y| (y, *p)))
            .unzip();
        let lo = xs.iter().chain(&ys).copied().fold(f64::INFINITY, f64::min);
        let hi = xs
            .iter()
            .chain(&ys)
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        // SVG markers: past a few thousand, every k-th pair is drawn (the metrics use all).
        let step = xs.len().div_ceil(PARITY_POINTS).max(1);
        let px: Vec<f64> = xs.iter().step_by(step).copied().collect();
        let py: Vec<f64> = ys.iter().step_by(step).copied().collect();
        let note = if step > 1 {
            format!(" (every {step}th of {})", grouped(xs.len()))
        } else {
            String::new()
        };
        let data = json!([
            { "type": "scatter", "mode": "markers", "x": px, "y": py, "marker": {"size": 4, "opacity": 0.6, "color": "#2a6f97"}, "name": "formulations" },
            { "type": "scatter", "mode": "lines", "x": [lo, hi], "y": [lo, hi], "line": {"color": "#999", "dash": "dot"}, "name": "y = x" },
        ]);
        let layout = json!({
            "title": {"text": format!("{}: predicted vs true{}", plot::escape(r.titles.get(t).unwrap_or(&r.targets[t])), note), "font": {"size": 13}},
            "xaxis": {"title": {"text": format!("true ({})", plot::escape(&r.units[t]))}}, "yaxis": {"title": {"text": format!("predicted ({})", plot::escape(&r.units[t]))}},
            "height": 300, "margin": {"l": 55, "r": 10, "t": 30, "b": 45}, "showlegend": false,
        });
        let id = format!("batch-parity-{t}");
        let _ = react(&id, &data, &layout).await;
        set_data(
            &id,
            &[
                ("data-drawn", "true".into()),
                ("data-points", xs.len().to_string()),
                ("data-shown", px.len().to_string()),
            ],
        );
    }
}
