// The cost model (coordinator/planner/cost_model.cc) checked against hand
// arithmetic.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/layout/comm_volume.h"
#include "common/layout/head_plan.h"
#include "coordinator/planner/plan.h"
#include "tests/coordinator/planner/plan_test_util.h"

namespace spindle::planner {
namespace {

using testing::Cpus;
using testing::ExampleCluster;
using testing::ExampleJob;
using testing::Gpus;
using ::testing::HasSubstr;
using testing::Job;
using testing::kGiB;
using testing::kGqaModel;
using testing::Refusal;
using testing::With;

// The cost model's formulas (cost_model.cc) on a case small enough to work
// by hand: tiny (h 64, F 176, 2 layers, 4 heads, 2 KV heads, D 16, V 256,
// 125,248 parameters), S = 128, dp 1 × U 2 × R 2 on 2 CPU nodes × 2, fp32,
// one sequence per step: L = 32 tokens per rank, kv' = 2 × 16 = 32; the
// optimizer sharded over the W = 4 ranks.
TEST(PlanTest, CostModelWorkedExample) {
  const std::vector<std::string> degrees = {"parallel.dp=1", "parallel.sp.ulysses=2",
                                            "parallel.sp.ring=2", "resources.nodes.max=2",
                                            "data.global_batch_seqs=1"};
  absl::StatusOr<Plan> plan = MakePlan(Job(degrees), Cpus(2, 2));
  ASSERT_TRUE(plan.ok()) << plan.status();
  const MemoryEstimate& m = plan->chosen.memory;
  const int64_t params = 125248, local = 32;
  EXPECT_EQ(m.weights, 4 * params);
  EXPECT_EQ(m.gradients, 4 * params);
  EXPECT_EQ(m.optimizer, 8 * params / 4);
  const int64_t layer = 4 * (8 * 64 + 4 * 32 + 4 * 176) + 4 * 4;  // 5392 B per token
  EXPECT_EQ(m.activations, local * (2 * layer + layer + 2 * 4 * 64));
  EXPECT_EQ(m.logits, local * 256 * 4 * 2);
  EXPECT_EQ(m.workspace,
            (int64_t{8} << 20) + 2 * local * (64 + 2 * 32) * 4 + 4 * local * 32 * (4 + 4));
  EXPECT_EQ(m.total, 10306176);
  EXPECT_EQ(m.capacity, static_cast<int64_t>(8 * kGiB * 0.9));

  // Per layer: all-to-all (U−1)·(2·q_seg + kv_seg)·4 B each way, q_seg = kv_seg
  // = 1024 elements; ring k/v block 2·64·16 = 2048 elements, R−1 = 1 send
  // forward, a send and the fp32 dK/dV (R = 2 sends) backward. Gradient
  // all-reduce: 2·(W−1)/W·4·N; weight all-gather (W−1)/W·4·N.
  ASSERT_EQ(plan->chosen.traffic.size(), 4u);
  const TrafficEstimate& u = plan->chosen.traffic[0];
  const TrafficEstimate& r = plan->chosen.traffic[1];
  const TrafficEstimate& dp = plan->chosen.traffic[2];
  const TrafficEstimate& gather = plan->chosen.traffic[3];
  EXPECT_EQ(u.group, "ulysses");
  EXPECT_FALSE(u.inter_node);
  EXPECT_EQ(u.bytes, 2 * 2 * 3072 * 4);
  EXPECT_EQ(r.group, "ring");
  EXPECT_TRUE(r.inter_node);
  EXPECT_EQ(r.bytes, 2 * (2048 * 4 + 2048 * 4 + 2 * 2048 * 4));
  EXPECT_EQ(dp.group, "dp");
  EXPECT_TRUE(dp.inter_node);
  EXPECT_EQ(dp.bytes, 2 * 3 * 4 * params / 4);
  EXPECT_EQ(gather.group, "params");
  EXPECT_TRUE(gather.inter_node);
  EXPECT_EQ(gather.bytes, 3 * 4 * params / 4);
  EXPECT_DOUBLE_EQ(u.seconds, u.bytes / 10e9);  // Cpus(): 10 GB/s inside, 1 GB/s across
  EXPECT_DOUBLE_EQ(r.seconds, r.bytes / 1e9);

  // Megatron FLOPs per token: 6·N_mm + 6·n·h·S with N_mm = 108,544; 4 devices
  // at 100 GFLOP/s × 0.5.
  const double f = 6.0 * 108544 + 6.0 * 2 * 64 * 128, rate = 4 * 100e9 * 0.5;
  const StepTimeEstimate& t = plan->chosen.time;
  EXPECT_DOUBLE_EQ(t.compute, f * 128 / rate);
  const double attention = 6.0 * 2 * 64 * 128 * 128 / rate;
  EXPECT_DOUBLE_EQ(u.exposed, u.seconds);                          // all-to-all never hides
  EXPECT_NEAR(r.exposed, r.seconds - attention, 1e-15);            // hidden up to attention
  EXPECT_NEAR(dp.exposed, dp.seconds - t.compute * 2 / 3, 1e-15);  // behind the backward
  EXPECT_DOUBLE_EQ(gather.exposed, gather.seconds);                 // after the update
  EXPECT_DOUBLE_EQ(t.total, t.compute + u.exposed + r.exposed + dp.exposed + gather.exposed);
  EXPECT_NEAR(plan->chosen.mfu, f * 128 / (t.total * 4 * 100e9), 1e-12);

  // Checkpointing keeps less per layer but holds a recomputed layer.
  plan = MakePlan(Job(With(degrees, {"train.activation_checkpointing=attention"})), Cpus(2, 2));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->chosen.memory.activations,
            local * (2 * (4 * (3 * 64 + 2 * 32) + 16) + 2 * layer + 2 * 4 * 64));
  plan = MakePlan(Job(With(degrees, {"train.activation_checkpointing=full"})), Cpus(2, 2));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->chosen.memory.activations, local * (2 * 4 * 64 + 2 * layer + 2 * 4 * 64));
  // Full re-runs each layer's forward: 2·N_layer + 2·n·h·S more FLOPs per token.
  EXPECT_DOUBLE_EQ(plan->chosen.time.compute,
                   (f + 2.0 * (108544 - 256 * 64) + 2.0 * 2 * 64 * 128) * 128 / rate);
  // bf16 adds the compute copy of the weights (the fp32 master is sharded
  // optimizer state) and halves activations and the gathered weights.
  plan = MakePlan(Job(With(degrees, {"train.precision=bf16"})), Cpus(2, 2));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->chosen.memory.weights, 2 * params + 4 * params / 4);
  EXPECT_EQ(plan->chosen.traffic[3].bytes, 3 * 2 * params / 4);
  EXPECT_EQ(plan->chosen.memory.activations,
            local * (3 * (2 * (8 * 64 + 4 * 32 + 4 * 176) + 16) + 2 * 2 * 64));
  // Replicated: every rank holds all of the state and nothing is gathered.
  plan = MakePlan(Job(With(degrees, {"train.precision=bf16", "train.optimizer.sharded=false"})),
                  Cpus(2, 2));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->chosen.memory.weights, 6 * params);
  EXPECT_EQ(plan->chosen.memory.optimizer, 8 * params);
  EXPECT_EQ(plan->chosen.traffic.size(), 3u);
}

