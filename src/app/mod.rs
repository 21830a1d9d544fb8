//! The frame of the app: the status and notice bars, the sections, and the page-wide
//! listeners (keyboard undo/redo, dropped files).

mod compute;
mod faults;
mod nav;
mod open;
mod status;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::design;
use crate::editor::{self, analysis, panels};
use crate::explorer;
use crate::model;
use crate::platform::browser;
use crate::scoring;
use crate::state::{Notice, State, Status};
use crate::training;

pub use nav::Pages;
use nav::{Nav, Page};
use open::{open_files, start};
pub use open::{open_kept, refresh_kept};
use status::{NoticeBar, StatusBar};

#[component]
pub fn App() -> impl IntoView {
    let state = State::new();
    spawn_local(start(state));
    // Undo/redo from the keyboard, except where a text box has its own undo (number boxes
    // commit on Enter, so there the formulation's undo is the useful one).
    let _keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let in_text = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok())
            .is_some_and(|i| matches!(i.type_().as_str(), "text" | "search"));
        if in_text || !(ev.ctrl_key() || ev.meta_key()) {
            return;
        }
        match ev.key().to_lowercase().as_str() {
            "z" if ev.shift_key() => state.redo(),
            "z" => state.undo(),
            "y" => state.redo(),
            _ => return,
        }
        ev.prevent_default();
    });
    let job = analysis::AnalysisJob::new(state);
    provide_context(job);
    // A drag ends wherever the pointer is released.
    let _up = window_event_listener(leptos::ev::pointerup, move |_| job.set_dragging(false));
    let _cancel =
        window_event_listener(leptos::ev::pointercancel, move |_| job.set_dragging(false));
    let batch = scoring::BatchState::new(state);
    let ex = explorer::Explorer::new(state);
    // Shared with every page as context: the model, edit and compute state; the scoring job;
    // the explorer.
    provide_context(state);
    provide_context(batch);
    provide_context(ex);
    ex.follow_model();
    ex.follow_formulation();
    let (first_page, page_problem) = Page::of_address();
    let page = RwSignal::new(first_page);
    provide_context(nav::Pages(page));
    let design = design::DesignJob::new(state);
    provide_context(design);
    provide_context(training::TrainJob::new(state));
    if let Some(problem) = page_problem {
        state.notice.set(Some(Notice::Error(problem)));
    }
    // The explorer computes only once it has been shown; a link with an explorer view opens
    // it (and so its page).
    Effect::new(move |_| {
        if page.get() == Page::Explore && !ex.open.get_untracked() {
            ex.open.set(true);
            ex.refresh();
        }
    });
    Effect::new(move |_| {
        if ex.open.get() {
            nav::go(page, Page::Explore);
        }
    });
    // Drop a bundle, saved formulations or a CSV to score anywhere on the page.
    let _over = window_event_listener(leptos::ev::dragover, |ev| ev.prevent_default());
    let _drop = window_event_listener(leptos::ev::drop, move |ev| {
        ev.prevent_default();
        let files = browser::files_of(ev.data_transfer().and_then(|d| d.files()));
        spawn_local(async move {
            if let [one] = files.as_slice()
                && scoring::is_for_scoring(one).await
            {
                batch.check(one.clone());
                nav::go(page, Page::Score);
                return;
            }
            open_files(state, files).await;
        });
    });
    view! {
        <header class="bar">
            <h1>"Mixlab"</h1>
            <span class="tagline">"Mixture models in your browser — your data never leaves it."</span>
        </header>
        <main>
            {move || match state.status.get() {
                Status::Loading(msg) => view! { <p id="status" class="status">{msg}</p> }.into_any(),
                Status::Failed(msg) => view! {
                    <div id="error" class="error" role="alert">
                        <strong>"Something went wrong. "</strong>
                        <span class="message">{msg}</span>
                        <p><a href="?">"Open the default model"</a></p>
                    </div>
                }.into_any(),
                // Every page stays mounted (a scored file, a computed map survive a visit to
                // another page); only the current one is shown.
                Status::Ready => view! {
                    <StatusBar/>
                    <Nav page/>
                    <NoticeBar/>
                    <div id="page-predict" class="page" hidden=move || page.get() != Page::Predict>
                        <div class="layout">
                            <div class="column">
                                <editor::Editor/>
                                <panels::Tools/>
                            </div>
                            <div class="column">
                                <panels::Predictions/>
                                <editor::Analysis/>
                            </div>
                        </div>
                    </div>
                    <div id="page-design" class="page" hidden=move || page.get() != Page::Design>
                        <design::section::DesignSection/>
                    </div>
                    <div id="page-score" class="page" hidden=move || page.get() != Page::Score>
                        <scoring::section::BatchSection/>
                    </div>
                    <div id="page-explore" class="page" hidden=move || page.get() != Page::Explore>
                        <explorer::ExplorerSection/>
                    </div>
                    <div id="page-train" class="page" hidden=move || page.get() != Page::Train>
                        <training::section::TrainSection/>
                    </div>
                    <div id="page-model" class="page" hidden=move || page.get() != Page::Model>
                        <model::ModelCard/>
                        <model::Diagnostics/>
                    </div>
                }.into_any(),
            }}
        </main>
    }
}
