#!/usr/bin/env bash
# Install what building (and, with --tests, testing) Mixlab needs; a no-op for what is there.
# Debian/Ubuntu with a rustup toolchain assumed. Nothing is downloaded at build time after this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"   # rustup/cargo tools, also where CI's PATH lacks them
for_tests=0
[ "${1:-}" = "--tests" ] && for_tests=1

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ $apt_updated -eq 0 ]; then $sudo apt-get update -qq; apt_updated=1; fi
  echo "setup: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# 1. A Rust compiler that targets wasm32: rustup's target where it can be added, else Debian's
#    rustc-web with the standard library's sources (built with -Zbuild-std, see wasm-env.sh).
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  if ! timeout 300 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    echo "setup: rustup cannot add wasm32-unknown-unknown; using Debian's rustc-web + build-std"
    apt_install rustc-web cargo-web rust-web-src lld
  fi
fi
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
[ $for_tests -eq 1 ] && apt_install chromium chromium-driver

source scripts/wasm-env.sh

# 2. wasm-bindgen-cli at exactly the version in Cargo.lock.
want_wb=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
have_wb=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have_wb" != "$want_wb" ]; then
  echo "setup: installing wasm-bindgen-cli $want_wb (a few minutes)"
  # No --locked: its lockfile pins a webpki-roots the registry no longer has.
  cargo install -q wasm-bindgen-cli --version "=$want_wb"
fi

# 3. Trunk (0.22.1 needs a newer rustc than stable 1.95: use the nightly toolchain when present).
want_trunk=0.22.1
if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$want_trunk" ]; then
  echo "setup: installing trunk $want_trunk (a few minutes)"
  if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    cargo +nightly install -q trunk --version "=$want_trunk" --locked
  else
    cargo install -q trunk --version "=$want_trunk" --locked
  fi
fi

# 4. Front-end files and test tooling from the npm registry, exactly as package-lock.json says
#    (binaryen's wasm-opt, playwright-core; no browser download; plotly.js is vendored in public/vendor).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup: ready (wasm toolchain: $MIXLAB_WASM_TOOLCHAIN)"
