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

# Concrete: 20 random 90/10 splits, then the same grouped by mixture (one mixture, several ages).
for grouped in "" "--group-by-mixture"; do
  "$mixlab" evaluate --data data/concrete/data.csv --targets strength_mpa \
    --conditions age_days,total_mass_kg_per_m3 --code-dims 8 --splits 20 --test-fraction 0.1 \
    --steps 3000 --seed 1 $grouped --out "$out/concrete${grouped:+-grouped}"
done

# matbench_steels and matbench_glass: official 5-fold splits.
"$mixlab" evaluate --data data/steels/data.csv --targets yield_strength_mpa \
  --folds data/steels/folds.csv --code-dims 8 --steps 3000 --seed 1 --out "$out/steels"
"$mixlab" evaluate --data data/glass/data.csv --targets gfa_glass_forming:binary \
  --folds data/glass/folds.csv --code-dims 8,20 --hidden 128,128 --steps 10000 --seed 1 \
  --out "$out/glass"
echo "reports in $out"
