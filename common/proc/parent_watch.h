// A child that must not outlive its launcher (a rank under spindle-worker or
// the local runner): when the parent dies — even by SIGKILL, which gives it
// no chance to stop its children — the child is re-parented, and this
// watcher notices within a poll and exits, so no orphan rank keeps training
// (or holding a device) after its worker is gone. Polling getppid() from a
// thread rather than PR_SET_PDEATHSIG, which fires when the *thread* that
// spawned the child exits (gRPC handler threads come and go).
#pragma once

#include <chrono>

namespace spindle::proc {

// Starts a detached thread that calls _exit(exit_code) once getppid()
// changes from its value now. Returns false, doing nothing, when the parent
// is already init (nothing to watch).
bool ExitWithParent(std::chrono::milliseconds poll = std::chrono::milliseconds(500),
                    int exit_code = 137);

}  // namespace spindle::proc
