//! The results of a scored file: a paged table sortable by each prediction, a histogram per
//! target and, when the file has the true values, parity plots with their metrics.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use plotly::common::{DashType, Font, Line, Marker, Mode, Title};
use plotly::layout::{Axis, Margin};
use plotly::{Histogram, Layout, Scatter, Trace};

use super::section::{grouped, megabytes, shown};
use crate::platform::plot::{self, Figure, ensure_plotly, react, set_data};
use crate::scoring::Scored;

/// Rows per page of the results table.
const PAGE: usize = 50;
/// Most points drawn on a parity plot.
const PARITY_POINTS: usize = 5000;

#[component]
pub fn ResultsView(scored: Arc<Scored>, name: String) -> impl IntoView {
    let r = &scored.results;
    let n = r.ids.len();
    let sort = RwSignal::new(None::<(usize, bool)>);
    let page = RwSignal::new(0usize);
    let s = scored.clone();
    let order = Memo::new(move |_| {
        let mut idx: Vec<usize> = (0..s.results.ids.len()).collect();
        if let Some((t, desc)) = sort.get() {
            let v = &s.results.values[t];
            idx.sort_by(|&a, &b| {
                if desc {
                    v[b].total_cmp(&v[a])
                } else {
                    v[a].total_cmp(&v[b])
                }
            });
        }
        idx
    });
    let pages = n.div_ceil(PAGE).max(1);
    let rows_per_s = n as f64 / (scored.ms / 1000.0).max(1e-9);
    {
        let s = scored.clone();
        request_animation_frame(move || spawn_local(draw(s)));
    }
    let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
    let download_name = format!("{stem}-scored.csv");
    let s = scored.clone();
    let body = move || {
        let o = order.get();
        let start = page.get() * PAGE;
        o.iter().skip(start).take(PAGE).map(|&i| {
            let res = &s.results;
            view! {
                <tr data-row=res.rows[i] data-id=res.ids[i].clone()>
                    <td>{res.rows[i]}</td>
                    <td>{res.ids[i].clone()}</td>
                    {(0..res.targets.len()).map(|t| view! {
                        <td class="pred" data-target=res.targets[t].clone() data-value=res.values[t][i].to_string() data-spread=res.spread[t][i].to_string()>
                            {shown(res.values[t][i], res.binary[t])}
                            <span class="spread">{format!(" ± {}", shown(res.spread[t][i], res.binary[t]))}</span>
                        </td>
                    }).collect_view()}
                    <td class="domain" data-in-domain=res.domain[i].is_none().to_string() title=res.domain[i].clone().unwrap_or_default()>
                        {if res.domain[i].is_none() { "in domain" } else { "⚠ outside" }}
                    </td>
                </tr>
            }
        }).collect_view()
    };
    let header = r.targets.iter().enumerate().map(|(t, name)| {
        let title = r.titles.get(t).unwrap_or(name);
        let label = if r.units[t].is_empty() { title.clone() } else { format!("{title} ({})", r.units[t]) };
        let arrow = move || match sort.get() {
            Some((k, true)) if k == t => " ▼",
            Some((k, false)) if k == t => " ▲",
            _ => "",
        };
        let aria = move || match sort.get() {
            Some((k, true)) if k == t => "descending",
            Some((k, false)) if k == t => "ascending",
            _ => "none",
        };
        view! {
            <th aria-sort=aria>
                <button class="sort" data-target=name.clone() on:click=move |_| {
                    sort.update(|s| *s = match *s { Some((k, false)) if k == t => Some((t, true)), _ => Some((t, false)) });
                    page.set(0);
                }>{label}{arrow}</button>
            </th>
        }
    }).collect_view();
    view! {
        <div id="batch-results">
            <h3>"Results"</h3>
            <p id="batch-summary" data-scored=n data-skipped=r.skipped data-ms=format!("{:.1}", scored.ms)
                data-rows-per-s=format!("{rows_per_s:.0}") data-memory=format!("{:.0}", scored.memory_bytes)>
                {format!("Scored {} formulations in {:.2} s ({} per second){}.", grouped(n), scored.ms / 1000.0, grouped(rows_per_s as usize),
                    if r.skipped > 0 { format!("; {} skipped (the output's status column says why)", grouped(r.skipped)) } else { String::new() })}
            </p>
            <p><a id="batch-download" class="button" href=scored.url.clone() download=download_name>{format!("Download the results (CSV, {})", megabytes(scored.bytes))}</a></p>
            {r.metrics.iter().map(|m| view! {
                <dl class="batch-metrics" data-target=m.target.clone() data-n=m.n data-mae=m.mae.to_string() data-rmse=m.rmse.to_string()
                    data-r2=m.r2.map(|a| a.to_string()).unwrap_or_default() data-auc=m.roc_auc.map(|a| a.to_string()).unwrap_or_default()>
                    <dt>{format!("{} against the file's values (n = {})", title_of(&r.targets, &r.titles, &m.target), grouped(m.n))}</dt>
                    <dd>{if binary_target(&r.targets, &r.binary, &m.target) {
                        m.roc_auc.map_or("ROC-AUC undefined (one class only)".to_string(), |a| format!("ROC-AUC {a:.3}"))
                    } else {
                        format!("MAE {:.4} · RMSE {:.4} · R² {}", m.mae, m.rmse, m.r2.map_or("undefined".into(), |v| format!("{v:.3}")))
                    }}</dd>
                </dl>
            }).collect_view()}
            <div class="batch-plots">
                {r.targets.iter().enumerate().map(|(t, name)| view! {
                    <div id=format!("batch-hist-{t}") class="plot small" role="img" aria-label=format!("Histogram of predicted {}", r.titles.get(t).unwrap_or(name))></div>
                }).collect_view()}
                {r.truth_targets.iter().filter(|&&t| !r.binary[t]).map(|&t| view! {
                    <div id=format!("batch-parity-{t}") class="plot small" role="img" aria-label=format!("Predicted against true {}", r.targets[t])></div>
                }).collect_view()}
            </div>
            <table id="batch-table">
                <thead><tr><th>"Row"</th><th>"Id"</th>{header}<th>"Domain"</th></tr></thead>
                <tbody>{body}</tbody>
            </table>
            <div class="pager">
                <button id="batch-prev" disabled=move || page.get() == 0 on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>"← Previous"</button>
                <span id="batch-page" data-page=move || page.get()>{move || {
                    let start = page.get() * PAGE;
                    format!("{}–{} of {}", grouped((start + 1).min(n)), grouped((start + PAGE).min(n)), grouped(n))
                }}</span>
                <button id="batch-next" disabled={move || page.get() + 1 >= pages} on:click=move |_| page.update(|p| *p = (*p + 1).min(pages - 1))>"Next →"</button>
            </div>
        </div>
    }
}

