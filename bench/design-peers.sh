#!/usr/bin/env bash
# Design peer benchmark: `mixlab design` beside SciPy's SLSQP (multi-start) and differential
# evolution on the same problem and model (bench/design_peers.py), for the concrete and shampoo
# examples and a study-scale library (5,400 materials). Prints a markdown table.
#
#   bench/design-peers.sh
#
# Per case: `mixlab design` 3 times (median wall time, process start included), then once more with
# --export-problem (untimed) for the peers; the peers once each with a wall-clock budget.
# Settings (environment): MIXLAB_DESIGN_BUDGET_S (per peer method, default 300), MIXLAB_DESIGN_RUNS
# (default 3), MIXLAB_DESIGN_SEED (the peers' seed, default 1). Outputs (candidates, exported
# problems, peer logs) stay in $MIXLAB_CACHE/bench-design/peers/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh

BUDGET="${MIXLAB_DESIGN_BUDGET_S:-300}"
RUNS="${MIXLAB_DESIGN_RUNS:-3}"
SEED="${MIXLAB_DESIGN_SEED:-1}"
STUDY="$MIXLAB_CACHE/bench-design"
OUT="$STUDY/peers"
mkdir -p "$OUT"

echo "== building mixlab (release)" >&2
cargo build --release -p mixlab-cli >&2
MIXLAB="$CARGO_TARGET_DIR/release/mixlab"
PY="$(bench/design-peers-venv.sh)"

if [ ! -f "$STUDY/study-bundle/manifest.json" ]; then
  echo "== making the study-scale bundle in $STUDY" >&2
  (
    cd "$STUDY"
    "$MIXLAB" synthetic --materials 5400 --recipes 10000 --properties 3 --out syn.csv --groups-out groups.csv
    "$MIXLAB" train --data syn.csv --targets property,property_2,property_3 --steps 3000 --members 3 \
      --materials-info groups.csv --snapshots 0 --out study-bundle
  ) >&2
fi

CASES=(
  "concrete|public/models/concrete|public/examples/design-concrete.json"
  "shampoo|public/models/shampoo|public/examples/design-shampoo.json"
  "study scale (5,400 materials)|$STUDY/study-bundle|bench/design-study-peer.json"
)

now() { date +%s.%N; }
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
for case in "${CASES[@]}"; do
  IFS='|' read -r name bundle spec <<<"$case"
  tag="$(echo "$name" | cut -d' ' -f1)"
  echo "== $name: mixlab design x$RUNS" >&2
  times=()
  for _ in $(seq "$RUNS"); do
    t0="$(now)"
    "$MIXLAB" design --bundle "$bundle" --spec "$spec" --out "$OUT/$tag.csv" 2>/dev/null
    times+=("$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')")
  done
  cp "$OUT/$tag.csv" "$OUT/$tag-timed.csv"
  "$MIXLAB" design --bundle "$bundle" --spec "$spec" --out "$OUT/$tag.csv" \
    --export-problem "$OUT/$tag-problem.json" 2>/dev/null
  cmp -s "$OUT/$tag.csv" "$OUT/$tag-timed.csv" \
    || { echo "ERROR: $name: the export run found other candidates than the timed runs" >&2; exit 1; }
  echo "   times: ${times[*]} s" >&2
  echo "== $name: SciPy peers (budget $BUDGET s per method)" >&2
  "$PY" bench/design_peers.py "$OUT/$tag-problem.json" --mixlab-csv "$OUT/$tag.csv" \
    --budget-s "$BUDGET" --seed "$SEED" --mixlab "$MIXLAB" --bundle "$bundle" | tee "$OUT/$tag-peers.log" >&2
  grep '^RESULT ' "$OUT/$tag-peers.log" | sed 's/^RESULT //' \
    | "$PY" -c 'import json, sys; r = json.load(sys.stdin); r["name"] = sys.argv[1]; r["mixlab"]["times"] = [float(t) for t in sys.argv[2:]]; print(json.dumps(r))' \
      "$name" "${times[@]}" >>"$RESULTS"
done

"$PY" - "$RESULTS" "$BUDGET" "$RUNS" <<'EOF'
import json, platform, statistics, sys
import numpy, scipy

rows = [json.loads(l) for l in open(sys.argv[1])]
budget, runs = sys.argv[2], sys.argv[3]
print(f"\nmixlab design vs SciPy {scipy.__version__} (NumPy {numpy.__version__}, Python {platform.python_version()}); "
      f"peer budget {budget} s per method; best D = desirability of the best feasible recipe\n")
print(f"| model | Mixlab best D | Mixlab time (median of {runs}) | SLSQP best D | SLSQP time | DE best D | DE time | notes |")
print("|---|---|---|---|---|---|---|---|")
fmt = lambda d: "none feasible" if d is None else f"{d:.4f}"
for r in rows:
    m, s, d = r["mixlab"], r["slsqp"], r["de"]
    notes = []
    if not (m["feasible"] and m.get("in_domain", True)):
        notes.append("Mixlab's best INFEASIBLE")
    for label, x in (("SLSQP", s), ("DE", d)):
        if x["budget_hit"]:
            notes.append(f"{label} hit the budget")
        if not x["feasible"]:
            notes.append(f"{label}: no feasible recipe")
        elif not x.get("in_domain", True):
            notes.append(f"{label}'s best out of domain per `mixlab score`")
    notes.append(f"SLSQP {s['starts']}/{s['starts_planned']} starts"
                 + (f" (longest major iteration {s['longest_iteration_s']:.0f} s)" if s["longest_iteration_s"] >= 10 else ""))
    notes.append(f"DE {d['generations']} generations × {d['population']}")
    print(f"| {r['name']} | {m['D']:.4f} | {statistics.median(m['times']):.2f} s | {fmt(s['D'])} | {s['wall_s']:.1f} s "
          f"| {fmt(d['D'])} | {d['wall_s']:.1f} s | {'; '.join(notes)} |")
EOF
