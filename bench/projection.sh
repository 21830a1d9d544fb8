#!/usr/bin/env bash
# Projection benchmark (issue 6): the explorer's PCA, t-SNE, UMAP, Isomap and LLE of 5,400 codes
# × 100-d (a synthetic bundle) in headless Chromium — time in the worker and trustworthiness@10 —
# beside scikit-learn, openTSNE and umap-learn natively on the same matrix, one thread each
# (bench/projection_peers.py; its venv from PyPI: bench/projection-peers-venv.sh). Medians of
# RUNS runs, all in one invocation. Not a test; the figures go to docs/benchmarks.md.
#
#   bench/projection.sh                  # builds the release app into dist/ unless SKIP_BUILD=1
#   RUNS=5 METHODS=tsne,umap bench/projection.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
RUNS="${RUNS:-3}"
METHODS="${METHODS:-pca,tsne,umap,isomap,lle}"
WORK="$MIXLAB_CACHE/bench-projection"
mkdir -p "$WORK"
PY="$(bench/projection-peers-venv.sh)"

cargo build -q --release -p mixlab-cli
MIXLAB="$CARGO_TARGET_DIR/release/mixlab"
BUNDLE="$WORK/bundle-5400x100"
if [ ! -s "$BUNDLE/manifest.json" ]; then
  # The study's scale: 5,400 materials in 30 planted groups; 100-d codes. Training is short (the
  # figures are about projection speed), and without snapshots (they would be 50 MB).
  "$MIXLAB" synthetic --materials 5400 --groups 30 --recipes 30000 --out "$WORK/syn.csv" \
    --groups-out "$WORK/groups.csv" >&2
  "$MIXLAB" train --data "$WORK/syn.csv" --targets property,property_2,property_3 --code-dim 100 \
    --steps 1000 --members 1 --snapshots 0 --materials-info "$WORK/groups.csv" --out "$BUNDLE" >&2
fi
"$MIXLAB" project --bundle "$BUNDLE" --codes-out "$WORK/codes.csv" > /dev/null

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  PATH="$PWD/node_modules/.bin:$PATH" wasm_env trunk build --release --dist dist >&2
fi

echo "== app (headless Chromium, worker), $RUNS runs per method" >&2
APP_JSON="$(node bench/projection.mjs dist "$BUNDLE" "$WORK/coords" "$RUNS" "$METHODS")"
echo "== peers (one thread), $RUNS runs per method" >&2
"$PY" bench/projection_peers.py "$WORK/codes.csv" --threads 1 --repeats "$RUNS" \
  --methods "${PEER_METHODS:-pca,sklearn_tsne,opentsne_bh,umap_seeded,isomap,lle}" \
  --json "$WORK/peers.json" >&2
echo "== trustworthiness@10 of the app's maps (scikit-learn's function)" >&2
"$PY" bench/projection_peers.py "$WORK/codes.csv" --methods none \
  --score $(for m in ${METHODS//,/ }; do echo "$WORK/coords/app-$m.csv"; done) \
  --json "$WORK/app-trust.json" >&2

APP_JSON="$APP_JSON" WORK="$WORK" python3 - <<'PY'
import json, os
app = json.loads(os.environ["APP_JSON"])
work = os.environ["WORK"]
peers = json.load(open(f"{work}/peers.json"))
trust = json.load(open(f"{work}/app-trust.json"))
print(json.dumps({"app": app, "app_trust": trust, "peers": peers}, indent=1)[:200000],
      file=open(f"{work}/all.json", "w"))
def peer_rows():
    for r in peers.get("results", peers if isinstance(peers, list) else []):
        yield r
print("figures written to", f"{work}/all.json")
PY
