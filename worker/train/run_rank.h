// One rank of a training job, end to end: take the device resources.device
// asks for (worker/train/rank_device.h), form the process groups over Gloo
// (CPU) or NCCL (GPU), build the model (random init or Hugging Face
// weights), resume from the newest valid checkpoint, train, checkpoint on
// schedule, export the final weights. Asked to stop (a signal:
// common/proc/stop_signal.h), the ranks agree at the next step boundary,
// commit a checkpoint there and return. The local runner (spindle-trainer
// --local-ranks N) and worker daemons start one process per rank running
// this.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "common/config/job_spec.h"

namespace spindle::train {

// Set by the worker for each rank: the address peers on other hosts reach
// this rank's Gloo connections at (its --advertise_host), and optionally a
// network interface to use instead.
inline constexpr char kRankHostEnv[] = "SPINDLE_RANK_HOST";
inline constexpr char kRankIfaceEnv[] = "SPINDLE_RANK_IFACE";

struct RankRunOptions {
  int rank = 0;
  int world = 1;
  int local_ranks = 1;             // ranks sharing this host's cores
  // Where the ranks meet: grpc://HOST:PORT/JOB/ATTEMPT (the coordinator) or a
  // directory shared by the ranks (Gloo file store); common/rendezvous.
  std::string rendezvous;
  double peak_flops_per_rank = 0;  // FLOP/s for MFU; 0: MFU not printed
  // Rank 0 appends one JSON object per step here (full-precision loss,
  // grad_norm, lr, tokens, seconds, and "checkpoint" when one was committed
  // after that step, with its save time); "" = none. Worker daemons relay it as progress.
  std::string metrics_path;
  // This rank's sign of life for hang diagnosis (worker/train/liveness.h);
  // "" = none.
  std::string liveness_path;
  // Non-zero once this rank is asked to stop (the signal's number); read
  // after every step. Null, or a job without checkpoint.dir: never stops early.
  std::function<int()> stop_signal;
};

struct RunSummary {
  int64_t steps = 0;          // optimizer steps done (resumed ones included)
  int64_t resumed_from = -1;  // step of the checkpoint resumed, or -1
  double first_loss = 0;      // first step run by this process
  double last_loss = 0;
  std::string checkpoint;  // last committed checkpoint directory, or ""
  std::string exported;    // export directory, or ""
  // Non-zero when the ranks stopped early, after committing `checkpoint` at
  // step `steps`: the stop signal (the largest number any rank received).
  int stopped_by = 0;
};

// Rank 0 writes progress lines to `progress`; every rank returns the summary
// or the first error (a failed collective names the peer).
absl::StatusOr<RunSummary> RunRank(const config::JobSpec& spec, const RankRunOptions& options,
                                   std::ostream& progress);

}  // namespace spindle::train
