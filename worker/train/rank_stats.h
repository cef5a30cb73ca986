// One rank process's cumulative figures for its worker's metrics
// (docs/metrics.md): steps and tokens, seconds per phase, and per group and
// op the bytes sent and the time spent waiting on transfers. Kept by the
// training thread and handed to the sign-of-life writer after each step as
// a JSON object:
//   {"steps": 12, "tokens": 3072,
//    "phases": {"data": 0.1, "forward": 2.0, ..., "checkpoint": 0.4},
//    "comm": {"ring": {"send_recv": {"bytes": 1048576, "wait_seconds": 0.02}, ...}, ...}}
// tokens counts whole global batches; the worker divides by the world size.
#pragma once

#include <string>

#include "worker/train/liveness.h"
#include "worker/train/trainer.h"

namespace spindle::train {

class RankStats {
 public:
  void AddStep(const StepStats& step);
  void AddCheckpoint(double seconds) { checkpoint_seconds_ += seconds; }

  // Reads each group's counters: call from the training thread, between
  // steps (the gradient reducer's group is idle then). A communicator listed
  // under two names is counted once, under the first.
  std::string Json(const NamedGroups& groups) const;

 private:
  int64_t steps_ = 0, tokens_ = 0;
  StepStats::Phases phases_;
  double checkpoint_seconds_ = 0;
};

}  // namespace spindle::train
