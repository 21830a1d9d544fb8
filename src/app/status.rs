//! The bars above every page: the model picker and backend switch, and the notice line.

use leptos::prelude::*;
use leptos::task::spawn_local;

use mixlab_core::Device;

use crate::platform::backend::{Backend, Choice, choose_device};
use crate::platform::browser;
use crate::state::{BUNDLED, Notice, Source, State};

use super::open::{KEPT, open_files, open_kept, open_url};

#[component]
pub fn StatusBar() -> impl IntoView {
    let state = expect_context::<State>();
    let current = move || {
        state.loaded.with(|l| match l.as_ref().map(|l| &l.source) {
            Some(Source::Url(u)) => u.clone(),
            Some(Source::Kept(id)) => format!("{KEPT}{id}"),
            _ => String::new(),
        })
    };
    let pick = move |ev: web_sys::Event| {
        let value = event_target_value(&ev);
        if let Some(id) = value.strip_prefix(KEPT) {
            spawn_local(open_kept(state, id.to_string()));
        } else if !value.is_empty() {
            spawn_local(open_url(state, value));
        }
    };
    let open = move |ev: web_sys::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let files = browser::files_of(input.files());
        input.set_value("");
        spawn_local(open_files(state, files));
    };
    let switch = move |ev: web_sys::Event| {
        let want = event_target_value(&ev);
        spawn_local(async move {
            state.compute.pinned.set_value(true);
            let (device, backend, note) = if want == "cpu" {
                (Device::flex(), Backend::Cpu, None)
            } else {
                choose_device(Choice::WebGpu).await
            };
            state.compute.note.set(note);
            state.switch_device(device, backend);
        });
    };
    view! {
        <div class="status-line">
            <label for="model-picker">"Model"</label>
            // The value again once the kept list (its options) changes.
            <select id="model-picker" on:change=pick prop:value=move || { state.kept.track(); current() }>
                {BUNDLED.iter().map(|(path, label)| view! { <option value=*path>{*label}</option> }).collect_view()}
                {move || {
                    let c = current();
                    (!c.is_empty() && !c.starts_with(KEPT) && !BUNDLED.iter().any(|(p, _)| *p == c)).then(|| view! { <option value=c.clone()>{c.clone()}</option> })
                }}
                {move || {
                    let kept = state.kept.get();
                    (!kept.is_empty()).then(|| view! {
                        <optgroup label="Kept in this browser">
                            {kept.into_iter().map(|k| view! { <option value=format!("{KEPT}{}", k.id)>{k.name}</option> }).collect_view()}
                        </optgroup>
                    })
                }}
                {move || state.loaded.with(|l| match l.as_ref().map(|l| &l.source) {
                    Some(Source::Files(names)) => Some(view! { <option value="" selected>{format!("{names} (opened from your computer)")}</option> }),
                    _ => None,
                })}
            </select>
            <label class="file-button">"Open bundle…"
                <input id="open-bundle" type="file" multiple accept=".json,.safetensors,.csv" on:change=open/>
            </label>
            <strong id="model-name">{move || state.loaded.with(|l| l.as_ref().map(|l| l.manifest.name.clone()))}</strong>
            <span class="spacer"></span>
            {move || state.compute.backend.get().map(|b| view! {
                <span>"Computed on "<span id="backend" data-backend=b.id()>{b.label()}</span></span>
                <label for="backend-switch" class="sr-only">"Compute backend"</label>
                <select id="backend-switch" on:change=switch prop:value=b.id()>
                    <option value="webgpu">"WebGPU"</option>
                    <option value="cpu">"CPU"</option>
                </select>
            })}
        </div>
        {move || state.compute.note.get().map(|n| {
            let probe = state.compute.probe.get();
            let ms = move |f: fn(&crate::state::Probe) -> f64| probe.as_ref().map(|p| format!("{:.2}", f(p)));
            view! {
                <p id="backend-note" class="note" data-ready-ms=ms(|p| p.ready_ms)
                    data-cpu-ms=ms(|p| p.cpu_ms) data-webgpu-ms=ms(|p| p.webgpu_ms)>{n}</p>
            }
        })}
    }
}

#[component]
pub fn NoticeBar() -> impl IntoView {
    let state = expect_context::<State>();
    move || {
        state.notice.get().map(|n| {
            let (class, role, text) = match n {
                Notice::Info(t) => ("notice", "status", t),
                Notice::Error(t) => ("notice error", "alert", t),
            };
            view! {
                <div id="notice" class=class role=role>
                    <span class="message">{text}</span>
                    <button class="dismiss" aria-label="Dismiss" on:click=move |_| state.notice.set(None)>"×"</button>
                </div>
            }
        })
    }
}
