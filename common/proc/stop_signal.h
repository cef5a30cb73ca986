// A rank's graceful stop. A cancel, a worker shutting down, or Slurm and
// Kubernetes preempting a node send each rank SIGTERM, then SIGKILL once
// their grace period is over (stop_grace); Ctrl-C sends the local ranks
// SIGINT. The rank takes these signals on a thread of its own and only
// raises a flag; the training loop reads it at the next step boundary, where
// the ranks agree to commit a checkpoint and exit (worker/train/run_rank.cc).
//
// Repeats are absorbed, not fatal: under Slurm a rank can receive SIGTERM
// both from the job step and from its worker, and the second must not undo
// the first. SIGKILL after the grace period is the hard stop.
//
// The signals must be blocked in every thread, and libraries start threads
// before main (OpenBLAS starts its pool in a load-time initialiser); a thread
// that left them unblocked would take SIGTERM with its default action. So
// main's file places SPINDLE_BLOCK_TERMINATION_SIGNALS_AT_LOAD, which blocks
// them (common/proc/signals.h) before any shared library's initialiser runs.
#pragma once

namespace spindle::proc {

enum class OnStopSignal {
  kRaiseFlag,  // StopSignal() reports it; repeats are absorbed
  kDie,        // the process ends by that signal, as if it had never been blocked
};

// Starts a detached thread that takes the (already blocked) termination
// signals and acts on them. Later calls do nothing.
void WatchStopSignals(OnStopSignal action);

// The first signal taken, or 0: what the flag says, readable from any thread.
int StopSignal();

namespace internal {
void BlockAtLoad(int, char**, char**);
}  // namespace internal

}  // namespace spindle::proc

// ELF .preinit_array: runs in the executable before every shared library's
// initialiser (and so before any thread those start). Place it once, at
// namespace scope in the file that defines main.
// clang-format off
#define SPINDLE_BLOCK_TERMINATION_SIGNALS_AT_LOAD                                      \
  __attribute__((section(".preinit_array"), used)) static void (*spindle_block_at_load)( \
      int, char**, char**) = &::spindle::proc::internal::BlockAtLoad
// clang-format on
