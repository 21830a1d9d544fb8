//! Drawing the figure into the page and binding plotly's events (selection, clicks, camera)
//! back to the view.

use super::*;

pub(super) async fn draw(ex: Explorer) -> Result<(), String> {
    let (Some(md), Some(c)) = (ex.data(), ex.coords.get_untracked()) else {
        return Ok(());
    };
    ensure_plotly_full().await?;
    let v = ex.view.get_untracked();
    plot::react_full("explorer-plot", figure(ex, &md, &v, &c, true)).await?;
    bind_events(ex, "explorer-plot");
    if let (Some(cmp), Some(mb)) = (ex.compare.get_untracked(), ex.compare_data(&v)) {
        let vb = if v.other.is_some() {
            linked_view(&v, &md, &mb)
        } else {
            v.clone()
        };
        plot::react_full("explorer-plot-b", figure(ex, &mb, &vb, &cmp, false)).await?;
        bind_events(ex, "explorer-plot-b");
        set_data(
            "explorer",
            &[
                ("data-compare-spec", cmp.spec.to_string()),
                ("data-compare-model", mb.label.clone()),
            ],
        );
    }
    let origin = match &c.origin {
        Origin::Raw => "raw".to_string(),
        Origin::Bundle => "bundle".to_string(),
        Origin::Computed(_) => "computed".to_string(),
    };
    let ms = match c.origin {
        Origin::Computed(ms) => format!("{ms:.1}"),
        _ => "0".into(),
    };
    ex.draws.update(|d| *d += 1);
    set_data(
        "explorer",
        &[
            ("data-spec", c.spec.to_string()),
            ("data-origin", origin),
            ("data-ms", ms),
            ("data-draws", ex.draws.get_untracked().to_string()),
        ],
    );
    Ok(())
}

/// The view as another model shows it: the selection and focus carried over by material name
/// (materials it lacks are left out), and a colouring it has (sensitivities belong to the
/// formulation being edited, metadata keys to a bundle).
pub(super) fn linked_view(v: &View, a: &ModelData, b: &ModelData) -> View {
    let to_b = |i: usize| a.names.get(i).and_then(|n| b.index_of.get(n)).copied();
    let mut vb = v.clone();
    vb.selection = v.selection.iter().filter_map(|&i| to_b(i)).collect();
    vb.focus = v.focus.and_then(to_b);
    vb.step = v.step.filter(|s| *s < b.steps.len());
    vb.colour = match &v.colour {
        Colour::Sensitivity(_) => Colour::Influence,
        Colour::Metadata(k) if !b.metadata_keys.contains(k) => Colour::Influence,
        c => c.clone(),
    };
    vb
}

/// Materials picked on the second plot, as indices of the main model (by name when the
/// second plot shows another model; materials the main model lacks are dropped).
pub(super) fn to_main(ex: Explorer, picked: Vec<usize>, second: bool) -> Vec<usize> {
    let v = ex.view.get_untracked();
    if !second || v.other.is_none() {
        return picked;
    }
    let (Some(a), Some(b)) = (ex.data(), ex.compare_data(&v)) else {
        return Vec::new();
    };
    picked
        .into_iter()
        .filter_map(|i| b.names.get(i).and_then(|n| a.index_of.get(n)).copied())
        .collect()
}

/// Click → focus; box/lasso → selection; zoom/rotate → the view's camera. Bound once per plot.
pub(super) fn bind_events(ex: Explorer, id: &str) {
    if ex.store.bound.with_value(|b| b.iter().any(|x| x == id)) {
        return;
    }
    let Some(el) = leptos::prelude::document().get_element_by_id(id) else {
        return;
    };
    let Ok(on) =
        js_sys::Reflect::get(&el, &"on".into()).and_then(|f| f.dyn_into::<js_sys::Function>())
    else {
        return;
    };
    let points_of = |e: &JsValue| -> Vec<usize> {
        js_sys::Reflect::get(e, &"points".into())
            .ok()
            .map(|p| js_sys::Array::from(&p))
            .map(|a| {
                a.iter()
                    .filter(|p| {
                        js_sys::Reflect::get(p, &"curveNumber".into())
                            .ok()
                            .and_then(|c| c.as_f64())
                            == Some(0.0)
                    })
                    .filter_map(|p| {
                        js_sys::Reflect::get(&p, &"customdata".into())
                            .ok()?
                            .as_f64()
                    })
                    .map(|v| v as usize)
                    .collect()
            })
            .unwrap_or_default()
    };
    let second = id == "explorer-plot-b";
    let click = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        if let Some(&i) = to_main(ex, points_of(&e), second).first() {
            ex.change(|v| v.focus = Some(i));
        }
    });
    let selected = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        if e.is_undefined() || e.is_null() {
            return;
        }
        let picked = to_main(ex, points_of(&e), second);
        // Redrawing with the new selection makes plotly report an empty one: the user clears
        // a selection by double-click (plotly_deselect) or the Clear button instead.
        if picked.is_empty() {
            return;
        }
        ex.change(|v| v.selection = picked.into_iter().collect());
    });
    let deselect = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        ex.change(|v| v.selection.clear());
    });
    let main = id == "explorer-plot";
    let target = el.clone();
    let relayout = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        if !main {
            return;
        }
        if let Some(cam) = camera_of(&target) {
            ex.view.update(|v| v.camera = Some(cam));
            ex.write_fragment();
        }
    });
    for (name, f) in [
        ("plotly_click", &click),
        ("plotly_selected", &selected),
        ("plotly_deselect", &deselect),
        ("plotly_relayout", &relayout),
    ] {
        let _ = on.call2(&el, &name.into(), f.as_ref().unchecked_ref());
    }
    click.forget();
    selected.forget();
    deselect.forget();
    relayout.forget();
    ex.store.bound.update_value(|b| b.push(id.to_string()));
}

/// The plot's current zoom (2-D axis ranges) or camera (3-D), read from its full layout.
pub(super) fn camera_of(el: &web_sys::Element) -> Option<Camera> {
    let get = |o: &JsValue, path: &[&str]| -> Option<JsValue> {
        path.iter().try_fold(o.clone(), |o, k| {
            js_sys::Reflect::get(&o, &(*k).into())
                .ok()
                .filter(|v| !v.is_undefined())
        })
    };
    let layout = get(el, &["_fullLayout"])?;
    if let Some(cam) = get(&layout, &["scene", "camera"]) {
        let mut e = [0.0; 9];
        for (i, (part, axis)) in ["eye", "center", "up"]
            .iter()
            .flat_map(|p| ["x", "y", "z"].map(move |a| (p, a)))
            .enumerate()
        {
            e[i] = get(&cam, &[part, axis])?.as_f64()?;
        }
        return Some(Camera::Eye(e));
    }
    let range = |axis: &str| -> Option<(f64, f64)> {
        let r = js_sys::Array::from(&get(&layout, &[axis, "range"])?);
        Some((r.get(0).as_f64()?, r.get(1).as_f64()?))
    };
    let (x, y) = (range("xaxis")?, range("yaxis")?);
    Some(Camera::Ranges([x.0, x.1, y.0, y.1]))
}
