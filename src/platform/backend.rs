//! Which compute backend runs the model: WebGPU when the browser gives an adapter, else the CPU.

use burn_tensor::Device;
use burn_tensor::wgpu::WgpuBackend;
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

/// Ask `navigator.gpu` for an adapter ourselves first: burn's init is only tried when one
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

/// The device to run on, which backend it is, and a note when WebGPU was not used.
/// `forced` is the `?backend=` query value: `cpu` or `webgpu`.
pub async fn choose_device(forced: Option<&str>) -> (Device, Backend, Option<String>) {
    if forced == Some("cpu") {
        return (
            Device::flex(),
            Backend::Cpu,
            Some("CPU chosen in the link (?backend=cpu).".into()),
        );
    }
    if let Err(why) = webgpu_adapter_available().await {
        return (
            Device::flex(),
            Backend::Cpu,
            Some(format!("Using the CPU: {why}.")),
        );
    }
    match Device::wgpu_options()
        .graphics_api(WgpuBackend::WebGpu)
        .init_async()
        .await
    {
        Ok(device) => (device, Backend::WebGpu, None),
        Err(e) => (
            Device::flex(),
            Backend::Cpu,
            Some(format!("Using the CPU: WebGPU could not start ({e}).")),
        ),
    }
}
