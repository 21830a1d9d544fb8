//! Limits beyond single materials: group sums by metadata, cost (a limit, a goal) and the
//! conditions (the model's default, fixed, or free within a range).

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use mixlab_core::describe::format_value;
use mixlab_core::design::{ConditionRule, CostGoal, CostRule, DesignSpec, GroupLimit};

use super::DesignJob;
use crate::platform::browser::number;
use crate::state::State;

/// Metadata keys with few enough values to group by (a supplier per material is no group).
const GROUP_VALUES_MAX: usize = 60;

fn shown(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Each groupable metadata key of the model's materials with its values.
fn group_keys(state: State) -> BTreeMap<String, BTreeSet<String>> {
    state.loaded.with(|l| {
        let mut keys: BTreeMap<String, (BTreeSet<String>, usize)> = BTreeMap::new();
        if let Some(l) = l {
            for m in &l.manifest.materials {
                for (k, v) in &m.metadata {
                    let e = keys.entry(k.clone()).or_default();
                    e.0.insert(v.clone());
                    e.1 += 1;
                }
            }
        }
        // A key is a grouping when some value is shared (not a description per material).
        keys.into_iter()
            .filter(|(_, (vs, n))| vs.len() <= GROUP_VALUES_MAX && vs.len() < *n)
            .map(|(k, (vs, _))| (k, vs))
            .collect()
    })
}

/// The group limits as an editable list.
#[component]
pub fn Groups() -> impl IntoView {
    let state = expect_context::<State>();
    let job = expect_context::<DesignJob>();
    let keys = Memo::new(move |_| group_keys(state));
    let edit = move |i: usize, f: Box<dyn Fn(&mut GroupLimit)>| {
        job.spec.update(|s| {
            if let Some(g) = s.groups.get_mut(i) {
                f(g);
            }
        })
    };
    let add = move |_| {
        let ks = keys.get_untracked();
        let Some((k, vs)) = ks.iter().next() else {
            return;
        };
        let v = vs.iter().next().cloned().unwrap_or_default();
        job.spec.update(|s| {
            s.groups.push(GroupLimit {
                key: k.clone(),
                value: v,
                min: None,
                max: None,
            })
        });
    };
    let row = move |i: usize, g: GroupLimit| {
        let values = move |key: &str| {
            keys.with(|k| k.get(key).cloned().unwrap_or_default())
                .into_iter()
                .collect::<Vec<_>>()
        };
        let key_now = g.key.clone();
        let value_now = g.value.clone();
        view! {
            <tr class="group-row">
                <td><select class="group-key" prop:value=g.key.clone() on:change=move |ev| {
                        let k = event_target_value(&ev);
                        let first = values(&k).into_iter().next().unwrap_or_default();
                        edit(i, Box::new(move |g: &mut GroupLimit| { g.key = k.clone(); g.value = first.clone(); }));
                    }>
                    {keys.get().into_keys().map(|k| view! { <option value=k.clone() selected=k == key_now>{k.clone()}</option> }).collect_view()}
                </select></td>
                <td><select class="group-value" prop:value=g.value.clone() on:change=move |ev| {
                        let v = event_target_value(&ev);
                        edit(i, Box::new(move |g: &mut GroupLimit| g.value = v.clone()));
                    }>
                    {values(&g.key).into_iter().map(|v| view! { <option value=v.clone() selected=v == value_now>{v.clone()}</option> }).collect_view()}
                </select></td>
                <td><input type="number" class="group-min" step="any" min="0" max="100" placeholder="–" prop:value=shown(g.min)
                    on:change=move |ev| { let v = number(&ev); edit(i, Box::new(move |g: &mut GroupLimit| g.min = v)); }/></td>
                <td><input type="number" class="group-max" step="any" min="0" max="100" placeholder="–" prop:value=shown(g.max)
                    on:change=move |ev| { let v = number(&ev); edit(i, Box::new(move |g: &mut GroupLimit| g.max = v)); }/></td>
                <td><button class="group-remove" aria-label="Remove this group limit"
                    on:click=move |_| job.spec.update(|s| { if i < s.groups.len() { s.groups.remove(i); } })>"×"</button></td>
            </tr>
        }
    };
    move || {
        if keys.with(BTreeMap::is_empty) {
            return view! { <p class="note">"Group limits need material metadata (a materials table with a type column); this model has none."</p> }.into_any();
        }
        let groups = job.spec.with(|s| s.groups.clone());
        view! {
            <table id="design-groups" class="design-table">
                <caption>"Group limits: the summed amount (mass %) of the materials sharing a metadata value"</caption>
                <thead><tr><th scope="col">"Metadata"</th><th scope="col">"Value"</th><th scope="col">"Min %"</th><th scope="col">"Max %"</th><th></th></tr></thead>
                <tbody>{groups.into_iter().enumerate().map(|(i, g)| row(i, g)).collect_view()}</tbody>
            </table>
            <button id="design-add-group" on:click=add>"Add a group limit"</button>
        }.into_any()
    }
}

/// Cost: a limit and a goal (prices per material are in the materials table).
#[component]
pub fn Cost() -> impl IntoView {
    let job = expect_context::<DesignJob>();
    let cost = move || job.spec.with(|s| s.cost.clone().unwrap_or_default());
    let set = move |f: Box<dyn Fn(&mut CostRule)>| {
        job.spec.update(|s| {
            let mut c = s.cost.clone().unwrap_or_default();
            f(&mut c);
            s.cost = (c != CostRule::default()).then_some(c);
        })
    };
    let goal_field = move |field: &'static str| {
        view! {
            <input type="number" step="any" min="0" class=format!("cost-{field}") placeholder="–"
                prop:value=move || cost().minimize.map(|g| match field { "low" => g.low, "high" => g.high, _ => g.weight }.to_string()).unwrap_or_default()
                on:change=move |ev| {
                    let v = number(&ev);
                    set(Box::new(move |c: &mut CostRule| {
                        let mut g = c.minimize.clone().unwrap_or(CostGoal { low: 0.0, high: 1.0, weight: 1.0 });
                        match (field, v) {
                            ("low", Some(v)) => g.low = v,
                            ("high", Some(v)) => g.high = v,
                            ("weight", w) => g.weight = w.unwrap_or(1.0),
                            // An emptied end: no cost goal.
                            _ => { c.minimize = None; return; }
                        }
                        c.minimize = Some(g);
                    }));
                }/>
        }
    };
    view! {
        <div class="controls" id="design-cost">
            <label>"Cost at most"
                <input id="design-cost-max" type="number" step="any" min="0" placeholder="no limit"
                    prop:value=move || shown(cost().max)
                    on:change=move |ev| { let v = number(&ev); set(Box::new(move |c: &mut CostRule| c.max = v)); }/>
            </label>
            <span>"Minimise cost: best at"</span>{goal_field("low")}
            <span>"worst at"</span>{goal_field("high")}
            <span>"weight"</span>{goal_field("weight")}
        </div>
    }
}

