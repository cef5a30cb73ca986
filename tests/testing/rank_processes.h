// RankProcesses: runs N copies of a rank executable as real processes, rank i
// with "--rank i --world N --store DIR" followed by the given arguments, its
// stdout and stderr in a log file. Waits with a deadline and SIGKILLs what is
// left, so no test hangs or leaves orphans (ranks that call InitRank also die
// with the test process). Start it from a thread that outlives the ranks:
// the parent-death signal follows the spawning thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/proc/subprocess.h"

namespace spindle::testing {

struct RankProcessOptions {
  std::string executable;  // path of the rank binary
  int world = 1;
  std::string store_dir;          // passed as --store; rank i logs to store_dir/rank_i.log
  std::vector<std::string> args;  // appended after the rank flags
};

struct RankExit {
  int rank = -1;
  bool exited = false;  // exited on its own; exit_code is valid
  int exit_code = -1;
  int signal = 0;                        // the signal that ended it, when !exited
  bool killed_at_deadline = false;       // still running at Wait's deadline
  std::chrono::milliseconds elapsed{0};  // from Start to its end (as seen by a 5 ms poll)
  std::string log;                       // its stdout and stderr

  bool ok() const { return exited && exit_code == 0; }
  // "rank 2: exit 3 after 1.2s" / "rank 1: signal 9 after 0.3s", then the log.
  std::string Describe() const;
};

class RankProcesses {
 public:
  static absl::StatusOr<std::unique_ptr<RankProcesses>> Start(const RankProcessOptions& options);
  ~RankProcesses() = default;  // SIGKILLs and reaps every rank still running

  int world() const { return static_cast<int>(ranks_.size()); }
  pid_t pid(int rank) const { return ranks_[rank].pid(); }

  // Sends `signal` to rank (no effect once it has been reaped).
  void Kill(int rank, int signal);

  // Waits until every rank ended or `timeout` passed, then SIGKILLs the rest.
  // Returns one entry per rank, in rank order. Call once.
  std::vector<RankExit> Wait(std::chrono::milliseconds timeout);

 private:
  RankProcesses() = default;

  RankProcessOptions options_;
  std::chrono::steady_clock::time_point start_;
  std::vector<proc::Subprocess> ranks_;
};

// Start, then Wait(timeout).
absl::StatusOr<std::vector<RankExit>> RunRanks(const RankProcessOptions& options,
                                               std::chrono::milliseconds timeout);

}  // namespace spindle::testing
