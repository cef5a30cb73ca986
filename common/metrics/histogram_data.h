// A histogram's state as plain data: fixed upper bounds, a count per bucket,
// sum and count. Pure code (the job manager and rank supervisor keep these
// without depending on a metrics library); metric_families.h turns them into
// Prometheus histograms at scrape time.
#pragma once

#include <cstdint>
#include <vector>

namespace spindle::metrics {

struct HistogramData {
  std::vector<double> bounds;    // ascending upper bounds; +Inf is implied
  std::vector<uint64_t> counts;  // per bucket, not cumulative; bounds.size() + 1
  double sum = 0;
  uint64_t count = 0;

  explicit HistogramData(std::vector<double> upper_bounds = {});
  void Observe(double value);
};

// Bounds for durations in seconds: 1 ms to ~15 min, roughly ×2.5 apart.
std::vector<double> SecondsBuckets();

}  // namespace spindle::metrics
