#include "worker/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace spindle::train {

double LearningRate(const LrSchedule& s, int64_t step) {
  if (step < s.warmup_steps) return s.lr * static_cast<double>(step + 1) / s.warmup_steps;
  const double floor = s.lr * s.min_lr_ratio;
  const int64_t span = std::max<int64_t>(1, s.max_steps - s.warmup_steps);
  const double progress = std::min(1.0, static_cast<double>(step - s.warmup_steps) / span);
  if (s.decay == "linear") return s.lr - (s.lr - floor) * progress;
  if (s.decay == "cosine") return floor + (s.lr - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
  return s.lr;
}

}  // namespace spindle::train
