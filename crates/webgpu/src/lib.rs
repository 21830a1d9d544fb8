//! The browser's WebGPU as a burn device: its WebGpu graphics API asks the browser for an
//! adapter and a device, and burn-tensor then runs on that device. One crate for the app (which
//! predicts on it) and the trainer worker (which trains on it), so both start it the same way.

use std::cell::RefCell;

use burn_tensor::Device;
use burn_wgpu::graphics::WebGpu;
use burn_wgpu::{RuntimeOptions, WgpuDevice, try_init_setup_async};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

thread_local! {
    /// This page's (or worker's) WebGPU device once brought up: cubecl registers one runtime
    /// per device, so a second start of the default device would fail. A failure is kept too.
    static WEBGPU: RefCell<Option<Result<Device, String>>> = const { RefCell::new(None) };
}

/// Ask `navigator.gpu` for an adapter ourselves first: the runtime is only started when one
/// exists, so a browser without WebGPU gets a clear note instead of a failed runtime.
async fn adapter_available() -> Result<(), String> {
    // The global's navigator: the page's, or a worker's (WebGPU is offered to both).
    let navigator =
        js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).map_err(|_| "no navigator")?;
    let gpu = js_sys::Reflect::get(&navigator, &"gpu".into()).map_err(|_| "no navigator.gpu")?;
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("navigator.gpu.requestAdapter is missing")?;
    let promise = request
        .call0(&gpu)
        .ok()
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
        .ok_or("requestAdapter did not return a promise")?;
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("the browser offers no WebGPU adapter".into());
    }
    Ok(())
}

async fn start() -> Result<Device, String> {
    adapter_available().await?;
    let device = WgpuDevice::default();
    try_init_setup_async::<WebGpu>(&device, RuntimeOptions::default())
        .await
        .map_err(|e| format!("WebGPU could not start ({e})"))?;
    Ok(Device::new(device))
}

/// The WebGPU device, started on first use and reused after; the error says why not.
pub async fn device() -> Result<Device, String> {
    if let Some(known) = WEBGPU.with_borrow(Clone::clone) {
        return known;
    }
    let started = start().await;
    // A concurrent caller may have finished first: keep the one registered.
    WEBGPU.with_borrow_mut(|w| w.get_or_insert(started).clone())
}
