// A worker's tie to the coordinator: register, then send a heartbeat every
// interval on one stream (rank states and rank 0's progress) and act on the
// replies (stop fenced attempts, register again). When the coordinator is
// unreachable or restarts, it keeps re-registering with a bounded backoff;
// ranks keep running meanwhile and the coordinator fences them on return.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/rpc/security.h"
#include "spindle/v1/worker.grpc.pb.h"
#include "worker/daemon/rank_supervisor.h"

namespace spindle::worker {

class CoordinatorLink {
 public:
  CoordinatorLink(std::string coordinator, const rpc::Security& security, v1::WorkerInfo info,
                  RankSupervisor* supervisor, std::chrono::milliseconds stop_grace);
  ~CoordinatorLink();  // Stop()

  void Start();
  void Stop();
  // Sends a heartbeat now and waits until the coordinator answered one that
  // started after this call (so it carries every state queued before), up to
  // timeout. False when none was answered in time (or not registered).
  bool Flush(std::chrono::milliseconds timeout);
  bool registered() const { return registered_; }

 private:
  void Run();
  bool Register(std::chrono::milliseconds* interval);
  void Beat(std::chrono::milliseconds interval);
  bool Sleep(std::chrono::milliseconds d);  // false when stopping

  const std::string coordinator_;
  const v1::WorkerInfo info_;
  RankSupervisor* supervisor_;
  const std::chrono::milliseconds stop_grace_;
  std::unique_ptr<v1::WorkerRegistry::Stub> stub_;
  std::atomic<bool> registered_{false};
  std::string session_;  // of the latest registration (Run's thread only)
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool beat_now_ = false;       // Flush asks for a heartbeat before the interval
  int64_t beats_started_ = 0;   // heartbeats filled ...
  int64_t beats_answered_ = 0;  // ... and answered: the latest one's number
  std::shared_ptr<grpc::ClientContext> stream_context_;  // cancelled by Stop()
  std::thread thread_;
  std::vector<std::thread> stoppers_;  // fenced attempts being stopped
};

}  // namespace spindle::worker
