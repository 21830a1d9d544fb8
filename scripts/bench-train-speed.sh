#!/usr/bin/env bash
# Training speed: `mixlab train` (native, CPU, burn Flex) against the same model in PyTorch (CPU),
# same data, same steps, interleaved runs, figures side by side. Not a test; see docs/benchmarks.md.
#
#   scripts/bench-train-speed.sh                         # concrete, code 8, hidden 64,64, 3000 steps, 3 runs
#   RUNS=5 CODE_DIM=20 HIDDEN=128,128 scripts/bench-train-speed.sh
#
# Settings (environment): DATA TARGETS CONDITIONS CODE_DIM HIDDEN STEPS BATCH LR SEED RUNS
# TORCH_THREADS (default: the machine's cores; "2,1" runs PyTorch once per thread count),
# SKIP_BUILD=1 (benchmark the release binary already built),
# MIXLAB_TORCH_VERSION (default 2.15.0), MIXLAB_TORCH_VENV (default $MIXLAB_CACHE/torch-venv).
#
# PyTorch comes from PyPI. PyPI's Linux x86_64 torch wheel is the CUDA build and depends on ~2.3 GB
# of nvidia-* wheels (download.pytorch.org's CPU build is not reachable here). The script installs
# the wheel with --no-deps plus its pure-Python dependencies, and if `import torch` then fails for
# want of the CUDA libraries, bench/torch_cuda_stubs.py writes small stub libraries for them (no
# CUDA code; torch runs on the CPU only). About 1.3 GB in all.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh

DATA="${DATA:-data/concrete/data.csv}"
TARGETS="${TARGETS:-strength_mpa}"
CONDITIONS="${CONDITIONS:-age_days,total_mass_kg_per_m3}"
CODE_DIM="${CODE_DIM:-8}"
HIDDEN="${HIDDEN:-64,64}"
STEPS="${STEPS:-3000}"
BATCH="${BATCH:-64}"
LR="${LR:-0.003}"
SEED="${SEED:-1}"
RUNS="${RUNS:-3}"
TORCH_THREADS="${TORCH_THREADS:-$(nproc)}"
TORCH_VERSION="${MIXLAB_TORCH_VERSION:-2.15.0}"
VENV="${MIXLAB_TORCH_VENV:-$MIXLAB_CACHE/torch-venv}"

# --- PyTorch (CPU) in a venv -------------------------------------------------------------------
torch_ok() { "$VENV/bin/python" -c "import torch; torch.ones(2) @ torch.ones(2)" >/dev/null 2>&1; }
if ! torch_ok; then
  echo "== installing torch $TORCH_VERSION (CPU use) into $VENV" >&2
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --no-deps "torch==$TORCH_VERSION"
  # torch's own requirements, less the CUDA ones (nvidia-*, cuda-*, triton) and the extras.
  mapfile -t deps < <("$VENV/bin/python" - <<'EOF'
import importlib.metadata as md, re
for r in md.requires("torch") or []:
    name = re.split(r"[\s;\[<>=!~]", r, maxsplit=1)[0].lower()
    if "extra ==" in r or name.startswith(("nvidia", "cuda", "triton")):
        continue
    print(r.split(";")[0].strip())
EOF
  )
  "$VENV/bin/pip" install -q "${deps[@]}" numpy  # numpy: else torch warns at import
  if ! torch_ok; then
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    "$VENV/bin/python" bench/torch_cuda_stubs.py "$site" >&2
  fi
  torch_ok || { echo "torch does not import in $VENV" >&2; exit 1; }
fi

# --- the release CLI -----------------------------------------------------------------------------
MIXLAB="$CARGO_TARGET_DIR/release/mixlab"
if [ "${SKIP_BUILD:-0}" = 1 ]; then
  [ -x "$MIXLAB" ] || { echo "SKIP_BUILD=1 but there is no $MIXLAB" >&2; exit 1; }
  echo "== SKIP_BUILD=1: using $MIXLAB (built $(date -r "$MIXLAB" '+%F %T'))" >&2
elif ! { echo "== cargo build --release -p mixlab-cli" >&2; cargo build --release -p mixlab-cli >&2; }; then
  if [ -x "$MIXLAB" ]; then
    echo "WARNING: the build failed; benchmarking the existing binary $MIXLAB" \
      "(built $(date -r "$MIXLAB" '+%F %T'))" >&2
  else
    exit 1
  fi
fi

# --- interleaved runs, table ---------------------------------------------------------------------
export MIXLAB TORCH_PY="$VENV/bin/python" DATA TARGETS CONDITIONS CODE_DIM HIDDEN STEPS BATCH LR SEED \
  RUNS TORCH_THREADS
# Let Python cache bytecode in the venv (this environment sets PYTHONDONTWRITEBYTECODE, which would
# make every run recompile torch's Python sources at import).
unset PYTHONDONTWRITEBYTECODE
python3 - <<'EOF'
import json, os, resource, statistics, subprocess, sys, tempfile, time

