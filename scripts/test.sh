#!/usr/bin/env bash
# Installs whatever is missing, builds, and runs every test (ctest). Extra
# arguments go to ctest, e.g. `scripts/test.sh -R Ring`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh
build_dir=${SPINDLE_BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j "$(nproc)" "$@"
