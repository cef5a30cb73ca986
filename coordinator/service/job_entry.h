// JobManager's per-job state (private to job_manager.cc and attempts.cc).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/config/job_spec.h"
#include "coordinator/planner/plan.h"
#include "coordinator/service/job_manager.h"

namespace spindle::coordinator {

struct RankLive {
  std::string worker;
  int device = 0;
  v1::RankState::Phase phase = v1::RankState::PHASE_UNSPECIFIED;
  int exit_code = 0;
  int signal = 0;
  // Last sign of life (RankState.live_*), for hang diagnosis.
  int64_t live_time_ms = 0;
  int64_t live_step = 0;
  std::map<std::string, int64_t> collective_seq;
};

struct JobManager::Attempt {
  int number = 0;       // 1-based; 0 = none yet
  bool active = false;  // ranks may be running; their reports count
  planner::Plan plan;
  std::map<int, RankLive> ranks;
  std::set<std::string> workers;
  Clock::time_point started;
  Clock::time_point last_step_time;  // for the hang detector
  int64_t last_step = 0;
  double step_seconds = 0;      // smoothed wall time per step
  double flops_per_token = 0;   // Megatron model FLOPs
  double peak_flops = 0;        // sum over ranks, at the job's precision
};

struct JobManager::Entry {
  v1::Job job;
  config::JobSpec spec;
  std::vector<v1::JobEvent> events;  // stored timeline; seq = index + 1
  int64_t progress_version = 0;
  Attempt attempt;
  Clock::time_point restart_at;    // RESTARTING: not placed before this
  Clock::time_point waiting_since;  // queued, or due to restart: for the queue-wait histogram
  Clock::time_point last_persist;  // progress is persisted at most every few s
  std::string waiting;             // why a waiting job is not placed yet
};

bool IsTerminal(v1::JobState s);
int64_t NowMillis();

}  // namespace spindle::coordinator
