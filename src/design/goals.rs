//! One row per target: what it should do (nothing, maximise, minimise, hit a value, stay in a
//! range, a probability for a binary target), the numbers that goal needs, and its weight.

use leptos::prelude::*;
use mixlab_core::bundle::TargetKind;
use mixlab_core::design::{DesignSpec, Goal};

use super::DesignJob;
use crate::state::State;

fn goal_of(spec: &DesignSpec, target: &str) -> Option<Goal> {
    spec.goals.iter().find(|g| g.target() == target).cloned()
}

/// Replace `target`'s goal (or remove it), keeping the other goals' order.
fn set_goal(spec: &mut DesignSpec, target: &str, goal: Option<Goal>) {
    match (spec.goals.iter().position(|g| g.target() == target), goal) {
        (Some(i), Some(g)) => spec.goals[i] = g,
        (Some(i), None) => {
            spec.goals.remove(i);
        }
        (None, Some(g)) => spec.goals.push(g),
        (None, None) => {}
    }
}

fn kind_key(g: &Option<Goal>) -> &'static str {
    match g {
        None => "",
        Some(Goal::Maximize { .. }) => "maximize",
        Some(Goal::Minimize { .. }) => "minimize",
        Some(Goal::Target { .. }) => "target",
        Some(Goal::Range { .. }) => "range",
        Some(Goal::Probability { .. }) => "probability",
    }
}

/// A fresh goal of `kind` on `target`, keeping the weight.
fn new_goal(kind: &str, target: &str, weight: f64) -> Option<Goal> {
    let target = target.to_string();
    Some(match kind {
        "maximize" => Goal::Maximize {
            target,
            low: None,
            high: None,
            weight,
        },
        "minimize" => Goal::Minimize {
            target,
            low: None,
            high: None,
            weight,
        },
        "target" => Goal::Target {
            target,
            value: 0.0,
            tolerance: 1.0,
            weight,
        },
        "range" => Goal::Range {
            target,
            min: 0.0,
            max: 1.0,
            margin: None,
            weight,
        },
        "probability" => Goal::Probability {
            target,
            at_least: 0.8,
            weight,
        },
        _ => return None,
    })
}

/// The goal's number fields: (key, label, value).
fn fields(g: &Goal) -> Vec<(&'static str, &'static str, Option<f64>)> {
    match g {
        Goal::Maximize { low, high, .. } => {
            vec![("low", "worst", *low), ("high", "good enough", *high)]
        }
        Goal::Minimize { low, high, .. } => {
            vec![("low", "good enough", *low), ("high", "worst", *high)]
        }
        Goal::Target {
            value, tolerance, ..
        } => {
            vec![
                ("value", "value", Some(*value)),
                ("tolerance", "±", Some(*tolerance)),
            ]
        }
        Goal::Range { min, max, .. } => {
            vec![("min", "from", Some(*min)), ("max", "to", Some(*max))]
        }
        Goal::Probability { at_least, .. } => vec![("at_least", "at least", Some(*at_least))],
    }
}

/// Set field `key` of `g` to `v` (`None`: the model's default, where the goal has one).
fn set_field(g: &mut Goal, key: &str, v: Option<f64>) {
    match (g, key) {
        (Goal::Maximize { low, .. } | Goal::Minimize { low, .. }, "low") => *low = v,
        (Goal::Maximize { high, .. } | Goal::Minimize { high, .. }, "high") => *high = v,
        (Goal::Target { value, .. }, "value") => *value = v.unwrap_or(0.0),
        (Goal::Target { tolerance, .. }, "tolerance") => *tolerance = v.unwrap_or(1.0),
        (Goal::Range { min, .. }, "min") => *min = v.unwrap_or(0.0),
        (Goal::Range { max, .. }, "max") => *max = v.unwrap_or(1.0),
        (Goal::Probability { at_least, .. }, "at_least") => *at_least = v.unwrap_or(0.8),
        _ => {}
    }
}

