//! What the formulator looks at beside the numbers: the focused material's response curve
//! (each target as its fraction sweeps the material's training range with a margin, or 0 → its
//! maximum on request, under the q.s./rescale rule) and the
//! sensitivity of each target to +1 % of each material. Computed a moment after the last
//! input (the live prediction goes first), drawn with plotly.

use std::cell::Cell;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::bundle::{Manifest, TargetKind, Transform};
use mixlab_core::formulation::batch_of;
use serde_json::{Value, json};

use crate::platform::browser::now_ms;
use crate::platform::plot::{self, ensure_plotly, react, set_data};
use crate::state::{Notice, State, engine, predicting};

/// Points on the response curve.
pub const CURVE_POINTS: usize = 100;
/// The sensitivity step, as a fraction (+1 %).
const STEP: f64 = 0.01;

thread_local! {
    static TIMER: Cell<Option<TimeoutHandle>> = const { Cell::new(None) };
    static BUSY: Cell<bool> = const { Cell::new(false) };
    static AGAIN: Cell<bool> = const { Cell::new(false) };
    static DRAGGING: Cell<bool> = const { Cell::new(false) };
}

/// A slider is being dragged: the analysis waits for the release, so it never delays the
/// live prediction of the next pointer move.
pub fn set_dragging(state: State, on: bool) {
    DRAGGING.with(|d| d.set(on));
    if !on {
        schedule(state);
    }
}

/// Recompute soon: 60 ms after the last call, so a drag gets one analysis when it pauses.
pub fn schedule(state: State) {
    if let Some(t) = TIMER.with(|t| t.take()) {
        t.clear();
    }
    let handle = set_timeout_with_handle(move || start(state), Duration::from_millis(60)).ok();
    TIMER.with(|t| t.set(handle));
}

fn start(state: State) {
    if DRAGGING.with(Cell::get) {
        return; // set_dragging(false) schedules it
    }
    if predicting() {
        return schedule(state);
    }
    if BUSY.with(|b| b.replace(true)) {
        AGAIN.with(|a| a.set(true));
        return;
    }
    spawn_local(async move {
        loop {
            if let Err(e) = run(state).await {
                state.notice.set(Some(Notice::Error(e)));
            }
            if !AGAIN.with(|a| a.replace(false)) {
                break;
            }
        }
        BUSY.with(|b| b.set(false));
    });
}

fn display(kind: TargetKind, v: f64) -> f64 {
    match kind {
        TargetKind::Binary => 100.0 * v,
        TargetKind::Regression => v,
    }
}

/// Plotly's axis name suffix for subplot `t`: "", "2", "3"...
fn axis_suffix(t: usize) -> String {
    if t == 0 {
        String::new()
    } else {
        (t + 1).to_string()
    }
}

fn axis_title(m: &Manifest, t: usize) -> String {
    let target = &m.targets[t];
    match target.kind {
        TargetKind::Binary => format!("{} (P, %)", plot::escape(target.title())),
        TargetKind::Regression => plot::escape(&target.display_name()),
    }
}

