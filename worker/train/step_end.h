// What every rank of a job does after a step: commit a checkpoint, stop
// early, both, or neither. Ranks see different clocks (a time-based
// checkpoint schedule) and different signals (one rank asked to stop), so
// each contributes its own view and one all-reduce (max) over the world
// makes a single decision for all of them; they then act in lockstep.
#pragma once

#include <chrono>
#include <cstdint>

#include "absl/status/statusor.h"
#include "common/comm/communicator.h"
#include "common/config/job_spec.h"

namespace spindle::train {

struct StepEnd {
  bool checkpoint = false;
  int stop = 0;  // the stop signal (the largest number any rank saw), or 0
};

// After step `step` (1-based; `last`: the job's final one). A job without a
// checkpoint directory has nothing to commit and never stops early: no
// collective then. The last step always finishes the job (and its export),
// whatever the signals. `stop_signal` is this rank's (0: none).
absl::StatusOr<StepEnd> AgreeOnStepEnd(comm::Communicator& world,
                                       const config::CheckpointSpec& ckpt, int64_t step, bool last,
                                       std::chrono::steady_clock::duration since_checkpoint,
                                       int stop_signal);

}  // namespace spindle::train
