// The standard process_* metrics (CPU, memory, file descriptors, threads,
// start time) read from /proc/self at scrape time; prometheus-cpp emits none.
#pragma once

#include "common/metrics/metric_families.h"

namespace spindle::metrics {

void AddProcessMetrics(Families* f);

// Resident and peak resident set of another process in bytes (VmRSS, VmHWM
// of /proc/PID/status); false when the process is gone.
bool ReadProcessMemory(int pid, double* rss_bytes, double* peak_rss_bytes);

}  // namespace spindle::metrics
