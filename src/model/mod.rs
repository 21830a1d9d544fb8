//! The Model page: the model card (targets, materials and their training ranges, metrics,
//! provenance, architecture) and the diagnostics a developer wants and a formulator does not
//! (start-up timing, compute backend).

use leptos::prelude::*;
use mixlab_core::bundle::TargetKind;

use crate::state::State;
use mixlab_core::describe::format_value;

#[component]
pub fn ModelCard() -> impl IntoView {
    let state = expect_context::<State>();
    move || {
        state.loaded.get().map(|l| {
            let m = l.manifest.clone();
            let arch = &m.architecture;
            let metrics: Vec<(String, String)> = m
                .metrics
                .iter()
                .map(|(k, v)| {
                    let value = v.get("value").and_then(|x| x.as_f64()).map_or(v.to_string(), format_value);
                    let std = v.get("std").and_then(|x| x.as_f64()).map(|s| format!(" ± {}", format_value(s))).unwrap_or_default();
                    let rows = v.get("rows").map(|r| format!(" ({r} rows)")).unwrap_or_default();
                    let folds = v.get("folds").map(|f| format!(" (mean ± std over {f} folds)")).unwrap_or_default();
                    (metric_name(&m, k), format!("{value}{std}{rows}{folds}"))
                })
                .collect();
            view! {
                <section id="model-card" class="card" aria-labelledby="model-card-title">
                    <h2 id="model-card-title">"About this model: " {m.name.clone()}</h2>
                    <p>{m.description.clone()}</p>
                    <h3>"Targets"</h3>
                    <ul>{m.targets.iter().map(|t| view! {
                        <li>{format!("{} — {}{}", t.display_name(),
                            if t.kind == TargetKind::Binary { "probability (classification)".to_string() } else { "regression".to_string() },
                            if t.name == t.display_name() { String::new() } else { format!("; column {}", t.name) })}</li>
                    }).collect_view()}</ul>
                    <h3>{format!("Materials ({})", m.materials.len())}</h3>
                    <p class="materials">{m.materials.iter().map(|x| format!("{} ({:.1}–{:.1} %, in {} formulations)", x.name, 100.0 * x.fraction_min, 100.0 * x.fraction_max, x.usage_count)).collect::<Vec<_>>().join(" · ")}</p>
                    <h3>"Training metrics"</h3>
                    <table class="metrics"><tbody>{metrics.into_iter().map(|(k, v)| view! { <tr><th scope="row">{k}</th><td>{v}</td></tr> }).collect_view()}</tbody></table>
                    <h3>"Data provenance"</h3>
                    <p>{format!("{} — {} rows. Source: {}. Licence: {}", m.dataset.name, m.dataset.rows, m.dataset.source, m.dataset.licence)}</p>
                    <h3>"Architecture"</h3>
                    <p>{format!("codes of length {} ({:?}), MLP {:?} ({:?}){}, ensemble of {}", arch.code_dim, arch.code_activation, arch.hidden, arch.hidden_activation, if arch.residual { ", residual" } else { "" }, arch.members)}</p>
                </section>
            }
        })
    }
}

/// `viscosity_10_per_s_cp.validation.mae` → "Viscosity at 10 s⁻¹: validation MAE (cP)"; other
/// keys as they are.
pub fn metric_name(m: &mixlab_core::Manifest, key: &str) -> String {
    let mut parts = key.rsplitn(3, '.');
    let (Some(metric), Some(split), Some(target)) = (parts.next(), parts.next(), parts.next())
    else {
        return key.to_string();
    };
    let Some(t) = m.targets.iter().find(|t| t.name == target) else {
        return key.to_string();
    };
    let unit = match metric {
        "mae" | "rmse" if !t.unit.is_empty() => format!(" ({})", t.unit),
        _ => String::new(),
    };
    let metric = match metric {
        "mae" | "rmse" => metric.to_uppercase(),
        "r2" => "R²".into(),
        "roc_auc" => "ROC-AUC".into(),
        "within_1sd" => "share within ±1 ensemble spread".into(),
        "within_2sd" => "share within ±2 ensemble spreads".into(),
        other => other.to_string(),
    };
    let split = if split == "cv" {
        "cross-validated"
    } else {
        split
    };
    format!("{}: {split} {metric}{unit}", t.title())
}

/// Figures about this page itself, kept off the working pages.
#[component]
pub fn Diagnostics() -> impl IntoView {
    let state = expect_context::<State>();
    view! {
        <section id="diagnostics" class="card" aria-labelledby="diagnostics-title">
            <h2 id="diagnostics-title">"Diagnostics"</h2>
            <dl class="diagnostics">
                <dt>"Compute backend"</dt>
                <dd>{move || state.compute.backend.get().map(|b| b.label().to_string()).unwrap_or_default()}</dd>
                {move || state.live.first_ms.get().map(|ms| view! {
                    <dt>"First prediction"</dt>
                    <dd id="first-prediction" data-ms=format!("{ms:.1}")>{format!("{ms:.0} ms after navigation")}</dd>
                })}
            </dl>
        </section>
    }
}
