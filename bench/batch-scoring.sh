#!/usr/bin/env bash
# Batch scoring benchmark (issue 5): 100,000 synthetic formulations × 60 materials, scored by the
# app in headless Chromium (CPU path and WebGPU on SwiftShader, file in → results on screen) and,
# beside it, by PyTorch + pandas natively on the CPU (bench/torch_score.py). Medians of RUNS runs,
# all in one invocation. Not a test; the figures go to docs/benchmarks.md.
#
#   bench/batch-scoring.sh            # builds the release app into dist/ unless SKIP_BUILD=1
#   RUNS=5 ROWS=200000 bench/batch-scoring.sh
#
# The synthetic file and its bundle (5-member ensemble, 300 training steps: the figures are about
# speed, not accuracy) are cached in $MIXLAB_CACHE/bench-batch. PyTorch comes from the venv that
# scripts/bench-train-speed.sh makes; pandas is added to it from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
RUNS="${RUNS:-3}"
ROWS="${ROWS:-100000}"
WORK="$MIXLAB_CACHE/bench-batch"
VENV="${MIXLAB_TORCH_VENV:-$MIXLAB_CACHE/torch-venv}"
mkdir -p "$WORK"

if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "== no torch venv at $VENV: run scripts/bench-train-speed.sh once to make it" >&2
  exit 1
fi
"$VENV/bin/python" -c "import pandas" 2>/dev/null || "$VENV/bin/pip" install -q pandas

cargo build -q --release -p mixlab-cli
MIXLAB="$CARGO_TARGET_DIR/release/mixlab"
DATA="$WORK/syn-$ROWS.csv"
BUNDLE="$WORK/bundle-$ROWS"
if [ ! -s "$DATA" ]; then
  "$MIXLAB" synthetic --materials 60 --groups 6 --recipes "$ROWS" --per-recipe 60,60 --properties 1 \
    --wide --out "$DATA" --groups-out "$WORK/groups.csv" >&2
fi
if [ ! -s "$BUNDLE/manifest.json" ]; then
  "$MIXLAB" train --data "$DATA" --targets property --steps 300 --members 5 --snapshots 0 \
    --out "$BUNDLE" >&2
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  PATH="$PWD/node_modules/.bin:$PATH" wasm_env trunk build --release --dist dist >&2
fi

echo "== app (headless Chromium), $RUNS runs per backend" >&2
APP_JSON="$(node bench/batch-scoring.mjs dist "$DATA" "$BUNDLE" "$RUNS")"
echo "== PyTorch + pandas (CPU, $(nproc) threads), $RUNS runs" >&2
unset PYTHONDONTWRITEBYTECODE
PEER_JSON="$(for r in $(seq "$RUNS"); do
  "$VENV/bin/python" bench/torch_score.py --bundle "$BUNDLE" --data "$DATA" --out "$WORK/peer-out.csv"
done)"

APP_JSON="$APP_JSON" PEER_JSON="$PEER_JSON" python3 - <<'PY'
import json, os, statistics as st
app = json.loads(os.environ["APP_JSON"])
peer = [json.loads(l) for l in os.environ["PEER_JSON"].splitlines() if l.strip()]
rows = peer[0]["rows"]
med = lambda k: st.median(p[k] for p in peer)
peer_rate = rows / med("seconds")
print(f"file: {app['file']} ({app['bytes'] / 1e6:.1f} MB, {rows:,} rows)")
print(f"{'':34} {'median s':>9} {'rows/s':>10} {'vs peer':>8}  notes")
for name, b in app["backends"].items():
    label = {"cpu": "app, CPU path (wasm)", "webgpu": "app, WebGPU (SwiftShader)"}[name]
    rate = b["median_rows_per_s"]
    print(f"{label:34} {b['median_ms'] / 1000:9.2f} {rate:10,.0f} {rate / peer_rate:7.2f}x  "
          f"check {b['median_check_ms'] / 1000:.2f} s + score {b['median_score_ms'] / 1000:.2f} s in the worker; "
          f"page JS heap peak {b['peak_heap_bytes'] / 1e6:.1f} MB; worker wasm memory {b['worker_wasm_bytes'] / 1e6:.1f} MB")
print(f"{'PyTorch + pandas (file in → out)':34} {med('seconds'):9.2f} {peer_rate:10,.0f} {1:7.2f}x  "
      f"read_csv {med('read_s'):.2f} s, predict {med('predict_s'):.2f} s, to_csv {med('write_s'):.2f} s; "
      f"with Python + torch imports {med('total_s'):.2f} s")
PY
