//! Which compute backend runs the model. The CPU (burn's Flex backend) is there at once;
//! WebGPU is brought up by `mixlab-webgpu` (shared with the trainer worker).

use burn_tensor::Device;

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

/// The WebGPU device, started on first use and reused after; the error says why not.
pub async fn webgpu() -> Result<Device, String> {
    mixlab_webgpu::device().await
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
