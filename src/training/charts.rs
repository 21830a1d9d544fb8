//! The two live pictures of a run: the learning curve (train and validation loss) and the
//! map of the materials' codes leaving the origin. Drawn as the worker reports, one draw at a
//! time (a report that comes while one is drawn waits for it, and only the newest is drawn).

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use plotly::common::{Font, Marker, Mode, Title};
use plotly::layout::{Axis, AxisType, Margin};
use plotly::{Layout, Scatter};

use super::TrainJob;
use crate::platform::browser;
use crate::platform::plot::{self, Figure, ensure_plotly, react, set_data};

async fn draw_curve(job: TrainJob) -> Result<(), String> {
    ensure_plotly().await?;
    let curve = job.curve.get_untracked();
    let steps: Vec<usize> = curve.iter().map(|p| p.step).collect();
    let train: Vec<f64> = curve.iter().map(|p| p.train).collect();
    let mut traces: Vec<Box<dyn plotly::Trace>> = vec![
        Scatter::new(steps.clone(), train)
            .mode(Mode::Lines)
            .name("training (mini-batches)"),
    ];
    let validation: Vec<f64> = curve.iter().filter_map(|p| p.validation).collect();
    if validation.len() == curve.len() && !validation.is_empty() {
        traces.push(
            Scatter::new(steps, validation)
                .mode(Mode::Lines)
                .name("validation"),
        );
    }
    let layout = Layout::new()
        .height(280)
        .margin(Margin::new().left(60).right(20).top(30).bottom(45))
        .title(Title::with_text("Loss (standardised units)").font(Font::new().size(13)))
        .x_axis(Axis::new().title(Title::with_text("step")))
        .y_axis(Axis::new().type_(AxisType::Log));
    react("train-curve", Figure::new(traces, layout)).await?;
    set_data("train-curve", &[("data-points", curve.len().to_string())]);
    Ok(())
}

async fn draw_map(job: TrainJob, reach: f64) -> Result<(), String> {
    ensure_plotly().await?;
    let Some(xy) = job.map.get_untracked() else {
        return Ok(());
    };
    let names = job.names.get_untracked();
    let n = xy.len() / 2;
    // Thousands of points redrawn several times a second would hold the page: an even sample
    // shows the spreading as well (the explorer shows every material afterwards).
    let stride = n.div_ceil(MAP_POINTS).max(1);
    let shown: Vec<usize> = (0..n).step_by(stride).collect();
    let x: Vec<f64> = shown.iter().map(|&i| xy[2 * i]).collect();
    let y: Vec<f64> = shown.iter().map(|&i| xy[2 * i + 1]).collect();
    let text: Vec<String> = (shown.iter())
        .map(|&i| plot::escape(names.get(i).map_or("", String::as_str)))
        .collect();
    // Few materials are named on the map; many are named on hover.
    let trace = Scatter::new(x, y)
        .mode(if n <= 40 {
            Mode::MarkersText
        } else {
            Mode::Markers
        })
        .text_array(text)
        .text_position(plotly::common::Position::TopCenter)
        .text_font(Font::new().size(10))
        .hover_info(plotly::common::HoverInfo::Text)
        .marker(Marker::new().size(7).color("#2f6fde").opacity(0.8));
    let code_dim = job.setup.with_untracked(|s| s.options.code_dim);
    let axes = if code_dim <= 2 {
        ("code 1", "code 2")
    } else {
        ("PC 1", "PC 2")
    };
    let range = vec![-reach, reach];
    let layout = Layout::new()
        .height(360)
        .margin(Margin::new().left(50).right(20).top(30).bottom(45))
        .title(
            Title::with_text(if stride > 1 {
                format!(
                    "The materials' codes as they learn ({} of {n}, every {stride}th)",
                    shown.len()
                )
            } else {
                "The materials' codes as they learn".to_string()
            })
            .font(Font::new().size(13)),
        )
        .x_axis(
            Axis::new()
                .title(Title::with_text(axes.0))
                .range(range.clone())
                .zero_line(true),
        )
        .y_axis(
            Axis::new()
                .title(Title::with_text(axes.1))
                .range(range)
                .zero_line(true),
        )
        .show_legend(false);
    react("train-map", Figure::new(vec![trace], layout)).await?;
    let spread = (xy.iter().map(|v| v * v).sum::<f64>() / n.max(1) as f64).sqrt();
    set_data(
        "train-map",
        &[
            ("data-points", shown.len().to_string()),
            ("data-materials", n.to_string()),
            ("data-spread", format!("{spread:.6}")),
        ],
    );
    Ok(())
}

/// Points on the live map at most.
const MAP_POINTS: usize = 1500;

type Drawing = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

/// Draw `what` whenever `changed` fires, one draw at a time, and after a draw rest twice as
/// long as it took: drawing holds the page's thread (and its progress bar) at most a third of
/// the time, however large the picture.
fn follow(changed: impl Fn() -> bool + 'static, what: impl Fn() -> Drawing + 'static) {
    let busy = Rc::new(Cell::new(false));
    let again = Rc::new(Cell::new(false));
    let what = Rc::new(what);
    Effect::new(move |_| {
        if !changed() {
            return;
        }
        if busy.replace(true) {
            again.set(true);
            return;
        }
        let (busy, again, what) = (busy.clone(), again.clone(), what.clone());
        spawn_local(async move {
            loop {
                let started = browser::now_ms();
                what().await;
                if !again.replace(false) {
                    break;
                }
                browser::sleep_ms(2.0 * (browser::now_ms() - started)).await;
            }
            busy.set(false);
        });
    });
}

#[component]
pub fn Charts() -> impl IntoView {
    let job = expect_context::<TrainJob>();
    // The map's axes only grow, so the codes are seen to spread instead of the view zooming.
    let reach = Rc::new(Cell::new(0.0f64));
    let restart = reach.clone();
    Effect::new(move |_| {
        if job.map.with(Option::is_none) {
            restart.set(0.0);
        }
    });
    follow(
        move || job.curve.with(|c| !c.is_empty()),
        move || {
            Box::pin(async move {
                if let Err(e) = draw_curve(job).await {
                    job.problem.set(Some(e));
                }
            })
        },
    );
    follow(
        move || job.map.with(Option::is_some),
        move || {
            let reach = reach.clone();
            Box::pin(async move {
                let far = job.map.with_untracked(|m| {
                    m.as_ref()
                        .map_or(0.0, |m| m.iter().fold(0.0f64, |a, v| a.max(v.abs())))
                });
                let code_dim = job.setup.with_untracked(|s| s.options.code_dim);
                let floor = if code_dim <= 2 { 1.05 } else { 0.05 };
                reach.set(reach.get().max(far * 1.1).max(floor));
                if let Err(e) = draw_map(job, reach.get()).await {
                    job.problem.set(Some(e));
                }
            })
        },
    );
    let shown = move || job.curve.with(|c| !c.is_empty());
    view! {
        <div class="train-charts" hidden=move || !shown()>
            <div id="train-curve" class="plot"></div>
            <div id="train-map" class="plot"></div>
        </div>
    }
}
