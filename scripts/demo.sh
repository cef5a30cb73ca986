#!/usr/bin/env bash
# The main job: installs whatever is missing, builds, then runs
# sequence-parallel attention (Ulysses, ring in three layouts, USP) across
# 4 local processes over Gloo and prints errors against one-device float64
# attention, bytes per rank against the formulas, and times. Extra arguments
# go to spindle-sp-demo (--help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh
build_dir=${SPINDLE_BUILD_DIR:-build}
exec "$build_dir/worker/tools/spindle-sp-demo" "$@"
