// The communicators of one rank for a (DP, U, R) mesh (common/layout/mesh.h):
// its Ulysses, ring, sequence-parallel, data-parallel and world groups. The
// backend is injected as a factory, so the same code builds Gloo groups
// between processes and in-process groups for tests and virtual ranks.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/comm/communicator.h"
#include "common/comm/gloo_communicator.h"
#include "common/layout/mesh.h"

namespace gloo::rendezvous {
class Store;
}

namespace spindle::sp {

// Creates this rank's communicator for a group given its members' world ranks
// (in group-rank order) and options naming the group.
using GroupFactory = std::function<absl::StatusOr<std::unique_ptr<comm::Communicator>>(
    const std::vector<int>& world_ranks, const comm::CommOptions& options)>;

// This rank's place in a group given its members' world ranks, or
// InvalidArgument naming the group when it is not a member.
absl::StatusOr<int> GroupRankOf(const std::vector<int>& world_ranks, int world_rank,
                                const std::string& group);

struct ProcessGroups {
  layout::MeshDims mesh;
  int world_rank = 0;
  std::shared_ptr<comm::Communicator> world;
  std::shared_ptr<comm::Communicator> sp;       // U·R ranks: all of one sequence
  std::shared_ptr<comm::Communicator> ulysses;  // U consecutive ranks
  std::shared_ptr<comm::Communicator> ring;     // R ranks strided by U
  std::shared_ptr<comm::Communicator> dp;       // DP ranks strided by U·R

  layout::MeshCoord coord() const { return layout::CoordOf(mesh, world_rank); }
  int sp_rank() const { return layout::SpRankOf(mesh, coord()); }
};

// Forms each group over Gloo TCP, rendezvousing through `store` (keys scoped
// by group name); store must outlive BuildProcessGroups.
GroupFactory GlooGroupFactory(gloo::rendezvous::Store& store, int world_rank,
                              comm::GlooOptions gloo = {});

// Every rank must call this with the same mesh; groups are created in a fixed
// order (world, sp, ulysses, ring, dp) so rendezvous never cross.
// One more group of every rank, e.g. "grad" for a thread that must not share
// the world group's message order; every rank calls it in the same order.
absl::StatusOr<std::shared_ptr<comm::Communicator>> BuildWorldGroup(
    const layout::MeshDims& mesh, int world_rank, std::chrono::milliseconds timeout,
    const GroupFactory& factory, const std::string& name);

absl::StatusOr<ProcessGroups> BuildProcessGroups(const layout::MeshDims& mesh, int world_rank,
                                                 std::chrono::milliseconds timeout,
                                                 const GroupFactory& factory);

}  // namespace spindle::sp
