#!/usr/bin/env bash
# The main job: installs whatever is missing, builds, then trains the demo
# job (common/config/examples/demo.yaml: the tiny Llama on the synthetic copy
# task, each sequence split over 4 local processes, Ulysses 2 × ring 2) with
# spindle-trainer, printing the loss as it falls, and finally scores the
# exported weights with spindle-eval. Extra arguments go to spindle-trainer
# (e.g. --set train.max_steps=100). Output lands in runs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh
build_dir=${SPINDLE_BUILD_DIR:-build}
rm -rf runs/demo
"$build_dir/worker/tools/spindle-trainer" common/config/examples/demo.yaml --local-ranks 4 "$@"
echo
echo "The exported weights (Hugging Face layout) on fresh copy-task sequences:"
exec "$build_dir/worker/tools/spindle-eval" --model runs/demo/export --synthetic copy \
  --seed 12345 --seq_len 128 --max_seqs 32
