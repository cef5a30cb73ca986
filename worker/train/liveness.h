// A rank's sign of life for hang diagnosis: a background thread rewrites a
// small JSON file every `period` — wall time, the last finished step, and each
// process group's collective sequence number (Communicator::sequence):
//   {"time_ms": 1795450000123, "step": 41, "seq": {"world": 380, "ring": 1201, ...}}
// The worker daemon relays it; when no rank makes progress the coordinator
// names the rank whose file went stale (stopped or frozen) or whose
// sequence in some group is behind the others' (stuck before a collective
// its peers are waiting in). The training thread adds its cumulative
// figures (rank_stats.h) as "stats" after each step, for the worker's metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/comm/communicator.h"

namespace spindle::train {

using NamedGroups = std::vector<std::pair<std::string, std::shared_ptr<comm::Communicator>>>;

class LivenessWriter {
 public:
  // Writes nothing when path is empty.
  LivenessWriter(std::string path, NamedGroups groups, const std::atomic<int64_t>* step,
                 std::chrono::milliseconds period = std::chrono::milliseconds(500));
  ~LivenessWriter();  // stops the thread

  // stats_json: a JSON object, written as "stats" from now on.
  void SetStats(std::string stats_json);

  // The JSON it writes now (for tests).
  std::string Snapshot();

 private:
  void Loop();
  std::string SnapshotLocked() const;  // mu_ held

  std::string path_;
  NamedGroups groups_;
  const std::atomic<int64_t>* step_;
  std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string stats_;  // JSON object or empty
  std::thread thread_;
};

}  // namespace spindle::train
