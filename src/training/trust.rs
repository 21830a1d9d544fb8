//! The trust view: k-fold cross-validation of the trained model's setup (`mixlab evaluate
//! --kfold`), with the held-out errors as mean ± std over folds, a parity plot per target, a box
//! plot of the per-fold errors, and the calibration of the ensemble spread.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::describe::format_value;
use mixlab_core::trust::{TargetTrust, Trust};
use plotly::common::{Font, Line, Marker, Mode, Title};
use plotly::layout::{Axis, Margin};
use plotly::{Layout, Scatter};

use super::{CvPhase, TrainJob};
use crate::platform::plot::{self, Figure, ensure_plotly, react, set_data};

fn pm(values: &[Option<f64>]) -> String {
    match TargetTrust::summary(values) {
        (m, _) if !m.is_finite() => "–".into(),
        (m, s) => format!("{} ± {}", format_value(m), format_value(s)),
    }
}

fn share(v: Option<f64>) -> String {
    v.map_or("– (one member: no spread)".into(), |v| {
        format!("{:.0} %", 100.0 * v)
    })
}

async fn draw(trust: Arc<Trust>) -> Result<(), String> {
    ensure_plotly().await?;
    for (k, t) in trust.targets.iter().enumerate() {
        let id = format!("trust-parity-{k}");
        let traces: Vec<Box<dyn plotly::Trace>> = {
            let mut traces: Vec<Box<dyn plotly::Trace>> = Vec::new();
            for fold in 0..trust.folds {
                let (x, y): (Vec<f64>, Vec<f64>) = (t.points.iter())
                    .filter(|p| p.3 == fold)
                    .map(|p| (p.0, p.1))
                    .unzip();
                traces.push(
                    Scatter::new(x, y)
                        .mode(Mode::Markers)
                        .marker(Marker::new().size(5).opacity(0.7))
                        .name(format!("fold {}", fold + 1)),
                );
            }
            let lo = t
                .points
                .iter()
                .map(|p| p.0.min(p.1))
                .fold(f64::INFINITY, f64::min);
            let hi = t
                .points
                .iter()
                .map(|p| p.0.max(p.1))
                .fold(f64::NEG_INFINITY, f64::max);
            if lo.is_finite() && hi.is_finite() {
                traces.push(
                    Scatter::new(vec![lo, hi], vec![lo, hi])
                        .mode(Mode::Lines)
                        .line(
                            Line::new()
                                .color("#888")
                                .dash(plotly::common::DashType::Dash),
                        )
                        .name("measured = predicted"),
                );
            }
            traces
        };
        let layout = Layout::new()
            .height(320)
            .margin(Margin::new().left(60).right(20).top(30).bottom(45))
            .title(
                Title::with_text(plot::escape(&format!("{}: held-out predictions", t.name)))
                    .font(Font::new().size(13)),
            )
            .x_axis(Axis::new().title(Title::with_text("measured")))
            .y_axis(Axis::new().title(Title::with_text("predicted")));
        react(&id, Figure::new(traces, layout)).await?;
        set_data(&id, &[("data-points", t.points.len().to_string())]);
    }
    let regression: Vec<&TargetTrust> = trust.targets.iter().filter(|t| !t.binary).collect();
    if !regression.is_empty() {
        let layout = Layout::new()
            .height(300)
            .margin(Margin::new().left(60).right(20).top(30).bottom(45))
            .title(Title::with_text("Held-out MAE of each fold").font(Font::new().size(13)))
            .show_legend(false);
        let mut figure = Figure::new(Vec::new(), layout);
        for t in regression {
            let v: Vec<f64> = t.fold_mae.iter().flatten().copied().collect();
            figure = figure.json_trace(serde_json::json!({
                "type": "box", "y": v, "name": plot::escape(&t.name), "boxpoints": "all",
            }));
        }
        react("trust-box", figure).await?;
    }
    Ok(())
}

