#!/usr/bin/env bash
# Memory benchmark (issue 7): one tab scores a ~200 MB CSV (270,000 synthetic formulations × 60
# materials) and then projects 5,400 codes × 100-d with t-SNE in the explorer; prints the tab's
# peak memory against the 1 GB budget. Not a test; the figures go to docs/benchmarks.md.
#   bench/memory.sh          # builds the release app into dist/ unless SKIP_BUILD=1
# Inputs are cached in $MIXLAB_CACHE (bench-batch, bench-projection), made here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
cargo build -q --release -p mixlab-cli
MIXLAB="$CARGO_TARGET_DIR/release/mixlab"
BATCH="$MIXLAB_CACHE/bench-batch"
PROJ="$MIXLAB_CACHE/bench-projection"
mkdir -p "$BATCH" "$PROJ"
DATA="$BATCH/syn-270000.csv"
[ -s "$DATA" ] || "$MIXLAB" synthetic --materials 60 --groups 6 --recipes 270000 --per-recipe 60,60 \
  --properties 1 --wide --out "$DATA" --groups-out "$BATCH/groups.csv" >&2
if [ ! -s "$BATCH/bundle-100000/manifest.json" ]; then
  [ -s "$BATCH/syn-100000.csv" ] || "$MIXLAB" synthetic --materials 60 --groups 6 --recipes 100000 \
    --per-recipe 60,60 --properties 1 --wide --out "$BATCH/syn-100000.csv" --groups-out "$BATCH/groups.csv" >&2
  "$MIXLAB" train --data "$BATCH/syn-100000.csv" --targets property --steps 300 --members 5 \
    --snapshots 0 --out "$BATCH/bundle-100000" >&2
fi
if [ ! -s "$PROJ/bundle-5400x100/manifest.json" ]; then
  echo "== no projection bundle: run bench/projection.sh once (it makes $PROJ/bundle-5400x100)" >&2
  exit 1
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  PATH="$PWD/node_modules/.bin:$PATH" wasm_env trunk build --release --dist dist >&2
fi
node bench/memory.mjs dist "$DATA" "$BATCH/bundle-100000" "$PROJ/bundle-5400x100"
