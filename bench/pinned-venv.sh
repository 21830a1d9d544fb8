#!/usr/bin/env bash
# A Python venv holding exactly the given pins, for the peer benchmarks: created or updated
# idempotently, its python's path printed on stdout (the only line on stdout; progress on stderr).
#
#   bench/pinned-venv.sh VENV-DIR "import-check statement" PIN [PIN...]
#
# When the venv already holds exactly the pins, nothing touches the network. Otherwise it first
# checks that PyPI answers (a `pip download` of the first pin) and stops with a clear message if
# not. PYTHON (default python3) creates the venv. Used by design-peers-venv.sh and
# projection-peers-venv.sh, which hold the pins.
set -euo pipefail

VENV="$1"
IMPORTS="$2"
shift 2
PINS=("$@")
PYTHON="${PYTHON:-python3}"

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
  echo "== checking that PyPI is reachable (pip download ${PINS[0]})" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  if ! "$PYTHON" -m pip download -q --no-deps --disable-pip-version-check -d "$tmp" \
       "${PINS[0]}" >"$tmp/log" 2>&1; then
    echo "ERROR: PyPI is not reachable from this machine (pip download failed), so the venv" >&2
    echo "       $VENV cannot be created or updated. pip said:" >&2
    sed 's/^/         /' "$tmp/log" | tail -5 >&2
    exit 1
  fi
  echo "== installing the pinned packages into $VENV" >&2
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PINS[@]}" >&2
  pins_ok || { echo "ERROR: $VENV does not hold the pinned versions after pip install" >&2; exit 1; }
fi

# Smoke test: every library the benchmark uses imports.
"$VENV/bin/python" -c "$IMPORTS" \
  || { echo "ERROR: the benchmark's libraries do not import in $VENV" >&2; exit 1; }
echo "$VENV/bin/python"
