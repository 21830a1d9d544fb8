#!/usr/bin/env bash
# Reproduce the tables in docs/model-quality.md (reports under $MIXLAB_CACHE/model-quality/, each
# with report.md, report.json and report.html). Deterministic: seeded splits and training.
# About 1 h 30 min on 2 cores; pass dataset names to run a subset:
#   scripts/model-quality.sh shampoo glass-tg
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
cargo build -q --release -p mixlab-cli
mixlab="$CARGO_TARGET_DIR/release/mixlab"
out="$MIXLAB_CACHE/model-quality"
ALL="${*:-shampoo glass-tg concrete steels glass synthetic}"
run() { [[ " $ALL " == *" $1 "* ]]; }

# Shampoo: the study's table (code length × Full / Eval / Train), 5 random 80/20 splits.
if run shampoo; then
  "$mixlab" evaluate --data data/shampoo/data.csv \
    --targets stable:binary,turbidity_ntu:log10,viscosity_10_per_s_cp:log10 \
    --drop turbidity_error_ntu,viscosity_class,rheology_type \
    --code-dims 2,4,6,10,20,50,100 --splits 5 --test-fraction 0.2 --steps 3000 --seed 1 \
    --out "$out/shampoo"
  # The same with the log-dose block, and with --auto (each split chooses on its training rows).
  "$mixlab" evaluate --data data/shampoo/data.csv \
    --targets stable:binary,turbidity_ntu:log10,viscosity_10_per_s_cp:log10 \
    --drop turbidity_error_ntu,viscosity_class,rheology_type \
    --code-dims 2,4,6,10,20,50,100 --splits 5 --test-fraction 0.2 --steps 3000 --seed 1 \
    --log-dose --out "$out/shampoo-log-dose"
  "$mixlab" evaluate --data data/shampoo/data.csv \
    --targets stable:binary,turbidity_ntu:log10,viscosity_10_per_s_cp:log10 \
    --drop turbidity_error_ntu,viscosity_class,rheology_type \
    --splits 5 --test-fraction 0.2 --steps 3000 --seed 1 --auto --out "$out/shampoo-auto"
fi

# SciGlass Tg (19 oxides, 29k glasses): the same table.
if run glass-tg; then
  "$mixlab" evaluate --data data/glass-tg/data.csv --targets tg_c \
    --code-dims 2,4,6,10,20,50,100 --splits 5 --test-fraction 0.2 --steps 3000 --seed 1 \
    --out "$out/glass-tg"
  "$mixlab" evaluate --data data/glass-tg/data.csv --targets tg_c \
    --code-dims 2,4,6,10,20,50,100 --splits 5 --test-fraction 0.2 --steps 3000 --seed 1 --log-dose \
    --out "$out/glass-tg-log-dose"
  "$mixlab" evaluate --data data/glass-tg/data.csv --targets tg_c --splits 5 --test-fraction 0.2 \
    --steps 3000 --seed 1 --auto --out "$out/glass-tg-auto"
fi

# Concrete: the literature's 20 standard splits (RMSE ± standard error), with the per-material dose
# scale and without; then 20 random splits grouped by mixture (one mixture, several ages).
# Age enters as log10; 5-member ensembles with dropout 0.1. About 12-15 min each.
if run concrete; then
  concrete=(--data data/concrete/data.csv --targets strength_mpa
    --conditions age_days:log10,total_mass_kg_per_m3 --code-dims 20 --hidden 128,128
    --dropout 0.1 --steps 10000 --members 5 --seed 1)
  "$mixlab" evaluate "${concrete[@]}" --test-ids data/concrete/pbp_test_splits.csv --dose-scale \
    --log-dose --out "$out/concrete-standard-log-dose"
  "$mixlab" evaluate "${concrete[@]}" --test-ids data/concrete/pbp_test_splits.csv --dose-scale \
    --out "$out/concrete-standard"
  "$mixlab" evaluate "${concrete[@]}" --test-ids data/concrete/pbp_test_splits.csv \
    --out "$out/concrete-standard-no-dose-scale"
  # --auto from mixlab train's defaults (K = 5), each standard split choosing on its training rows.
  "$mixlab" evaluate --data data/concrete/data.csv --targets strength_mpa \
    --conditions age_days:log10,total_mass_kg_per_m3 --members 5 --seed 1 \
    --test-ids data/concrete/pbp_test_splits.csv --auto --auto-metric rmse --out "$out/concrete-auto"
  "$mixlab" evaluate "${concrete[@]}" --splits 20 --test-fraction 0.1 --group-by-mixture \
    --dose-scale --out "$out/concrete-grouped"
fi

# matbench_steels and matbench_glass: official 5-fold splits.
if run steels; then
  steels=(--data data/steels/data.csv --targets yield_strength_mpa --folds data/steels/folds.csv
    --steps 3000 --members 5)
  "$mixlab" evaluate "${steels[@]}" --code-dims 8 --seed 1 --out "$out/steels"
  # The log-dose block with dropout, three seeds (the folds' figures move by a few MPa with it).
  for seed in 1 2 3; do
    "$mixlab" evaluate "${steels[@]}" --code-dims 3,4,6,8 --log-dose --dropout 0.1 --seed "$seed" \
      --out "$out/steels-log-dose-seed$seed"
  done
  "$mixlab" evaluate "${steels[@]}" --code-dims 8 --seed 1 --descriptors magpie \
    --out "$out/steels-descriptors"
  "$mixlab" evaluate "${steels[@]}" --seed 1 --auto --out "$out/steels-auto"
fi
if run glass; then
  glass=(--data data/glass/data.csv --targets gfa_glass_forming:binary --folds data/glass/folds.csv
    --hidden 128,128 --seed 1)
  "$mixlab" evaluate "${glass[@]}" --code-dims 8,20 --steps 10000 --out "$out/glass"
  "$mixlab" evaluate "${glass[@]}" --code-dims 16 --steps 12000 --members 5 --log-dose \
    --dose-scale --out "$out/glass-log-dose"
  "$mixlab" evaluate "${glass[@]}" --code-dims 20 --steps 10000 --members 5 --descriptors magpie \
    --out "$out/glass-descriptors"
  "$mixlab" evaluate --data data/glass/data.csv --targets gfa_glass_forming:binary \
    --folds data/glass/folds.csv --members 5 --seed 1 --auto --out "$out/glass-auto"
fi

# Synthetic at the study's scale: 5,400 materials in 30 planted groups; kNN purity of the codes.
if run synthetic; then
  cargo test -q --release -p mixlab-core --features train -- --ignored --nocapture study_scale
fi
echo "reports in $out"
