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
    // Sorted by a column on request (rank by default): "rank", "cost", "d<i>" or "t<i>".
    let sort = RwSignal::new(("rank".to_string(), false));
    let head = move |key: String, label: String| {
        let k = key.clone();
        view! {
            <th scope="col" aria-sort=move || sort.with(|(s, desc)| (s == &k).then_some(if *desc { "descending" } else { "ascending" }))>
                <button class="sort" data-sort=key.clone() on:click=move |_| sort.update(|(s, desc)| {
                    if *s == key { *desc = !*desc } else { *s = key.clone(); *desc = false }
                })>{label}</button>
            </th>
        }
    };
    move || {
        let o = job.outcome.get()?;
        let m = state.manifest()?;
        let has_cost = o.candidates.iter().any(|c| c.cost.is_some());
        let (key, desc) = sort.get();
        let value = |c: &mixlab_core::design::Candidate| -> f64 {
            let at = |s: &str| s.parse::<usize>().ok();
            match key.as_str() {
                "cost" => c.cost.unwrap_or(f64::NAN),
                k if k.starts_with('d') => at(&k[1..])
                    .and_then(|i| c.goals.get(i))
                    .copied()
                    .unwrap_or(f64::NAN),
                k if k.starts_with('t') => at(&k[1..])
                    .and_then(|i| c.predicted.get(i))
                    .map_or(f64::NAN, |p| p.0),
                _ => c.rank as f64,
            }
        };
        // Rows in the chosen order; a suggestion's reason stays with its candidate.
        let mut order: Vec<usize> = (0..o.candidates.len()).collect();
        order.sort_by(|&a, &b| {
            let ord = value(&o.candidates[a]).total_cmp(&value(&o.candidates[b]));
            if desc { ord.reverse() } else { ord }
        });
        let heads = o
            .goal_names
            .iter()
            .enumerate()
            .map(|(i, g)| head(format!("d{i}"), format!("d: {g}")))
            .collect_view();
        let target_heads = m
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| head(format!("t{i}"), t.display_name()))
            .collect_view();
        let rows = order
            .iter()
            .map(|&k| {
                let c = &o.candidates[k];
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
                        {o.why.get(k).map(|(reason, ei, chance)| view! {
                            <td class="reason" data-reason=reason.clone()>{reason.clone()}</td>
                            <td class="num">{format!("{ei:.3}")}</td>
                            <td class="num">{format!("{:.0} %", 100.0 * chance)}</td>
                        })}
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
                <span id="design-summary" data-preliminary=o.preliminary.to_string()>{if o.preliminary {
                    format!("The best {} recipes so far; still searching…", o.candidates.len())
                } else if let Some((best, n)) = o.measured {
                    format!("{} experiments to make next, after {n} measured recipes (the best measured desirability {best:.3}).", o.candidates.len())
                } else {
                    format!("{} recipes ranked by desirability ({} evaluated in {:.1} s).", o.candidates.len(), o.evaluations, o.ms / 1000.0)
                }}</span>
                {(!o.preliminary).then(|| view! { <button id="design-export" on:click=export>"Export CSV"</button> })}
            </div>
            <div class="table-scroll">
                <table id="design-results" class="design-table">
                    <thead><tr>
                        {head("rank".into(), "#".into())}
                        {(!o.why.is_empty()).then(|| view! { <th scope="col">"Why"</th><th scope="col">"Expected improvement"</th><th scope="col">"Chance to beat the best"</th> })}
                        <th scope="col">"Desirability"</th>{heads}{target_heads}
                        {has_cost.then(|| head("cost".into(), "Cost".into()))}<th scope="col">"Recipe"</th><th scope="col">"On a limit"</th>
                        <th scope="col">"Domain"</th><th></th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        })
    }
}
