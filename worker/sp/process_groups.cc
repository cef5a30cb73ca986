#include "worker/sp/process_groups.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/comm/gloo_communicator.h"
#include "common/status.h"

namespace spindle::sp {

absl::StatusOr<int> GroupRankOf(const std::vector<int>& world_ranks, int world_rank,
                                const std::string& group) {
  const auto me = std::find(world_ranks.begin(), world_ranks.end(), world_rank);
  if (me == world_ranks.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("world rank ", world_rank, " is not a member of group ", group));
  }
  return static_cast<int>(me - world_ranks.begin());
}

GroupFactory GlooGroupFactory(gloo::rendezvous::Store& store, int world_rank,
                              comm::GlooOptions gloo) {
  return [&store, world_rank, gloo](const std::vector<int>& world_ranks,
                                    const comm::CommOptions& options)
             -> absl::StatusOr<std::unique_ptr<comm::Communicator>> {
    SPINDLE_ASSIGN_OR_RETURN(int rank, GroupRankOf(world_ranks, world_rank, options.group));
    return comm::CreateGlooCommunicator(store, rank, static_cast<int>(world_ranks.size()),
                                        options, gloo);
  };
}

namespace {

absl::StatusOr<std::shared_ptr<comm::Communicator>> MakeGroup(const std::vector<int>& ranks,
                                                              const std::string& name,
                                                              int world_rank,
                                                              std::chrono::milliseconds timeout,
                                                              const GroupFactory& factory) {
  comm::CommOptions options;
  options.group = name;
  options.world_rank = world_rank;
  options.world_ranks = ranks;
  options.timeout = timeout;
  SPINDLE_ASSIGN_OR_RETURN(std::unique_ptr<comm::Communicator> c, factory(ranks, options));
  return std::shared_ptr<comm::Communicator>(std::move(c));
}

}  // namespace

absl::StatusOr<std::shared_ptr<comm::Communicator>> BuildWorldGroup(
    const layout::MeshDims& mesh, int world_rank, std::chrono::milliseconds timeout,
    const GroupFactory& factory, const std::string& name) {
  std::vector<int> all(mesh.world());
  std::iota(all.begin(), all.end(), 0);
  return MakeGroup(all, name, world_rank, timeout, factory);
}

absl::StatusOr<ProcessGroups> BuildProcessGroups(const layout::MeshDims& mesh, int world_rank,
                                                 std::chrono::milliseconds timeout,
                                                 const GroupFactory& factory) {
  ProcessGroups groups;
  groups.mesh = mesh;
  groups.world_rank = world_rank;
  auto make = [&](const std::vector<int>& ranks, const std::string& name) {
    return MakeGroup(ranks, name, world_rank, timeout, factory);
  };
  SPINDLE_ASSIGN_OR_RETURN(groups.world,
                           BuildWorldGroup(mesh, world_rank, timeout, factory, "world"));
  SPINDLE_ASSIGN_OR_RETURN(
      groups.sp, make(layout::SpGroup(mesh, world_rank), layout::SpGroupName(mesh, world_rank)));
  SPINDLE_ASSIGN_OR_RETURN(groups.ulysses, make(layout::UlyssesGroup(mesh, world_rank),
                                                layout::UlyssesGroupName(mesh, world_rank)));
  SPINDLE_ASSIGN_OR_RETURN(groups.ring, make(layout::RingGroup(mesh, world_rank),
                                             layout::RingGroupName(mesh, world_rank)));
  SPINDLE_ASSIGN_OR_RETURN(
      groups.dp, make(layout::DpGroup(mesh, world_rank), layout::DpGroupName(mesh, world_rank)));
  return groups;
}

}  // namespace spindle::sp
