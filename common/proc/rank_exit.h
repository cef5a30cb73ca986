// What a training rank's exit code means (spindle-trainer --rank, under the
// local launcher or a worker daemon); the coordinator classifies a rank's
// end by it.
#pragma once

namespace spindle::proc {

// 0: done.
// Bad spec, data or usage: the user's to fix; the coordinator does not restart.
inline constexpr int kRankExitInvalid = 2;
// Anything else (communication, device, I/O): restartable.
inline constexpr int kRankExitFailed = 3;
// Asked to stop by a signal (common/proc/stop_signal.h); stopped at a step
// boundary after committing a checkpoint, so a restart loses no step.
inline constexpr int kRankExitStopped = 4;

}  // namespace spindle::proc
