//! The explorer's controls: the projection and what it is compared with, the colouring and
//! search, the training animation.

use std::time::Duration;

use leptos::prelude::*;
use mixlab_core::explorer::view::{Camera, Colour};
use mixlab_core::projection::{Method, Spec};

use crate::explorer::{Explorer, Job};
use crate::state::{BUNDLED, Source, State};

use crate::platform::browser::number;

fn colour_key(c: &Colour) -> String {
    match c {
        Colour::Influence => "influence".into(),
        Colour::Cluster(_) => "cluster".into(),
        Colour::Usage => "usage".into(),
        Colour::Metadata(k) => format!("meta:{k}"),
        Colour::Sensitivity(t) => format!("sens:{t}"),
    }
}

/// A number box bound to one field of the projection's parameters.
macro_rules! field {
    ($param:ident, $id:literal, $label:literal, $field:ident) => {
        $param(
            $id,
            $label,
            |s| s.params.$field.to_string(),
            |s, t| t.parse().map(|v| s.params.$field = v).is_ok(),
        )
    };
}

/// Which projection, its parameters, and what it is compared with.
#[component]
pub(super) fn ProjectionControls() -> impl IntoView {
    let state = expect_context::<State>();
    let ex = expect_context::<Explorer>();
    let view = ex.view;
    let spec = move || view.with(|v| v.spec.clone());
    let materials = move || {
        let _ = ex.ready.get();
        ex.data().map_or(0, |d| d.n)
    };
    let set_method = move |ev: web_sys::Event| {
        let Some(method) = Method::from_key(&event_target_value(&ev)) else {
            return;
        };
        let n = materials();
        ex.change(|v| {
            let seed = v.spec.seed;
            v.spec = Spec::for_points(method, v.spec.dims, n);
            v.spec.seed = seed;
            v.camera = None;
        });
    };
    let set_dims = move |ev: web_sys::Event| {
        let Some(dims) = number::<usize>(&ev) else {
            return;
        };
        let n = materials();
        ex.change(|v| {
            let (method, seed, params) = (v.spec.method, v.spec.seed, v.spec.params.clone());
            v.spec = Spec::for_points(method, dims, n);
            v.spec.params = params;
            v.spec.seed = seed;
            v.camera = None;
            if let Some(c) = &mut v.compare {
                c.dims = dims;
            }
        });
    };
    // A parameter box: on change (Enter or leaving it), not on every key.
    let param = move |id: &'static str,
                      label: &'static str,
                      get: fn(&Spec) -> String,
                      put: fn(&mut Spec, &str) -> bool| {
        view! {
            <label>{label}
                <input id=id type="number" step="any" prop:value=move || view.with(|v| get(&v.spec))
                    on:change=move |ev| {
                        let text = event_target_value(&ev);
                        let mut next = view.get_untracked().spec;
                        if put(&mut next, &text) && next.validate(materials()).is_ok() {
                            ex.change(|v| { v.spec = next; v.camera = None; });
                        } else {
                            ex.job.set(Job::Failed(match next.validate(materials()) {
                                Err(e) => format!("{label}: {e}"),
                                Ok(()) => format!("{label}: {text:?} is not a number"),
                            }));
                        }
                    }/>
            </label>
        }
    };
    let params = move || {
        let method = view.with(|v| v.spec.method);
        let mut boxes = Vec::new();
        match method {
            Method::Tsne => {
                boxes.push(field!(
                    param,
                    "explorer-perplexity",
                    "perplexity",
                    perplexity
                ));
                boxes.push(field!(
                    param,
                    "explorer-learning-rate",
                    "learning rate (0 = auto)",
                    learning_rate
                ));
                boxes.push(field!(
                    param,
                    "explorer-iterations",
                    "iterations",
                    iterations
                ));
            }
            Method::Umap => {
                boxes.push(field!(
                    param,
                    "explorer-umap-neighbours",
                    "neighbours",
                    neighbours
                ));
                boxes.push(field!(param, "explorer-min-dist", "min_dist", min_dist));
                boxes.push(field!(
                    param,
                    "explorer-epochs",
                    "epochs (0 = auto)",
                    iterations
                ));
            }
            Method::Isomap | Method::Lle => {
                boxes.push(field!(param, "explorer-k", "k", k));
            }
            Method::Pca => {}
        }
        if method.is_stochastic() {
            boxes.push(param(
                "explorer-seed",
                "seed",
                |s| s.seed.to_string(),
                |s, t| t.parse().map(|v| s.seed = v).is_ok(),
            ));
        }
        boxes.collect_view()
    };
    // "none", a method key (another projection of this model), or "model:<path>".
    let compare_key = move || {
        view.with(|v| match (&v.other, &v.compare) {
            (Some(o), _) => format!("model:{}", o.path),
            (None, Some(c)) => c.method.key().to_string(),
            (None, None) => "none".to_string(),
        })
    };
    let set_compare = move |ev: web_sys::Event| {
        let key = event_target_value(&ev);
        if let Some(path) = key.strip_prefix("model:") {
            ex.compare_with_model(path.to_string());
            return;
        }
        let n = materials();
        ex.change(|v| {
            v.other = None;
            v.compare = Method::from_key(&key).map(|m| Spec::for_points(m, v.spec.dims, n));
        });
    };
    // The bundled models other than the one open, and the one compared with if it is not
    // bundled (it came from a link).
    let other_models = move || {
        let current = state.loaded.with(|l| match l.as_ref().map(|l| &l.source) {
            Some(Source::Url(u)) => u.clone(),
            _ => String::new(),
        });
        let linked = view.with(|v| v.other.as_ref().map(|o| o.path.clone()));
        let mut options: Vec<(String, String)> = BUNDLED
            .iter()
            .filter(|(p, _)| *p != current)
            .map(|(p, l)| (p.to_string(), l.to_string()))
            .collect();
        if let Some(p) = linked.filter(|p| !options.iter().any(|(q, _)| q == p)) {
            options.push((p.clone(), p));
        }
        options
            .into_iter()
            .map(|(p, l)| view! { <option value=format!("model:{p}")>{l}</option> })
            .collect_view()
    };
    view! {
                <div class="controls">
                    <label>"Projection"
                        <select id="explorer-method" on:change=set_method prop:value=move || spec().method.key()>
                            {Method::ALL.map(|m| view! { <option value=m.key()>{m.label()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Dimensions"
                        <select id="explorer-dims" on:change=set_dims prop:value=move || spec().dims.to_string()>
                            <option value="2">"2-D"</option>
                            <option value="3">"3-D"</option>
                        </select>
                    </label>
                    {params}
                    <label>"Compare with"
                        <select id="explorer-compare" prop:value=compare_key on:change=set_compare>
                            <option value="none">"nothing"</option>
                            <optgroup label="another projection">
                                {Method::ALL.map(|m| view! { <option value=m.key()>{m.label()}</option> }).collect_view()}
                            </optgroup>
                            <optgroup label="another model (same projection)">
                                {other_models}
                            </optgroup>
                        </select>
                    </label>
                    {move || ex.loading_other.get().map(|p| view! { <span id="explorer-loading-other" class="note">{format!("Loading {p}…")}</span> })}
                </div>
    }
}

/// What the points' colour and size say, and finding a material by name.
#[component]
pub(super) fn ColourControls() -> impl IntoView {
    let state = expect_context::<State>();
    let ex = expect_context::<Explorer>();
    let view = ex.view;
    let set_colour = move |ev: web_sys::Event| {
        let key = event_target_value(&ev);
        ex.change(|v| {
            v.colour = match key.as_str() {
                "cluster" => Colour::Cluster(5),
                "usage" => Colour::Usage,
                k if k.starts_with("meta:") => Colour::Metadata(k[5..].to_string()),
                k if k.starts_with("sens:") => Colour::Sensitivity(k[5..].parse().unwrap_or(0)),
                _ => Colour::Influence,
            }
        });
    };
    let colour_options = move || {
        let _ = ex.ready.get();
        let (keys, targets) = state.loaded.with(|l| {
            let m = l.as_ref().map(|l| l.manifest.clone());
            (
                ex.data()
                    .map(|d| d.metadata_keys.clone())
                    .unwrap_or_default(),
                m.map(|m| {
                    m.targets
                        .iter()
                        .map(|t| t.title().to_string())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
            )
        });
        let mut opts = vec![
            (
                "influence".to_string(),
                "influence (‖act(code)‖)".to_string(),
            ),
            ("cluster".into(), "cluster (k-means)".into()),
            ("usage".into(), "usage in training".into()),
        ];
        opts.extend(
            keys.into_iter()
                .map(|k| (format!("meta:{k}"), format!("metadata: {k}"))),
        );
        opts.extend(
            targets
                .into_iter()
                .enumerate()
                .map(|(t, n)| (format!("sens:{t}"), format!("sensitivity of {n}"))),
        );
        opts.into_iter()
            .map(|(k, label)| view! { <option value=k>{label}</option> })
            .collect_view()
    };
    let search = move |ev: web_sys::Event| {
        let text = event_target_value(&ev).trim().to_lowercase();
        let Some(md) = ex.data() else { return };
        let Some(i) = md
            .names
            .iter()
            .position(|n| n.to_lowercase() == text)
            .or_else(|| {
                md.names
                    .iter()
                    .position(|n| n.to_lowercase().contains(&text))
            })
        else {
            ex.job
                .set(Job::Failed(format!("No material is called {text:?}.")));
            return;
        };
        let coords = ex.coords.get_untracked();
        ex.change(|v| {
            v.focus = Some(i);
            // Centre a 2-D picture on it, keeping the zoom (or a third of the full extent).
            if let Some(c) = coords.filter(|c| c.spec.dims == 2 && v.step.is_none()) {
                let (x, y) = (f64::from(c.data[2 * i]), f64::from(c.data[2 * i + 1]));
                let span = |a: usize| {
                    let vals = c.data.iter().skip(a).step_by(2).map(|v| f64::from(*v));
                    let (lo, hi) =
                        vals.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
                    ((hi - lo) / 3.0).max(1e-6)
                };
                let (w, h) = match &v.camera {
                    Some(Camera::Ranges(r)) => (r[1] - r[0], r[3] - r[2]),
                    _ => (span(0), span(1)),
                };
                v.camera = Some(Camera::Ranges([
                    x - w / 2.0,
                    x + w / 2.0,
                    y - h / 2.0,
                    y + h / 2.0,
                ]));
            }
        });
    };
    view! {
                <div class="controls">
                    <label>"Colour by"
                        <select id="explorer-colour" on:change=set_colour prop:value=move || view.with(|v| colour_key(&v.colour))>
                            {colour_options}
                        </select>
                    </label>
                    {move || view.with(|v| matches!(v.colour, Colour::Cluster(_))).then(|| view! {
                        <label>"clusters"
                            <input id="explorer-clusters" type="number" min="2" max="50"
                                prop:value=move || view.with(|v| match v.colour { Colour::Cluster(k) => k, _ => 5 })
                                on:change=move |ev| { if let Some(k) = number::<usize>(&ev).filter(|k| (2..=50).contains(k)) {
                                    ex.change(|v| v.colour = Colour::Cluster(k));
                                } }/>
                        </label>
                    })}
                    <label><input id="explorer-size" type="checkbox" prop:checked=move || view.with(|v| v.size_by_usage)
                        on:change=move |ev| { let on = event_target_checked(&ev); ex.change(|v| v.size_by_usage = on); }/>" size by usage"</label>
                    <label>"Find"
                        <input id="explorer-search" type="search" list="explorer-names" placeholder="material name" on:change=search/>
                        <datalist id="explorer-names">
                            {move || { let _ = ex.ready.get(); ex.data().map(|d| d.names.iter().map(|n| view! { <option value=n.clone()></option> }).collect_view()) }}
                        </datalist>
                    </label>
                </div>
    }
}

/// The training animation: codes at each saved step, on the trained codes' PCA axes.
#[component]
pub(super) fn TrainingSteps() -> impl IntoView {
    let ex = expect_context::<Explorer>();
    let view = ex.view;
    let steps = move || {
        let _ = ex.ready.get();
        ex.data().map_or(0, |d| d.steps.len())
    };
    let play = move |_| {
        if ex.playing.get_untracked() {
            ex.playing.set(false);
            return;
        }
        ex.playing.set(true);
        ex.change(|v| v.step = Some(0));
        let handle = set_interval_with_handle(
            move || {
                let total = steps();
                let next = view.with_untracked(|v| v.step).map_or(total, |s| s + 1);
                if !ex.playing.get_untracked() || next >= total {
                    ex.playing.set(false);
                    ex.change(|v| v.step = None);
                } else {
                    ex.change(|v| v.step = Some(next));
                }
            },
            Duration::from_millis(400),
        );
        if let Ok(h) = handle {
            Effect::new(move |_| {
                if !ex.playing.get() {
                    h.clear();
                }
            });
        }
    };
    move || {
        (steps() > 0).then(|| view! {
                    <div class="controls">
                        <button id="explorer-play" on:click=play>{move || if ex.playing.get() { "Stop" } else { "Play training" }}</button>
                        <label>"Training step"
                            <input id="explorer-step" type="range" min="0" max=steps
                                prop:value=move || view.with(|v| v.step.unwrap_or(steps()))
                                on:input=move |ev| { if let Some(s) = number::<usize>(&ev) {
                                    let total = steps();
                                    ex.change(|v| v.step = (s < total).then_some(s));
                                } }/>
                        </label>
                        <span id="explorer-step-label">{move || view.with(|v| match v.step {
                            Some(s) => format!("step {} of training", ex.data().and_then(|d| d.steps.get(s).copied()).unwrap_or(0)),
                            None => "trained codes".to_string(),
                        })}</span>
                    </div>
    })
    }
}
