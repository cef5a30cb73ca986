#!/usr/bin/env bash
# Installs whatever is missing, builds, and runs every test (ctest), then the
# sanitizer and fuzzing stage (scripts/sanitize.sh: ASan + UBSan build of the
# parts without libtorch, their tests, each libFuzzer target for a bounded
# time). Extra arguments go to the main ctest only and skip the second stage,
# e.g. `scripts/test.sh -R Ring`; SPINDLE_SKIP_SANITIZE=1 skips it too.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh
build_dir=${SPINDLE_BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j "$(nproc)" "$@"
if (($# == 0)) && [[ -z ${SPINDLE_SKIP_SANITIZE:-} ]]; then
  scripts/sanitize.sh
fi
