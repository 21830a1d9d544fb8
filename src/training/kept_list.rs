//! The models kept in this browser: open, rename, delete. Kept models are also in the model
//! picker; they stay across reloads until deleted here (or the site's data is cleared).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{open_kept, refresh_kept};
use crate::platform::kept::{self, KeptModel};
use crate::state::{Notice, Source, State};

fn size(bytes: f64) -> String {
    if bytes >= 1e6 {
        format!("{:.1} MB", bytes / 1e6)
    } else {
        format!("{:.0} kB", bytes / 1e3)
    }
}

fn when(ms: f64) -> String {
    let d = js_sys::Date::new(&ms.into());
    d.to_locale_string("default", &js_sys::Object::new())
        .as_string()
        .unwrap_or_default()
}

fn row(state: State, k: KeptModel) -> impl IntoView {
    let name = RwSignal::new(k.name.clone());
    let (id, id2, id3) = (k.id.clone(), k.id.clone(), k.id.clone());
    let is_current = move |id: &str| {
        state.loaded.with_untracked(
            |l| matches!(l.as_ref().map(|l| &l.source), Some(Source::Kept(c)) if c == id),
        )
    };
    view! {
        <tr class="kept-model" data-id=k.id.clone() data-name=k.name.clone()>
            <td><input type="text" class="kept-name" aria-label="Name" size="24" prop:value=move || name.get()
                on:input=move |ev| name.set(event_target_value(&ev))/></td>
            <td>{size(k.bytes)}</td>
            <td>{when(k.kept_at)}</td>
            <td>
                <button class="kept-open" on:click=move |_| spawn_local(open_kept(state, id.clone()))>"Open"</button>
                <button class="kept-rename" on:click=move |_| {
                    let id = id2.clone();
                    let new = name.get_untracked().trim().to_string();
                    spawn_local(async move {
                        if new.is_empty() {
                            return state.notice.set(Some(Notice::Error("A model needs a name.".into())));
                        }
                        match kept::rename(&id, &new).await {
                            Ok(()) => {
                                if is_current(&id) {
                                    open_kept(state, id).await;
                                }
                                refresh_kept(state).await;
                            }
                            Err(e) => state.notice.set(Some(Notice::Error(e))),
                        }
                    });
                }>"Rename"</button>
                <button class="kept-delete" on:click=move |_| {
                    let id = id3.clone();
                    spawn_local(async move {
                        match kept::delete(&id).await {
                            Ok(()) => {
                                if is_current(&id) {
                                    state.notice.set(Some(Notice::Info("Deleted from this browser; it stays open in this tab until another model is opened.".into())));
                                }
                                refresh_kept(state).await;
                            }
                            Err(e) => state.notice.set(Some(Notice::Error(e))),
                        }
                    });
                }>"Delete"</button>
            </td>
        </tr>
    }
}

#[component]
pub fn KeptModels() -> impl IntoView {
    let state = expect_context::<State>();
    view! {
        <section id="kept-models" data-count=move || state.kept.with(Vec::len)>
            <h3>"Models kept in this browser"</h3>
            {move || {
                let list = state.kept.get();
                if list.is_empty() {
                    view! { <p class="note">"None yet. A model trained here is kept in this browser's storage for this site (nothing is sent anywhere) and listed in the model picker."</p> }.into_any()
                } else {
                    view! {
                        <table class="columns-table">
                            <thead><tr><th scope="col">"Name"</th><th scope="col">"Size"</th><th scope="col">"Kept"</th><th scope="col"></th></tr></thead>
                            <tbody>{list.into_iter().map(|k| row(state, k)).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }
            }}
        </section>
    }
}
