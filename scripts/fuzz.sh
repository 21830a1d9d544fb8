#!/usr/bin/env bash
# Fuzz the parsers that read what users and links bring, with cargo-fuzz (libFuzzer):
#   ./scripts/fuzz.sh [TARGET...] [-- SECONDS]     (default: all three targets, 600 s each)
# Targets: csv_reader, bundle_loader, share_link (fuzz/fuzz_targets). Seeds come from the
# hardening corpus (tests/corpus); a crash is saved under fuzz/artifacts/TARGET/ and the run
# stops with its input: add it to tests/corpus (with the message it must give) once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=()
seconds=600
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then seconds=$2; shift 2; else targets+=("$1"); shift; fi
done
[ ${#targets[@]} -eq 0 ] && targets=(csv_reader bundle_loader share_link)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# The stable toolchain runs libFuzzer's instrumentation with RUSTC_BOOTSTRAP (no nightly here).
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${MIXLAB_FUZZ_TARGET_DIR:-$HOME/.cache/mixlab/target-fuzz}"
seeds="${MIXLAB_FUZZ_CORPUS:-$HOME/.cache/mixlab/fuzz-corpus}"
node scripts/fuzz-seeds.mjs "$seeds"
cd fuzz
for t in "${targets[@]}"; do
  echo "== fuzzing $t for ${seconds} s"
  cargo fuzz run -O --sanitizer none "$t" "$seeds/$t" -- -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=1048576 -print_final_stats=1
done
