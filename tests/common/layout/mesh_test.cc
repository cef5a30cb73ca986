#include "common/layout/mesh.h"

#include <gtest/gtest.h>

#include <set>

namespace spindle::layout {
namespace {

TEST(MeshTest, RejectsDegreesThatDoNotMultiplyToWorld) {
  auto m = MakeMesh(8, 1, 3, 2);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(std::string(m.status().message()).find("product is 8"), std::string::npos);
  EXPECT_FALSE(MakeMesh(4, 0, 2, 2).ok());
}

TEST(MeshTest, UlyssesIsConsecutiveRingIsStridedDpOutermost) {
  // world 12 = dp 3 × ring 2 × ulysses 2
  MeshDims m = *MakeMesh(12, 3, 2, 2);
  EXPECT_EQ(UlyssesGroup(m, 5), (std::vector<int>{4, 5}));
  EXPECT_EQ(RingGroup(m, 5), (std::vector<int>{5, 7}));
  EXPECT_EQ(SpGroup(m, 5), (std::vector<int>{4, 5, 6, 7}));
  EXPECT_EQ(DpGroup(m, 5), (std::vector<int>{1, 5, 9}));
  const MeshCoord c = CoordOf(m, 7);
  EXPECT_EQ(c.dp, 1);
  EXPECT_EQ(c.ring, 1);
  EXPECT_EQ(c.ulysses, 1);
  EXPECT_EQ(SpRankOf(m, c), 3);
}

TEST(MeshTest, EveryRankRoundTripsAndGroupsPartitionTheWorld) {
  for (auto [dp, u, r] : {std::tuple{1, 1, 1}, {1, 4, 1}, {1, 1, 4}, {2, 2, 2}, {1, 3, 2}}) {
    MeshDims m = *MakeMesh(dp * u * r, dp, u, r);
    std::set<std::string> ring_names;
    for (int w = 0; w < m.world(); ++w) {
      EXPECT_EQ(WorldRankOf(m, CoordOf(m, w)), w);
      // This rank sits in each of its groups at its own coordinate.
      const MeshCoord c = CoordOf(m, w);
      EXPECT_EQ(UlyssesGroup(m, w)[c.ulysses], w);
      EXPECT_EQ(RingGroup(m, w)[c.ring], w);
      EXPECT_EQ(DpGroup(m, w)[c.dp], w);
      ring_names.insert(RingGroupName(m, w));
    }
    EXPECT_EQ(static_cast<int>(ring_names.size()), dp * u);
  }
}

}  // namespace
}  // namespace spindle::layout
