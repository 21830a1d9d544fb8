#!/usr/bin/env bash
# Reproduce the tables in docs/model-quality.md (writes reports under target dir's model-quality/).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
cargo build -q --release -p mixlab-cli
mixlab="$CARGO_TARGET_DIR/release/mixlab"
out="$MIXLAB_CACHE/model-quality"

# Shampoo: the study's table (code length × Full / Eval / Train), 5 random 80/20 splits.
"$mixlab" evaluate --data data/shampoo/data.csv \
  --targets stable:binary,turbidity_ntu:log10,viscosity_10_per_s_cp:log10 \
  --drop turbidity_error_ntu,viscosity_class,rheology_type \
  --code-dims 2,4,6,10,20,50,100 --splits 5 --test-fraction 0.2 --steps 3000 --seed 1 \
  --out "$out/shampoo"
echo "reports in $out"
