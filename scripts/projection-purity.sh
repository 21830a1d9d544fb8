#!/usr/bin/env bash
# Do materials of one periodic group sit nearer each other than chance? For the element models
# (steels: `group`; oxide glass: `cation_group`), the kNN group purity (k = 3) of each default
# projection in 2-D, of the full code space, and of a random layout (the expectation). Prints the
# markdown table of docs/model-quality.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
cargo build -q --release -p mixlab-cli
mixlab="$CARGO_TARGET_DIR/release/mixlab"
echo "| model (key, materials) | PCA | t-SNE | UMAP | Isomap | LLE | full codes | random |"
echo "|---|---|---|---|---|---|---|---|"
for pair in steels:group glass-tg:cation_group; do
  model="${pair%%:*}"; key="${pair#*:}"
  row=""
  for m in pca tsne umap isomap lle; do
    json="$("$mixlab" project --bundle "public/models/$model" --method "$m" --purity "$key" 2>/dev/null)"
    row="$row | $(python3 -c "import json,sys; print('%.3f' % json.loads(sys.argv[1])['map'])" "$json")"
    last="$json"
  done
  python3 - "$model" "$key" "$last" "$row" <<'PY'
import json, sys
model, key, last, row = sys.argv[1:]
j = json.loads(last)
print(f"| {model} ({key}, {j['materials']}){row} | {j['codes']:.3f} | {j['random']:.3f} |")
PY
done
