#!/usr/bin/env bash
# Writes (or with --remove deletes) the Prometheus file_sd target file for the
# current Slurm allocation, for prometheus-slurm.yml: the head node (the first
# of the allocation, where the coordinator runs) on the coordinator's metrics
# port, and every node on the worker's. Run it inside the allocation, once,
# e.g. from the sbatch script; it does not start or watch anything.
#
#   write_slurm_targets.sh --dir /shared/prometheus/targets
#   write_slurm_targets.sh --dir /shared/prometheus/targets --remove
#
# The directory must be the one prometheus-slurm.yml's file_sd_configs reads.
# Environment: SLURM_JOB_ID and SLURM_JOB_NODELIST (set by Slurm);
# SPINDLE_PROM_TARGETS_DIR is the default for --dir.
set -euo pipefail

dir="${SPINDLE_PROM_TARGETS_DIR:-}"
coordinator_port=9400
worker_port=9401
remove=0

usage() {
  echo "usage: $0 --dir DIR [--coordinator-port N] [--worker-port N] [--remove]" >&2
  exit 2
}

while (($#)); do
  case "$1" in
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --coordinator-port) coordinator_port="${2:?}"; shift 2 ;;
    --worker-port) worker_port="${2:?}"; shift 2 ;;
    --remove) remove=1; shift ;;
    -h|--help) usage ;;
    *) echo "$0: unknown argument '$1'" >&2; usage ;;
  esac
done

[[ -n "$dir" ]] || { echo "$0: no target directory (--dir or SPINDLE_PROM_TARGETS_DIR)" >&2; exit 2; }
[[ -d "$dir" ]] || { echo "$0: target directory '$dir' does not exist" >&2; exit 1; }
[[ -n "${SLURM_JOB_ID:-}" ]] || { echo "$0: SLURM_JOB_ID is not set: run inside a Slurm allocation" >&2; exit 1; }
for port in "$coordinator_port" "$worker_port"; do
  if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
    echo "$0: '$port' is not a TCP port" >&2
    exit 2
  fi
done

file="$dir/spindle-$SLURM_JOB_ID.json"
if ((remove)); then
  rm -f -- "$file"
  exit 0
fi

[[ -n "${SLURM_JOB_NODELIST:-}" ]] || { echo "$0: SLURM_JOB_NODELIST is not set" >&2; exit 1; }
mapfile -t hosts < <(scontrol show hostnames "$SLURM_JOB_NODELIST")
((${#hosts[@]} > 0)) || { echo "$0: scontrol expanded '$SLURM_JOB_NODELIST' to no hosts" >&2; exit 1; }

# Host names go into JSON unescaped, so accept only what a host name can be.
workers=""
for host in "${hosts[@]}"; do
  [[ "$host" =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ ]] || { echo "$0: unexpected host name '$host'" >&2; exit 1; }
  workers+="${workers:+, }\"$host:$worker_port\""
done

labels() { printf '{"__spindle_role": "%s", "__spindle_slurm_job": "%s"}' "$1" "$SLURM_JOB_ID"; }

# Prometheus watches the directory: write a hidden temporary file (the
# *.json pattern does not match it) and rename it into place, so a reader
# never sees a half-written file.
tmp="$dir/.spindle-$SLURM_JOB_ID.json.tmp.$$"
trap 'rm -f -- "$tmp"' EXIT
cat >"$tmp" <<JSON
[
  {"targets": ["${hosts[0]}:$coordinator_port"], "labels": $(labels coordinator)},
  {"targets": [$workers], "labels": $(labels worker)}
]
JSON
mv -f -- "$tmp" "$file"
