#!/usr/bin/env bash
# The main job: installs whatever is missing, builds, then runs the service on
# this machine — a spindle-coordinator and two spindle-workers with two CPU
# slots each — submits the demo job (common/config/examples/demo.yaml: the
# tiny Llama on the synthetic copy task, each sequence split over 4 ranks,
# Ulysses 2 inside a worker × ring 2 across the two) with `spindle submit`,
# follows it with the progress bar to the end, scores the exported weights
# with spindle-eval, and shuts everything down. Extra arguments go to
# `spindle submit` (e.g. --set train.max_steps=300). Output lands in runs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh
bin=${SPINDLE_BUILD_DIR:-build}/bin
run=runs/demo
rm -rf "$run"
mkdir -p "$run"

pids=()
stop_all() {
  # Workers first (they stop their ranks), then the coordinator; each has
  # its own grace period and exits by itself.
  for pid in "${pids[@]:1}" "${pids[0]:-}"; do
    [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all EXIT

"$bin/spindle-coordinator" --listen 127.0.0.1:0 --port_file "$run/coordinator.port" \
  --metrics_listen 127.0.0.1:0 --metrics_port_file "$run/coordinator.metrics-port" \
  --state_dir "$run/state" >"$run/coordinator.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s "$run/coordinator.port" ]] && break; sleep 0.1; done
[[ -s "$run/coordinator.port" ]] || { cat "$run/coordinator.log"; exit 1; }
export SPINDLE_COORDINATOR=127.0.0.1:$(cat "$run/coordinator.port")

# Two "nodes" on one machine: each worker's slots share half of the cores.
cores=$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))
for n in 0 1; do
  "$bin/spindle-worker" --coordinator "$SPINDLE_COORDINATOR" --name "node-$n" --cpu_slots 2 \
    --cpu_cores "$cores" --listen 127.0.0.1:0 --work_dir "$run/node-$n" \
    --metrics_listen 127.0.0.1:0 --metrics_port_file "$run/node-$n.metrics-port" \
    >"$run/node-$n.log" 2>&1 &
  pids+=($!)
done
alive=0
for _ in $(seq 150); do
  alive=$("$bin/spindle" workers -o json 2>/dev/null | grep -o '"state":"alive"' | wc -l || true)
  [[ $alive == 2 ]] && break
  sleep 0.2
done
if [[ $alive != 2 ]]; then
  echo "demo: $alive of 2 workers registered within 30 s; their logs:" >&2
  tail -n 5 "$run"/node-*.log >&2
  exit 1
fi
echo "== spindle workers"
"$bin/spindle" workers
echo
echo "== spindle plan common/config/examples/demo.yaml"
"$bin/spindle" plan common/config/examples/demo.yaml
echo
echo "== spindle submit common/config/examples/demo.yaml"
"$bin/spindle" submit common/config/examples/demo.yaml "$@"
echo
echo "== the exported weights (Hugging Face layout) on fresh copy-task sequences"
"$bin/spindle-eval" --model "$run/export" --synthetic copy --seed 12345 --seq_len 128 \
  --max_seqs 32
echo
echo "== shutting down (logs: $run/coordinator.log, $run/node-*.log)"
