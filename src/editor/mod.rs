//! The formulation editor: one row per material (slider, number box, q.s., lock, remove),
//! the add-a-material search, the total, and the condition inputs.

use leptos::prelude::*;
use mixlab_core::bundle::{Condition, Transform};
use web_sys::HtmlInputElement;

pub mod analysis;
pub mod panels;

use crate::state::{Notice, State};
use analysis::AnalysisJob;

fn pct(f: f64) -> String {
    format!("{:.2}", 100.0 * f)
}

/// Keep the element showing what was applied when a value was clamped (the signal may not
/// have changed, so Leptos would not rewrite it).
fn show_applied(ev: &web_sys::Event, text: &str) {
    let input: HtmlInputElement = event_target(ev);
    if input.value() != text {
        input.set_value(text);
    }
}

#[component]
pub fn Editor() -> impl IntoView {
    let state = expect_context::<State>();
    // Keyed by index and name: a row is rebuilt when the model (and so its names) changes.
    let materials = move || {
        let m = state
            .loaded
            .with(|l| l.as_ref().map(|l| l.manifest.clone()));
        state.edit.with(|e| {
            e.form
                .rows
                .iter()
                .map(|r| {
                    let name = m
                        .as_ref()
                        .and_then(|m| m.materials.get(r.material))
                        .map(|x| x.name.clone());
                    (r.material, name.unwrap_or_default())
                })
                .collect::<Vec<_>>()
        })
    };
    let total = move || state.edit.with(|e| e.form.total());
    view! {
        <section class="card" aria-labelledby="formulation-title">
            <h2 id="formulation-title">"Formulation"</h2>
            <table id="formulation">
                <thead><tr>
                    <th scope="col">"Material"</th><th scope="col">"Mass %"</th><th scope="col"></th>
                    <th scope="col" title="q.s.: takes up the balance to 100 %">"q.s."</th>
                    <th scope="col">"Lock"</th><th scope="col"><span class="sr-only">"Remove"</span></th>
                </tr></thead>
                <tbody>
                    <For each=materials key=|m| m.clone() children=move |(m, name)| view! { <MaterialRow material=m name/> }/>
                </tbody>
                <tfoot><tr>
                    <th scope="row">"Total"</th>
                    <td colspan="2" id="total" data-total=move || total().to_string()>
                        {move || format!("{} %", pct(total()))}
                    </td>
                    <td><input type="radio" name="qs" id="no-qs" aria-label="No q.s.: the unlocked rows rescale"
                        title="No q.s.: the unlocked rows rescale in proportion"
                        prop:checked=move || state.edit.with(|e| e.form.qs.is_none())
                        on:change=move |_| {
                            let mut edit = state.edit.get_untracked();
                            edit.form.qs = None;
                            state.apply(edit);
                        }/></td>
                    <td colspan="2" class="note">{move || if state.edit.with(|e| e.form.qs.is_none()) { "no q.s.: others rescale" } else { "" }}</td>
                </tr></tfoot>
            </table>
            <AddMaterial/>
            <Conditions/>
        </section>
    }
}

