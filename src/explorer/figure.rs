//! The plotly figure of a view: colours, sizes, positions, the focus and its neighbours.

use super::*;

/// Models of up to this many materials have every point named on the map.
const NAMED_ALL: usize = 40;
/// Past that, at most this many selected points are named.
const NAMED_SOME: usize = 50;

pub(super) const PALETTE: [&str; 12] = [
    "#2f6fde", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8", "#0c8599", "#f08c00", "#5c940d",
    "#862e9c", "#d6336c", "#495057", "#1098ad",
];

/// Marker colours (and a colour bar title) for the view's colouring.
pub(super) fn colours(
    ex: Explorer,
    md: &ModelData,
    v: &View,
) -> (Value, Option<String>, Vec<String>) {
    let continuous =
        |values: &[f64], title: &str| (json!(values), Some(title.to_string()), Vec::new());
    match &v.colour {
        Colour::Influence => continuous(&md.influence, "influence ‖act(code)‖"),
        Colour::Usage => continuous(&md.usage, "formulations using it"),
        Colour::Cluster(k) => {
            let labels = colour::kmeans(&md.reps, md.n, md.d, *k, 1);
            let c: Vec<&str> = labels.iter().map(|l| PALETTE[l % PALETTE.len()]).collect();
            let text = labels
                .iter()
                .map(|l| format!("cluster {}", l + 1))
                .collect();
            (json!(c), None, text)
        }
        Colour::Metadata(key) => {
            let Some(values) = md.with_bundle(|b| colour::metadata_values(&b.manifest, key)) else {
                return (json!("#2f6fde"), None, Vec::new());
            };
            match values {
                MetadataValues::Numbers(nums) => {
                    let vals: Vec<Value> = nums.iter().map(|v| json!(v)).collect();
                    (json!(vals), Some(plot::escape(key)), Vec::new())
                }
                MetadataValues::Categories { names, of } => {
                    let c: Vec<&str> = of
                        .iter()
                        .map(|i| i.map_or("#bbbbbb", |i| PALETTE[i % PALETTE.len()]))
                        .collect();
                    let text = of
                        .iter()
                        .map(|i| i.map_or("(none)".to_string(), |i| names[i].clone()))
                        .map(|n| plot::escape(&format!("{key}: {n}")))
                        .collect();
                    (json!(c), None, text)
                }
            }
        }
        Colour::Sensitivity(t) => {
            let title = engine()
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
                None => (json!("#bbbbbb"), None, Vec::new()),
            }
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
) -> (Value, Value) {
    let dims = coords.spec.dims;
    let (pos, snapshot) = positions(md, v, coords);
    let axis = |a: usize| -> Vec<f64> { (0..md.n).map(|i| pos[i * dims + a]).collect() };
    let (colour, bar, extra) = colours(ex, md, v);
    let max_usage = md.usage.iter().cloned().fold(1.0f64, f64::max);
    let size: Value = if v.size_by_usage {
        json!(
            md.usage
                .iter()
                .map(|u| 6.0 + 12.0 * (u / max_usage).sqrt())
                .collect::<Vec<_>>()
        )
    } else {
        json!(9)
    };
    let hover: Vec<String> = md
        .hover
        .iter()
        .enumerate()
        .map(|(i, h)| match extra.get(i) {
            Some(x) => format!("{h}<br>{x}"),
            None => h.clone(),
        })
        .collect();
    let mut marker =
        json!({"color": colour, "size": size, "line": {"width": 0.5, "color": "#333"}});
    if let Some(title) = &bar {
        marker["colorscale"] = json!(if matches!(v.colour, Colour::Sensitivity(_)) {
            "RdBu"
        } else {
            "Viridis"
        });
        marker["showscale"] = json!(main);
        marker["colorbar"] = json!({"title": {"text": title}});
        if matches!(v.colour, Colour::Sensitivity(_)) {
            marker["cmid"] = json!(0.0);
        }
    }
    let ids: Vec<usize> = (0..md.n).collect();
    let mut points = json!({
        "x": axis(0), "y": axis(1), "mode": "markers", "marker": marker,
        "text": hover, "hovertemplate": "%{text}<extra></extra>", "customdata": ids,
        "name": "materials", "showlegend": false,
    });
    points["type"] = json!(if dims == 3 { "scatter3d" } else { "scattergl" });
    if dims == 3 {
        points["z"] = json!(axis(2));
        points["marker"]["line"] = json!({"width": 0});
    }
    if !v.selection.is_empty() {
        points["selectedpoints"] = json!(v.selection.iter().collect::<Vec<_>>());
        points["unselected"] = json!({"marker": {"opacity": 0.2}});
    }
    let mut data = vec![points];
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
    let mut annotations: Vec<Value> = Vec::new();
    if dims == 3 {
        if !named.is_empty() {
            let at = |k: usize| named.iter().map(|&i| pos[i * dims + k]).collect::<Vec<_>>();
            data.push(
                json!({"type": "scatter3d", "mode": "text", "x": at(0), "y": at(1), "z": at(2),
                "text": named.iter().map(|&i| plot::escape(&md.names[i])).collect::<Vec<_>>(),
                "textposition": "top center", "textfont": {"size": 10, "color": "#333"},
                "hoverinfo": "skip", "name": "names", "showlegend": false}),
            );
        }
    } else {
        annotations.extend(named.iter().map(|&i| {
            json!({"x": pos[i * dims], "y": pos[i * dims + 1], "text": plot::escape(&md.names[i]),
                "showarrow": false, "yshift": 11, "font": {"size": 10, "color": "#333"}})
        }));
    }
    // The focused material and lines to its nearest materials (found in the full code space).
    let mut label = None;
    if let Some(f) = focus {
        let (mut lx, mut ly, mut lz) = (Vec::new(), Vec::new(), Vec::new());
        for nb in &near {
            for p in [f, nb.index] {
                lx.push(json!(pos[p * dims]));
                ly.push(json!(pos[p * dims + 1]));
                if dims == 3 {
                    lz.push(json!(pos[p * dims + 2]));
                }
            }
            lx.push(Value::Null);
            ly.push(Value::Null);
            lz.push(Value::Null);
        }
        let kind = if dims == 3 { "scatter3d" } else { "scattergl" };
        let mut lines = json!({"type": kind, "mode": "lines", "x": lx, "y": ly,
            "line": {"color": "#b42318", "width": 2}, "hoverinfo": "skip", "name": "nearest", "showlegend": false});
        // The name: text on scatter3d, an annotation in 2-D (scattergl draws no text).
        let mut focus = json!({"type": kind, "mode": if dims == 3 { "markers+text" } else { "markers" },
            "x": [pos[f * dims]], "y": [pos[f * dims + 1]],
            "marker": {"size": 16, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "#b42318"}},
            "hoverinfo": "skip", "name": "focus", "showlegend": false});
        if dims == 3 {
            lines["z"] = json!(lz);
            focus["z"] = json!([pos[f * dims + 2]]);
            focus["text"] = json!([plot::escape(&md.names[f])]);
            focus["textposition"] = json!("top center");
        } else {
            label = Some(
                json!({"x": pos[f * dims], "y": pos[f * dims + 1], "text": plot::escape(&md.names[f]),
                "showarrow": true, "arrowhead": 0, "ax": 0, "ay": -24, "font": {"color": "#b42318"}}),
            );
        }
        data.push(lines);
        data.push(focus);
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
    let mut layout = json!({
        "height": 520, "margin": {"l": 40, "r": 10, "t": 36, "b": 36},
        "title": {"text": title, "font": {"size": 14}},
        "uirevision": format!("{}-{}", coords.spec.to_string(), snapshot),
        "hovermode": "closest", "dragmode": if dims == 2 { "lasso" } else { "orbit" },
    });
    annotations.extend(label);
    if !annotations.is_empty() {
        layout["annotations"] = json!(annotations);
    }
    if dims == 2 {
        layout["xaxis"] = json!({"zeroline": false});
        layout["yaxis"] = json!({"zeroline": false});
        if main && let Some(Camera::Ranges(r)) = &v.camera {
            layout["xaxis"]["range"] = json!([r[0], r[1]]);
            layout["yaxis"]["range"] = json!([r[2], r[3]]);
        }
    } else if main && let Some(Camera::Eye(e)) = &v.camera {
        layout["scene"] = json!({"camera": {
            "eye": {"x": e[0], "y": e[1], "z": e[2]},
            "center": {"x": e[3], "y": e[4], "z": e[5]},
            "up": {"x": e[6], "y": e[7], "z": e[8]}}});
    }
    (Value::Array(data), layout)
}
