// Rank arithmetic of the process mesh: world = DP × R × U, data parallel
// outermost, then ring, with Ulysses fastest so that a Ulysses group is
// consecutive ranks (one node, all-to-all over NVLink) and a ring group is
// strided by U (across nodes, overlappable point-to-point).
//
//   world_rank = (dp · R + ring) · U + ulysses,  sp_rank = ring · U + ulysses
//
// Pure functions; building communicators from these lists is worker/sp's job.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spindle::layout {

struct MeshDims {
  int dp = 1;
  int ulysses = 1;  // U
  int ring = 1;     // R
  int sp() const { return ulysses * ring; }
  int world() const { return dp * ulysses * ring; }
};

struct MeshCoord {
  int dp = 0;
  int ring = 0;
  int ulysses = 0;
};

// Checks every degree is >= 1 and that they multiply to world.
absl::StatusOr<MeshDims> MakeMesh(int world, int dp, int ulysses, int ring);

MeshCoord CoordOf(const MeshDims& m, int world_rank);
int WorldRankOf(const MeshDims& m, const MeshCoord& c);
inline int SpRankOf(const MeshDims& m, const MeshCoord& c) {
  return c.ring * m.ulysses + c.ulysses;
}

// World ranks of each group containing world_rank, ordered by the group's
// own rank (ulysses index, ring index, sp rank, dp index respectively).
std::vector<int> UlyssesGroup(const MeshDims& m, int world_rank);
std::vector<int> RingGroup(const MeshDims& m, int world_rank);
std::vector<int> SpGroup(const MeshDims& m, int world_rank);
std::vector<int> DpGroup(const MeshDims& m, int world_rank);

// A name unique to the group instance, e.g. "ring.dp1.u0", used to scope
// rendezvous keys and to label errors and metrics.
std::string UlyssesGroupName(const MeshDims& m, int world_rank);
std::string RingGroupName(const MeshDims& m, int world_rank);
std::string SpGroupName(const MeshDims& m, int world_rank);
std::string DpGroupName(const MeshDims& m, int world_rank);

}  // namespace spindle::layout
