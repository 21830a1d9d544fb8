//! The Design page: goals, limits and options in, ranked recipes out.

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::design::DesignSpec;

use super::goals::Goals;
use super::materials::{Materials, Options};
use super::pareto::Pareto;
use super::results::Results;
use super::rules::{Conditions, Cost, Groups};
use super::{DesignJob, Phase};

#[component]
pub fn DesignSection() -> impl IntoView {
    let job = expect_context::<DesignJob>();
    // The whole spec as JSON (general linear limits and a price column live only here).
    let json = RwSignal::new(String::new());
    Effect::new(move |_| {
        json.set(
            job.spec
                .with(|s| serde_json::to_string_pretty(s).unwrap_or_default()),
        );
    });
    let apply_json = move |_| match DesignSpec::from_json(&json.get_untracked()) {
        Ok(s) => {
            job.spec.set(s);
            job.problem.set(None);
        }
        Err(e) => job.problem.set(Some(format!(
            "The JSON is not a design spec: {e}. The form keeps the spec it had."
        ))),
    };
    let running = move || matches!(job.phase.get(), Phase::Running { .. });
    let suggest_n = RwSignal::new(8usize);
    view! {
        <section id="design-section" class="card" aria-labelledby="design-title">
            <h2 id="design-title">"Design: recipes that meet your goals within your limits"</h2>
            <div id="design" data-phase=move || match job.phase.get() {
                Phase::Idle => "idle", Phase::Running { .. } => "running", Phase::Done => "done",
                Phase::Refused(_) => "refused", Phase::Failed(_) => "failed",
            }>
                <p class="note">"Say what each target should do and what the recipe may contain; the search keeps every recipe at 100 %, within the limits and (by default) inside the training data, and ranks distinct recipes by overall desirability (the weighted geometric mean of the goals'). Amounts are mass %."</p>
                {move || job.problem.get().map(|p| view! {
                    <p id="design-problem" class="notice error" role="alert">{p}
                        <button class="dismiss" aria-label="Dismiss" on:click=move |_| job.problem.set(None)>"×"</button>
                    </p>
                })}
                <div class="controls">
                    <button id="design-example" on:click=move |_| spawn_local(job.load_example())>"Load the example"</button>
                    <button id="design-run" class="primary" prop:disabled=running on:click=move |_| job.run()>"Find recipes"</button>
                    {move || running().then(|| view! { <button id="design-cancel" on:click=move |_| job.cancel()>"Cancel"</button> })}
                </div>
                <div class="controls">
                    <label class="file-button">"Suggest next experiments from measured recipes (CSV)…"
                        <input id="design-measured" type="file" accept=".csv,text/csv" on:change=move |ev| {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                                job.suggest(file, suggest_n.get_untracked());
                            }
                            input.set_value("");
                        }/>
                    </label>
                    <label>"how many"
                        <input id="design-n" type="number" min="1" max="50" prop:value=move || suggest_n.get().to_string()
                            on:change=move |ev| { if let Ok(v) = event_target_value(&ev).trim().parse::<usize>() { suggest_n.set(v.clamp(1, 50)); } }/>
                    </label>
                </div>
                {move || match job.phase.get() {
                    Phase::Running { stage, fraction } => Some(view! {
                        <div class="progress-row">
                            <progress id="design-progress" max="1" prop:value=fraction></progress>
                            <span>{format!("{stage} {:.0} %", 100.0 * fraction)}</span>
                        </div>
                    }.into_any()),
                    Phase::Refused(conflicts) => Some(view! {
                        <div class="notice error" role="alert">
                            <p>"The design cannot be met as written:"</p>
                            <ul id="design-conflicts">{conflicts.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}</ul>
                        </div>
                    }.into_any()),
                    Phase::Failed(m) => Some(view! { <p id="design-error" class="notice error" role="alert">{m}</p> }.into_any()),
                    _ => None,
                }}
                <Results/>
                <Pareto/>
                <h3>"Goals"</h3>
                <Goals/>
                <h3>"Limits"</h3>
                <Options/>
                <Materials/>
                <Groups/>
                <Cost/>
                <Conditions/>
                <details>
                    <summary>"The whole spec as JSON (also general linear limits, a price column)"</summary>
                    <textarea id="design-json" rows="16" cols="80" spellcheck="false"
                        prop:value=move || json.get() on:input=move |ev| json.set(event_target_value(&ev))></textarea>
                    <div><button id="design-apply-json" on:click=apply_json>"Use this JSON"</button></div>
                </details>
            </div>
        </section>
    }
}
