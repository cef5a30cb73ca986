#!/usr/bin/env bash
# SlurmSbatchTest: deploy/slurm/spindle.sbatch on a real single-node Slurm.
#
# Brings up munged, slurmctld and slurmd on this machine with a private
# config (temp dir, own munge key and socket, free ports), then:
#   1. sbatch's the script with 2 CPU slots and a tiny job (20 steps) and
#      asserts the Slurm job COMPLETED with exit 0, the Spindle job SUCCEEDED,
#      its checkpoint and export are written, the per-node logs exist and
#      every daemon the script started has stopped;
#   2. sbatch's a longer job, sends the batch shell SIGUSR1 (what
#      `--signal=B:USR1@300` sends before the time limit) once a checkpoint is
#      committed, and asserts the script cancelled the Spindle job and
#      requeued itself, and that the requeued run (SLURM_RESTART_COUNT=1)
#      submitted the spec again, resumed at the step where the cancel had
#      stopped the ranks with a checkpoint, and SUCCEEDED;
#   3. requeues a third job with `scontrol requeue` (as a node failure would,
#      no USR1) and asserts the requeued run followed the same Spindle job,
#      which the restarted coordinator resumed from its checkpoint, instead of
#      submitting a second one.
# Every daemon it started is stopped on exit, pass or fail.
#
# Needs root and the Debian packages slurm-wlm (slurmctld, slurmd,
# slurm-client) and munge (scripts/setup.sh installs them).
#   SPINDLE_BIN=build/bin SPINDLE_SOURCE_DIR=. bash tests/deploy/slurm/slurm_test.sh
set -uo pipefail

say() { printf '%s slurm_test: %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() {
  say "FAIL: $*" >&2
  exit 1
}