fn binary_target(targets: &[String], binary: &[bool], name: &str) -> bool {
    targets
        .iter()
        .position(|t| t == name)
        .is_some_and(|t| binary[t])
}

/// Histograms of every target, parity plots of the targets with true values.
async fn draw(scored: Arc<Scored>) {
    if ensure_plotly().await.is_err() {
        return;
    }
    let r = &scored.results;
    for t in 0..r.targets.len() {
        let unit = if r.binary[t] {
            "probability".to_string()
        } else {
            r.units[t].clone()
        };
        let title = format!(
            "Predicted {}",
            plot::escape(r.titles.get(t).unwrap_or(&r.targets[t]))
        );
        let trace = Histogram::new(r.values[t].clone()).marker(Marker::new().color("#2a6f97"));
        let layout = Layout::new()
            .title(Title::with_text(title).font(Font::new().size(13)))
            .x_axis(Axis::new().title(Title::with_text(plot::escape(&unit))))
            .y_axis(Axis::new().title(Title::with_text("formulations")))
            .height(260)
            .margin(Margin::new().left(50).right(10).top(30).bottom(40))
            .bar_gap(0.05);
        let _ = react(&format!("batch-hist-{t}"), Figure::new(vec![trace], layout)).await;
        set_data(&format!("batch-hist-{t}"), &[("data-drawn", "true".into())]);
    }
    for (j, &t) in r.truth_targets.iter().enumerate() {
        if r.binary[t] {
            continue;
        }
        let (xs, ys): (Vec<f64>, Vec<f64>) = (r.truth[j].iter().zip(&r.values[t]))
            .filter_map(|(y, p)| y.map(|y| (y, *p)))
            .unzip();
        let lo = xs.iter().chain(&ys).copied().fold(f64::INFINITY, f64::min);
        let hi = xs
            .iter()
            .chain(&ys)
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        // SVG markers: past a few thousand, every k-th pair is drawn (the metrics use all).
        let step = xs.len().div_ceil(PARITY_POINTS).max(1);
        let px: Vec<f64> = xs.iter().step_by(step).copied().collect();
        let py: Vec<f64> = ys.iter().step_by(step).copied().collect();
        let note = if step > 1 {
            format!(" (every {step}th of {})", grouped(xs.len()))
        } else {
            String::new()
        };
        let unit = plot::escape(&r.units[t]);
        let title = format!(
            "{}: predicted vs true{note}",
            plot::escape(r.titles.get(t).unwrap_or(&r.targets[t]))
        );
        let traces: Vec<Box<dyn Trace>> = vec![
            Scatter::new(px.clone(), py)
                .mode(Mode::Markers)
                .marker(Marker::new().size(4).opacity(0.6).color("#2a6f97"))
                .name("formulations"),
            Scatter::new(vec![lo, hi], vec![lo, hi])
                .mode(Mode::Lines)
                .line(Line::new().color("#999").dash(DashType::Dot))
                .name("y = x"),
        ];
        let layout = Layout::new()
            .title(Title::with_text(title).font(Font::new().size(13)))
            .x_axis(Axis::new().title(Title::with_text(format!("true ({unit})"))))
            .y_axis(Axis::new().title(Title::with_text(format!("predicted ({unit})"))))
            .height(300)
            .margin(Margin::new().left(55).right(10).top(30).bottom(45))
            .show_legend(false);
        let id = format!("batch-parity-{t}");
        let _ = react(&id, Figure::new(traces, layout)).await;
        set_data(
            &id,
            &[
                ("data-drawn", "true".into()),
                ("data-points", xs.len().to_string()),
                ("data-shown", px.len().to_string()),
            ],
        );
    }
}

/// The title people read for the target column `name` (the column name when it has none).
fn title_of<'a>(targets: &[String], titles: &'a [String], name: &'a str) -> &'a str {
    (targets.iter().position(|t| t == name))
        .and_then(|i| titles.get(i))
        .map_or(name, String::as_str)
}
