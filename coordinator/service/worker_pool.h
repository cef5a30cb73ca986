// The coordinator's view of its workers: what each registered, when it was
// last heard from, which devices are reserved by which attempt and which the
// worker itself reports busy. Bookkeeping only: the job manager owns one and
// serialises access; RPCs happen elsewhere.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/rpc/security.h"
#include "coordinator/planner/plan.h"
#include "spindle/v1/worker.grpc.pb.h"

namespace spindle::coordinator {

using Clock = std::chrono::steady_clock;
using AttemptKey = std::pair<std::string, int>;  // (job id, attempt)

struct WorkerEntry {
  v1::WorkerInfo info;
  Clock::time_point last_heartbeat;
  bool alive = true;
  bool draining = false;                 // shutting down: nothing new is placed on it
  std::set<int> reported_busy;           // devices with a live rank process
  std::map<int, AttemptKey> reserved;    // device -> attempt holding it
  std::shared_ptr<v1::WorkerControl::Stub> control;
  std::string session;  // secret of its latest registration; heartbeats carry it
};

class WorkerPool {
 public:
  void set_security(rpc::Security security) { security_ = std::move(security); }
  // Adds or replaces a worker (a re-registration drops its old reservations'
  // claim on reported busy devices but keeps reservations) under a new
  // session. Returns true when the worker was already known and alive: it
  // restarted.
  bool Register(const v1::WorkerInfo& info, Clock::time_point now);
  WorkerEntry* Find(const std::string& worker_id);
  const std::map<std::string, WorkerEntry>& workers() const { return workers_; }

  // Alive workers of `kind` with their free devices (neither reserved nor
  // reported busy); nodes with no free device are left out.
  planner::Inventory FreeInventory(config::Device kind) const;
  // Alive workers of `kind` with every device: for feasibility checks.
  planner::Inventory FullInventory(config::Device kind) const;

  void Reserve(const AttemptKey& attempt, const std::string& worker_id, int device);
  void Release(const AttemptKey& attempt);
  // Workers whose last heartbeat is older than lease: marked lost, returned.
  std::vector<std::string> Expire(Clock::time_point now, std::chrono::milliseconds lease);

  void Describe(Clock::time_point now, std::vector<v1::WorkerInfo>* out) const;

 private:
  planner::Inventory Inventory(config::Device kind, bool free_only) const;
  std::map<std::string, WorkerEntry> workers_;
  rpc::Security security_;
};

}  // namespace spindle::coordinator
