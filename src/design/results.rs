//! What a design found: the ranked candidates (desirability overall and per goal, predictions
//! ± spread, cost, recipe, the limits each sits on, the domain verdict), each one click from
//! the editor, and the CSV.

use leptos::prelude::*;
use mixlab_core::describe::format_value;
use mixlab_core::formulation::Formulation;

use super::DesignJob;
use crate::app::Pages;
use crate::platform::browser;
use crate::state::{Edit, Notice, State};

#[component]
pub fn Results() -> impl IntoView {
    let state = expect_context::<State>();
    let job = expect_context::<DesignJob>();
    let pages = expect_context::<Pages>();
    let open = move |rank: usize| {
        let Some(o) = job.outcome.get_untracked() else {
            return;
        };
        let Some(c) = o.candidates.iter().find(|c| c.rank == rank) else {
            return;
        };
        let mut form = Formulation::from_fractions(c.recipe.iter().copied());
        let qs = job.spec.with_untracked(|s| s.qs.clone());
        let manifest = state.manifest();
        form.qs = qs
            .and_then(|n| manifest.as_ref().and_then(|m| m.material_index(&n)))
            .and_then(|m| form.position(m));
        state.apply(Edit {
            form,
            conds: c.conditions.clone(),
        });
        pages.go_predict();
    };
    let export = move |_| {
        if let Some(o) = job.outcome.get_untracked()
            && let Err(e) = browser::download("mixlab-design.csv", "text/csv", &o.csv)
        {
            state.notice.set(Some(Notice::Error(e)));
        }
    };
    move || {
        let o = job.outcome.get()?;
        let m = state.manifest()?;
        let has_cost = o.candidates.iter().any(|c| c.cost.is_some());
        let heads = o
            .goal_names
            .iter()
            .map(|g| view! { <th scope="col">{format!("d: {g}")}</th> })
            .collect_view();
        let target_heads = m
            .targets
            .iter()
            .map(|t| view! { <th scope="col">{t.display_name()}</th> })
            .collect_view();
        let rows = o
            .candidates
            .iter()
            .map(|c| {
                let recipe = c
                    .recipe
                    .iter()
                    .map(|&(i, f)| format!("{} {:.2} %", m.materials[i].name, 100.0 * f))
                    .collect::<Vec<_>>()
                    .join(", ");
                let data: Vec<(String, f64)> = c
                    .recipe
                    .iter()
                    .map(|&(i, f)| (m.materials[i].name.clone(), f))
                    .collect();
                let rank = c.rank;
                view! {
                    <tr data-rank=rank data-desirability=c.desirability.to_string()
                        data-recipe=serde_json::to_string(&data).unwrap_or_default()
                        data-conditions=serde_json::to_string(&c.conditions).unwrap_or_default()
                        data-predicted=serde_json::to_string(&c.predicted).unwrap_or_default()>
                        <td>{rank}</td>
                        <td class="num">{format!("{:.3}", c.desirability)}</td>
                        {c.goals.iter().map(|d| view! { <td class="num">{format!("{d:.3}")}</td> }).collect_view()}
                        {c.predicted.iter().zip(&m.targets).map(|(&(v, s), t)| {
                            let text = match t.kind {
                                mixlab_core::bundle::TargetKind::Binary => format!("{:.1} ± {:.1} %", 100.0 * v, 100.0 * s),
                                mixlab_core::bundle::TargetKind::Regression => format!("{} ± {}", format_value(v), format_value(s)),
                            };
                            view! { <td class="num">{text}</td> }
                        }).collect_view()}
                        {has_cost.then(|| view! { <td class="num">{c.cost.map(|v| format!("{v:.4}")).unwrap_or_default()}</td> })}
                        <td class="recipe">{recipe}</td>
                        <td class="note">{c.active.join("; ")}</td>
                        <td class="note">{if c.domain.is_empty() { "inside".to_string() } else { c.domain.join("; ") }}</td>
                        <td><button class="open-candidate" on:click=move |_| open(rank)>"Open in editor"</button></td>
                    </tr>
                }
            })
            .collect_view();
        Some(view! {
            <div class="controls">
                <span id="design-summary">{format!("{} recipes ranked by desirability ({} evaluated in {:.1} s).", o.candidates.len(), o.evaluations, o.ms / 1000.0)}</span>
                <button id="design-export" on:click=export>"Export CSV"</button>
            </div>
            <div class="table-scroll">
                <table id="design-results" class="design-table">
                    <thead><tr>
                        <th scope="col">"#"</th><th scope="col">"Desirability"</th>{heads}{target_heads}
                        {has_cost.then(|| view! { <th scope="col">"Cost"</th> })}<th scope="col">"Recipe"</th><th scope="col">"On a limit"</th>
                        <th scope="col">"Domain"</th><th></th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        })
    }
}