#[component]
pub fn TrustView() -> impl IntoView {
    let job = expect_context::<TrainJob>();
    let folds = RwSignal::new(5usize);
    let group = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(t) = job.cv.get() {
            spawn_local(async move {
                if let Err(e) = draw(t).await {
                    job.problem.set(Some(e));
                }
            });
        }
    });
    let running = Memo::new(move |_| matches!(job.cv_phase.get(), CvPhase::Running { .. }));
    view! {
        <section id="trust" data-phase=move || match job.cv_phase.get() {
            CvPhase::Idle => "idle", CvPhase::Running { .. } => "running", CvPhase::Done => "done", CvPhase::Failed(_) => "failed",
        }>
            <h3>"How far to trust it: cross-validation"</h3>
            <p class="note">"Each fold's formulations are held out while a model with the same setup and seed learns from the others; the figures are the held-out errors, as " <code>"mixlab evaluate --kfold"</code>" gives them."</p>
            <div class="controls">
                <label>"Folds"
                    <input id="trust-folds" type="number" min="2" max="20" prop:value=move || folds.get().to_string()
                        on:change=move |ev| { if let Ok(v) = event_target_value(&ev).trim().parse::<usize>() { folds.set(v.clamp(2, 20)); } }/>
                </label>
                <label title="Formulations with the same recipe (measured at several ages, say) stay in one fold">
                    <input id="trust-group" type="checkbox" prop:checked=move || group.get() on:change=move |ev| group.set(event_target_checked(&ev))/>
                    " keep equal recipes together"
                </label>
                <button id="trust-run" prop:disabled=move || running.get() on:click=move |_| job.cross_validate(folds.get_untracked(), group.get_untracked())>"Cross-validate"</button>
                {move || running.get().then(|| view! { <button id="trust-cancel" on:click=move |_| job.cancel_cv()>"Cancel"</button> })}
            </div>
            {move || match job.cv_phase.get() {
                CvPhase::Running { fold, folds, step, total, detail } => {
                    let done = fold * total + step;
                    let all = folds * total;
                    let text = match detail {
                        Some(d) => format!("fold {} of {folds} · {d}", fold + 1),
                        None => format!("fold {} of {folds} · step {step} of {total}", fold + 1),
                    };
                    Some(view! {
                        <div class="progress-row">
                            <progress id="trust-progress" max=all prop:value=done></progress>
                            <span>{text}</span>
                        </div>
                    }.into_any())
                }
                CvPhase::Failed(m) => Some(view! { <p id="trust-error" class="notice error" role="alert">{m}</p> }.into_any()),
                _ => None,
            }}
            {move || job.cv.get().map(|t| view! {
                <table id="trust-summary" class="metrics">
                    <thead><tr><th scope="col">"Target"</th><th scope="col">"MAE"</th><th scope="col">"RMSE"</th><th scope="col">"R² / ROC-AUC"</th><th scope="col">"within ±1 spread (68 % if calibrated)"</th><th scope="col">"within ±2 spreads (95 %)"</th></tr></thead>
                    <tbody>{t.targets.iter().map(|x| view! {
                        <tr data-target=x.name.clone() data-fold-mae=serde_json::to_string(&x.fold_mae).unwrap_or_default()>
                            <th scope="row">{x.name.clone()}</th>
                            <td>{pm(&x.fold_mae)}</td>
                            <td>{pm(&x.fold_rmse)}</td>
                            <td>{if x.binary { pm(&x.fold_roc_auc) } else { pm(&x.fold_r2) }}</td>
                            <td class="within-1">{share(x.within_1sd)}</td>
                            <td class="within-2">{share(x.within_2sd)}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
                <p class="note">{format!("Mean ± standard deviation over {} folds. The figures are on the model's card (Model page).", t.folds)}</p>
                {(!t.chosen.is_empty()).then(|| view! {
                    <p class="note">"Each fold chose its configuration on its own training rows:"</p>
                    <ol id="trust-chosen">{t.chosen.iter().map(|c| view! { <li data-chosen=c.join(" ")><code>{c.join(" ")}</code></li> }).collect_view()}</ol>
                })}
                <div class="train-charts">
                    {(0..t.targets.len()).map(|k| view! { <div id=format!("trust-parity-{k}") class="plot"></div> }).collect_view()}
                    <div id="trust-box" class="plot"></div>
                </div>
            })}
        </section>
    }
}
