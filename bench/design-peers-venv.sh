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
PYTHON="${PYTHON:-python3}"

# SciPy 1.17 depends only on NumPy, so these two are the whole environment.
PINS=(
  numpy==2.4.6
  scipy==1.17.1
)

# True when the venv's python exists and has every pin at exactly its version.
pins_ok() {
  [ -x "$VENV/bin/python" ] || return 1
  "$VENV/bin/python" - "${PINS[@]}" <<'EOF' 2>/dev/null
import sys, importlib.metadata as md
bad = []
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        have = md.version(name)
    except md.PackageNotFoundError:
        have = None
    if have != want:
        bad.append(f"{name} {have or 'missing'} (want {want})")
if bad:
    print("  not as pinned: " + ", ".join(bad), file=sys.stderr)
    sys.exit(1)
EOF
}

if pins_ok; then
  echo "== $VENV is up to date" >&2
else
  echo "== checking that PyPI is reachable (pip download numpy)" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  if ! "$PYTHON" -m pip download -q --no-deps --disable-pip-version-check -d "$tmp" \
       numpy==2.4.6 >"$tmp/log" 2>&1; then
    echo "ERROR: PyPI is not reachable from this machine (pip download failed), so the venv" >&2
    echo "       $VENV cannot be created or updated. pip said:" >&2
    sed 's/^/         /' "$tmp/log" | tail -5 >&2
    exit 1
  fi
  echo "== installing the pinned design peers into $VENV" >&2
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PINS[@]}" >&2
  pins_ok || { echo "ERROR: $VENV does not hold the pinned versions after pip install" >&2; exit 1; }
fi

# Smoke test: every library the benchmark uses imports.
"$VENV/bin/python" -c "import numpy, scipy.optimize, scipy.special" \
  || { echo "ERROR: the benchmark's libraries do not import in $VENV" >&2; exit 1; }
echo "$VENV/bin/python"