E = os.environ
common = ["--data", E["DATA"], "--targets", E["TARGETS"], "--conditions", E["CONDITIONS"],
          "--code-dim", E["CODE_DIM"], "--hidden", E["HIDDEN"], "--batch-size", E["BATCH"],
          "--learning-rate", E["LR"], "--seed", E["SEED"]]
steps = int(E["STEPS"])
threads = [int(t) for t in E["TORCH_THREADS"].split(",")]
tmp = tempfile.mkdtemp(prefix="mixlab-bench-")

def timed(cmd):
    """Run cmd; wall seconds and CPU seconds (user + sys) of the child, its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.stdout, p.stderr

def rust(n_steps):
    out = os.path.join(tmp, "bundle")
    wall, cpu, _, err = timed([E["MIXLAB"], "train", *common, "--steps", str(n_steps), "--out", out])
    m = json.load(open(os.path.join(out, "manifest.json")))["metrics"]
    t = E["TARGETS"].split(",")[0].split(":")[0]
    return dict(wall=wall, cpu=cpu, val=m[f"{t}.validation.mae"]["value"],
                train=m[f"{t}.train.mae"]["value"], stderr=err)

def torch(n_steps, n_threads):
    wall, cpu, out, _ = timed([E["TORCH_PY"], "bench/torch_train.py", *common, "--steps", str(n_steps),
                               "--threads", str(n_threads)])
    j = json.loads(out)
    t = E["TARGETS"].split(",")[0].split(":")[0]
    return dict(wall=wall, cpu=cpu, loop=j["train_seconds"], val=j["metrics"][f"{t}.validation.mae"],
                train=j["metrics"][f"{t}.train.mae"], version=j["torch"], threads=j["threads"])

print(f"warm-up (untimed) ...", file=sys.stderr)
rust(1); torch(10, threads[0])
results = {"rust": [], "rust1": [], **{f"torch{n}": [] for n in threads}}
for i in range(int(E["RUNS"])):
    print(f"run {i + 1}/{E['RUNS']} ...", file=sys.stderr)
    results["rust"].append(rust(steps))
    for n in threads:
        results[f"torch{n}"].append(torch(steps, n))
    results["rust1"].append(rust(1))  # fixed cost of `mixlab train`: start, CSV, evaluation, bundle

med = lambda runs, k: statistics.median(r[k] for r in runs)
fmt = lambda xs: ", ".join(f"{x:.2f}" for x in xs)
rust_wall, rust_fixed = med(results["rust"], "wall"), med(results["rust1"], "wall")
rust_loop = rust_wall - rust_fixed
version = results[f"torch{threads[0]}"][0]["version"]
print(f"\nTraining speed, {E['DATA']} ({E['TARGETS']}), code {E['CODE_DIM']}, hidden {E['HIDDEN']}, "
      f"{steps} steps of {E['BATCH']} rows, lr {E['LR']}; median of {E['RUNS']} interleaved runs; "
      f"torch {version}; {os.cpu_count()} cores\n")
print("| trainer | threads | process wall (s) | training loop (s) | steps/s (loop) | CPU user+sys (s) "
      "| validation MAE | train MAE | process walls (s) |")
print("|---|---|---|---|---|---|---|---|---|")
r = results["rust"]
print(f"| mixlab train (burn Flex) | 1 | {rust_wall:.2f} | {rust_loop:.2f} (est.) | {steps / rust_loop:.0f} "
      f"| {med(r, 'cpu'):.2f} | {med(r, 'val'):.3f} | {med(r, 'train'):.3f} | {fmt(x['wall'] for x in r)} |")
for n in threads:
    t = results[f"torch{n}"]
    print(f"| PyTorch eager | {n} | {med(t, 'wall'):.2f} | {med(t, 'loop'):.2f} | {steps / med(t, 'loop'):.0f} "
          f"| {med(t, 'cpu'):.2f} | {med(t, 'val'):.3f} | {med(t, 'train'):.3f} | {fmt(x['wall'] for x in t)} |")
print(f"\nmixlab train --steps 1 (fixed cost: process start, CSV, evaluation, bundle writing): "
      f"{rust_fixed:.2f} s ({fmt(x['wall'] for x in results['rust1'])}); the Rust loop figure is "
      f"process wall minus this.")
for n in threads:
    t = results[f"torch{n}"]
    print(f"ratio mixlab / PyTorch ({n} thread{'s' if n > 1 else ''}): process wall "
          f"{rust_wall / med(t, 'wall'):.2f}x, training loop {rust_loop / med(t, 'loop'):.2f}x")
print("MAE in the target's units; each trainer draws its own split and initial weights "
      "(same algorithm, different random numbers), so MAEs agree only roughly.")
EOF