#[component]
fn MaterialRow(material: usize, name: String) -> impl IntoView {
    let state = expect_context::<State>();
    let job = expect_context::<AnalysisJob>();
    let row = move || {
        state.edit.with(|e| {
            e.form.position(material).map(|i| {
                let r = &e.form.rows[i];
                (r.fraction, e.form.qs == Some(i), r.locked)
            })
        })
    };
    let fraction = move || row().map_or(0.0, |r| r.0);
    let is_qs = move || row().is_some_and(|r| r.1);
    let locked = move || row().is_some_and(|r| r.2);
    let limit = move || {
        state
            .limit
            .get()
            .filter(|(m, _)| *m == material)
            .map(|(_, why)| why)
    };
    let set = move |ev: web_sys::Event, commit: bool| {
        state.live.note_input(ev.time_stamp());
        let Ok(v) = event_target_value(&ev).trim().parse::<f64>() else {
            state.limit.set(Some((material, "not a number".into())));
            show_applied(&ev, &pct(fraction()));
            return;
        };
        let applied = state.set_fraction(material, v / 100.0);
        show_applied(&ev, &pct(applied));
        if commit {
            state.commit();
        }
    };
    let edit_row = move |f: &dyn Fn(
        &mut mixlab_core::formulation::Formulation,
        usize,
    ) -> Result<(), mixlab_core::formulation::EditError>| {
        let mut edit = state.edit.get_untracked();
        let Some(i) = edit.form.position(material) else {
            return;
        };
        match f(&mut edit.form, i) {
            Ok(()) => state.apply(edit),
            Err(e) => state.limit.set(Some((material, e.to_string()))),
        }
    };
    let slider_id = format!("slider-{material}");
    let label = format!("{name} mass %");
    view! {
        <tr class="material" data-material=name.clone() data-fraction=move || fraction().to_string()
            class:qs=is_qs class:locked=locked class:focused=move || state.focused.get() == Some(material)>
            <th scope="row"><label for=slider_id.clone()>{name.clone()}</label></th>
            <td class="amount">
                <input type="range" class="slider" id=slider_id min="0" max="100" step="0.01"
                    prop:value=move || pct(fraction())
                    aria-valuetext=move || format!("{} %", pct(fraction()))
                    on:input=move |ev| set(ev, false)
                    on:pointerdown=move |_| job.set_dragging(true)
                    on:change=move |_| state.commit()
                    on:focus=move |_| { state.focused.set(Some(material)); job.schedule(); }/>
                <input type="number" class="number" min="0" max="100" step="0.01" aria-label=label
                    prop:value=move || pct(fraction())
                    on:change=move |ev| set(ev, true)
                    on:focus=move |_| { state.focused.set(Some(material)); job.schedule(); }/>
            </td>
            <td class="limit" role="status">{limit}</td>
            <td><input type="radio" name="qs" class="qs" aria-label=format!("{name} is q.s. (balance)")
                prop:checked=is_qs
                on:change=move |_| edit_row(&|f, i| f.set_qs(Some(i)))/></td>
            <td><input type="checkbox" class="lock" aria-label=format!("Lock {name}")
                prop:checked=locked
                on:change=move |ev| { let on = event_target_checked(&ev); edit_row(&|f, i| f.set_locked(i, on)) }/></td>
            <td><button class="remove" aria-label=format!("Remove {name}") title="Remove"
                on:click=move |_| edit_row(&|f, i| f.remove(i))>"×"</button></td>
        </tr>
    }
}

/// Type-ahead over names and metadata; Enter or a click adds the highlighted material at 0 %.
#[component]
fn AddMaterial() -> impl IntoView {
    let state = expect_context::<State>();
    let query = RwSignal::new(String::new());
    let active = RwSignal::new(0usize);
    let hits = Memo::new(move |_| {
        let q = query.get();
        if q.trim().is_empty() {
            return Vec::new();
        }
        let Some(loaded) = state.loaded.get() else {
            return Vec::new();
        };
        let present = state
            .edit
            .with(|e| e.form.rows.iter().map(|r| r.material).collect::<Vec<_>>());
        loaded
            .index
            .query(&q, 12, |i| present.contains(&i))
            .into_iter()
            .map(|i| (i, loaded.manifest.materials[i].name.clone()))
            .collect::<Vec<_>>()
    });
    let add = move |material: usize| {
        let Some(name) = state
            .manifest()
            .and_then(|m| m.materials.get(material).map(|x| x.name.clone()))
        else {
            return;
        };
        let mut edit = state.edit.get_untracked();
        match edit.form.add(material, &name) {
            Ok(_) => {
                state.apply(edit);
                state.focused.set(Some(material));
                query.set(String::new());
            }
            Err(e) => state.notice.set(Some(Notice::Error(e.to_string()))),
        }
    };
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let n = hits.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" if n > 0 => {
                ev.prevent_default();
                active.set((active.get_untracked() + 1) % n);
            }
            "ArrowUp" if n > 0 => {
                ev.prevent_default();
                active.set((active.get_untracked() + n - 1) % n);
            }
            "Enter" => {
                ev.prevent_default();
                if let Some((i, _)) =
                    hits.with_untracked(|h| h.get(active.get_untracked()).cloned())
                {
                    add(i);
                }
            }
            "Escape" => query.set(String::new()),
            _ => {}
        }
    };
    view! {
        <div class="add">
            <label for="add-material">"Add a material"</label>
            <input id="add-material" type="search" autocomplete="off" placeholder="name, INCI, type…"
                role="combobox" aria-controls="add-suggestions" aria-autocomplete="list"
                aria-expanded=move || (!hits.with(Vec::is_empty)).to_string()
                prop:value=move || query.get()
                on:input=move |ev| { query.set(event_target_value(&ev)); active.set(0); }
                on:keydown=on_key/>
            <ul id="add-suggestions" role="listbox" class="suggestions" data-query=move || hits.with(|_| query.get())>
                {move || hits.get().into_iter().enumerate().map(|(k, (i, name))| view! {
                    <li role="option" aria-selected=move || (active.get() == k).to_string()
                        class:active=move || active.get() == k
                        on:mousedown=move |ev| { ev.prevent_default(); add(i); }>{name}</li>
                }).collect_view()}
            </ul>
        </div>
    }
}

