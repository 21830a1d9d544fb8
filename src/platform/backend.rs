//! Which compute backend runs the model. The CPU (burn's Flex backend) is there at once;
//! WebGPU goes through burn-wgpu: its WebGpu graphics API asks the browser for an adapter and
//! a device, and burn-tensor then runs the model on that device.

use std::cell::RefCell;

use burn_tensor::Device;
use burn_wgpu::graphics::WebGpu;
use burn_wgpu::{RuntimeOptions, WgpuDevice, try_init_setup_async};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    WebGpu,
    Cpu,
}

impl Backend {
    /// Stable identifier (used in the DOM and in links).
    pub fn id(self) -> &'static str {
        match self {
            Backend::WebGpu => "webgpu",
            Backend::Cpu => "cpu",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Backend::WebGpu => "WebGPU",
            Backend::Cpu => "CPU (WebAssembly)",
        }
    }
}

/// What the `?backend=` link parameter asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Start on the CPU, bring WebGPU up behind it and move when it is faster.
    Auto,
    Cpu,
    WebGpu,
}

impl Choice {
    pub fn parse(value: Option<&str>) -> Choice {
        match value {
            Some("cpu") => Choice::Cpu,
            Some("webgpu") => Choice::WebGpu,
            _ => Choice::Auto,
        }
    }
}

thread_local! {
    /// This page's (or worker's) WebGPU device once brought up: cubecl registers one runtime
    /// per device, so a second start of the default device would fail. A failure is kept too.
    static WEBGPU: RefCell<Option<Result<Device, String>>> = const { RefCell::new(None) };
}

/// Ask `navigator.gpu` for an adapter ourselves first: the runtime is only started when one
/// exists, so a browser without WebGPU gets a clear note instead of a failed runtime.
async fn webgpu_adapter_available() -> Result<(), String> {
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

async fn start_webgpu() -> Result<Device, String> {
    webgpu_adapter_available().await?;
    let device = WgpuDevice::default();
    try_init_setup_async::<WebGpu>(&device, RuntimeOptions::default())
        .await
        .map_err(|e| format!("WebGPU could not start ({e})"))?;
    Ok(Device::new(device))
}

/// The WebGPU device, started on first use and reused after; the error says why not.
pub async fn webgpu() -> Result<Device, String> {
    if let Some(known) = WEBGPU.with_borrow(Clone::clone) {
        return known;
    }
    let started = start_webgpu().await;
    // A concurrent caller may have finished first: keep the one registered.
    WEBGPU.with_borrow_mut(|w| w.get_or_insert(started).clone())
}

/// The device for an explicit choice, which backend it is, and a note when WebGPU was asked
/// for but not used. `Auto` starts on the CPU (see `app::compute`).
pub async fn choose_device(choice: Choice) -> (Device, Backend, Option<String>) {
    match choice {
        Choice::Cpu => (
            Device::flex(),
            Backend::Cpu,
            Some("CPU chosen in the link (?backend=cpu).".into()),
        ),
        Choice::Auto => (Device::flex(), Backend::Cpu, None),
        Choice::WebGpu => match webgpu().await {
            Ok(device) => (device, Backend::WebGpu, None),
            Err(why) => (
                Device::flex(),
                Backend::Cpu,
                Some(format!("Using the CPU: {why}.")),
            ),
        },
    }
}
