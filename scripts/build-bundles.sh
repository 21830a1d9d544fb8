#!/usr/bin/env bash
# Rebuild the model bundles shipped in public/models from the datasets in data/.
# Deterministic: same data + same seed give bit-identical weights (CPU backend).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
cargo build --release -p mixlab-cli
mixlab="$CARGO_TARGET_DIR/release/mixlab"

# Shampoo (default): stability, turbidity and viscosity from one shared set of material codes.
"$mixlab" train --data data/shampoo/data.csv \
  --targets stable:binary,turbidity_ntu:log10,viscosity_10_per_s_cp:log10 \
  --drop turbidity_error_ntu,viscosity_class,rheology_type \
  --name "Shampoo (BASF raw materials)" \
  --description "Phase stability, turbidity and viscosity at 10/s of robot-made shampoos: 18 BASF raw materials + water." \
  --dataset-info data/shampoo/info.json --materials-info data/shampoo/ingredients.csv \
  --code-dim 8 --hidden 64,64 --steps 4000 --batch-size 64 --learning-rate 3e-3 --seed 1 --members 5 \
  --out public/models/shampoo
