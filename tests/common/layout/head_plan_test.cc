#include "common/layout/head_plan.h"

#include <gtest/gtest.h>

#include "common/layout/comm_volume.h"

namespace spindle::layout {
namespace {

TEST(HeadPlanTest, GqaSplitsKvHeadsWhenTheyDivide) {
  HeadPlan p = *PlanHeads(32, 8, 4);
  EXPECT_EQ(p.kv_replicas, 1);
  EXPECT_EQ(p.h_local(), 8);
  EXPECT_EQ(p.h_kv_local(), 2);
  EXPECT_EQ(p.first_q_head(3), 24);
  EXPECT_EQ(p.first_kv_wire_head(3), 6);
}

TEST(HeadPlanTest, ReplicatesKvHeadsWhenTheDegreeExceedsThem) {
  HeadPlan gqa = *PlanHeads(32, 8, 16);
  EXPECT_EQ(gqa.kv_replicas, 2);
  EXPECT_EQ(gqa.h_kv_wire(), 16);
  EXPECT_EQ(gqa.h_kv_local(), 1);
  // Ulysses rank 5 owns query heads 10, 11, which read model kv head 10 / 4 = 2;
  // its wire head 5 is a copy of model head 5 / 2 = 2.
  EXPECT_EQ(gqa.first_q_head(5) / (32 / 8), gqa.first_kv_wire_head(5) / gqa.kv_replicas);
  HeadPlan mqa = *PlanHeads(12, 1, 4);
  EXPECT_EQ(mqa.kv_replicas, 4);
  EXPECT_EQ(mqa.h_kv_local(), 1);
  HeadPlan odd = *PlanHeads(12, 2, 6);
  EXPECT_EQ(odd.kv_replicas, 3);
}

TEST(HeadPlanTest, RefusesUnevenDegreesListingTheValidOnes) {
  auto bad = PlanHeads(12, 2, 3, "spec.parallel.ulysses");
  ASSERT_FALSE(bad.ok());
  const std::string msg(bad.status().message());
  EXPECT_NE(msg.find("spec.parallel.ulysses: degree 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("valid degrees: 1, 2, 4, 6, 12"), std::string::npos) << msg;
  EXPECT_FALSE(PlanHeads(7, 7, 2).ok());
  EXPECT_EQ(ValidUlyssesDegrees(7, 7, 8), (std::vector<int>{1, 7}));
  EXPECT_FALSE(PlanHeads(8, 3, 1).ok());  // 8 heads cannot share 3 kv heads
}

// The per-layer volumes of sp-algorithms §6 for a Llama-3-8B layer
// (h = 32, h_kv = 8, d = 128), b = 1, S = 131072, P = 8, bf16, fp32 dK/dV.
TEST(CommVolumeTest, MatchesTheLlama3ReferenceFigures) {
  const AttentionCommShape shape{1, 131072, 128, 2, 4};
  AttentionTraffic ulysses = AttentionCommVolume(shape, *PlanHeads(32, 8, 8), 1);
  EXPECT_EQ(ulysses.all_to_all_forward.bytes, 293601280);  // 294 MB
  EXPECT_EQ(ulysses.all_to_all_backward.bytes, 293601280);
  EXPECT_EQ(ulysses.all_to_all_forward.calls, 2);
  EXPECT_EQ(ulysses.send_recv_forward.calls, 0);

  AttentionTraffic ring = AttentionCommVolume(shape, *PlanHeads(32, 8, 1), 8);
  EXPECT_EQ(ring.send_recv_forward.bytes, 469762048);                // 470 MB
  EXPECT_EQ(ring.send_recv_backward.bytes, 469762048 + 1073741824);  // + 1074 MB fp32 dKV
  EXPECT_EQ(ring.send_recv_forward.calls, 7);
  EXPECT_EQ(ring.send_recv_backward.calls, 9);
  EXPECT_EQ(ring.send_recv_backward.messages, 7 + 8);
  EXPECT_EQ(ring.all_to_all_forward.calls, 0);

  AttentionTraffic usp = AttentionCommVolume(shape, *PlanHeads(32, 8, 4), 2);
  EXPECT_EQ(usp.all_to_all_forward.bytes, 251658240);  // 252 MB
  EXPECT_EQ(usp.send_recv_forward.bytes, 67108864);    // 67 MB
  EXPECT_EQ(usp.send_recv_backward.bytes, 67108864 + 268435456);
}

}  // namespace
}  // namespace spindle::layout
