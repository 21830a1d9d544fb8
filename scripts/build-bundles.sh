#!/usr/bin/env bash
# Rebuild the model bundles shipped in public/models from the datasets in data/.
# Deterministic: same data + same seed give bit-identical weights (CPU backend).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
# SKIP_BUILD=1 uses the release binary already built.
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release -p mixlab-cli
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

# Concrete: strength from seven ingredients, age as a log10 condition (it spans 1 to 365 days).
"$mixlab" train --data data/concrete/data.csv --targets strength_mpa \
  --conditions age_days:log10,total_mass_kg_per_m3 \
  --name "Concrete (UCI compressive strength)" \
  --description "Compressive strength of 1,030 concrete samples (about 430 mixtures, each at several ages): cement, slag, fly ash, water, superplasticiser, aggregates." \
  --dataset-info data/concrete/info.json --materials-info data/concrete/ingredients.csv \
  --code-dim 20 --hidden 128,128 --dropout 0.1 --steps 10000 --batch-size 64 --learning-rate 3e-3 \
  --seed 1 --members 5 --out public/models/concrete

# Glass transition temperature of oxide glasses (SciGlass, 19 oxides, 29k glasses).
"$mixlab" train --data data/glass-tg/data.csv --targets tg_c \
  --name "Oxide glass Tg (SciGlass)" \
  --description "Glass transition temperature of 29,074 oxide glasses from 19 oxides (mole fractions)." \
  --dataset-info data/glass-tg/info.json --materials-info data/glass-tg/ingredients.csv \
  --code-dim 8 --hidden 128,128 --steps 10000 --batch-size 128 --learning-rate 3e-3 --seed 1 --members 3 \
  --out public/models/glass-tg

# Steels: yield strength from composition (matbench_steels, 312 alloys, 14 elements).
"$mixlab" train --data data/steels/data.csv --targets yield_strength_mpa \
  --name "Steels (matbench yield strength)" \
  --description "Yield strength of 312 steels from their composition (mass fractions of 14 elements)." \
  --dataset-info data/steels/info.json --materials-info data/steels/ingredients.csv \
  --code-dim 8 --hidden 64,64 --steps 3000 --batch-size 32 --learning-rate 3e-3 --seed 1 --members 5 \
  --out public/models/steels
