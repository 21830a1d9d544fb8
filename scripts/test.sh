#!/usr/bin/env bash
# Run every test: the core and CLI natively, then the built app in headless Chromium
# (WebGPU on SwiftShader, and the CPU fallback). Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --tests
source scripts/wasm-env.sh

echo "== native tests (core, CLI)"
cargo test -p mixlab-projection -p mixlab-core -p mixlab-cli
cargo build -q -p mixlab-cli
export MIXLAB_CLI="$CARGO_TARGET_DIR/debug/mixlab"

echo "== app build (quick profile) into dist-test/"
wasm_env trunk build --dist dist-test

echo "== browser tests"
MIXLAB_DIST=dist-test node --test --test-concurrency=1 tests/browser/
