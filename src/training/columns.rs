//! The training file's columns: what each holds and the role the user gives it (material,
//! target, condition, id, ignored), with a target's kind and a log10 transform.

use leptos::prelude::*;
use mixlab_core::data::profile::{ColumnProfile, ColumnRole};
use mixlab_core::describe::format_value;

use super::TrainJob;

/// Material rows listed at once (a study-scale file has thousands; their role rarely changes):
/// a filter by name reaches the others.
const LISTED_MATERIALS: usize = 200;

const ROLES: [(ColumnRole, &str, &str); 5] = [
    (ColumnRole::Material, "material", "material (amount)"),
    (ColumnRole::Target, "target", "target (to learn)"),
    (
        ColumnRole::Condition,
        "condition",
        "condition (process input)",
    ),
    (ColumnRole::Id, "id", "formulation id"),
    (ColumnRole::Ignore, "ignore", "ignored"),
];

fn role_key(role: ColumnRole) -> &'static str {
    ROLES
        .iter()
        .find(|(r, _, _)| *r == role)
        .map_or("long", |(_, k, _)| k)
}

/// What a column holds, in a few words.
fn summary(c: &ColumnProfile) -> String {
    let mut parts = vec![format!("{} numbers", c.numbers)];
    if c.empty > 0 {
        parts.push(format!("{} blank", c.empty));
    }
    if let Some((row, text)) = &c.first_text {
        parts.push(format!("{} text (row {row}: {text:?})", c.text));
    }
    if let (Some(lo), Some(hi)) = (c.min, c.max) {
        parts.push(if c.binary {
            "0/1 only".to_string()
        } else {
            format!("{} to {}", format_value(lo), format_value(hi))
        });
    }
    parts.join(" · ")
}

/// One column's row: its summary and role choice.
fn column_row(job: TrainJob, i: usize, c: &ColumnProfile) -> impl IntoView + use<> {
    let name = c.name.clone();
    let label = if name.is_empty() {
        format!("(column {})", i + 1)
    } else {
        name.clone()
    };
    let choice = move || job.setup.with(|s| s.columns.get(i).cloned());
    let role = move || choice().map_or(ColumnRole::Ignore, |c| c.role);
    let is_long = c.role == ColumnRole::Long;
    let set_role = move |ev: leptos::ev::Event| {
        let key = event_target_value(&ev);
        if let Some((r, _, _)) = ROLES.iter().find(|(_, k, _)| *k == key) {
            job.setup.update(|s| {
                if let Some(c) = s.columns.get_mut(i) {
                    c.role = *r;
                }
            });
        }
    };
    let numeric = c.numbers > 0;
    let binary_data = c.binary;
    view! {
        <tr class="train-column" data-column=name.clone() data-role=move || role_key(role())>
            <th scope="row">{label.clone()}</th>
            <td class="summary">{summary(c)}</td>
            <td>{if is_long {
                view! { <span>"long format"</span> }.into_any()
            } else {
                view! {
                    <select class="train-role" aria-label=format!("Role of column {label}") on:change=set_role>
                        {ROLES.iter().map(|(r, key, text)| {
                            let r = *r;
                            view! { <option value=*key selected=move || role() == r>{*text}</option> }
                        }).collect_view()}
                    </select>
                }.into_any()
            }}</td>
            <td>{move || (role() == ColumnRole::Target && numeric).then(|| view! {
                <label title="Learn it as a probability: the column holds 0 and 1 (or TRUE/FALSE)">
                    <input type="checkbox" class="train-binary" prop:checked=move || choice().is_some_and(|c| c.binary)
                        prop:disabled=!binary_data
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            job.setup.update(|s| if let Some(c) = s.columns.get_mut(i) { c.binary = on; if on { c.log10 = false; } });
                        }/>
                    " binary"
                </label>
            })}</td>
            <td>{move || matches!(role(), ColumnRole::Target | ColumnRole::Condition).then(|| view! {
                <label title="Learn (or feed) log10 of the value: for values spanning decades; all must be > 0">
                    <input type="checkbox" class="train-log" prop:checked=move || choice().is_some_and(|c| c.log10)
                        prop:disabled=move || choice().is_some_and(|c| c.binary)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            job.setup.update(|s| if let Some(c) = s.columns.get_mut(i) { c.log10 = on; });
                        }/>
                    " log10"
                </label>
            })}</td>
        </tr>
    }
}

#[component]
pub fn Columns() -> impl IntoView {
    let job = expect_context::<TrainJob>();
    move || {
        job.chosen.get().map(|chosen| {
            let p = &chosen.profile;
            let guessed_material = |c: &ColumnProfile| c.role == ColumnRole::Material;
            let others: Vec<_> = (p.columns.iter().enumerate())
                .filter(|(_, c)| !guessed_material(c))
                .map(|(i, c)| column_row(job, i, c))
                .collect();
            let materials: Vec<usize> = (p.columns.iter().enumerate())
                .filter(|(_, c)| guessed_material(c))
                .map(|(i, _)| i)
                .collect();
            let count = materials.len();
            let filter = RwSignal::new(String::new());
            // The materials whose name holds the filter (any case), computed once per change.
            let profile = chosen.clone();
            let matching = Memo::new(move |_| {
                let f = filter.get().to_lowercase();
                let columns = &profile.profile.columns;
                (materials.iter().copied())
                    .filter(|&i| f.is_empty() || columns[i].name.to_lowercase().contains(&f))
                    .collect::<Vec<usize>>()
            });
            let profile = chosen.clone();
            let rows = move || {
                matching.with(|m| {
                    (m.iter().take(LISTED_MATERIALS))
                        .map(|&i| column_row(job, i, &profile.profile.columns[i]))
                        .collect_view()
                })
            };
            let head = || view! {
                <thead><tr><th scope="col">"Column"</th><th scope="col">"Holds"</th><th scope="col">"Role"</th><th scope="col">"Kind"</th><th scope="col">"Transform"</th></tr></thead>
            };
            view! {
                <div id="train-columns">
                    <table class="columns-table">{head()}<tbody>{others}</tbody></table>
                    {(count > 0).then(|| view! {
                        <details id="train-materials" open=count <= 40>
                            <summary>{format!("{count} columns taken for materials (amounts)")}</summary>
                            {(count > LISTED_MATERIALS).then(|| view! {
                                <p class="note">
                                    <label>"Find a column: "
                                        <input type="search" id="train-materials-filter" placeholder="part of its name"
                                            prop:value=move || filter.get()
                                            on:input=move |ev| filter.set(event_target_value(&ev))/>
                                    </label>
                                    <span id="train-materials-shown">{move || {
                                        let n = matching.with(Vec::len);
                                        if n > LISTED_MATERIALS {
                                            format!(" {n} match; the first {LISTED_MATERIALS} are listed")
                                        } else {
                                            format!(" {n} match")
                                        }
                                    }}</span>
                                </p>
                            })}
                            <table class="columns-table">{head()}<tbody>{rows}</tbody></table>
                        </details>
                    })}
                </div>
            }
        })
    }
}
