//! One page per task — Predict, Design, Score a file, Explore, New model, Model — with the model, the backend and
//! the edited formulation shared across them. The page is in the address (`?page=…`); a link
//! without one opens Predict, or Explore when its fragment holds an explorer view, so every
//! link made before pages existed opens the same view.

use leptos::prelude::*;

use crate::platform::browser;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Predict,
    Design,
    Score,
    Explore,
    Train,
    Model,
}

impl Page {
    pub const ALL: [Page; 6] = [
        Page::Predict,
        Page::Design,
        Page::Score,
        Page::Explore,
        Page::Train,
        Page::Model,
    ];

    /// The name in the address and in element ids (`#nav-score`, `#page-score`).
    pub fn key(self) -> &'static str {
        match self {
            Page::Predict => "predict",
            Page::Design => "design",
            Page::Score => "score",
            Page::Explore => "explore",
            Page::Train => "train",
            Page::Model => "model",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Page::Predict => "Predict",
            Page::Design => "Design",
            Page::Score => "Score a file",
            Page::Explore => "Explore materials",
            Page::Train => "New model",
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
                        "The link's page {key:?} is not one of Mixlab's (predict, design, score, explore, train, model); showing Predict."
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

/// The current page, for features that send the user elsewhere (a designed recipe opens in the
/// editor).
#[derive(Clone, Copy)]
pub struct Pages(pub RwSignal<Page>);

impl Pages {
    pub fn go_predict(self) {
        go(self.0, Page::Predict);
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
