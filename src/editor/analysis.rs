//! What the formulator looks at beside the numbers: the focused material's response curve
//! (each target as its fraction sweeps the material's training range with a margin, or 0 → its
//! maximum on request, under the q.s./rescale rule) and the
//! sensitivity of each target to +1 % of each material. Computed a moment after the last
//! input (the live prediction goes first), drawn with plotly.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mixlab_core::bundle::{Manifest, TargetKind, Transform};
use mixlab_core::formulation::batch_of;
use mixlab_core::{chart, sensitivity};
use plotly::common::{Marker, Orientation, Title};
use plotly::layout::{Axis, GridPattern, LayoutGrid, Margin};
use plotly::{Bar, Layout, Trace};
use serde_json::{Value, json};

use crate::platform::browser::now_ms;
use crate::platform::plot::{self, Figure, ensure_plotly, react, set_data};
use crate::state::{Notice, State};

/// Points on the response curve.
pub const CURVE_POINTS: usize = 100;

/// The analysis job: its own signals and the debounce. It follows the edited formulation and
/// the engine by itself (an effect), so the shared state knows nothing of it.
#[derive(Clone, Copy)]
pub struct AnalysisJob {
    state: State,
    /// Bumped when analysis (curve, sensitivity) results are drawn.
    pub seq: RwSignal<u64>,
    /// The response curve sweeps 0 → all the q.s. leaves, instead of the training range.
    pub curve_full: RwSignal<bool>,
    timer: StoredValue<Option<TimeoutHandle>>,
    running: StoredValue<bool>,
    again: StoredValue<bool>,
    dragging: StoredValue<bool>,
}

impl AnalysisJob {
    pub fn new(state: State) -> Self {
        let job = AnalysisJob {
            state,
            seq: RwSignal::new(0),
            curve_full: RwSignal::new(false),
            timer: StoredValue::new(None),
            running: StoredValue::new(false),
            again: StoredValue::new(false),
            dragging: StoredValue::new(false),
        };
        // Any edit, or another model or device: recompute (debounced).
        Effect::new(move |_| {
            state.edit.track();
            state.compute.generation.track();
            job.schedule();
        });
        job
    }

    /// A slider is being dragged: the analysis waits for the release, so it never delays the
    /// live prediction of the next pointer move.
    pub fn set_dragging(self, on: bool) {
        self.dragging.set_value(on);
        if !on {
            self.schedule();
        }
    }

    /// Recompute soon: 60 ms after the last call, so a drag gets one analysis when it pauses.
    pub fn schedule(self) {
        if let Some(t) = self.timer.try_update_value(Option::take).flatten() {
            t.clear();
        }
        let handle = set_timeout_with_handle(move || self.start(), Duration::from_millis(60)).ok();
        self.timer.set_value(handle);
    }

    fn start(self) {
        if self.dragging.get_value() {
            return; // set_dragging(false) schedules it
        }
        if self.state.live.predicting() {
            return self.schedule();
        }
        if self.running.get_value() {
            self.again.set_value(true);
            return;
        }
        self.running.set_value(true);
        spawn_local(async move {
            loop {
                if let Err(e) = run(self).await {
                    self.state.notice.set(Some(Notice::Error(e)));
                }
                if !self.again.try_update_value(std::mem::take).unwrap_or(false) {
                    break;
                }
            }
            self.running.set_value(false);
        });
    }
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
        TargetKind::Binary => format!("{} (P, %)", target.title()),
        TargetKind::Regression => target.display_name(),
    }
}

async fn run(job: AnalysisJob) -> Result<(), String> {
    let state = job.state;
    let Some(engine) = state.compute.engine() else {
        return Ok(());
    };
    let edit = state.edit.get_untracked();
    let m = &engine.bundle.manifest;
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
            Some(x) if !job.curve_full.get_untracked() => {
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
        let mut curves = serde_json::Map::new();
        let panels = m
            .targets
            .iter()
            .enumerate()
            .map(|(t, target)| {
                let col = |r: usize| display(target.kind, p.values[r * p.targets + t]);
                let sd = |r: usize| display(target.kind, p.spread[r * p.targets + t]);
                let mid: Vec<f64> = (0..xs.len()).map(col).collect();
                // On a log axis the band's lower edge must stay positive.
                let log = target.transform == Transform::Log10;
                let band = (0..xs.len())
                    .map(|r| {
                        let lo = col(r) - sd(r);
                        let lo = if log { lo.max(0.05 * col(r)) } else { lo };
                        (lo, col(r) + sd(r))
                    })
                    .collect();
                curves.insert(target.name.clone(), json!(mid));
                chart::Panel {
                    title: axis_title(m, t),
                    log,
                    band,
                    mid,
                    here: col(xs.len()),
                }
            })
            .collect();
        let curve = chart::Curve {
            x_title: format!("{} (mass %)", name(mat)),
            here: 100.0 * edit.form.rows[i].fraction,
            // Shade the material's training range: outside it the curve extrapolates.
            shade: trained.map(|x| (100.0 * x.fraction_min, 100.0 * x.fraction_max)),
            panels,
            xs: xs.clone(),
        };
        // An SVG the app writes itself: plotly's redraw of these subplots took ~30 ms, this
        // stays within a frame (docs/benchmarks.md). Layout is forced so the time counts it.
        if let Some(el) = document().get_element_by_id("response-curve") {
            let width = f64::from(el.client_width().max(300));
            el.set_inner_html(&chart::svg(&curve, width));
            let _ = el.client_height();
        }
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
    ensure_plotly().await?;
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
                .title(Title::with_text(plot::escape(&axis_title(m, t))))
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
    job.seq.update(|s| *s += 1);
    Ok(())
}