// LightSeq ranks send different amounts: the step waits for the busiest.
TEST(PlanTest, LightSeqIsPricedAtItsBusiestRingRank) {
  absl::StatusOr<Plan> plan =
      MakePlan(Job({"parallel.sp.layout=contiguous", "parallel.sp.schedule=lightseq",
                    "parallel.sp.ulysses=1", "parallel.sp.ring=4", "data.global_batch_seqs=1"}),
               Cpus(1, 4));
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->chosen.ring, 4);
  const layout::HeadPlan heads = *layout::PlanHeads(4, 2, 1);
  int64_t busiest = 0;
  for (int r = 0; r < 4; ++r) {
    const layout::AttentionTraffic t = layout::AttentionCommVolume(
        {1, 128, 16, 4, 4}, heads, 4, layout::RingSchedule::kLightSeq, r);
    busiest = std::max(
        busiest, std::max(t.send_recv_forward.bytes, t.send_recv_forward.bytes_received) +
                     std::max(t.send_recv_backward.bytes, t.send_recv_backward.bytes_received));
  }
  ASSERT_EQ(plan->chosen.traffic.size(), 3u);  // ring, dp, params: no Ulysses
  EXPECT_EQ(plan->chosen.traffic[0].group, "ring");
  EXPECT_EQ(plan->chosen.traffic[0].bytes, 2 * busiest);  // 2 layers, 1 micro-step
  EXPECT_FALSE(plan->chosen.traffic[0].inter_node);
}

}  // namespace
}  // namespace spindle::planner
