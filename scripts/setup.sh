#!/usr/bin/env bash
# Installs the Debian 12 packages Spindle builds and tests with. Idempotent:
# packages already present are skipped, and apt is only touched when something
# is missing. Runs as root or through sudo; never prompts.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libgloo-dev
  libopenblas0-pthread libopenblas-pthread-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libyaml-cpp-dev prometheus-cpp-dev libspdlog-dev libfmt-dev libabsl-dev
  libgtest-dev libgmock-dev libsqlite3-dev nlohmann-json3-dev
  clang libclang-rt-14-dev openssl
  prometheus slurm-wlm munge python3-jsonschema yamllint
)

# The deployment tests need kubectl (with kustomize v5) and node/npm; the
# machines here ship them, a bare Debian 12 gets Debian's.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
command -v kubectl >/dev/null || packages+=(kubernetes-client)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