/// Each condition: the model's default, a fixed value, or free within a range.
#[component]
pub fn Conditions() -> impl IntoView {
    let state = expect_context::<State>();
    let job = expect_context::<DesignJob>();
    let conditions = Memo::new(move |_| {
        state.loaded.with(|l| {
            l.as_ref()
                .map(|l| {
                    l.manifest
                        .conditions
                        .iter()
                        .map(|c| (c.name.clone(), c.display_name(), c.min, c.max))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let set = move |name: String, rule: Option<ConditionRule>| {
        job.spec.update(|s: &mut DesignSpec| match rule {
            Some(r) => {
                s.conditions.insert(name, r);
            }
            None => {
                s.conditions.remove(&name);
            }
        })
    };
    let row = move |(name, label, min, max): (String, String, f64, f64)| {
        let rule = {
            let n = name.clone();
            move || job.spec.with(|s| s.conditions.get(&n).cloned())
        };
        let (n1, n2, n3, n4) = (name.clone(), name.clone(), name.clone(), name.clone());
        let rule2 = rule.clone();
        let mode = move || match rule() {
            None => "default",
            Some(ConditionRule::Fixed(_)) => "fixed",
            Some(ConditionRule::Free { .. }) => "free",
        };
        view! {
            <tr class="condition-row" data-condition=name.clone()>
                <th scope="row">{label}</th>
                <td><select class="condition-mode" prop:value=mode on:change=move |ev| {
                        let r = match event_target_value(&ev).as_str() {
                            "fixed" => Some(ConditionRule::Fixed(min)),
                            "free" => Some(ConditionRule::Free { min, max }),
                            _ => None,
                        };
                        set(n1.clone(), r);
                    }>
                    <option value="default">"model default"</option>
                    <option value="fixed">"fixed"</option>
                    <option value="free">"free within"</option>
                </select></td>
                <td>{move || match rule2() {
                    Some(ConditionRule::Fixed(v)) => {
                        let n = n2.clone();
                        view! { <input type="number" step="any" class="condition-value" prop:value=v.to_string()
                            on:change=move |ev| { if let Some(v) = number(&ev) { set(n.clone(), Some(ConditionRule::Fixed(v))); } }/> }.into_any()
                    }
                    Some(ConditionRule::Free { min: lo, max: hi }) => {
                        let (a, b) = (n3.clone(), n4.clone());
                        view! {
                            <input type="number" step="any" class="condition-min" prop:value=lo.to_string()
                                on:change=move |ev| { if let Some(v) = number(&ev) { set(a.clone(), Some(ConditionRule::Free { min: v, max: hi })); } }/>
                            " – "
                            <input type="number" step="any" class="condition-max" prop:value=hi.to_string()
                                on:change=move |ev| { if let Some(v) = number(&ev) { set(b.clone(), Some(ConditionRule::Free { min: lo, max: v })); } }/>
                        }.into_any()
                    }
                    None => view! { <span class="note">{format!("trained on {} – {}", format_value(min), format_value(max))}</span> }.into_any(),
                }}</td>
            </tr>
        }
    };
    move || {
        let cs = conditions.get();
        (!cs.is_empty()).then(|| {
            view! {
                <table id="design-conditions" class="design-table">
                    <caption>"Conditions"</caption>
                    <tbody>{cs.into_iter().map(row).collect_view()}</tbody>
                </table>
            }
        })
    }
}
