// The in-process backend: the ranks of a LocalFabric are threads of one
// process (fast tests, and virtual ranks sharing one device). Transfers are
// real copies between the ranks' buffers, matched by tag and size like the
// network backends, with the same deadlines and errors (p2p_communicator.h).
//
// Kill(world_rank) simulates a process dying: from then on its peers see it
// as lost and fail at once, naming it, instead of timing out. A rank whose
// communicator failed releases its peers the same way ("it failed: ...").
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/comm/communicator.h"
#include "common/comm/memory.h"

namespace spindle::comm {

class LocalFabric : public std::enable_shared_from_this<LocalFabric> {
 public:
  // `memory` (outliving the fabric) holds every buffer its ranks pass: host
  // memory, or device memory for virtual ranks on one GPU (cuda_memory.h).
  static std::shared_ptr<LocalFabric> Create(int world_size,
                                             const Memory& memory = HostMemory());

  // Joins the group of `group_world_ranks` (group rank i is world rank
  // group_world_ranks[i]) as `my_world_rank`, blocking until every member
  // joined or options.timeout passed: DeadlineExceeded naming the missing
  // ranks; Unavailable when one of them was killed. Ranks connecting with
  // the same options.group and rank list form one group; connecting again
  // after it formed starts a new instance. The returned communicator's
  // options() are `options` with world_rank and world_ranks filled in.
  absl::StatusOr<std::unique_ptr<Communicator>> Connect(std::vector<int> group_world_ranks,
                                                        int my_world_rank,
                                                        const CommOptions& options);

  // From now on every operation with this rank fails at once, on both sides:
  // peers get Unavailable ("lost rank 2 (world rank 5): it was killed"), the
  // killed rank itself Aborted. Transfers that already completed stand.
  void Kill(int world_rank);
  bool IsKilled(int world_rank) const;

  int world_size() const { return static_cast<int>(killed_.size()); }
  const Memory& memory() const { return memory_; }

  // Defined in local_communicator.cc; public so the transport can name it.
  struct Group;

 private:
  LocalFabric(int world_size, const Memory& memory);

  const Memory& memory_;
  std::vector<std::atomic<bool>> killed_;  // by world rank; read under a Group's mutex
  std::mutex mu_;
  // Instances still forming, by group name and rank list.
  std::map<std::string, std::vector<std::shared_ptr<Group>>> forming_ ABSL_GUARDED_BY(mu_);
  // Every instance ever made, to wake its waiters on Kill.
  std::vector<std::weak_ptr<Group>> groups_ ABSL_GUARDED_BY(mu_);
};

}  // namespace spindle::comm