src=${SPINDLE_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
bin=${SPINDLE_BIN:-$src/build/bin}
sbatch_script=$src/deploy/slurm/spindle.sbatch

# --- prerequisites -------------------------------------------------------------
[[ $(id -u) == 0 ]] || fail "must run as root (uid $(id -u)): it starts its own munged, slurmctld and slurmd, and slurmd runs each job as its submitting user"
# slurmctld, slurmd and munged live in /usr/sbin, not always on a root PATH.
export PATH=$PATH:/usr/sbin
missing=()
for need in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client srun:slurm-client \
  scontrol:slurm-client sinfo:slurm-client squeue:slurm-client scancel:slurm-client munged:munge munge:munge; do
  command -v "${need%%:*}" >/dev/null 2>&1 || missing+=("${need%%:*} (Debian package ${need#*:})")
done
((${#missing[@]} == 0)) || fail "missing: ${missing[*]}; install slurm-wlm and munge (scripts/setup.sh does: apt-get install slurm-wlm munge)"
for b in spindle spindle-coordinator spindle-worker spindle-trainer; do
  [[ -x $bin/$b ]] || fail "$bin/$b not found: set SPINDLE_BIN to the build's bin directory"
done
[[ -r $sbatch_script ]] || fail "$sbatch_script not found: set SPINDLE_SOURCE_DIR to the repository root"
bash -n "$sbatch_script" || fail "bash -n $sbatch_script"

# Every wait below ends by its own bound or by this one, whichever is first,
# so that the teardown (up to ~80 s) still fits in ctest's 600 s.
deadline=$((SECONDS + ${SPINDLE_SLURM_TEST_BUDGET:-480}))
end_in() { # SECONDS: the end of a wait of SECONDS, capped by the deadline
  local want=$((SECONDS + $1))
  echo $((want < deadline ? want : deadline))
}

# --- teardown, pass or fail ----------------------------------------------------
tmp=$(mktemp -d /tmp/spindle-slurm-test.XXXXXX) || fail "mktemp"
# munged refuses a socket in a directory others cannot traverse.
chmod 755 "$tmp"
jobs_dir=$tmp/job
mkdir -p "$jobs_dir" "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/log"

munged_pid=""
ctld_pid=""
slurmd_pid=""

stop_pid() { # PID SECONDS: SIGTERM, then SIGKILL past the deadline
  local pid=$1 end=$((SECONDS + $2))
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= end)); then
      kill -KILL "$pid" 2>/dev/null
      break
    fi
    sleep 0.2
  done
  wait "$pid" 2>/dev/null
  return 0
}

# Processes of this test's Slurm jobs: the Spindle daemons and trainers name
# paths under $jobs_dir; a slurmstepd of ours holds files under $tmp open
# (its log, its spool dir), which no other Slurm's does.
our_job_pids() {
  pgrep -f -- "$jobs_dir/" 2>/dev/null
  local p f
  for p in $(pgrep -x slurmstepd 2>/dev/null); do
    for f in /proc/"$p"/fd/*; do
      if [[ $(readlink "$f" 2>/dev/null) == "$tmp"/* ]]; then
        echo "$p"
        break
      fi
    done
  done
}

cleanup() {
  local rc=$?
  trap - EXIT
  if [[ -n $ctld_pid ]] && kill -0 "$ctld_pid" 2>/dev/null; then
    # Cancel whatever still runs so slurmd ends its steps before it stops.
    timeout 10 scancel --full --quiet --user=root 2>/dev/null
    local end=$((SECONDS + 30))
    while ((SECONDS < end)) && [[ -n $(timeout 5 squeue -h -o %i 2>/dev/null) ]]; do sleep 0.5; done
  fi
  stop_pid "$slurmd_pid" 20
  stop_pid "$ctld_pid" 20
  local p left
  left=$(our_job_pids | sort -u)
  for p in $left; do kill -KILL "$p" 2>/dev/null; done
  [[ -z $left ]] || say "killed leftover job processes: $(tr '\n' ' ' <<<"$left")"
  stop_pid "$munged_pid" 10
  if ((rc != 0)); then
    say "logs (Slurm daemons: $tmp/log)"
    tail -n 15 "$tmp"/log/*.log 2>/dev/null
  fi
  if [[ -n ${SPINDLE_SLURM_TEST_KEEP:-} ]]; then
    say "kept $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- munge ---------------------------------------------------------------------
if command -v mungekey >/dev/null 2>&1; then
  mungekey --create --keyfile="$tmp/munge/munge.key" || fail "mungekey"
else
  dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none || fail "dd munge.key"
fi
chmod 600 "$tmp/munge/munge.key"
socket=$tmp/munge/munge.socket
munged --foreground --force --socket="$socket" --key-file="$tmp/munge/munge.key" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/log/munged.log" \
  --seed-file="$tmp/munge/munged.seed" >"$tmp/log/munged.log" 2>&1 &
munged_pid=$!
for _ in $(seq 50); do [[ -S $socket ]] && break; sleep 0.1; done
munge --socket="$socket" --no-input | unmunge --socket="$socket" >/dev/null ||
  fail "munged does not answer on $socket: $(tail -n 3 "$tmp/log/munged.log")"

# --- slurm ---------------------------------------------------------------------
port_free() { ! timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
# Ports below the kernel's ephemeral range: there, an outgoing connection of a
# test running alongside could take the port between the pick and
# slurmctld's bind (which then fails "Address already in use").
read -r ephemeral_lo _ </proc/sys/net/ipv4/ip_local_port_range
port_lo=20000 port_hi=$ephemeral_lo
((port_hi - port_lo >= 1000)) || { port_lo=40000 port_hi=60000; }
pick_port() {
  local p
  for _ in $(seq 50); do
    p=$((port_lo + RANDOM % (port_hi - port_lo)))
    [[ $p != "${1:-}" ]] && port_free "$p" && { echo "$p"; return 0; }
  done
  return 1
}
ctld_port=$(pick_port) || fail "no free port for slurmctld"
slurmd_port=$(pick_port "$ctld_port") || fail "no free port for slurmd"

# The node exactly as slurmd sees it, so it registers without being drained.
node_line=$(slurmd -C | head -n 1)
node=$(sed -n 's/^NodeName=\([^ ]*\).*/\1/p' <<<"$node_line")
[[ -n $node ]] || fail "slurmd -C printed no NodeName: $node_line"

: >"$tmp/plugstack.conf" # the host's /etc/slurm/plugstack.conf is not ours
# cred_expire: Slurm holds a requeued job back until the old run's credential
# has expired (120 s by default), and sched_interval: it looks at pending jobs
# every 60 s by default; both shortened to keep the requeue case short.
cat >"$tmp/slurm.conf" <<EOF
ClusterName=spindletest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket,cred_expire=10
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
PlugStackConfig=$tmp/plugstack.conf
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=10
JobRequeue=1
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
sed -i 's/ UpTime=[^ ]*//' "$tmp/slurm.conf"
export SLURM_CONF=$tmp/slurm.conf

slurmctld -D -i >"$tmp/log/slurmctld.out" 2>&1 &
ctld_pid=$!
slurmd -D -N "$node" >"$tmp/log/slurmd.out" 2>&1 &
slurmd_pid=$!
state=""
end=$(end_in 60)
while ((SECONDS < end)); do
  kill -0 "$ctld_pid" 2>/dev/null || fail "slurmctld exited: $(tail -n 5 "$tmp/log/slurmctld.out")"
  kill -0 "$slurmd_pid" 2>/dev/null || fail "slurmd exited: $(tail -n 5 "$tmp/log/slurmd.out")"
  state=$(timeout 5 sinfo -h -N -n "$node" -o %T 2>/dev/null)
  [[ $state == idle ]] && break
  sleep 0.5
done
[[ $state == idle ]] || fail "node $node not idle within 60s (state '${state:-none}')"
say "Slurm up: node $node idle (slurmctld :$ctld_port, slurmd :$slurmd_port, conf $SLURM_CONF)"

# --- helpers for the jobs ----------------------------------------------------------
job_field() { # JOBID FIELD
  timeout 10 scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
is_final() {
  case $1 in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED) return 0 ;;
  esac
  return 1
}
# Sets $st rather than printing it: a wait inside $(...) would hold off this
# shell's INT/TERM trap (and so the teardown) until it ended.
wait_final() { # JOBID SECONDS
  local end
  end=$(end_in "$2")
  st=""
  while ((SECONDS < end)); do
    st=$(job_field "$1" JobState)
    is_final "$st" && return 0
    sleep 1
  done
  st=${st:-unknown}
  return 1
}
# The job's environment is spelled out, not inherited, so that a caller's
# SPINDLE_COORDINATOR or token settings cannot leak in.
submit() { # NAME SPEC: prints the Slurm job id
  sbatch --parsable --job-name="$1" -D "$jobs_dir" -N 1 -c 2 -t 10 \
    --export="PATH,HOME,SLURM_CONF,SPINDLE_BIN=$bin,SPINDLE_CPU_SLOTS=2,SPINDLE_STOP_TIMEOUT=30" \
    "$sbatch_script" "$2"
}
show_failure() { # JOBID OUTFILE
  say "scontrol show job $1:"
  timeout 10 scontrol show job "$1" 2>/dev/null | sed 's/^/  /'
  say "batch output $2:"
  sed 's/^/  | /' "$2" 2>/dev/null | tail -n 60
  local f
  for f in "$jobs_dir"/spindle-slurm/*/logs/*.log; do
    [[ -f $f ]] || continue
    say "$f:"
    tail -n 15 "$f" | sed 's/^/  | /'
  done
}
expect_in() { # FILE TEXT WHAT
  grep -qF -- "$2" "$1" || fail "$3: '$2' not in $1"
}
no_leftovers() { # processes of the script must be gone once the job ended
  local end left
  end=$(end_in 15)
  while :; do
    left=$(pgrep -af -- "$jobs_dir/" 2>/dev/null)
    [[ -z $left ]] && return 0
    ((SECONDS < end)) || fail "processes left after the Slurm job ended: $left"
    sleep 0.5
  done
}

wait_checkpoint() { # JOBID OUTFILE SPINDLEJOB: until its first checkpoint is committed
  local end
  end=$(end_in 60)
  until grep -q "job $3 (attempt 1): checkpoint committed" "$2" 2>/dev/null; do
    st=$(job_field "$1" JobState)
    if is_final "$st" || ((SECONDS >= end)); then
      show_failure "$1" "$2"
      fail "no checkpoint of $3 within 60s (Slurm job $st)"
    fi
    sleep 0.3
  done
}
wait_requeued() { # JOBID OUTFILE: until Slurm has it pending again after a requeue
  local end restarts
  end=$(end_in 45)
  while :; do
    restarts=$(job_field "$1" Restarts)
    st=$(job_field "$1" JobState)
    [[ ${restarts:-0} -ge 1 && $st == PENDING ]] && return 0
    if ((SECONDS >= end)) || is_final "$st"; then
      show_failure "$1" "$2"
      fail "Slurm job $1 not requeued within 45s (state $st, restarts ${restarts:-0})"
    fi
    sleep 0.5
  done
}
expect_completed_once_requeued() { # JOBID OUTFILE
  wait_final "$1" 120 || { show_failure "$1" "$2"; fail "requeued job $1 not finished within 120s (state $st)"; }
  local exit_code restarts
  exit_code=$(job_field "$1" ExitCode)
  restarts=$(job_field "$1" Restarts)
  if [[ $st != COMPLETED || $exit_code != 0:0 || $restarts != 1 ]]; then
    show_failure "$1" "$2"
    fail "Slurm job $1: $st, exit $exit_code, restarts $restarts; expected COMPLETED, 0:0, 1"
  fi
}
resumed_step() { # RANKLOG: the step the trainer resumed at, if it did
  sed -n 's/.*resumed at step \([0-9]*\).*/\1/p' "$1" 2>/dev/null | head -n 1
}

write_spec() { # NAME STEPS EVERY LOG_EVERY
  cat >"$jobs_dir/$1.yaml" <<EOF
apiVersion: spindle/v1
kind: TrainJob
metadata: {name: $1}
spec:
  model: {preset: tiny}
  data: {source: synthetic, task: copy, seq_len: 64, global_batch_seqs: 4, micro_batch_seqs: 4}
  parallel: {dp: 1, sp: {ulysses: 1, ring: 2, layout: zigzag}}
  resources: {device: cpu, nodes: {min: 1, max: 1}, devices_per_node: 2}
  train: {max_steps: $2, log_every_steps: $4}
  checkpoint: {dir: runs/$1/ckpt, every: {steps: $3}, export: {dir: runs/$1/export}}
EOF
}

# --- 1. a job runs to the end ------------------------------------------------------
write_spec slurm-smoke 20 10 5
t0=$SECONDS
id=$(submit smoke slurm-smoke.yaml) || fail "sbatch refused the script"
[[ $id =~ ^[0-9]+$ ]] || fail "sbatch --parsable printed '$id'"
out=$jobs_dir/smoke-$id.out
say "submitted Slurm job $id (smoke)"
wait_final "$id" 120 || { show_failure "$id" "$out"; fail "job $id not finished within 120s (state $st)"; }
exit_code=$(job_field "$id" ExitCode)
if [[ $st != COMPLETED || $exit_code != 0:0 ]]; then
  show_failure "$id" "$out"
  fail "Slurm job $id: $st, exit $exit_code; expected COMPLETED, 0:0"
fi
run=$jobs_dir/spindle-slurm/smoke-$id
expect_in "$out" "job slurm-smoke-1 SUCCEEDED" "the Spindle job"
expect_in "$out" "spindle.sbatch: exit 0 (Spindle job slurm-smoke-1: SUCCEEDED)" "the script's exit"
expect_in "$out" "all 1 worker(s) registered" "worker registration"
[[ -f $jobs_dir/runs/slurm-smoke/export/model.safetensors ]] || fail "no exported weights in $jobs_dir/runs/slurm-smoke/export"
[[ -d $jobs_dir/runs/slurm-smoke/ckpt/step-00000020 ]] || fail "no checkpoint step-00000020"
[[ -s $run/state/jobs.db ]] || fail "no coordinator state in $run/state"
wlog=$run/logs/smoke-$id-$node.worker.log
clog=$run/logs/smoke-$id-$node.coordinator.log
[[ -s $wlog ]] || fail "no per-node worker log $wlog"
[[ -s $clog ]] || fail "no coordinator log $clog"
expect_in "$wlog" "spindle-worker $node stopped" "the worker's clean stop"
[[ -s $run/work/$node/slurm-smoke-1/attempt-1/rank-0.log ]] || fail "no rank log under $run/work/$node"
no_leftovers
say "1. smoke: Slurm job $id COMPLETED 0:0, Spindle job slurm-smoke-1 SUCCEEDED in $((SECONDS - t0))s"
sed 's/^/  | /' "$out"

# --- 2. SIGUSR1 before the time limit, requeue, resume -----------------------------
# Long enough that the USR1 lands mid-run on a fast machine (the script acts
# on it within a second), short enough for a loaded one; checkpoints every 25.
write_spec slurm-resume 600 25 25
t0=$SECONDS
id=$(submit resume slurm-resume.yaml) || fail "sbatch refused the script"
out=$jobs_dir/resume-$id.out
run=$jobs_dir/spindle-slurm/resume-$id
say "submitted Slurm job $id (resume)"
wait_checkpoint "$id" "$out" slurm-resume-1
# What --signal=B:USR1@300 does, now rather than 300 s before a time limit.
scancel --batch --signal=USR1 "$id" || fail "scancel --batch --signal=USR1 $id"
say "sent SIGUSR1 to the batch shell of $id"
wait_requeued "$id" "$out"
expect_completed_once_requeued "$id" "$out"
expect_in "$out" "SIGUSR1: the time limit is near" "the USR1 trap"
expect_in "$out" "job slurm-resume-1 CANCELLED" "the cancel on USR1"
expect_in "$out" "requeueing Slurm job $id" "the requeue on USR1"
expect_in "$out" "requeued (restart 1): slurm-resume-1 is CANCELLED; submitting again" "the resubmission"
expect_in "$out" "job slurm-resume-2 SUCCEEDED" "the resumed Spindle job"
expect_in "$out" "spindle.sbatch: exit 0 (Spindle job slurm-resume-2: SUCCEEDED)" "the script's exit"
rank0=$run/work/$node/slurm-resume-2/attempt-1/rank-0.log
resumed=$(resumed_step "$rank0")
[[ -n $resumed && $resumed -gt 0 ]] || { show_failure "$id" "$out"; fail "slurm-resume-2 did not resume from a checkpoint ($rank0)"; }
# The cancel's SIGTERM made the ranks commit a checkpoint where they stopped.
stopped_log=$run/work/$node/slurm-resume-1/attempt-1/rank-0.log
stopped_at=$(sed -n 's/^stopped at step \([0-9]*\) by SIGTERM after committing checkpoint .*/\1/p' "$stopped_log" 2>/dev/null | head -n 1)
[[ -n $stopped_at && $resumed == "$stopped_at" ]] || { show_failure "$id" "$out"; fail "slurm-resume-2 resumed at step $resumed, not where the cancel stopped slurm-resume-1 (${stopped_at:-no stop line in $stopped_log})"; }
[[ -f $jobs_dir/runs/slurm-resume/export/model.safetensors ]] || fail "no exported weights for slurm-resume"
no_leftovers
say "2. USR1 + requeue: Slurm job $id COMPLETED 0:0 after 1 requeue; slurm-resume-2 resumed at step $resumed and SUCCEEDED in $((SECONDS - t0))s"
grep -E "spindle.sbatch|CANCELLED|SUCCEEDED|resumed|committed: runs/slurm-resume/ckpt/step-000000(25|50)$" "$out" | sed 's/^/  | /'

# --- 3. requeued without USR1: the restarted coordinator still has the job -------
# `scontrol requeue` (as after a node failure) ends the run with SIGTERM: the
# coordinator stops with the job unfinished in its state, puts it back in its
# queue when it starts again, and the script must follow that job instead of
# submitting a second one into the same checkpoints.
write_spec slurm-follow 600 25 25
t0=$SECONDS
id=$(submit follow slurm-follow.yaml) || fail "sbatch refused the script"
out=$jobs_dir/follow-$id.out
run=$jobs_dir/spindle-slurm/follow-$id
say "submitted Slurm job $id (follow)"
wait_checkpoint "$id" "$out" slurm-follow-1
scontrol requeue "$id" || fail "scontrol requeue $id"
say "requeued Slurm job $id from outside"
wait_requeued "$id" "$out"
expect_completed_once_requeued "$id" "$out"
expect_in "$out" "SIGTERM: shutting down" "the TERM trap"
expect_in "$out" "requeued (restart 1): following slurm-follow-1" "following the unfinished job"
expect_in "$out" "job slurm-follow-1 SUCCEEDED" "the followed Spindle job"
expect_in "$out" "spindle.sbatch: exit 0 (Spindle job slurm-follow-1: SUCCEEDED)" "the script's exit"
if grep -q "slurm-follow-2" "$out"; then
  show_failure "$id" "$out"
  fail "a second Spindle job was submitted after the requeue"
fi
attempts=("$run/work/$node"/slurm-follow-1/attempt-*/rank-0.log)
last=${attempts[-1]}
resumed=$(resumed_step "$last")
[[ ${#attempts[@]} -ge 2 && -n $resumed && $resumed -gt 0 ]] ||
  { show_failure "$id" "$out"; fail "slurm-follow-1 has no later attempt resumed from a checkpoint (${attempts[*]})"; }
no_leftovers
say "3. scontrol requeue: Slurm job $id COMPLETED 0:0 after 1 requeue; slurm-follow-1 followed, ${last#"$run/work/$node/"} resumed at step $resumed, SUCCEEDED in $((SECONDS - t0))s"
grep -E "spindle.sbatch|CANCELLED|SUCCEEDED|RESTARTING" "$out" | sed 's/^/  | /'
say "PASS"
