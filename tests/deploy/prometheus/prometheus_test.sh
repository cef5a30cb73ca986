#!/usr/bin/env bash
# Checks deploy/prometheus with the real Prometheus tools, offline:
#   yamllint on the configs, rules and tests;
#   promtool check config on each scrape config (the Kubernetes ones through
#     sd_check.py, which also runs their relabelling on discovery fixtures);
#   write_slurm_targets.sh + prometheus-slurm.yml through file discovery;
#   promtool check rules, then promtool test rules on the unit tests;
#   rules_lint.py: naming, annotations, catalog metrics, test coverage.
# Runs every step, then exits 1 naming the steps that failed.
# Env: SPINDLE_SOURCE_DIR = repository root (set by ctest).
set -uo pipefail

src="${SPINDLE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
export SPINDLE_SOURCE_DIR="$src"
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
here="$src/tests/deploy/prometheus"
prom="$src/deploy/prometheus"

for tool in promtool python3 yamllint; do
  if ! command -v "$tool" >/dev/null; then
    echo "FAIL: $tool is not installed (Debian packages: prometheus, python3-yaml, yamllint)"
    exit 1
  fi
done
python3 -c 'import yaml' 2>/dev/null || { echo "FAIL: python3-yaml is not installed"; exit 1; }

failed=()
step() {  # step NAME COMMAND...: runs it, prints its output, records a failure
  local name="$1"; shift
  echo "=== $name"
  if "$@"; then
    echo "--- ok: $name"
  else
    echo "--- FAIL: $name"
    failed+=("$name")
  fi
}

# Long series selectors in the unit tests are single words: allowed.
yaml_config='{extends: default, rules: {line-length: {max: 120, allow-non-breakable-inline-mappings: true}}}'
step "yamllint" yamllint -s -d "$yaml_config" "$prom" "$here"
step "bash -n write_slurm_targets.sh" bash -n "$prom/write_slurm_targets.sh"
if command -v shellcheck >/dev/null; then  # optional: not every CI image has it
  step "shellcheck" shellcheck "$prom/write_slurm_targets.sh" "$here/prometheus_test.sh"
fi

for config in prometheus.yml prometheus-slurm.yml; do
  step "promtool check config $config" promtool check config "$prom/$config"
done
step "prometheus-k8s.yml (endpoints discovery)" python3 "$here/sd_check.py" k8s "$here/testdata/k8s-endpoints.yml"
step "prometheus-k8s-pods.yml (pod discovery)" python3 "$here/sd_check.py" k8s "$here/testdata/k8s-pods.yml"
step "prometheus-slurm.yml with write_slurm_targets.sh" python3 "$here/sd_check.py" slurm

# Every scrape config in the directory must be covered above.
for config in "$prom"/prometheus*.yml; do
  case "$(basename "$config")" in
    prometheus.yml|prometheus-slurm.yml|prometheus-k8s.yml|prometheus-k8s-pods.yml) ;;
    *) echo "FAIL: $(basename "$config") is not checked by $0"; failed+=("unchecked $(basename "$config")") ;;
  esac
done

shopt -s nullglob
rules=("$prom"/rules/*.yml)
tests=("$here"/*_test.yml)
if ((${#rules[@]} == 0 || ${#tests[@]} == 0)); then
  echo "FAIL: no rule files in $prom/rules or no *_test.yml in $here"
  exit 1
fi
step "promtool check rules" promtool check rules "${rules[@]}"
# promtool resolves rule_files relative to each test file.
step "promtool test rules" promtool test rules "${tests[@]}"
step "rules lint and test coverage" python3 "$here/rules_lint.py"

if ((${#failed[@]})); then
  echo
  echo "FAILED: ${#failed[@]} step(s):"
  printf '  - %s\n' "${failed[@]}"
  exit 1
fi
echo
echo "PASS: deploy/prometheus configs, rules and rule tests"
