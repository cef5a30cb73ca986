#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU and the project's build
# dependencies (scripts/setup.sh on Debian 12, plus the CUDA Toolkit with
# NCCL): builds, runs every GPU test (ctest label "gpu": CUDA kernels against
# the float64 reference, Ulysses/permute copies, the NCCL backend), then the
# kernel benchmark, whose table lands in docs/perf/cuda-kernels-<gpu>.md.
#
# Any CUDA libtorch can stand in for Debian's CPU one: by default the one in
# python3's PyTorch (its share/cmake), or Torch_DIR=/path/to/share/cmake/Torch.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU visible (nvidia-smi -L failed); nothing to check" >&2
  exit 2
fi
build_dir=${SPINDLE_GPU_BUILD_DIR:-build-gpu}
extra=()
if [[ -z ${Torch_DIR:-} ]] && python3 -c 'import torch' 2>/dev/null; then
  torch_cmake=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  extra+=("-DCMAKE_PREFIX_PATH=$torch_cmake")
  echo "gpu_check: libtorch from python3's PyTorch ($torch_cmake)"
elif [[ -n ${Torch_DIR:-} ]]; then
  extra+=("-DTorch_DIR=$Torch_DIR")
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPINDLE_CUDA=ON "${extra[@]}"
cmake --build "$build_dir" --target kernels_cuda_test comm_nccl_test spindle-cuda-bench
ctest --test-dir "$build_dir" -L gpu --output-on-failure --no-tests=error

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr ' ' '-' | tr -cd '[:alnum:]-')
mkdir -p docs/perf
"$build_dir/bin/spindle-cuda-bench" --markdown "docs/perf/cuda-kernels-${gpu}.md"
echo "gpu_check: table written to docs/perf/cuda-kernels-${gpu}.md"
