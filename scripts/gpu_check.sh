#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU, the CUDA Toolkit and the
# project's build dependencies: builds, runs every GPU test (ctest label
# "gpu": CUDA kernels against the float64 reference, Ulysses/permute copies,
# the NCCL backend, device-memory virtual ranks, sequence-parallel attention
# over virtual ranks, bf16 training, a cuda job through RunRank and through
# the service's daemons), then spindle-gpu-bench, whose table (attention vs
# libtorch SDPA, split overhead per algorithm, training tokens/s and MFU)
# lands in docs/perf/gpu-<gpu>.md.
#
# Dependencies: scripts/setup.sh's packages on Debian 12; elsewhere (a GPU
# machine without apt) the .debs that `scripts/gpu_deps.sh download` put in
# .gpu-deps/ are unpacked under the build folder and used from there.
# Any CUDA libtorch can stand in for Debian's CPU one: by default the one in
# python3's PyTorch (its share/cmake), or Torch_DIR=/path/to/share/cmake/Torch.
# NCCL: the CUDA Toolkit's, NCCL_ROOT, or python3's nvidia-nccl wheel.
#
# Usage: scripts/gpu_check.sh [all|build|test|bench]   (default all)
# The phases let a machine that limits each command's time run the check in
# steps; the build folder carries over. With $OUT set (a folder that is
# collected afterwards), the table and the test log are copied there too.
set -euo pipefail
cd "$(dirname "$0")/.."
phase=${1:-all}
case $phase in
  all | build | test | bench) ;;
  *)
    echo "usage: $0 [all|build|test|bench]" >&2
    exit 2
    ;;
esac

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU visible (nvidia-smi -L failed); nothing to check" >&2
  exit 2
fi
build_dir=${SPINDLE_GPU_BUILD_DIR:-build-gpu}
extra=()
prefixes=()
if [[ ! -d /usr/include/absl ]] && compgen -G ".gpu-deps/*.deb" >/dev/null; then
  deps="$PWD/$build_dir/deps"
  [[ -f $deps/.unpacked ]] || { scripts/gpu_deps.sh unpack .gpu-deps "$deps" && touch "$deps/.unpacked"; }
  prefixes+=("$deps/usr")
  export PATH="$deps/usr/bin:$PATH"  # protoc and grpc_cpp_plugin
  export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if [[ -z ${Torch_DIR:-} ]] && python3 -c 'import torch' 2>/dev/null; then
  torch_cmake=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  prefixes+=("$torch_cmake")
  echo "gpu_check: libtorch from python3's PyTorch ($torch_cmake)"
elif [[ -n ${Torch_DIR:-} ]]; then
  extra+=("-DTorch_DIR=$Torch_DIR")
fi
if [[ -z ${NCCL_ROOT:-} ]] && nccl=$(python3 -c 'import nvidia.nccl as n; print(n.__path__[0])' 2>/dev/null); then
  export NCCL_ROOT=$nccl
  echo "gpu_check: NCCL from python3's nvidia-nccl ($NCCL_ROOT)"
fi
((${#prefixes[@]} == 0)) || extra+=("-DCMAKE_PREFIX_PATH=$(IFS=';'; echo "${prefixes[*]}")")
if [[ $phase == all || $phase == build ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPINDLE_CUDA=ON "${extra[@]}"
  # The kernels, trainer and benchmark first; the service's daemons (for
  # gpu_service_test) after, so a time-limited first call gets the most.
  cmake --build "$build_dir" --target kernels_cuda_test comm_nccl_test comm_cuda_memory_test \
    sp_cuda_test train_cuda_test spindle-gpu-bench
  cmake --build "$build_dir" --target gpu_service_test
fi
if [[ $phase == all || $phase == test ]]; then
  log=$build_dir/gpu-tests.log
  status=0
  ctest --test-dir "$build_dir" -L gpu --output-on-failure --no-tests=error 2>&1 | tee "$log" ||
    status=$?
  [[ -z ${OUT:-} ]] || cp "$log" "$OUT/"
  ((status == 0)) || exit "$status"
fi
if [[ $phase == all || $phase == bench ]]; then
  gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr ' ' '-' | tr -cd '[:alnum:]-')
  mkdir -p docs/perf
  "$build_dir/bin/spindle-gpu-bench" --markdown "docs/perf/gpu-${gpu}.md"
  echo "gpu_check: table written to docs/perf/gpu-${gpu}.md"
  [[ -z ${OUT:-} ]] || cp "docs/perf/gpu-${gpu}.md" "$OUT/"
fi