fn set_weight(g: &mut Goal, w: f64) {
    match g {
        Goal::Maximize { weight, .. }
        | Goal::Minimize { weight, .. }
        | Goal::Target { weight, .. }
        | Goal::Range { weight, .. }
        | Goal::Probability { weight, .. } => *weight = w,
    }
}

#[component]
pub fn Goals() -> impl IntoView {
    let state = expect_context::<State>();
    let job = expect_context::<DesignJob>();
    let targets = move || {
        state.loaded.with(|l| {
            l.as_ref()
                .map(|l| {
                    l.manifest
                        .targets
                        .iter()
                        .map(|t| (t.name.clone(), t.display_name(), t.kind))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let row = move |(name, title, kind): (String, String, TargetKind)| {
        let key = name.clone();
        let current = move || job.spec.with(|s| goal_of(s, &key));
        let n1 = name.clone();
        let change_kind = move |ev: web_sys::Event| {
            let weight = job
                .spec
                .with_untracked(|s| goal_of(s, &n1).map_or(1.0, |g| g.weight()));
            let goal = new_goal(&event_target_value(&ev), &n1, weight);
            job.spec.update(|s| set_goal(s, &n1, goal));
        };
        let n2 = name.clone();
        let inputs = move || {
            let n2 = n2.clone();
            current().map(|g| {
                let boxes = fields(&g)
                    .into_iter()
                    .map(|(field, label, value)| {
                        let n = n2.clone();
                        view! {
                            <label>{label}
                                <input type="number" step="any" class=format!("goal-{field}") data-target=n.clone()
                                    placeholder="auto" prop:value=value.map(|v| v.to_string()).unwrap_or_default()
                                    on:change=move |ev| {
                                        let v = event_target_value(&ev).trim().parse::<f64>().ok();
                                        job.spec.update(|s| if let Some(mut g) = goal_of(s, &n) {
                                            set_field(&mut g, field, v);
                                            set_goal(s, &n, Some(g));
                                        });
                                    }/>
                            </label>
                        }
                    })
                    .collect_view();
                let n = n2.clone();
                view! {
                    {boxes}
                    <label>"weight"
                        <input type="number" step="any" min="0" class="goal-weight" data-target=n.clone()
                            prop:value=g.weight().to_string()
                            on:change=move |ev| {
                                if let Ok(w) = event_target_value(&ev).trim().parse::<f64>() {
                                    job.spec.update(|s| if let Some(mut g) = goal_of(s, &n) {
                                        set_weight(&mut g, w);
                                        set_goal(s, &n, Some(g));
                                    });
                                }
                            }/>
                    </label>
                }
            })
        };
        let k1 = name.clone();
        view! {
            <tr data-target=name.clone()>
                <th scope="row">{title}</th>
                <td>
                    <select class="goal-kind" id=format!("goal-{name}") aria-label="goal"
                        prop:value=move || kind_key(&job.spec.with(|s| goal_of(s, &k1))) on:change=change_kind>
                        <option value="">"no goal"</option>
                        {(kind == TargetKind::Regression).then(|| view! {
                            <option value="maximize">"maximise"</option>
                            <option value="minimize">"minimise"</option>
                            <option value="target">"hit a value"</option>
                            <option value="range">"stay in a range"</option>
                        })}
                        {(kind == TargetKind::Binary).then(|| view! {
                            <option value="probability">"probability at least"</option>
                            <option value="maximize">"maximise the probability"</option>
                        })}
                    </select>
                </td>
                <td class="controls">{inputs}</td>
            </tr>
        }
    };
    view! {
        <table id="design-goals" class="design-table">
            <thead><tr><th scope="col">"Target"</th><th scope="col">"Goal"</th><th scope="col">"Settings"</th></tr></thead>
            <tbody>{move || targets().into_iter().map(row).collect_view()}</tbody>
        </table>
    }
}
