//! The plotly figure of a view: colours, sizes, positions, the focus and its neighbours.

use plotly::common::{
    ColorBar, ColorScale, ColorScalePalette, Font, HoverInfo, Line, Marker, Mode, Position, Title,
};
use plotly::layout::{
    Annotation, Axis, Camera as SceneCamera, DragMode, HoverMode, LayoutScene, Margin,
};
use plotly::{Layout, Scatter, Scatter3D, Trace};

use super::*;
use crate::platform::plot::Figure;

/// What every trace drawn over the points shares: no hover, a name, no legend entry.
macro_rules! overlay {
    ($trace:expr, $name:literal) => {
        $trace
            .hover_info(HoverInfo::Skip)
            .name($name)
            .show_legend(false)
    };
}

/// Models of up to this many materials have every point named on the map.
const NAMED_ALL: usize = 40;
/// Past that, at most this many selected points are named.
const NAMED_SOME: usize = 50;

pub(super) const PALETTE: [&str; 12] = [
    "#2f6fde", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8", "#0c8599", "#f08c00", "#5c940d",
    "#862e9c", "#d6336c", "#495057", "#1098ad",
];

/// How the points are coloured: one colour, a colour per point, or numbers on a colour scale
/// (with the colour bar's title).
pub(super) enum Paint {
    One(&'static str),
    Each(Vec<&'static str>),
    Scale(Vec<f64>, String),
}

/// Marker colours for the view's colouring, and a hover line per point where it names a group.
pub(super) fn colours(ex: Explorer, md: &ModelData, v: &View) -> (Paint, Vec<String>) {
    let continuous = |values: &[f64], title: &str| {
        (Paint::Scale(values.to_vec(), title.to_string()), Vec::new())
    };
    match &v.colour {
        Colour::Influence => continuous(&md.influence, md.influence_title),
        Colour::Usage => continuous(&md.usage, "formulations using it"),
        Colour::Cluster(k) => {
            let labels = colour::kmeans(&md.reps, md.n, md.d, *k, 1);
            let c = labels.iter().map(|l| PALETTE[l % PALETTE.len()]).collect();
            let text = labels
                .iter()
                .map(|l| format!("cluster {}", l + 1))
                .collect();
            (Paint::Each(c), text)
        }
        Colour::Metadata(key) => {
            let Some(values) = md.with_bundle(|b| colour::metadata_values(&b.manifest, key)) else {
                return (Paint::One("#2f6fde"), Vec::new());
            };
            match values {
                MetadataValues::Numbers(nums) => {
                    // A material without the value has none: NaN is written as null.
                    let values: Vec<f64> = nums.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
                    continuous(&values, &plot::escape(key))
                }
                MetadataValues::Categories { names, of } => {
                    let c = of
                        .iter()
                        .map(|i| i.map_or("#bbbbbb", |i| PALETTE[i % PALETTE.len()]))
                        .collect();
                    let text = of
                        .iter()
                        .map(|i| i.map_or("(none)".to_string(), |i| names[i].clone()))
                        .map(|n| plot::escape(&format!("{key}: {n}")))
                        .collect();
                    (Paint::Each(c), text)
                }
            }
        }
        Colour::Sensitivity(t) => {
            let title = ex
                .state
                .compute
                .engine()
                .and_then(|e| {
                    e.bundle
                        .manifest
                        .targets
                        .get(*t)
                        .map(|x| format!("Δ {} per +1 %", plot::escape(&x.display_name())))
                })
                .unwrap_or_default();
            match ex.sensitivity.get_untracked() {
                Some(s) => continuous(s.get(*t).map_or(&[][..], |v| v.as_slice()), &title),
                None => (Paint::One("#bbbbbb"), Vec::new()),
            }
        }
    }
}

/// The points' marker: colour (and scale), size, outline.
fn marker(paint: Paint, sizes: Option<Vec<usize>>, diverging: bool, bar: bool) -> Marker {
    let mut m = match sizes {
        Some(s) => Marker::new().size_array(s),
        None => Marker::new().size(9),
    };
    m = m.line(Line::new().width(0.5).color("#333"));
    match paint {
        Paint::One(c) => m.color(c),
        Paint::Each(c) => m.color_array(c),
        Paint::Scale(values, title) => {
            let palette = if diverging {
                ColorScalePalette::RdBu
            } else {
                ColorScalePalette::Viridis
            };
            m = m
                .color_array(values)
                .color_scale(ColorScale::Palette(palette))
                .show_scale(bar)
                .color_bar(ColorBar::new().title(Title::with_text(title)));
            if diverging { m.cmid(0.0) } else { m }
        }
    }
}

/// The coordinates to draw for `coords`: the trained ones, or a training snapshot on the
/// trained codes' PCA axes (the step slider).
pub(super) fn positions(md: &ModelData, v: &View, coords: &Coords) -> (Vec<f64>, bool) {
    if let Some(s) = v.step.filter(|s| *s < md.snapshots.len()) {
        return (
            md.basis(coords.spec.dims).apply(&md.snapshots[s], md.n),
            true,
        );
    }
    (coords.data.iter().map(|&v| f64::from(v)).collect(), false)
}

pub(super) fn figure(
    ex: Explorer,
    md: &ModelData,
    v: &View,
    coords: &Coords,
    main: bool,
) -> Figure {
    let dims = coords.spec.dims;
    let (pos, snapshot) = positions(md, v, coords);
    let axis = |a: usize| -> Vec<f64> { (0..md.n).map(|i| pos[i * dims + a]).collect() };
    let (paint, extra) = colours(ex, md, v);
    let max_usage = md.usage.iter().cloned().fold(1.0f64, f64::max);
    let sizes = v.size_by_usage.then(|| {
        md.usage
            .iter()
            .map(|u| (6.0 + 12.0 * (u / max_usage).sqrt()).round() as usize)
            .collect()
    });
    let hover: Vec<String> = md
        .hover
        .iter()
        .enumerate()
        .map(|(i, h)| match extra.get(i) {
            Some(x) => format!("{h}<br>{x}"),
            None => h.clone(),
        })
        .collect();
    let diverging = matches!(v.colour, Colour::Sensitivity(_));
    let marker = marker(paint, sizes, diverging, main);
    let ids: Vec<usize> = (0..md.n).collect();
    let mut traces: Vec<Box<dyn Trace>> = Vec::new();
    if dims == 3 {
        traces.push(
            Scatter3D::new(axis(0), axis(1), axis(2))
                .mode(Mode::Markers)
                .marker(marker.line(Line::new().width(0.0)))
                .text_array(hover)
                .hover_template("%{text}<extra></extra>")
                .custom_data(ids)
                .name("materials")
                .show_legend(false),
        );
    } else {
        traces.push(
            Scatter::new(axis(0), axis(1))
                .web_gl_mode(true)
                .mode(Mode::Markers)
                .marker(marker)
                .text_array(hover)
                .hover_template("%{text}<extra></extra>")
                .custom_data(ids)
                .name("materials")
                .show_legend(false),
        );
    }
    // Names on the map: every point while there are few enough to read, else the selected
    // points and the focused material's neighbours (the focus has its own label).
    let focus = v.focus.filter(|f| *f < md.n);
    let near = focus
        .map(|f| md.nearest(f, v.neighbours, v.distance))
        .unwrap_or_default();
    let named: Vec<usize> = if md.n <= NAMED_ALL {
        (0..md.n).collect()
    } else {
        let mut n: Vec<usize> = v.selection.iter().copied().take(NAMED_SOME).collect();
        n.extend(near.iter().map(|nb| nb.index));
        n.sort_unstable();
        n.dedup();
        n
    };
    let named: Vec<usize> = named
        .into_iter()
        .filter(|&i| Some(i) != focus && i < md.n)
        .collect();
    let name_of = |i: usize| plot::escape(&md.names[i]);
    let mut annotations: Vec<Annotation> = Vec::new();
    // Trace index of the 3-D names (their font is set by name: see below).
    let mut names_trace = None;
    if dims == 3 {
        if !named.is_empty() {
            let at = |k: usize| named.iter().map(|&i| pos[i * dims + k]).collect::<Vec<_>>();
            names_trace = Some(traces.len());
            traces.push(overlay!(
                Scatter3D::new(at(0), at(1), at(2))
                    .mode(Mode::Text)
                    .text_array(named.iter().map(|&i| name_of(i)).collect())
                    .text_position(Position::TopCenter),
                "names"
            ));
        }
    } else {
        annotations.extend(named.iter().map(|&i| {
            Annotation::new()
                .x(pos[i * dims])
                .y(pos[i * dims + 1])
                .text(name_of(i))
                .show_arrow(false)
                .y_shift(11.0)
                .font(Font::new().size(10).color("#333"))
        }));
    }
    // The focused material and lines to its nearest materials (found in the full code space).
    if let Some(f) = focus {
        let (mut lx, mut ly, mut lz) = (Vec::new(), Vec::new(), Vec::new());
        for nb in &near {
            for p in [f, nb.index] {
                lx.push(Some(pos[p * dims]));
                ly.push(Some(pos[p * dims + 1]));
                if dims == 3 {
                    lz.push(Some(pos[p * dims + 2]));
                }
            }
            lx.push(None);
            ly.push(None);
            lz.push(None);
        }
        let line = Line::new().color("#b42318").width(2.0);
        let ring = Marker::new()
            .size(16)
            .color("rgba(0,0,0,0)")
            .line(Line::new().width(3.0).color("#b42318"));
        let at = |k: usize| vec![pos[f * dims + k]];
        if dims == 3 {
            let focus = Scatter3D::new(at(0), at(1), at(2))
                .mode(Mode::MarkersText)
                .marker(ring)
                .text_array(vec![name_of(f)])
                .text_position(Position::TopCenter);
            traces.push(overlay!(
                Scatter3D::new(lx, ly, lz).mode(Mode::Lines).line(line),
                "nearest"
            ));
            traces.push(overlay!(focus, "focus"));
        } else {
            let lines = Scatter::new(lx, ly).web_gl_mode(true).mode(Mode::Lines);
            let focus = Scatter::new(at(0), at(1)).web_gl_mode(true);
            traces.push(overlay!(lines.line(line), "nearest"));
            traces.push(overlay!(focus.mode(Mode::Markers).marker(ring), "focus"));
            // The name as an annotation: scattergl draws no text.
            annotations.push(
                Annotation::new()
                    .x(pos[f * dims])
                    .y(pos[f * dims + 1])
                    .text(name_of(f))
                    .show_arrow(true)
                    .arrow_head(0)
                    .ax(0)
                    .ay(-24)
                    .font(Font::new().color("#b42318")),
            );
        }
    }
    let title = if snapshot {
        let s = v.step.unwrap_or(0);
        format!(
            "training step {} (PCA axes of the trained codes)",
            md.steps.get(s).copied().unwrap_or(0)
        )
    } else {
        format!("{} {}-D", coords.spec.method.label(), dims)
    };
    let title = match (main, &v.other) {
        (false, Some(_)) => format!("{}: {title}", plot::escape(&md.label)),
        _ => title,
    };
    let mut layout = Layout::new()
        .height(520)
        .margin(Margin::new().left(40).right(10).top(36).bottom(36))
        .title(Title::with_text(title).font(Font::new().size(14)))
        .hover_mode(HoverMode::Closest)
        .drag_mode(if dims == 2 {
            DragMode::Lasso
        } else {
            DragMode::Orbit
        });
    if !annotations.is_empty() {
        layout = layout.annotations(annotations);
    }
    if dims == 2 {
        let (mut x, mut y) = (Axis::new().zero_line(false), Axis::new().zero_line(false));
        if main && let Some(Camera::Ranges(r)) = &v.camera {
            x = x.range(vec![r[0], r[1]]);
            y = y.range(vec![r[2], r[3]]);
        }
        layout = layout.x_axis(x).y_axis(y);
    } else if main && let Some(Camera::Eye(e)) = &v.camera {
        layout = layout.scene(
            LayoutScene::new().camera(
                SceneCamera::new()
                    .eye((e[0], e[1], e[2]).into())
                    .center((e[3], e[4], e[5]).into())
                    .up((e[6], e[7], e[8]).into()),
            ),
        );
    }
    // What plotly.rs 0.14 does not model, set by name: the revision that keeps the user's
    // zoom across redraws, the selection's dimming, and the 3-D names' font.
    let mut figure = Figure::new(traces, layout)
        .layout_attr("uirevision", json!(format!("{}-{}", coords.spec, snapshot)));
    if !v.selection.is_empty() {
        figure = figure
            .trace_attr(
                0,
                "selectedpoints",
                json!(v.selection.iter().collect::<Vec<_>>()),
            )
            .trace_attr(0, "unselected", json!({"marker": {"opacity": 0.2}}));
    }
    if let Some(i) = names_trace {
        figure = figure.trace_attr(i, "textfont", json!({"size": 10, "color": "#333"}));
    }
    figure
}