/// A condition's slider position: log10 space for log-transformed ones (age 1 → 365 days).
fn to_slider(c: &Condition, v: f64) -> f64 {
    if c.transform == Transform::Log10 && c.min > 0.0 {
        v.max(c.min).log10()
    } else {
        v
    }
}

fn from_slider(c: &Condition, s: f64) -> f64 {
    if c.transform == Transform::Log10 && c.min > 0.0 {
        let v = 10f64.powf(s);
        // Round to 3 significant digits so the value is readable (28.0 days, not 27.99…).
        let scale = 10f64.powi(2 - v.abs().log10().floor() as i32);
        (v * scale).round() / scale
    } else {
        s
    }
}

#[component]
fn Conditions() -> impl IntoView {
    let state = expect_context::<State>();
    let conditions = move || {
        state.loaded.with(|l| {
            l.as_ref()
                .map(|l| l.manifest.conditions.clone())
                .unwrap_or_default()
        })
    };
    view! {
        <Show when=move || !conditions().is_empty()>
            <h3>"Conditions"</h3>
            <table id="conditions">
                <tbody>
                    {move || conditions().into_iter().enumerate().map(|(j, c)| {
                        let value = move || state.edit.with(|e| e.conds.get(j).copied().unwrap_or(f64::NAN));
                        let set = move |v: f64, ts: f64, commit: bool| {
                            state.live.note_input(ts);
                            let mut edit = state.edit.get_untracked();
                            if let Some(slot) = edit.conds.get_mut(j) { *slot = v; }
                            state.set_edit(edit);
                            if commit { state.commit(); }
                        };
                        let (lo, hi) = (to_slider(&c, c.min), to_slider(&c, c.max));
                        let step = ((hi - lo) / 1000.0).max(1e-9);
                        let c2 = c.clone();
                        let c3 = c.clone();
                        let id = format!("condition-{j}");
                        view! {
                            <tr class="condition" data-condition=c.name.clone() data-value=move || value().to_string()>
                                <th scope="row"><label for=id.clone()>{c.display_name()}</label></th>
                                <td class="amount">
                                    <input type="range" class="slider" id=id min=lo.to_string() max=hi.to_string() step=step.to_string()
                                        prop:value=move || to_slider(&c2, value()).to_string()
                                        on:input=move |ev| {
                                            if let Ok(s) = event_target_value(&ev).parse::<f64>() { set(from_slider(&c3, s), ev.time_stamp(), false); }
                                        }
                                        on:change=move |_| state.commit()/>
                                    <input type="number" class="number" aria-label=format!("{} value", c.name)
                                        prop:value=move || value().to_string()
                                        on:change=move |ev| {
                                            match event_target_value(&ev).trim().parse::<f64>() {
                                                Ok(v) if v.is_finite() => set(v, ev.time_stamp(), true),
                                                _ => show_applied(&ev, &value().to_string()),
                                            }
                                        }/>
                                </td>
                                <td class="range">{format!("trained on {} to {}", c.min, c.max)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </Show>
    }
}

#[component]
pub fn Analysis() -> impl IntoView {
    let state = expect_context::<State>();
    let job = expect_context::<AnalysisJob>();
    let focused = move || {
        let m = state.focused.get()?;
        state.loaded.with(|l| {
            l.as_ref()
                .and_then(|l| l.manifest.materials.get(m).map(|x| x.name.clone()))
        })
    };
    view! {
        <section class="card" aria-labelledby="curve-title">
            <h2 id="curve-title">{move || match focused() {
                Some(n) => format!("Response to {n}"),
                None => "Response curve".to_string(),
            }}</h2>
            <p class="note">"Each target as this material sweeps its training range (with a margin), the q.s./rescale rule applied; the band is ± the ensemble spread, the green area the material's training range, the red point the current formulation. Focus a row to change the material."</p>
            <label class="check"><input type="checkbox" id="curve-full" prop:checked=move || job.curve_full.get()
                on:change=move |ev| { job.curve_full.set(event_target_checked(&ev)); job.schedule(); }/>
                " Full range: from 0 to all the q.s. leaves"</label>
            <div id="response-curve" class="plot" role="img" aria-label="Response curve"></div>
            <h2>"Sensitivity"</h2>
            <p class="note">"Change of each target per +1 % of each material (rows that cannot move are left out)."</p>
            <div id="sensitivity" class="plot" role="img" aria-label="Sensitivity bar chart"></div>
        </section>
    }
}
