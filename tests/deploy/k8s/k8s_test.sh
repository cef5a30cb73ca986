#!/usr/bin/env bash
# Offline checks of deploy/k8s and deploy/docker (no cluster, no registry):
#   1. yamllint on deploy/k8s
#   2. `kubectl kustomize` renders the base, every overlay, and the gpu
#      overlay with the tls component, from a scratch copy of deploy/ with
#      throwaway key material in it
#   3. validate.mjs: every rendered object against the Kubernetes and
#      Prometheus Operator schemas, unknown fields refused; and broken.yaml,
#      whose every object must be refused for its stated reason
#   4. checks.py: cross-references, hardening, daemon flags and ports, and
#      that the monitoring overlay's generated files match their sources
#   5. dockerfile_lint.py on deploy/docker
# `kubectl apply --dry-run=client` is not used: it needs an API server.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=${SPINDLE_SOURCE_DIR:-$(cd "$here/../../.." && pwd)}
k8s=$src/deploy/k8s

fail() { echo "k8s_test: FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }

for tool in kubectl node npm python3 yamllint; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (kubectl, node 20+, npm, python3 with PyYAML, yamllint are needed)"
done

# The schema packages, pinned by package-lock.json. Reinstalled when the lock
# file is newer than the last install.
if [[ ! -f $here/node_modules/.package-lock.json || $here/package-lock.json -nt $here/node_modules/.package-lock.json ]]; then
  step "npm ci (tests/deploy/k8s)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || fail "npm ci in $here"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "yamllint deploy/k8s"
yamllint --strict -c "$here/yamllint.yaml" "$k8s" || fail "yamllint found problems in deploy/k8s (above)"

step "kubectl kustomize"
# The token and TLS files are not in git; a copy gets throwaway ones.
cp -r "$src/deploy" "$work/deploy"
head -c 32 /dev/urandom | base64 >"$work/deploy/k8s/base/token"
for f in tls.crt tls.key ca.crt; do echo "not a real $f" >"$work/deploy/k8s/components/tls/$f"; done
mkdir "$work/deploy/k8s/overlays/gpu-tls"
cat >"$work/deploy/k8s/overlays/gpu-tls/kustomization.yaml" <<'EOF'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../gpu
components:
  - ../../components/tls
EOF
mkdir "$work/rendered"
targets=(base)
for dir in "$work"/deploy/k8s/overlays/*/; do targets+=("overlays/$(basename "$dir")"); done
for t in "${targets[@]}"; do
  out=$work/rendered/$(basename "$t").yaml
  kubectl kustomize "$work/deploy/k8s/$t" >"$out" 2>"$work/err" ||
    fail "kubectl kustomize deploy/k8s/$t: $(cat "$work/err")"
  echo "deploy/k8s/$t: $(grep -c '^kind:' "$out") objects"
done

step "schemas, unknown fields refused"
(cd "$work/rendered" && node "$here/validate.mjs" ./*.yaml) ||
  fail "rendered objects do not match the schemas (above; NAME.yaml is the render of deploy/k8s/overlays/NAME or base)"
node "$here/validate.mjs" --expect-invalid "$here/broken.yaml" >"$work/broken.log" 2>&1 || {
  cat "$work/broken.log" >&2
  fail "the schema check let a broken object through (tests/deploy/k8s/broken.yaml)"
}
tail -n 1 "$work/broken.log"

step "cross-checks"
python3 "$k8s/monitoring/generate.py" --check || fail "the monitoring overlay's generated files are stale"
python3 "$here/checks.py" "$src" "$work/rendered" || fail "cross-checks (above)"

step "deploy/docker"
python3 "$here/dockerfile_lint.py" "$src" || fail "deploy/docker (above)"

echo "k8s_test: all checks passed"
