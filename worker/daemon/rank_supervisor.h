// The rank processes of one worker: starts one `spindle-trainer --rank ...`
// per assigned device, reaps them, reads rank 0's per-step metrics file for
// progress, and stops them (SIGTERM, grace, SIGKILL). Each attempt's files
// live under WORK_DIR/JOB/attempt-N/: job.yaml, rank-R.log, metrics.jsonl.
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics/histogram_data.h"
#include "common/proc/subprocess.h"
#include "spindle/v1/worker.pb.h"

namespace spindle::worker {

struct SupervisorOptions {
  std::string work_dir;   // per-attempt directories go here
  std::string trainer;    // path of spindle-trainer
  bool cuda = false;      // pin each rank with CUDA_VISIBLE_DEVICES
  // Host cores / cores this worker may use (several workers on one host): a
  // rank sizes its thread pool as if this many times its worker's ranks ran.
  double core_share = 1;
  int log_tail_lines = 12;  // sent with a failed rank's exit
  std::vector<std::string> env;  // extra "NAME=value" for every rank (security files)
};

// A running rank as the worker's metrics see it (worker_metrics.h).
struct RankSnapshot {
  std::string job_id;
  int attempt = 0, rank = 0, device = 0, world = 0, pid = 0;
  double peak_flops = 0;  // of this rank's device at dtype
  std::string dtype;
  double flops_per_token = 0;
  std::string stats_json;  // the rank's cumulative figures (worker/train/rank_stats.h), or ""
  std::map<std::string, int64_t> collective_seq;
  // Rank 0 only: its per-step records (metrics.jsonl).
  bool has_progress = false;
  v1::RankProgress progress;
  metrics::HistogramData step_seconds{metrics::SecondsBuckets()};
  metrics::HistogramData checkpoint_seconds{metrics::SecondsBuckets()};
  int64_t checkpoint_step = -1;   // last committed; -1 = none yet
  double checkpoint_time = 0;     // unix seconds
};

class RankSupervisor {
 public:
  explicit RankSupervisor(SupervisorOptions options);
  ~RankSupervisor();  // kills every rank still running

  // FAILED_PRECONDITION when a device is busy or the attempt already runs
  // here; UNAVAILABLE once draining; INTERNAL when a process cannot start
  // (the ones started are killed).
  absl::Status Start(const v1::StartRanksRequest& request);
  // The worker is shutting down: Start refuses from now on, and heartbeats
  // say so.
  void Drain();
  // Stops the ranks of (job, attempt) (attempt 0: all of the job's) and
  // waits until every one has exited; returns their final states.
  std::vector<v1::RankState> Stop(const std::string& job_id, int attempt,
                                  std::chrono::milliseconds grace);
  std::vector<v1::RankState> StopAll(std::chrono::milliseconds grace);

  // Reaps exited ranks and reads new progress; then fills the heartbeat.
  // Exited ranks are reported until their attempt is stopped or for a minute.
  void FillHeartbeat(v1::WorkerHeartbeat* heartbeat);

  absl::StatusOr<v1::ReadLogResponse> ReadLog(const v1::ReadLogRequest& request);

  // Every rank still running, after reading what is new.
  std::vector<RankSnapshot> Running();

 private:
  struct Rank;
  using Key = std::tuple<std::string, int, int>;  // job, attempt, rank
  void PollLocked();  // mu_ held
  std::vector<v1::RankState> StopMatching(const std::string& job_id, int attempt,
                                          std::chrono::milliseconds grace);
  std::string AttemptDir(const std::string& job_id, int attempt) const;

  const SupervisorOptions options_;
  std::mutex mu_;
  std::map<Key, std::unique_ptr<Rank>> ranks_;
  bool draining_ = false;
  // Final states and last progress of ranks stopped since the last
  // heartbeat, reported once: a rank that a shutdown stopped is seen to exit
  // (with code 4 after a checkpoint), and a checkpoint a rank committed while
  // stopping reaches the coordinator.
  std::vector<v1::RankState> stopped_states_;
  std::vector<v1::RankProgress> stopped_progress_;
};

}  // namespace spindle::worker
