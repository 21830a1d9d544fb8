# Sourced by the scripts: where builds go, and how to build for wasm32 on this machine.
# Build output and tool caches live outside the clone so that CI re-runs and fresh clones reuse them.
export MIXLAB_CACHE="${MIXLAB_CACHE:-$HOME/.cache/mixlab}"
export PATH="$HOME/.cargo/bin:$PATH"

# rustup's toolchain has the wasm32 target on a user's own machine; here it cannot download it, so
# fall back to Debian's rustc-web (which has the wasm backend) and build std from source.
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  export MIXLAB_WASM_TOOLCHAIN=rustup
else
  export MIXLAB_WASM_TOOLCHAIN=debian
fi

# SIMD128 is in every browser with WebGPU; burn's CPU backend (Flex) uses it.
export MIXLAB_WASM_RUSTFLAGS="-C target-feature=+simd128"

# Run a command with the environment that builds for wasm32 (used around trunk and cargo).
wasm_env() {
  if [ "$MIXLAB_WASM_TOOLCHAIN" = debian ]; then
    env PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
      CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$MIXLAB_WASM_RUSTFLAGS" \
      CARGO_TARGET_DIR="$MIXLAB_CACHE/target-wasm" "$@"
  else
    env CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$MIXLAB_WASM_RUSTFLAGS" \
      CARGO_TARGET_DIR="$MIXLAB_CACHE/target-wasm" "$@"
  fi
}
export CARGO_TARGET_DIR="$MIXLAB_CACHE/target-native"
