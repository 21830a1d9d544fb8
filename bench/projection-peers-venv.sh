#!/usr/bin/env bash
# Python venv for the projection peer benchmark (bench/projection_peers.py): scikit-learn (PCA,
# t-SNE, Isomap, LLE, trustworthiness), openTSNE and umap-learn, all from PyPI at pinned versions.
# Creates or updates the venv idempotently and prints its python's path on stdout (the only line
# on stdout; progress goes to stderr), so that callers can do:
#
#   PY="$(bench/projection-peers-venv.sh)" && "$PY" bench/projection_peers.py --help
#
# Settings (environment): MIXLAB_PROJ_VENV (default $MIXLAB_CACHE/proj-venv, where MIXLAB_CACHE
# defaults to ~/.cache/mixlab), PYTHON (interpreter to create the venv with, default python3).
#
# When the venv already holds exactly the pinned versions, nothing touches the network. Otherwise
# the script first checks that PyPI answers (a `pip download` of one small pinned wheel) and stops
# with a clear message if it does not. The pins below were verified to install and import together
# on CPython 3.11 / Linux x86_64 (wheels for all of them; nothing is compiled).
set -euo pipefail

CACHE="${MIXLAB_CACHE:-$HOME/.cache/mixlab}"
VENV="${MIXLAB_PROJ_VENV:-$CACHE/proj-venv}"
export PYTHON="${PYTHON:-python3}"

# The packages we benchmark and everything they pull in, pinned (pip freeze of a working venv).
PINS=(
  numpy==2.4.6
  scipy==1.17.1
  scikit-learn==1.9.1
  openTSNE==1.0.4
  umap-learn==0.5.12
  pynndescent==0.7.0
  numba==0.68.1
  llvmlite==0.50.0
  joblib==1.6.0
  threadpoolctl==3.8.0
  narwhals==2.29.0
  cloudpickle==3.1.2
  tqdm==4.70.1
)

exec "$(dirname "$0")/pinned-venv.sh" "$VENV" "import numpy, scipy, sklearn.manifold, openTSNE, umap, numba, threadpoolctl" "${PINS[@]}"
