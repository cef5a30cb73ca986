#!/usr/bin/env bash
# Installs whatever is missing (scripts/setup.sh), then configures and builds
# every target into build/ (override with SPINDLE_BUILD_DIR). Incremental:
# a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
build_dir=${SPINDLE_BUILD_DIR:-build}
# Cap the build's parallelism to memory as well as cores: a libtorch
# translation unit takes ~1.5 GB.
mem_gb=$(awk '/MemAvailable/ {print int($2 / 1048576)}' /proc/meminfo)
jobs=$(nproc)
(( mem_gb / 2 < jobs )) && jobs=$(( mem_gb / 2 > 0 ? mem_gb / 2 : 1 ))

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${SPINDLE_CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$jobs"
