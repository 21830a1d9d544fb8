//! The recipe's limits: per material (allowed, min, max, fixed, price, in mass %), and the
//! options (q.s., ingredient limit, caution, domain, how many candidates, seed).

use leptos::prelude::*;
use mixlab_core::design::{DesignSpec, DomainRule, Limit};

use super::DesignJob;
use crate::platform::browser::number;
use crate::state::State;

/// Past this many materials the table is not drawn (the JSON holds their limits).
const TABLE_MAX: usize = 200;

fn allowed(spec: &DesignSpec, name: &str) -> bool {
    spec.allowed
        .as_ref()
        .is_none_or(|a| a.iter().any(|n| n == name))
}

/// The model's material names (tracked: the form follows the model).
fn material_names(state: State) -> Vec<String> {
    state.loaded.with(|l| {
        l.as_ref()
            .map(|l| {
                l.manifest
                    .materials
                    .iter()
                    .map(|m| m.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    })
}

#[component]
pub fn Materials() -> impl IntoView {
    let state = expect_context::<State>();
    let job = expect_context::<DesignJob>();
    let names = move || material_names(state);
    let row = move |name: String| {
        let (a, b, c, d, e) = (
            name.clone(),
            name.clone(),
            name.clone(),
            name.clone(),
            name.clone(),
        );
        let price_name = name.clone();
        let limit = move |n: &str| {
            job.spec
                .with(|s| s.limits.get(n).cloned().unwrap_or_default())
        };
        let set_limit = move |n: String, f: Box<dyn Fn(&mut Limit)>| {
            job.spec.update(|s| {
                let mut l = s.limits.get(&n).cloned().unwrap_or_default();
                f(&mut l);
                if l == Limit::default() {
                    s.limits.remove(&n);
                } else {
                    s.limits.insert(n, l);
                }
            })
        };
        let toggle = move |ev: web_sys::Event| {
            let on = event_target_checked(&ev);
            let all = names();
            job.spec.update(|s| {
                let mut list: Vec<String> = s.allowed.clone().unwrap_or_else(|| all.clone());
                list.retain(|n| n != &a);
                if on {
                    list.push(a.clone());
                }
                s.allowed = (list.len() < all.len()).then_some(list);
            });
        };
        let cell = move |field: &'static str, n: String| {
            let shown = n.clone();
            view! {
                <td><input type="number" step="any" min="0" max="100" class=format!("limit-{field}") data-material=n.clone()
                    placeholder="–" prop:value=move || {
                        let l = limit(&shown);
                        match field { "min" => l.min, "max" => l.max, _ => l.fixed }.map(|v| v.to_string()).unwrap_or_default()
                    }
                    on:change=move |ev| {
                        let v = number(&ev);
                        set_limit(n.clone(), Box::new(move |l: &mut Limit| match field {
                            "min" => l.min = v,
                            "max" => l.max = v,
                            _ => l.fixed = v,
                        }));
                    }/></td>
            }
        };
        view! {
            <tr data-material=name.clone()>
                <th scope="row">{name.clone()}</th>
                <td><input type="checkbox" class="allowed" data-material=name.clone()
                    prop:checked=move || job.spec.with(|s| allowed(s, &b)) on:change=toggle/></td>
                {cell("min", c)}
                {cell("max", d)}
                {cell("fixed", e.clone())}
                <td><input type="number" step="any" min="0" class="price" data-material=e.clone()
                    prop:value=move || job.spec.with(|s| s.prices.get(&e).map(|p| p.to_string()).unwrap_or_default())
                    on:change=move |ev| {
                        let v = number(&ev);
                        let n = price_name.clone();
                        job.spec.update(|s| match v {
                            Some(p) => { s.prices.insert(n, p); }
                            None => { s.prices.remove(&n); }
                        });
                    }/></td>
            </tr>
        }
    };
    move || {
        let all = names();
        if all.len() > TABLE_MAX {
            return view! {
                <p class="note">{format!("{} materials: too many for a table; set limits in the JSON below (\"limits\", \"allowed\").", all.len())}</p>
            }.into_any();
        }
        view! {
            <table id="design-materials" class="design-table">
                <thead><tr>
                    <th scope="col">"Material"</th><th scope="col">"Allowed"</th><th scope="col">"Min %"</th>
                    <th scope="col">"Max %"</th><th scope="col">"Fixed %"</th><th scope="col">"Price"</th>
                </tr></thead>
                <tbody>{all.into_iter().map(row).collect_view()}</tbody>
            </table>
        }.into_any()
    }
}

#[component]
pub fn Options() -> impl IntoView {
    let state = expect_context::<State>();
    let job = expect_context::<DesignJob>();
    let names = move || material_names(state);
    view! {
        <div class="controls">
            <label>"q.s. material"
                <select id="design-qs" prop:value=move || job.spec.with(|s| s.qs.clone().unwrap_or_default())
                    on:change=move |ev| { let v = event_target_value(&ev); job.spec.update(|s| s.qs = (!v.is_empty()).then_some(v)); }>
                    <option value="">"none"</option>
                    {move || names().into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
                </select>
            </label>
            <label>"At most"
                <input id="design-max" type="number" min="1" step="1" placeholder="any"
                    prop:value=move || job.spec.with(|s| s.max_ingredients.map(|v| v.to_string()).unwrap_or_default())
                    on:change=move |ev| { let v = event_target_value(&ev).trim().parse::<usize>().ok(); job.spec.update(|s| s.max_ingredients = v); }/>
                " ingredients"
            </label>
            <label>"Caution (spreads)"
                <input id="design-cautious" type="number" min="0" step="0.5"
                    prop:value=move || job.spec.with(|s| s.cautious.to_string())
                    on:change=move |ev| { if let Some(v) = number(&ev) { job.spec.update(|s| s.cautious = v); } }/>
            </label>
            <label>"Training domain"
                <select id="design-domain" prop:value=move || job.spec.with(|s| match s.domain { DomainRule::Hard => "hard", DomainRule::Penalty => "penalty", DomainRule::Off => "off" })
                    on:change=move |ev| {
                        let d = match event_target_value(&ev).as_str() { "penalty" => DomainRule::Penalty, "off" => DomainRule::Off, _ => DomainRule::Hard };
                        job.spec.update(|s| s.domain = d);
                    }>
                    <option value="hard">"stay inside"</option>
                    <option value="penalty">"prefer inside"</option>
                    <option value="off">"ignore"</option>
                </select>
            </label>
            <label>"Candidates"
                <input id="design-candidates" type="number" min="1" max="200"
                    prop:value=move || job.spec.with(|s| s.candidates.to_string())
                    on:change=move |ev| { if let Ok(v) = event_target_value(&ev).trim().parse::<usize>() { job.spec.update(|s| s.candidates = v); } }/>
            </label>
            <label>"Seed"
                <input id="design-seed" type="number" min="0" step="1"
                    prop:value=move || job.spec.with(|s| s.seed.to_string())
                    on:change=move |ev| { if let Ok(v) = event_target_value(&ev).trim().parse::<u64>() { job.spec.update(|s| s.seed = v); } }/>
            </label>
        </div>
    }
}
