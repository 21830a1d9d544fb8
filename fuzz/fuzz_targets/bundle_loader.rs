//! Any bytes as a model bundle: the first two bytes say how much of the rest is manifest.json,
//! the remainder is weights.safetensors. Loading must return an error or a bundle, not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mixlab_core::Bundle;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let split = (usize::from(u16::from_le_bytes([data[0], data[1]]))).min(data.len() - 2);
    let (manifest, weights) = data[2..].split_at(split);
    let _ = Bundle::from_bytes(manifest, weights);
});