async fn run(state: State) -> Result<(), String> {
    let Some(engine) = engine() else {
        return Ok(());
    };
    let edit = state.edit.get_untracked();
    let m = &engine.bundle.manifest;
    ensure_plotly().await?;
    let name = |mat: usize| {
        m.materials
            .get(mat)
            .map_or_else(String::new, |x| x.name.clone())
    };

    // Response curve of the focused material (+ the current formulation as the last row).
    let focus = state
        .focused
        .get_untracked()
        .and_then(|mat| edit.form.position(mat).map(|i| (mat, i)));
    if let Some((mat, i)) = focus {
        let t0 = now_ms();
        let trained = m.materials.get(mat).filter(|x| x.usage_count > 0);
        let sweep = match trained {
            Some(x) if !state.curve_full.get_untracked() => {
                let (lo, hi) = edit.form.training_span(i, x.fraction_min, x.fraction_max);
                edit.form.sweep_between(i, lo, hi, CURVE_POINTS)
            }
            _ => edit.form.sweep(i, CURVE_POINTS),
        };
        let rows = sweep.iter().map(|(_, f)| f).chain([&edit.form]);
        let batch = batch_of(m, rows, &edit.conds);
        let p = engine
            .model
            .predict_async(&batch)
            .await
            .map_err(|e| format!("The response curve could not be computed: {e}"))?;
        let t1 = now_ms();
        let xs: Vec<f64> = sweep.iter().map(|(v, _)| 100.0 * v).collect();
        let here = 100.0 * edit.form.rows[i].fraction;
        let mut data = Vec::new();
        let mut layout = json!({
            "height": 150 * m.targets.len() + 70,
            "margin": {"l": 70, "r": 20, "t": 10, "b": 45},
            "showlegend": false,
            "grid": {"rows": m.targets.len(), "columns": 1, "pattern": "coupled"},
        });
        let mut curves = serde_json::Map::new();
        for (t, target) in m.targets.iter().enumerate() {
            let axis = axis_suffix(t);
            let col = |r: usize| display(target.kind, p.values[r * p.targets + t]);
            let sd = |r: usize| display(target.kind, p.spread[r * p.targets + t]);
            let ys: Vec<f64> = (0..xs.len()).map(col).collect();
            // On a log axis the band's lower edge must stay positive.
            let log = target.transform == Transform::Log10;
            let lo: Vec<f64> = (0..xs.len())
                .map(|r| {
                    let v = col(r) - sd(r);
                    if log { v.max(0.05 * col(r)) } else { v }
                })
                .collect();
            let hi: Vec<f64> = (0..xs.len()).map(|r| col(r) + sd(r)).collect();
            let (x, y) = ("x".to_string(), format!("y{axis}"));
            data.push(
                json!({"x": xs, "y": lo, "xaxis": x, "yaxis": y, "mode": "lines",
                "line": {"width": 0}, "hoverinfo": "skip"}),
            );
            data.push(
                json!({"x": xs, "y": hi, "xaxis": x, "yaxis": y, "mode": "lines",
                "line": {"width": 0}, "fill": "tonexty", "fillcolor": "rgba(47,111,222,0.15)",
                "hoverinfo": "skip"}),
            );
            data.push(
                json!({"x": xs, "y": ys, "xaxis": x, "yaxis": y, "mode": "lines",
                "line": {"color": "#2f6fde"}, "name": plot::escape(target.title())}),
            );
            data.push(
                json!({"x": [here], "y": [col(xs.len())], "xaxis": x, "yaxis": y,
                "mode": "markers", "marker": {"size": 10, "color": "#b42318"}, "name": "current"}),
            );
            layout[format!("yaxis{axis}")] = json!({"title": {"text": axis_title(m, t)},
                "automargin": true, "type": if log { "log" } else { "linear" }});
            curves.insert(target.name.clone(), json!(ys));
        }
        layout["xaxis"] =
            json!({"title": {"text": format!("{} (mass %)", plot::escape(&name(mat)))}});
        // Shade the material's training range: outside it the curve extrapolates.
        if let Some(info) = trained {
            layout["shapes"] = json!([{"type": "rect", "xref": "x", "yref": "paper",
                "x0": 100.0 * info.fraction_min, "x1": 100.0 * info.fraction_max, "y0": 0, "y1": 1,
                "fillcolor": "rgba(16,185,129,0.08)", "line": {"width": 0}, "layer": "below"}]);
        }
        react("response-curve", &Value::Array(data), &layout).await?;
        let t2 = now_ms();
        set_data(
            "response-curve",
            &[
                ("data-material", name(mat)),
                ("data-x", json!(xs).to_string()),
                ("data-y", Value::Object(curves).to_string()),
                ("data-compute-ms", format!("{:.2}", t1 - t0)),
                ("data-plot-ms", format!("{:.2}", t2 - t1)),
            ],
        );
    }

    // Sensitivity: each target's change per +1 % of each material that can take it.
    let movable: Vec<(usize, _)> = (0..edit.form.rows.len())
        .filter_map(|i| {
            edit.form
                .nudged(i, STEP)
                .map(|f| (edit.form.rows[i].material, f))
        })
        .collect();
    let rows = std::iter::once(&edit.form).chain(movable.iter().map(|(_, f)| f));
    let batch = batch_of(m, rows, &edit.conds);
    let p = engine
        .model
        .predict_async(&batch)
        .await
        .map_err(|e| format!("The sensitivities could not be computed: {e}"))?;
    let names: Vec<String> = movable.iter().map(|(mat, _)| name(*mat)).collect();
    let mut data = Vec::new();
    let mut table = serde_json::Map::new();
    for (t, target) in m.targets.iter().enumerate() {
        let axis = axis_suffix(t);
        let base = p.values[t];
        let deltas: Vec<f64> = (1..=movable.len())
            .map(|r| display(target.kind, p.values[r * p.targets + t] - base))
            .collect();
        let labels: Vec<String> = names.iter().map(|n| plot::escape(n)).collect();
        data.push(json!({"type": "bar", "orientation": "h", "y": labels, "x": deltas,
            "xaxis": format!("x{axis}"), "yaxis": format!("y{axis}"), "name": plot::escape(target.title()),
            "marker": {"color": deltas.iter().map(|d| if *d >= 0.0 { "#2f6fde" } else { "#b42318" }).collect::<Vec<_>>()}}));
        for (n, d) in names.iter().zip(&deltas) {
            let entry = table.entry(n.clone()).or_insert_with(|| json!({}));
            entry[&target.name] = json!(d);
        }
    }
    let mut layout = json!({
        "height": 60 + 22 * names.len().max(3),
        "margin": {"l": 10, "r": 20, "t": 30, "b": 40},
        "showlegend": false,
        "grid": {"rows": 1, "columns": m.targets.len(), "pattern": "independent"},
    });
    for (t, _) in m.targets.iter().enumerate() {
        let axis = axis_suffix(t);
        layout[format!("xaxis{axis}")] =
            json!({"title": {"text": axis_title(m, t)}, "zeroline": true});
        layout[format!("yaxis{axis}")] = json!({"automargin": true, "showticklabels": t == 0});
    }
    react("sensitivity", &Value::Array(data), &layout).await?;
    set_data(
        "sensitivity",
        &[("data-sensitivity", Value::Object(table).to_string())],
    );
    state.analysis_seq.update(|s| *s += 1);
    Ok(())
}
