//! The last resort: a panic in the page's wasm (which aborts its instance) is shown over the
//! app with what failed and how to get the work back; panics in the workers are reported to
//! the page, which starts new ones (`batch`, `explorer`).

use wasm_bindgen::prelude::*;

/// Cover the app with the error and a Reload link. Built with plain DOM calls: the reactive
/// runtime lives in the instance that just stopped. The formulation and conditions are in the
/// page's address (the app keeps them there), so reloading it brings them back.
pub fn show(message: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(doc) = window.document() else { return };
    if doc.get_element_by_id("crash").is_some() {
        return;
    }
    let href = window.location().href().unwrap_or_default();
    let build = || -> Result<web_sys::Element, JsValue> {
        let el = |tag: &str, id: &str, text: &str| -> Result<web_sys::Element, JsValue> {
            let e = doc.create_element(tag)?;
            if !id.is_empty() {
                e.set_id(id);
            }
            e.set_text_content(Some(text));
            Ok(e)
        };
        let cover = el("div", "crash", "")?;
        cover.set_class_name("crash");
        cover.set_attribute("role", "alert")?;
        let card = el("div", "", "")?;
        card.set_class_name("crash-card");
        let title = el("h2", "", "Mixlab stopped on an internal error")?;
        card.append_child(&title)?;
        let what = el("p", "crash-message", message)?;
        card.append_child(&what)?;
        let how = el(
            "p",
            "",
            "Your formulation and conditions are in this page's address and your saved \
             formulations in this browser: reload to go on with them. A scored file that was \
             not downloaded must be scored again.",
        )?;
        card.append_child(&how)?;
        let reload = el("a", "crash-reload", "Reload")?;
        reload.set_class_name("button");
        reload.set_attribute("href", &href)?;
        card.append_child(&reload)?;
        cover.append_child(&card)?;
        Ok(cover)
    };
    if let (Ok(cover), Some(body)) = (build(), doc.body()) {
        let _ = body.append_child(&cover);
    }
}
