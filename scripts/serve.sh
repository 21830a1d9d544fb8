#!/usr/bin/env bash
# Build the app (size-optimised) with its bundled default model and serve it at
# http://127.0.0.1:8080 (PORT=... to change). Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
source scripts/wasm-env.sh
export PATH="$PWD/node_modules/.bin:$PATH"   # binaryen's wasm-opt from npm
wasm_env trunk build --release --dist dist
exec node scripts/static-server.mjs dist "${PORT:-8080}"
