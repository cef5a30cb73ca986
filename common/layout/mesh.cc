#include "common/layout/mesh.h"

#include "absl/strings/str_cat.h"

namespace spindle::layout {

absl::StatusOr<MeshDims> MakeMesh(int world, int dp, int ulysses, int ring) {
  if (dp < 1 || ulysses < 1 || ring < 1) {
    return absl::InvalidArgumentError(absl::StrCat("parallel degrees must be >= 1, got dp=", dp,
                                                   " ulysses=", ulysses, " ring=", ring));
  }
  if (dp * ulysses * ring != world) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dp × ulysses × ring = ", dp, " × ", ulysses, " × ", ring, " = ", dp * ulysses * ring,
        " but the world has ", world, " ranks; choose degrees whose product is ", world));
  }
  return MeshDims{dp, ulysses, ring};
}

MeshCoord CoordOf(const MeshDims& m, int world_rank) {
  MeshCoord c;
  c.ulysses = world_rank % m.ulysses;
  c.ring = (world_rank / m.ulysses) % m.ring;
  c.dp = world_rank / m.sp();
  return c;
}

int WorldRankOf(const MeshDims& m, const MeshCoord& c) {
  return (c.dp * m.ring + c.ring) * m.ulysses + c.ulysses;
}

std::vector<int> UlyssesGroup(const MeshDims& m, int world_rank) {
  MeshCoord c = CoordOf(m, world_rank);
  std::vector<int> ranks;
  for (c.ulysses = 0; c.ulysses < m.ulysses; ++c.ulysses) ranks.push_back(WorldRankOf(m, c));
  return ranks;
}

std::vector<int> RingGroup(const MeshDims& m, int world_rank) {
  MeshCoord c = CoordOf(m, world_rank);
  std::vector<int> ranks;
  for (c.ring = 0; c.ring < m.ring; ++c.ring) ranks.push_back(WorldRankOf(m, c));
  return ranks;
}

std::vector<int> SpGroup(const MeshDims& m, int world_rank) {
  const int first = CoordOf(m, world_rank).dp * m.sp();
  std::vector<int> ranks;
  for (int i = 0; i < m.sp(); ++i) ranks.push_back(first + i);
  return ranks;
}

std::vector<int> DpGroup(const MeshDims& m, int world_rank) {
  MeshCoord c = CoordOf(m, world_rank);
  std::vector<int> ranks;
  for (c.dp = 0; c.dp < m.dp; ++c.dp) ranks.push_back(WorldRankOf(m, c));
  return ranks;
}

std::string UlyssesGroupName(const MeshDims& m, int world_rank) {
  const MeshCoord c = CoordOf(m, world_rank);
  return absl::StrCat("ulysses.dp", c.dp, ".r", c.ring);
}

std::string RingGroupName(const MeshDims& m, int world_rank) {
  const MeshCoord c = CoordOf(m, world_rank);
  return absl::StrCat("ring.dp", c.dp, ".u", c.ulysses);
}

std::string SpGroupName(const MeshDims& m, int world_rank) {
  return absl::StrCat("sp.dp", CoordOf(m, world_rank).dp);
}

std::string DpGroupName(const MeshDims& m, int world_rank) {
  return absl::StrCat("dp.sp", SpRankOf(m, CoordOf(m, world_rank)));
}

}  // namespace spindle::layout
