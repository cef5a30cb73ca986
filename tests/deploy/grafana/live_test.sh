#!/usr/bin/env bash
# The metrics, rules and dashboards against the real daemons: a coordinator
# and two workers (two CPU slots each) train the demo job (Ulysses 2 × ring 2
# over both workers) while a loopback Prometheus scrapes their endpoints
# every second with deploy/prometheus/rules loaded. Asserts:
#   - every endpoint's scrape passes `promtool check metrics`;
#   - every panel query of every dashboard (variables substituted) returns
#     data, and every rule evaluates (check_dashboards_live.py);
#   - once the job is cancelled, its series are gone from both daemons.
# Env: SPINDLE_BIN (the build's bin/), SPINDLE_SOURCE_DIR (repo root).
set -euo pipefail
src=${SPINDLE_SOURCE_DIR:?repo root}
bin=${SPINDLE_BIN:?the build\'s bin directory}
for tool in prometheus promtool curl python3; do
  command -v "$tool" >/dev/null || { echo "live_test: $tool missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

dir=$(mktemp -d /tmp/spindle-live.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "live_test: $*" >&2
  for f in "$dir"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
  exit 1
}
wait_file() {  # FILE SECONDS
  for _ in $(seq $(($2 * 10))); do [[ -s $1 ]] && return 0; sleep 0.1; done
  fail "$1 did not appear within $2 s"
}

"$bin/spindle-coordinator" --listen 127.0.0.1:0 --port_file "$dir/coordinator.port" \
  --metrics_listen 127.0.0.1:0 --metrics_port_file "$dir/coordinator.mport" \
  --state_dir "$dir/state" >"$dir/coordinator.log" 2>&1 &
pids+=($!)
wait_file "$dir/coordinator.port" 10
wait_file "$dir/coordinator.mport" 10
export SPINDLE_COORDINATOR=127.0.0.1:$(cat "$dir/coordinator.port")
for n in 0 1; do
  "$bin/spindle-worker" --coordinator "$SPINDLE_COORDINATOR" --name "node-$n" --cpu_slots 2 \
    --cpu_cores 1 --listen 127.0.0.1:0 --work_dir "$dir/node-$n" \
    --metrics_listen 127.0.0.1:0 --metrics_port_file "$dir/node-$n.mport" \
    >"$dir/node-$n.log" 2>&1 &
  pids+=($!)
  wait_file "$dir/node-$n.mport" 10
done
targets="\"127.0.0.1:$(cat "$dir/coordinator.mport")\""
for n in 0 1; do targets+=", \"127.0.0.1:$(cat "$dir/node-$n.mport")\""; done

# Long enough to be running throughout; cancelled at the end.
(cd "$dir" && "$bin/spindle" submit "$src/common/config/examples/demo.yaml" -d \
  --set train.max_steps=100000 --set checkpoint.every.steps=10 \
  --set checkpoint.dir="$dir/ckpt" --set checkpoint.export.dir="$dir/export" \
  >"$dir/submit.out" 2>"$dir/submit.err") || fail "submit: $(cat "$dir/submit.err")"
job=$(grep -o 'demo-[0-9]*' "$dir/submit.out" | head -1)
[[ -n $job ]] || fail "no job id in: $(cat "$dir/submit.out")"
echo "live_test: job $job; metrics at $targets"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$dir/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$src/deploy/prometheus/rules/*.yml"]
scrape_configs:
  - job_name: spindle
    static_configs: [{targets: [$targets]}]
EOF
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
  --web.listen-address="127.0.0.1:$port" >"$dir/prometheus.log" 2>&1 &
pids+=($!)

# Wait until rank 0 has reported steps and a checkpoint (on node-0 or node-1).
ok=""
for _ in $(seq 180); do
  for n in 0 1; do
    if curl -sf "127.0.0.1:$(cat "$dir/node-$n.mport")/metrics" |
        grep -q "^spindle_checkpoint_last_step{job_id=\"$job\"}"; then ok=1; fi
  done
  [[ -n $ok ]] && break
  sleep 1
done
[[ -n $ok ]] || fail "no checkpoint reported for $job within 180 s"

for name in coordinator node-0 node-1; do
  curl -sf "127.0.0.1:$(cat "$dir/$name.mport")/metrics" >"$dir/$name.prom" ||
    fail "scraping $name"
  promtool check metrics <"$dir/$name.prom" || fail "promtool check metrics: $name"
  echo "live_test: $name: $(grep -c '^spindle_' "$dir/$name.prom") spindle_ samples, promtool ok"
done

python3 "$src/tests/deploy/grafana/check_dashboards_live.py" "http://127.0.0.1:$port" "$job" \
  --dashboards "$src/deploy/grafana/dashboards" --rules-health --retry-for 120 ||
  fail "dashboard queries without data (above)"

"$bin/spindle" cancel "$job" >/dev/null || fail "cancel $job"
"$bin/spindle" wait "$job" >/dev/null 2>&1 || true
gone=""
for _ in $(seq 60); do
  series=0
  for name in coordinator node-0 node-1; do
    series=$((series + $(curl -sf "127.0.0.1:$(cat "$dir/$name.mport")/metrics" |
      grep -c "job_id=\"$job\"" || true)))
  done
  [[ $series == 0 ]] && { gone=1; break; }
  sleep 0.5
done
[[ -n $gone ]] || fail "$series series of $job remain after it ended"
echo "live_test: PASS (job $job: scrapes valid, every panel has data, series removed at the end)"
