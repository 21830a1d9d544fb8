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
use mixlab_core::sensitivity;
use plotly::common::{Fill, HoverInfo, Line, Marker, Mode, Orientation, Title};
use plotly::layout::{
    Axis, AxisType, GridPattern, LayoutGrid, Margin, Shape, ShapeLayer, ShapeLine, ShapeType,
};
use plotly::{Bar, Layout, Scatter, Trace};
use serde_json::{Value, json};

use crate::platform::browser::now_ms;
use crate::platform::plot::{self, Figure, ensure_plotly, react, set_data};
use crate::state::{Notice, State, engine, predicting};

/// Points on the response curve.
pub const CURVE_POINTS: usize = 100;

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

/// A y range holding the band and the current point, with a little room (log10 units on a log
/// axis, as plotly takes them).
fn y_range(values: &[f64], here: f64, log: bool) -> Vec<f64> {
    let scaled = |v: f64| {
        if log {
            v.max(f64::MIN_POSITIVE).log10()
        } else {
            v
        }
    };
    let (lo, hi) = values
        .iter()
        .chain([&here])
        .filter(|v| v.is_finite() && (!log || **v > 0.0))
        .map(|&v| scaled(v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() || !hi.is_finite() {
        return vec![0.0, 1.0];
    }
    let pad = 0.06 * (hi - lo).max(if log { 0.05 } else { 1e-9 * hi.abs().max(1.0) });
    vec![lo - pad, hi + pad]
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
        let mut traces: Vec<Box<dyn Trace>> = Vec::new();
        let mut axes = Vec::new();
        let mut curves = serde_json::Map::new();
        for (t, target) in m.targets.iter().enumerate() {
            let col = |r: usize| display(target.kind, p.values[r * p.targets + t]);
            let sd = |r: usize| display(target.kind, p.spread[r * p.targets + t]);
            let ys: Vec<f64> = (0..xs.len()).map(col).collect();
            // On a log axis the band's lower edge must stay positive.
            let log = target.transform == Transform::Log10;
            let lo = |r: usize| {
                let v = col(r) - sd(r);
                if log { v.max(0.05 * col(r)) } else { v }
            };
            let (x, y) = ("x".to_string(), format!("y{}", axis_suffix(t)));
            // The band as one closed polygon (lower edge out, upper edge back): one filled
            // path per subplot is what keeps the redraw within a frame.
            let band_x: Vec<f64> = xs.iter().chain(xs.iter().rev()).copied().collect();
            let band_y: Vec<f64> = (0..xs.len())
                .map(lo)
                .chain((0..xs.len()).rev().map(|r| col(r) + sd(r)))
                .collect();
            let range = y_range(&band_y, col(xs.len()), log);
            traces.push(
                Scatter::new(band_x, band_y)
                    .x_axis(&x)
                    .y_axis(&y)
                    .mode(Mode::Lines)
                    .line(Line::new().width(0.0))
                    .fill(Fill::ToSelf)
                    .fill_color("rgba(47,111,222,0.15)")
                    .hover_info(HoverInfo::Skip),
            );
            traces.push(
                Scatter::new(xs.clone(), ys.clone())
                    .x_axis(&x)
                    .y_axis(&y)
                    .mode(Mode::Lines)
                    .line(Line::new().color("#2f6fde"))
                    .name(plot::escape(target.title())),
            );
            traces.push(
                Scatter::new(vec![here], vec![col(xs.len())])
                    .x_axis(&x)
                    .y_axis(&y)
                    .mode(Mode::Markers)
                    .marker(Marker::new().size(10).color("#b42318"))
                    .name("current"),
            );
            let mut axis = Axis::new()
                .title(Title::with_text(axis_title(m, t)))
                .range(range);
            if log {
                axis = axis.type_(AxisType::Log);
            }
            axes.push((format!("yaxis{}", axis_suffix(t)), axis));
            curves.insert(target.name.clone(), json!(ys));
        }
        let x_lo = xs.first().copied().unwrap_or(0.0).min(here);
        let x_hi = xs.last().copied().unwrap_or(1.0).max(here);
        let pad = 0.02 * (x_hi - x_lo).max(1e-9);
        axes.push((
            "xaxis".into(),
            Axis::new()
                .title(Title::with_text(format!(
                    "{} (mass %)",
                    plot::escape(&name(mat))
                )))
                .range(vec![x_lo - pad, x_hi + pad]),
        ));
        // Fixed margins and ranges: plotly then lays the figure out once per draw.
        let mut layout = Layout::new()
            .height(150 * m.targets.len() + 70)
            .margin(Margin::new().left(80).right(20).top(10).bottom(45))
            .show_legend(false)
            .grid(
                LayoutGrid::new()
                    .rows(m.targets.len())
                    .columns(1)
                    .pattern(GridPattern::Coupled),
            );
        // Shade the material's training range: outside it the curve extrapolates.
        if let Some(info) = trained {
            layout = layout.shapes(vec![
                Shape::new()
                    .shape_type(ShapeType::Rect)
                    .x_ref("x")
                    .y_ref("paper")
                    .x0(100.0 * info.fraction_min)
                    .x1(100.0 * info.fraction_max)
                    .y0(0)
                    .y1(1)
                    .fill_color("rgba(16,185,129,0.08)")
                    .line(ShapeLine::new().width(0.0))
                    .layer(ShapeLayer::Below),
            ]);
        }
        let figure = axes
            .iter()
            .fold(Figure::new(traces, layout), |f, (key, axis)| {
                f.axis(key, axis)
            });
        react("response-curve", figure).await?;
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
    let materials: Vec<usize> = edit.form.rows.iter().map(|r| r.material).collect();
    let plan = sensitivity::Plan::new(&edit.form, materials);
    let p = engine
        .model
        .predict_async(&plan.batch(m, &edit.conds))
        .await
        .map_err(|e| format!("The sensitivities could not be computed: {e}"))?;
    let per_target = plan.deltas(&p);
    let fractions: serde_json::Map<String, Value> = edit
        .form
        .rows
        .iter()
        .map(|r| (name(r.material), json!(r.fraction)))
        .collect();
    let movable = &plan.moves;
    let names: Vec<String> = movable.iter().map(|(mat, _)| name(*mat)).collect();
    let labels: Vec<String> = names.iter().map(|n| plot::escape(n)).collect();
    let mut traces: Vec<Box<dyn Trace>> = Vec::new();
    let mut table = serde_json::Map::new();
    let mut figure_axes = Vec::new();
    for (t, target) in m.targets.iter().enumerate() {
        let axis = axis_suffix(t);
        let deltas: Vec<f64> = per_target[t]
            .iter()
            .map(|&d| display(target.kind, d))
            .collect();
        let colours: Vec<&'static str> = deltas
            .iter()
            .map(|d| if *d >= 0.0 { "#2f6fde" } else { "#b42318" })
            .collect();
        traces.push(
            Bar::new(deltas.clone(), labels.clone())
                .orientation(Orientation::Horizontal)
                .x_axis(format!("x{axis}"))
                .y_axis(format!("y{axis}"))
                .name(plot::escape(target.title()))
                .marker(Marker::new().color_array(colours)),
        );
        for (n, d) in names.iter().zip(&deltas) {
            let entry = table.entry(n.clone()).or_insert_with(|| json!({}));
            entry[&target.name] = json!(d);
        }
        figure_axes.push((
            format!("xaxis{axis}"),
            Axis::new()
                .title(Title::with_text(axis_title(m, t)))
                .zero_line(true),
        ));
        figure_axes.push((
            format!("yaxis{axis}"),
            Axis::new().auto_margin(true).show_tick_labels(t == 0),
        ));
    }
    let layout = Layout::new()
        .height(60 + 22 * names.len().max(3))
        .margin(Margin::new().left(10).right(20).top(30).bottom(40))
        .show_legend(false)
        .grid(
            LayoutGrid::new()
                .rows(1)
                .columns(m.targets.len())
                .pattern(GridPattern::Independent),
        );
    let figure = figure_axes
        .iter()
        .fold(Figure::new(traces, layout), |f, (key, axis)| {
            f.axis(key, axis)
        });
    react("sensitivity", figure).await?;
    set_data(
        "sensitivity",
        &[
            ("data-sensitivity", Value::Object(table).to_string()),
            // The formulation they answer (tests wait for the current one).
            ("data-fractions", Value::Object(fractions).to_string()),
        ],
    );
    state.analysis_seq.update(|s| *s += 1);
    Ok(())
}
