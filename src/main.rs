//! Mixlab's web app (Leptos, client-side rendered). Thin: it fetches a bundle, picks a compute
//! backend and shows what `mixlab-core` predicts; all model logic lives in the core crate.

//!
//! A folder per page (`editor` for Predict, `design`, `scoring`, `explorer`, `model`), `app` for the frame around them
//! (navigation, status, opening models), `platform` for what the browser offers, `state` for
//! what the features share, `worker` for the long jobs off the page.

mod app;
mod design;
mod editor;
mod explorer;
mod model;
mod platform;
mod scoring;
mod state;
mod training;
mod worker;

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    /// The app is a bin crate, so wasm-ld emits a "command" module whose exports re-run the
    /// static constructors on every call unless they are run once here (cubecl registers its
    /// kernels through `inventory`, which relies on them).
    fn __wasm_call_ctors();
}

fn main() {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: called once, first thing, before any other code touches the statics.
    unsafe {
        __wasm_call_ctors();
    }
    console_error_panic_hook::set_once();
    // The same module also runs in the batch-scoring worker, which has no page to mount.
    if web_sys::window().is_none() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        platform::crash::show(&info.to_string());
    }));
    leptos::mount::mount_to_body(app::App);
}
