// Learning rate per optimizer step: linear warmup, then cosine (or linear, or
// constant) decay to min_lr_ratio × lr at max_steps. Pure.
#pragma once

#include <cstdint>
#include <string>

namespace spindle::train {

struct LrSchedule {
  double lr = 3e-4;
  int64_t warmup_steps = 0;
  int64_t max_steps = 1;
  std::string decay = "cosine";  // cosine | linear | constant
  double min_lr_ratio = 0.1;
};

// step is 0-based: the rate used by the step-th update.
double LearningRate(const LrSchedule& s, int64_t step);

}  // namespace spindle::train
