//! One page per task — Predict, Score a file, Explore, Model — with the model, the backend and
//! the edited formulation shared across them. The page is in the address (`?page=…`); a link
//! without one opens Predict, or Explore when its fragment holds an explorer view, so every
//! link made before pages existed opens the same view.

use leptos::prelude::*;

use crate::platform::browser;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Predict,
    Score,
    Explore,
    Model,
}

impl Page {
    pub const ALL: [Page; 4] = [Page::Predict, Page::Score, Page::Explore, Page::Model];

    /// The name in the address and in element ids (`#nav-score`, `#page-score`).
    pub fn key(self) -> &'static str {
        match self {
            Page::Predict => "predict",
            Page::Score => "score",
            Page::Explore => "explore",
            Page::Model => "model",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Page::Predict => "Predict",
            Page::Score => "Score a file",
            Page::Explore => "Explore materials",
            Page::Model => "Model",
        }
    }

    fn from_key(key: &str) -> Option<Page> {
        Page::ALL.into_iter().find(|p| p.key() == key)
    }

    /// The page the address asks for, and what is wrong with its `page` if it names none.
    pub fn of_address() -> (Page, Option<String>) {
        match browser::query_param("page") {
            Some(key) => match Page::from_key(&key) {
                Some(p) => (p, None),
                None => (
                    Page::Predict,
                    Some(format!(
                        "The link's page {key:?} is not one of Mixlab's (predict, score, explore, model); showing Predict."
                    )),
                ),
            },
            None => {
                let explorer_view = !browser::fragment().trim_start_matches('#').is_empty();
                (
                    if explorer_view {
                        Page::Explore
                    } else {
                        Page::Predict
                    },
                    None,
                )
            }
        }
    }
}

/// Show `page` and put it in the address (Predict, the first page, needs no entry).
pub fn go(current: RwSignal<Page>, page: Page) {
    if current.get_untracked() != page {
        current.set(page);
    }
    browser::set_query(&[("page", (page != Page::Predict).then_some(page.key()))]);
}

#[component]
pub fn Nav(page: RwSignal<Page>) -> impl IntoView {
    view! {
        <nav id="pages" class="pages" aria-label="Pages">
            {Page::ALL.into_iter().map(|p| view! {
                <button id=format!("nav-{}", p.key()) class="page-tab" type="button"
                    aria-current=move || (page.get() == p).then_some("page")
                    on:click=move |_| go(page, p)>{p.label()}</button>
            }).collect_view()}
        </nav>
    }
}
