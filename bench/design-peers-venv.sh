#!/usr/bin/env bash
# Python venv for the design peer benchmark (bench/design_peers.py): NumPy and SciPy from PyPI at
# pinned versions. Creates or updates the venv idempotently and prints its python's path on stdout
# (the only line on stdout; progress goes to stderr), so that callers can do:
#
#   PY="$(bench/design-peers-venv.sh)" && "$PY" bench/design_peers.py --help
#
# Settings (environment): MIXLAB_DESIGN_VENV (default $MIXLAB_CACHE/design-venv, where
# MIXLAB_CACHE defaults to ~/.cache/mixlab), PYTHON (interpreter to create the venv with, default
# python3).
#
# When the venv already holds exactly the pinned versions, nothing touches the network. Otherwise
# the script first checks that PyPI answers (a `pip download` of one pinned wheel) and stops with
# a clear message if it does not. The pins were verified to install and import together on
# CPython 3.11 / Linux x86_64 (wheels for both; nothing is compiled).
set -euo pipefail

CACHE="${MIXLAB_CACHE:-$HOME/.cache/mixlab}"
VENV="${MIXLAB_DESIGN_VENV:-$CACHE/design-venv}"
export PYTHON="${PYTHON:-python3}"

# SciPy 1.17 depends only on NumPy, so these two are the whole environment.
PINS=(
  numpy==2.4.6
  scipy==1.17.1
)

exec "$(dirname "$0")/pinned-venv.sh" "$VENV" "import numpy, scipy.optimize, scipy.special" "${PINS[@]}"
