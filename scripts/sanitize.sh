#!/usr/bin/env bash
# The sanitizer and fuzzing stage (part of scripts/test.sh): builds what does
# not link libtorch or the vectorised kernels — job spec, planner,
# coordinator, CLI, file readers, communicators — with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer, runs their tests, then runs
# each libFuzzer target (tests/fuzz/) for SPINDLE_FUZZ_SECONDS (default 20)
# from its seed corpus. Any sanitizer report, crash or failed test fails it.
# Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
build_dir=${SPINDLE_SANITIZE_BUILD_DIR:-build-sanitize}
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPINDLE_WITH_TORCH=OFF -DSPINDLE_WITH_KERNELS=OFF \
  -DSPINDLE_CUDA=OFF -DSPINDLE_SANITIZE=address,undefined -DSPINDLE_FUZZ=ON \
  -DSPINDLE_FUZZ_SECONDS="${SPINDLE_FUZZ_SECONDS:-20}" >/dev/null
cmake --build "$build_dir"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j "$(nproc)" "$@"
