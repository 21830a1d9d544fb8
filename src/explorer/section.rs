//! The explorer's page: the plot and the lists around it (the controls are in `controls`).

use leptos::prelude::*;
use mixlab_core::neighbours::Distance;

use crate::explorer::{Explorer, Job};
use crate::platform::browser::{self, number};

use super::controls::{ColourControls, ProjectionControls, TrainingSteps};

#[component]
pub fn ExplorerSection() -> impl IntoView {
    let ex = expect_context::<Explorer>();
    let view = ex.view;
    view! {
        <section id="explorer-section" class="card" aria-labelledby="explorer-title">
            <h2 id="explorer-title">"Embedding explorer: the materials' codes on a map"</h2>
            <div id="explorer"
                data-job=move || match ex.job.get() { Job::Idle => "idle", Job::Running { .. } => "running", Job::Failed(_) => "failed" }
                data-focus=move || view.with(|v| v.focus.map(|f| f.to_string()).unwrap_or_default())
                data-selection=move || view.with(|v| v.selection.len())>
                <p class="note">"Each point is a material's representation act(code). Near the origin = little effect; close together = acts alike. Click a point for its nearest materials (in the full code space); drag a box or lasso to select."</p>
                {move || ex.message.get().map(|m| view! {
                    <p id="explorer-message" class="notice error" role="alert">{m}
                        <button class="dismiss" aria-label="Dismiss" on:click=move |_| ex.message.set(None)>"×"</button>
                    </p>
                })}
                <ProjectionControls/>
                <JobStatus/>
                <ColourControls/>
                <TrainingSteps/>
                <div class="explorer-plots">
                    <div id="explorer-plot" class="plot" role="img" aria-label="Map of the materials"></div>
                    {move || view.with(|v| v.compare.is_some()).then(|| view! {
                        <div id="explorer-plot-b" class="plot" role="img" aria-label="Second map of the materials"></div>
                    })}
                </div>
                <SelectionBar/>
                <Nearest/>
                <ShareBar/>
            </div>
        </section>
    }
}

/// The projection's progress, or why it failed.
#[component]
fn JobStatus() -> impl IntoView {
    let ex = expect_context::<Explorer>();
    let job = move || ex.job.get();
    {
        move || {
            match job() {
                    Job::Running { stage, fraction, .. } => Some(view! {
                        <div class="progress-row">
                            <progress id="explorer-progress" max="1" prop:value=fraction data-stage=stage.clone()></progress>
                            <span>{format!("{stage} {:.0} %", 100.0 * fraction)}</span>
                            <button id="explorer-cancel" on:click=move |_| ex.cancel()>"Cancel"</button>
                        </div>
                    }.into_any()),
                    Job::Failed(m) => Some(view! { <p id="explorer-error" class="notice error" role="alert">{m}</p> }.into_any()),
                    Job::Idle => None,
                }
        }
    }
}

/// What is selected, and what to do with it.
#[component]
fn SelectionBar() -> impl IntoView {
    let ex = expect_context::<Explorer>();
    let view = ex.view;
    view! {
                <div class="controls">
                    <span id="explorer-selection" data-count=move || view.with(|v| v.selection.len())>
                        {move || format!("{} selected", view.with(|v| v.selection.len()))}
                    </span>
                    <button id="explorer-add" prop:disabled=move || view.with(|v| v.selection.is_empty()) on:click=move |_| ex.add_selection()>"Add to formulation"</button>
                    <button id="explorer-clear" prop:disabled=move || view.with(|v| v.selection.is_empty()) on:click=move |_| ex.change(|v| v.selection.clear())>"Clear selection"</button>
                </div>
    }
}

/// The focused material's nearest materials, with how many and by which distance.
#[component]
fn Nearest() -> impl IntoView {
    let ex = expect_context::<Explorer>();
    let view = ex.view;
    let focused = move || {
        let f = view.with(|v| v.focus)?;
        let _ = ex.ready.get();
        ex.data().and_then(|d| d.names.get(f).cloned())
    };
    let neighbours = move || {
        let _ = view.with(|v| (v.focus, v.neighbours, v.distance));
        let _ = ex.ready.get();
        let Some(md) = ex.data() else {
            return Vec::new();
        };
        ex.neighbours()
            .into_iter()
            .map(|nb| {
                let name = md.names[nb.index].clone();
                let attr = name.clone();
                let i = nb.index;
                view! {
                    <li data-name=attr data-index=i data-distance=format!("{:.6}", nb.distance)>
                        <button class="link" on:click=move |_| ex.change(|v| v.focus = Some(i))>{name}</button>
                        " "<span class="num">{format!("{:.4}", nb.distance)}</span>
                    </li>
                }
            })
            .collect_view()
    };
    move || {
        focused().map(|name| view! {
                    <div class="neighbours">
                        <h3>{format!("Nearest to {name}")}</h3>
                        <div class="controls">
                            <label>"how many"
                                <input id="explorer-nk" type="number" min="1" max="50" prop:value=move || view.with(|v| v.neighbours)
                                    on:change=move |ev| { if let Some(k) = number::<usize>(&ev).filter(|k| (1..=50).contains(k)) { ex.change(|v| v.neighbours = k); } }/>
                            </label>
                            <label>"distance"
                                <select id="explorer-distance" prop:value=move || view.with(|v| if v.distance == Distance::Cosine { "cosine" } else { "euclidean" })
                                    on:change=move |ev| { let cos = event_target_value(&ev) == "cosine"; ex.change(|v| v.distance = if cos { Distance::Cosine } else { Distance::Euclidean }); }>
                                    <option value="euclidean">"Euclidean"</option>
                                    <option value="cosine">"cosine"</option>
                                </select>
                            </label>
                            <button on:click=move |_| ex.change(|v| v.focus = None)>"Clear"</button>
                        </div>
                        <ol id="explorer-neighbours">{neighbours}</ol>
                    </div>
    })
    }
}

/// The view's link and its exports.
#[component]
fn ShareBar() -> impl IntoView {
    let ex = expect_context::<Explorer>();
    view! {
                <div class="controls">
                    <label>"Link to this view"
                        <input id="explorer-link" type="text" readonly size="60" prop:value=move || ex.link.get()
                            on:focus=move |_| ex.link.set(browser::current_url())/>
                    </label>
                    <button id="explorer-png" on:click=move |_| ex.export("png")>"PNG"</button>
                    <button id="explorer-svg" on:click=move |_| ex.export("svg")>"SVG"</button>
                    <button id="explorer-csv" on:click=move |_| ex.export("csv")>"CSV"</button>
                    <button id="explorer-json" on:click=move |_| ex.export("json")>"JSON"</button>
                </div>
    }
}
