#!/usr/bin/env bash
# Lints deploy/grafana (dashboards and provisioning) and proves the dashboards
# match the metric catalog on a live Prometheus, offline and on loopback only:
#   1. yamllint on the provisioning files;
#   2. starts fake_exporter.py, serving testdata/*.prom (an example scrape of
#      every metric in docs/metrics.md, plus DCGM), and a throwaway Prometheus
#      on 127.0.0.1 (empty TSDB in a temp dir, scrape and rule evaluation every
#      second, deploy/prometheus/rules loaded);
#   3. dashboards_lint.py: structure, variables, catalog names and coverage,
#      and every expression parsed by `promtool query instant` on it;
#   4. dashboards_lint_selftest.py: the lint rejects broken dashboards;
#   5. check_dashboards_live.py --strict --rules-health: every panel target and
#      variable query returns data from the synthetic scrape, and every
#      recording rule and alert evaluates without error.
# Both servers are killed on exit; every wait is bounded.
# Env: SPINDLE_SOURCE_DIR = repository root (set by ctest).
set -uo pipefail

src="${SPINDLE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
export SPINDLE_SOURCE_DIR="$src"
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
here="$src/tests/deploy/grafana"
LIVE_WAIT_S=40   # for the first scrapes and rule evaluations to land

for tool in prometheus promtool python3 yamllint; do
  if ! command -v "$tool" >/dev/null; then
    echo "FAIL: $tool is not installed (Debian packages: prometheus, python3-yaml, yamllint)"
    exit 1
  fi
done
python3 -c 'import yaml' 2>/dev/null || { echo "FAIL: python3-yaml is not installed"; exit 1; }

tmp="$(mktemp -d "${TMPDIR:-/tmp}/spindle-grafana-lint.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failed=()
step() {  # step NAME COMMAND...: runs it, records a failure
  local name="$1"; shift
  echo "=== $name"
  if "$@"; then echo "--- ok: $name"; else echo "--- FAIL: $name"; failed+=("$name"); fi
}

if command -v shellcheck >/dev/null; then  # optional: not every CI image has it
  step "shellcheck" shellcheck "$here/dashboards_lint.sh"
fi
step "yamllint provisioning" yamllint -s -d '{extends: default, rules: {line-length: {max: 120}}}' \
  "$src/deploy/grafana/provisioning"

# --- the synthetic scrape -------------------------------------------------
python3 "$here/fake_exporter.py" --port-file "$tmp/exporter.port" "$here"/testdata/*.prom \
  >"$tmp/exporter.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s "$tmp/exporter.port" ]] && break; sleep 0.1; done
[[ -s "$tmp/exporter.port" ]] || { echo "FAIL: fake_exporter.py did not start:"; cat "$tmp/exporter.log"; exit 1; }
exporter="127.0.0.1:$(cat "$tmp/exporter.port")"

# Coordinator, two workers and a DCGM exporter as separate targets, so the
# dashboards' joins across targets are exercised as in production.
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $src/deploy/prometheus/rules/*.yml
scrape_configs:
  - job_name: spindle-coordinator
    metrics_path: /coordinator
    static_configs:
      - targets: ["$exporter"]
        labels: {instance: "head:9400"}
  - job_name: spindle-worker
    static_configs:
      - targets: ["$exporter"]
        labels: {__metrics_path__: /worker-a, instance: "node-a:9401"}
      - targets: ["$exporter"]
        labels: {__metrics_path__: /worker-b, instance: "node-b:9401"}
  - job_name: dcgm
    metrics_path: /dcgm
    static_configs:
      - targets: ["$exporter"]
        labels: {instance: "node-a:9400"}
YAML

# A free loopback port; if another process takes it first, Prometheus exits
# and the wait below reports its log.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
prom_url="http://127.0.0.1:$port"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
pids+=("$prom_pid")
ready=0
for _ in $(seq 150); do
  kill -0 "$prom_pid" 2>/dev/null || break
  if python3 -c "import urllib.request, sys; urllib.request.urlopen('$prom_url/-/ready', timeout=1)" 2>/dev/null; then
    ready=1; break
  fi
  sleep 0.1
done
if ((!ready)); then
  echo "FAIL: the loopback Prometheus did not become ready on $prom_url:"
  cat "$tmp/prometheus.log"
  exit 1
fi
echo "loopback Prometheus on $prom_url scraping the fake exporter on $exporter"

# --- checks -----------------------------------------------------------------
step "dashboards lint (structure, variables, catalog, promtool parse)" \
  python3 "$here/dashboards_lint.py" --prom-url "$prom_url"
step "the lint rejects broken dashboards" python3 "$here/dashboards_lint_selftest.py" --prom-url "$prom_url"
step "every panel has data from the synthetic scrape; rules evaluate" \
  python3 "$here/check_dashboards_live.py" "$prom_url" e2e-job --strict --rules-health --retry-for "$LIVE_WAIT_S"

if ((${#failed[@]})); then
  echo
  echo "FAILED: ${#failed[@]} step(s):"
  printf '  - %s\n' "${failed[@]}"
  echo "(Prometheus log: $(tail -n 5 "$tmp/prometheus.log" | tr '\n' ' '))"
  exit 1
fi
echo
echo "PASS: deploy/grafana dashboards and provisioning"
