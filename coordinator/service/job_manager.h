// The coordinator's brain: accepts jobs (parsed and planned with the same
// code as the CLI), keeps them durably (store/job_store.h), places the oldest
// waiting job when its whole plan fits the free devices (FIFO, all or
// nothing), pushes each worker its ranks, follows attempts through worker
// heartbeats, and ends, restarts or cancels them.
//
// States: QUEUED -> PLANNING -> RUNNING -> SUCCEEDED | FAILED | CANCELLED,
// and RUNNING/PLANNING -> RESTARTING -> PLANNING ... while attempts remain
// (1 + fault_tolerance.max_restarts in all). Any rank failing, a worker lost,
// or no step for fault_tolerance.hang_timeout ends the attempt: every rank
// of it is stopped (SIGTERM, grace, SIGKILL) before its devices are free.
// The next attempt resumes from the newest valid checkpoint (resume: auto).
//
// Thread-safe. RPCs to workers run on background threads, never under the
// lock. Times are steady-clock inside, unix milliseconds in messages.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/job_spec.h"
#include "common/rpc/security.h"
#include "coordinator/service/manager_metrics.h"
#include "coordinator/service/rendezvous_service.h"
#include "coordinator/service/worker_pool.h"
#include "coordinator/store/job_store.h"
#include "spindle/v1/job.pb.h"
#include "spindle/v1/worker.grpc.pb.h"

namespace spindle::coordinator {

struct ManagerOptions {
  std::string rendezvous_target;  // host:port the ranks reach the coordinator at
  std::chrono::milliseconds heartbeat_interval{1000};  // asked of workers
  std::chrono::milliseconds worker_lease{10000};       // silence = worker lost
  // Cancel and shutdown: SIGTERM (the ranks commit a checkpoint at the next
  // step boundary) -> SIGKILL; covers a step plus a checkpoint save.
  std::chrono::milliseconds stop_grace{10000};
  std::chrono::milliseconds rpc_timeout{10000};        // coordinator -> worker calls
  std::chrono::milliseconds tick{100};                 // scheduler period
  rpc::Security security;  // for channels to workers (TLS, token)
  // Jobs' submit directories and paths must lie inside one of these
  // (common/config/confine.h); empty: anywhere.
  std::vector<std::string> job_roots;
};

// One rank's log source, for JobLogs.
struct LogTarget {
  int rank = 0;
  std::string worker;
  std::shared_ptr<v1::WorkerControl::Stub> control;
};

struct JobChange {
  std::vector<v1::JobEvent> events;  // stored events after the caller's seq
  bool progress_changed = false;
  v1::Job job;  // snapshot
  bool terminal = false;
  bool shutting_down = false;  // the coordinator is stopping: end the stream
};

class JobManager {
 public:
  static absl::StatusOr<std::unique_ptr<JobManager>> Create(std::unique_ptr<store::JobStore> store,
                                                            RendezvousService* rendezvous,
                                                            ManagerOptions options);
  ~JobManager();  // Shutdown()

  // The HOST:PORT ranks reach the rendezvous at; set before Start().
  void SetRendezvousTarget(const std::string& target);
  void Start();  // the scheduler thread
  // Stops scheduling and refuses submits; stops the ranks of running attempts
  // (they resume from their checkpoints after a restart) and joins threads.
  void Shutdown();

  // --- job API ---
  absl::StatusOr<v1::Job> Submit(const v1::SubmitJobRequest& request);
  absl::StatusOr<v1::PlanJobResponse> Plan(const v1::SpecSource& source);
  absl::StatusOr<v1::Job> Get(const std::string& id_or_prefix);
  std::vector<v1::Job> List(const std::vector<v1::JobState>& states, int limit);
  absl::StatusOr<v1::Job> Cancel(const std::string& id_or_prefix, const std::string& reason);
  // Waits up to `timeout` for events after *after_seq or progress newer than
  // *progress_version, then returns what changed and advances both.
  absl::StatusOr<JobChange> WaitForChange(const std::string& job_id, int64_t* after_seq,
                                          int64_t* progress_version,
                                          std::chrono::milliseconds timeout);
  // The rank log sources of an attempt (0 = current) and whether it has ended.
  absl::StatusOr<std::vector<LogTarget>> LogTargets(const std::string& job_id, int rank,
                                                    int* attempt, bool* ended);

  // --- worker registry ---
  v1::RegisterWorkerResponse RegisterWorker(const v1::WorkerInfo& info);
  v1::HeartbeatReply OnHeartbeat(const v1::WorkerHeartbeat& heartbeat);
  std::vector<v1::WorkerInfo> ListWorkers();

  // --- metrics (docs/metrics.md) ---
  ManagerMetrics Metrics();

 private:
  struct Attempt;
  struct Entry;
  JobManager(std::unique_ptr<store::JobStore> store, RendezvousService* rendezvous,
             ManagerOptions options);

  // All below: mu_ held.
  absl::StatusOr<Entry*> Lookup(const std::string& id_or_prefix);
  void AddEvent(Entry& e, v1::JobEvent::Kind kind, const std::string& message);
  void SetState(Entry& e, v1::JobState state, const std::string& message);
  void Persist(Entry& e);
  void Tick();
  void TryPlace(Entry& e);
  // Ends the attempt for `f` (kind, cause and what is known of the culprit):
  // records it in the job, then restarts with backoff while attempts remain,
  // except for USER failures, which a restart would only repeat.
  void FailAttempt(Entry& e, v1::Failure f);
  void FailAttempt(Entry& e, v1::FailureKind kind, const std::string& cause);
  // Async stop, then release. Ranks take SIGTERM as "commit a checkpoint at
  // the next step boundary, then exit" and get SIGKILL `grace` later: the
  // stop grace for a cancel or shutdown, zero for a failed attempt, whose
  // ranks could only wait on their dead peers.
  void StopAttempt(Entry& e, const std::string& reason, std::chrono::milliseconds grace);
  void Succeed(Entry& e);
  void OnRankState(Entry& e, const std::string& worker, const v1::RankState& r);
  void OnProgress(Entry& e, const v1::RankProgress& p);

  void Async(std::function<void()> fn);  // runs fn on a joined-at-shutdown thread
  // planner::MakePlan, timed into planner_seconds_. mu_ may be held.
  absl::StatusOr<planner::Plan> TimedPlan(const config::JobSpec& spec,
                                          const planner::Inventory& inventory);

  std::unique_ptr<store::JobStore> store_;
  RendezvousService* rendezvous_;
  ManagerOptions options_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<Entry>> jobs_;  // submission order
  int64_t next_number_ = 1;
  WorkerPool pool_;
  bool shutting_down_ = false;
  std::thread scheduler_;
  std::vector<std::thread> background_;

  std::mutex metrics_mu_;  // after mu_ when both are held
  metrics::HistogramData planner_seconds_{metrics::SecondsBuckets()};
  metrics::HistogramData queue_wait_seconds_{metrics::SecondsBuckets()};
};

}  // namespace spindle::coordinator
