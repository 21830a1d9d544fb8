//! With two or more goals, the candidates on the first two goals' desirabilities: the
//! trade-off a single ranking hides (with `"combine": "pareto"` they are the Pareto set).

use leptos::prelude::*;
use leptos::task::spawn_local;
use plotly::common::{Font, Marker, Mode, Position, Title};
use plotly::layout::{Axis, Margin};
use plotly::{Layout, Scatter};

use super::{DesignJob, Outcome};
use crate::platform::plot::{self, Figure, ensure_plotly, react, set_data};

async fn draw(o: &Outcome) -> Result<(), String> {
    ensure_plotly().await?;
    let x: Vec<f64> = o.candidates.iter().map(|c| c.goals[0]).collect();
    let y: Vec<f64> = o.candidates.iter().map(|c| c.goals[1]).collect();
    let ranks: Vec<String> = o.candidates.iter().map(|c| c.rank.to_string()).collect();
    let trace = Scatter::new(x, y)
        .mode(Mode::MarkersText)
        .text_array(ranks)
        .text_position(Position::TopCenter)
        .marker(Marker::new().size(9).color("#2f6fde"))
        .name("candidates");
    let title = |i: usize| Title::with_text(plot::escape(&format!("d: {}", o.goal_names[i])));
    let layout = Layout::new()
        .height(320)
        .margin(Margin::new().left(60).right(20).top(30).bottom(50))
        .title(Title::with_text("The candidates on the first two goals").font(Font::new().size(13)))
        .x_axis(Axis::new().title(title(0)).range(vec![-0.05, 1.05]))
        .y_axis(Axis::new().title(title(1)).range(vec![-0.05, 1.05]))
        .show_legend(false);
    react("design-pareto", Figure::new(vec![trace], layout)).await?;
    set_data(
        "design-pareto",
        &[("data-points", o.candidates.len().to_string())],
    );
    Ok(())
}

#[component]
pub fn Pareto() -> impl IntoView {
    let job = expect_context::<DesignJob>();
    let shown = move || {
        job.outcome.with(|o| {
            o.as_ref()
                .is_some_and(|o| !o.preliminary && o.goal_names.len() >= 2)
        })
    };
    Effect::new(move |_| {
        if let Some(o) = job
            .outcome
            .get()
            .filter(|o| !o.preliminary && o.goal_names.len() >= 2)
        {
            spawn_local(async move {
                if let Err(e) = draw(&o).await {
                    job.problem.set(Some(e));
                }
            });
        }
    });
    // Always in the page (hidden without two goals), so the drawing never waits for it.
    view! { <div id="design-pareto" class="plot small" role="img" aria-label="Candidates on the first two goals" hidden=move || !shown()></div> }
}
