// What the coordinator exports (docs/metrics.md), as plain data taken from
// the job manager under its lock, and its conversion to metric families at
// scrape time. Only live jobs (not yet ended) carry job_id series, so a
// finished job's series disappear on the next scrape.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/metrics/histogram_data.h"
#include "common/metrics/metric_families.h"

namespace spindle::coordinator {

struct ManagerMetrics {
  struct Job {
    std::string id, name, user, model, state;  // state: lowercase JobState
    int attempt = 0, dp = 0, ulysses = 0, ring = 0, world = 0;
    std::map<std::string, int> restarts;  // by reason: user, infrastructure, hang
    double mfu = 0;
    double eta_seconds = 0;  // to the schedule's last step; 0: unknown or done
    double predicted_step_seconds = 0, predicted_memory_bytes = 0;
  };
  std::vector<Job> live_jobs;
  std::map<std::string, int> jobs_by_state;  // every job in the database
  int workers_alive = 0, workers_lost = 0;
  int devices_free = 0, devices_busy = 0;
  std::vector<std::pair<std::string, double>> heartbeat_age_seconds;  // by worker
  metrics::HistogramData planner_seconds{metrics::SecondsBuckets()};
  metrics::HistogramData queue_wait_seconds{metrics::SecondsBuckets()};
};

void AddManagerMetrics(const ManagerMetrics& m, metrics::Families* f);

}  // namespace spindle::coordinator
