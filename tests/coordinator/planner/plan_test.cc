#include "coordinator/planner/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/layout/mesh.h"
#include "common/layout/sequence_layout.h"
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

TEST(PlanTest, DemoSpecRunsUlyssesInsideEachCpuNode) {
  const config::JobSpec spec = ExampleJob("demo.yaml");
  absl::StatusOr<Plan> plan = MakePlan(spec, Cpus(2, 2));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->world(), 4);
  EXPECT_EQ(plan->chosen.dp, 1);
  EXPECT_EQ(plan->chosen.ulysses, 2);
  EXPECT_EQ(plan->chosen.ring, 2);
  EXPECT_EQ(plan->chosen.verdict, "chosen");
  EXPECT_EQ(plan->global_batch_seqs, 8);
  EXPECT_EQ(plan->grad_accum_steps, 1);
  ASSERT_EQ(plan->ranks.size(), 4u);
  const std::vector<std::pair<std::string, int>> where = {
      {"cpu-0", 0}, {"cpu-0", 1}, {"cpu-1", 0}, {"cpu-1", 1}};
  // Zigzag, S = 128, R = 2: ring 0 holds chunks 0 and 3 of 32 tokens, ring 1
  // chunks 1 and 2; Ulysses rank u keeps half u of its ring sequence.
  const std::vector<std::vector<std::pair<int64_t, int64_t>>> tokens = {
      {{0, 32}}, {{96, 128}}, {{32, 64}}, {{64, 96}}};
  for (int r = 0; r < 4; ++r) {
    const RankPlacement& p = plan->ranks[r];
    EXPECT_EQ(p.rank, r);
    EXPECT_EQ(p.worker, where[r].first) << "rank " << r;
    EXPECT_EQ(p.device, where[r].second) << "rank " << r;
    EXPECT_EQ(p.node, r / 2);
    EXPECT_EQ(p.ring, r / 2);
    EXPECT_EQ(p.ulysses, r % 2);
    EXPECT_EQ(p.first_q_head, 2 * (r % 2));  // tiny: 4 query heads, 2 key/value heads
    EXPECT_EQ(p.num_q_heads, 2);
    EXPECT_EQ(p.first_kv_head, r % 2);
    EXPECT_EQ(p.num_kv_heads, 1);
    EXPECT_EQ(p.token_ranges, tokens[r]) << "rank " << r;
  }
  EXPECT_TRUE(plan->alternatives.empty());  // every degree and the node count are written
}

TEST(PlanTest, KeyValueHeadsAreReplicatedWhenUlyssesExceedsThem) {
  const config::JobSpec spec =
      Job(With(kGqaModel, {"resources.device=cuda", "resources.nodes.max=2",
                           "parallel.sp.ulysses=16", "data.seq_len=4096"}));
  absl::StatusOr<Plan> plan = MakePlan(spec, Gpus(2, 8));
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->world(), 16);
  EXPECT_EQ(plan->chosen.ulysses, 16);
  EXPECT_EQ(plan->kv_replicas, 2);  // 8 key/value heads, U = 16
  for (const RankPlacement& r : plan->ranks) {
    EXPECT_EQ(r.num_q_heads, 2);
    EXPECT_EQ(r.first_q_head, 2 * r.ulysses);
    EXPECT_EQ(r.num_kv_heads, 1) << "rank " << r.rank;
    EXPECT_EQ(r.first_kv_head, r.ulysses);  // replicated head e is model head e / 2
  }
  // Ulysses ranks 2k and 2k + 1 share model key/value head k.
  EXPECT_EQ(plan->ranks[6].first_kv_head / plan->kv_replicas, 3);
  EXPECT_EQ(plan->ranks[7].first_kv_head / plan->kv_replicas, 3);
  EXPECT_THAT(ExplainPlan(*plan, spec), HasSubstr("kv replicas 2"));
  // The all-to-all staging carries the 16 replicated heads: 8 MiB of buckets
  // + 2·L·(h + 2·16·8)·4 B with L = 4096 / 16 = 256, h = 256.
  EXPECT_EQ(plan->chosen.memory.workspace, int64_t{9} << 20);
}

TEST(PlanTest, FixedUlyssesThatCannotSplitTheHeadsIsRefused) {
  config::JobSpec spec = Job(With(kGqaModel, {"resources.device=cuda"}));
  spec.parallel.sp.ulysses = 3;  // ParseJobSpec would refuse it already
  absl::StatusOr<Plan> plan = MakePlan(spec, Gpus(1, 8));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("parallel.sp.ulysses"));
  EXPECT_THAT(plan.status().message(), HasSubstr("valid degrees: 1, 2, 4, 8, 16, 32"));
}

TEST(PlanTest, AutoUlyssesSkipsDegreesThatCannotSplitTheHeads) {
  // 12 query and 4 key/value heads on 16 devices: U = 8 and 16 cannot split them.
  const config::JobSpec spec =
      Job({"model.hidden_size=384", "model.num_attention_heads=12", "model.num_key_value_heads=4",
           "resources.device=cuda", "resources.nodes.max=2", "data.global_batch_seqs=1",
           "data.seq_len=8192"});
  absl::StatusOr<Plan> plan = MakePlan(spec, Gpus(2, 8));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->world(), 16);
  EXPECT_EQ(16 % plan->chosen.ulysses, 0);
  EXPECT_EQ(12 % plan->chosen.ulysses, 0);
  std::set<int> refused;
  for (const Candidate& c : plan->alternatives) {
    if (c.verdict.find("cannot split") == std::string::npos) continue;
    EXPECT_FALSE(c.feasible);
    EXPECT_THAT(c.verdict, HasSubstr("cannot split 12 query and 4 key/value heads (valid U for "
                                     "world "));
    EXPECT_THAT(c.verdict, HasSubstr(": 1, 2, 4)"));  // 12 also splits them but divides no world
    refused.insert(c.ulysses);
  }
  EXPECT_EQ(refused, (std::set<int>{8, 16}));
}

TEST(PlanTest, PlacementKeepsUlyssesGroupsInsideNodes) {
  const config::JobSpec spec = Job(
      With(kGqaModel, {"resources.device=cuda", "resources.nodes.min=2", "resources.nodes.max=2",
                       "parallel.sp.ulysses=8", "data.seq_len=8192", "data.global_batch_seqs=1"}));
  absl::StatusOr<Plan> plan = MakePlan(spec, Gpus(2, 8));
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->world(), 16);
  EXPECT_EQ(plan->chosen.ring, 2);
  const layout::MeshDims dims{plan->chosen.dp, plan->chosen.ulysses, plan->chosen.ring};
  std::set<std::pair<std::string, int>> used;
  for (const RankPlacement& r : plan->ranks) {
    EXPECT_TRUE(used.emplace(r.worker, r.device).second) << "rank " << r.rank << " reuses a device";
    EXPECT_EQ(r.worker, "gpu-" + std::to_string(r.rank / 8));
    EXPECT_EQ(r.device, r.rank % 8);
    for (int peer : layout::UlyssesGroup(dims, r.rank)) {
      EXPECT_EQ(plan->ranks[peer].worker, r.worker) << "Ulysses group of rank " << r.rank;
    }
    for (int peer : layout::RingGroup(dims, r.rank)) {
      if (peer == r.rank) continue;
      EXPECT_NE(plan->ranks[peer].worker, r.worker) << "ring peer " << peer;
    }
  }
  for (const TrafficEstimate& t : plan->chosen.traffic) {
    EXPECT_EQ(t.inter_node, t.group != "ulysses") << t.group;
  }
}

TEST(PlanTest, PlacementUsesTheNodesWithMostFreeDevicesInInventoryOrder) {
  Inventory inventory = Gpus(3, 8);
  inventory.nodes[0].devices.resize(4);                           // gpu-0 has only 4 free devices
  for (DeviceInfo& d : inventory.nodes[2].devices) d.index += 8;  // gpu-2's free ones are 8..15
  const config::JobSpec spec =
      Job(With(kGqaModel, {"resources.device=cuda", "resources.nodes.min=2",
                           "resources.nodes.max=2", "data.global_batch_seqs=1"}));
  absl::StatusOr<Plan> plan = MakePlan(spec, inventory);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->world(), 16);
  for (const RankPlacement& r : plan->ranks) {
    EXPECT_EQ(r.node, r.rank < 8 ? 1 : 2);
    EXPECT_EQ(r.worker, r.rank < 8 ? "gpu-1" : "gpu-2");
    EXPECT_EQ(r.device, r.rank);  // gpu-1 gives devices 0..7, gpu-2 its free 8..15
  }
}

class TokenRangesTest : public ::testing::TestWithParam<layout::LayoutKind> {};

TEST_P(TokenRangesTest, RangesAreTheLayoutsRealPositionsCoveringEachSequenceOnce) {
  const char* name = layout::LayoutName(GetParam());
  // S = 102 pads to 104 under zigzag (granule R·lcm(2, U) = 4): positions 102
  // and 103 are padding and appear in no range.
  const config::JobSpec spec =
      Job({"parallel.dp=2", "parallel.sp.ulysses=2", "parallel.sp.ring=2",
           std::string("parallel.sp.layout=") + name, "data.seq_len=102", "resources.nodes.max=2"});
  absl::StatusOr<Plan> plan = MakePlan(spec, Cpus(2, 4));
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->world(), 8);
  const layout::SequenceLayout seq = *layout::SequenceLayout::Create(GetParam(), 102, 2, 2);
  EXPECT_EQ(plan->padded_len, seq.padded_len());
  std::map<int, std::vector<int>> seen;  // dp -> times each token is held
  for (const RankPlacement& r : plan->ranks) {
    std::vector<int>& count = seen[r.dp];
    count.resize(102);
    std::vector<int64_t> from_ranges;
    for (const auto& [begin, end] : r.token_ranges) {
      ASSERT_LT(begin, end);
      for (int64_t t = begin; t < end; ++t) {
        ++count[t];
        from_ranges.push_back(t);
      }
    }
    std::vector<int64_t> real;
    for (int64_t p : seq.Positions(r.ring * 2 + r.ulysses)) {
      if (p < 102) real.push_back(p);
    }
    EXPECT_EQ(from_ranges, real) << name << " rank " << r.rank;
  }
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& [dp, count] : seen) {
    for (int t = 0; t < 102; ++t) EXPECT_EQ(count[t], 1) << "dp " << dp << " token " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, TokenRangesTest,
                         ::testing::Values(layout::LayoutKind::kContiguous,
                                           layout::LayoutKind::kZigzag,
                                           layout::LayoutKind::kStriped),
                         [](const auto& info) { return layout::LayoutName(info.param); });

TEST(PlanTest, ChosenPlanIsTheCheapestFeasibleCandidate) {
  const config::JobSpec spec =
      Job(With(kGqaModel, {"resources.device=cuda", "resources.nodes.max=2", "data.seq_len=32768",
                           "data.global_batch_seqs=4", "train.precision=bf16"}));
  absl::StatusOr<Plan> plan = MakePlan(spec, Gpus(2, 4));
  ASSERT_TRUE(plan.ok()) << plan.status();
  int feasible = 0;
  double previous = plan->chosen.time.total;
  bool infeasible_seen = false;
  for (const Candidate& c : plan->alternatives) {
    if (!c.feasible) {
      infeasible_seen = true;
      continue;
    }
    ++feasible;
    EXPECT_FALSE(infeasible_seen) << "feasible alternatives come first";
    EXPECT_LE(plan->chosen.time.total, c.time.total) << c.verdict;
    EXPECT_LE(previous, c.time.total) << "alternatives are best first";
    previous = c.time.total;
    EXPECT_THAT(c.verdict, ::testing::AnyOf(HasSubstr("slower: "), HasSubstr("as fast as")));
  }
  EXPECT_GE(feasible, 5);  // 1 and 2 nodes, several splits each
  // The prediction adds up.
  const StepTimeEstimate& t = plan->chosen.time;
  EXPECT_DOUBLE_EQ(t.total, t.compute + t.exposed);
  EXPECT_NEAR(t.exposed, t.communication - t.overlapped, 1e-12);
  double seconds = 0;
  for (const TrafficEstimate& e : plan->chosen.traffic) seconds += e.seconds;
  EXPECT_NEAR(seconds, t.communication, 1e-12);
  EXPECT_GT(plan->chosen.mfu, 0);
  EXPECT_LE(plan->chosen.mfu, 0.5 + 1e-12);  // at most compute_efficiency
}

TEST(PlanTest, SamePlanForTheSameInputs) {
  const config::JobSpec spec =
      Job(With(kGqaModel, {"resources.device=cuda", "resources.nodes.max=2", "data.seq_len=16384",
                           "data.global_batch_seqs=2"}));
  const Inventory inventory = Gpus(2, 8);
  absl::StatusOr<Plan> a = MakePlan(spec, inventory);
  absl::StatusOr<Plan> b = MakePlan(spec, inventory);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(ExplainPlan(*a, spec), ExplainPlan(*b, spec));
  ASSERT_EQ(a->ranks.size(), b->ranks.size());
  for (size_t i = 0; i < a->ranks.size(); ++i) {
    EXPECT_EQ(a->ranks[i].worker, b->ranks[i].worker);
    EXPECT_EQ(a->ranks[i].device, b->ranks[i].device);
    EXPECT_EQ(a->ranks[i].token_ranges, b->ranks[i].token_ranges);
  }
  ASSERT_EQ(a->alternatives.size(), b->alternatives.size());
  for (size_t i = 0; i < a->alternatives.size(); ++i) {
    EXPECT_EQ(a->alternatives[i].verdict, b->alternatives[i].verdict);
    EXPECT_EQ(a->alternatives[i].time.total, b->alternatives[i].time.total);
  }
}

TEST(PlanTest, RejectsCostOptionsOutOfRange) {
  CostModelOptions cost;
  cost.compute_efficiency = 0;
  EXPECT_EQ(MakePlan(Job(), Cpus(1, 1), cost).status().code(), absl::StatusCode::kInvalidArgument);
  cost = {};
  cost.memory_headroom = 1;
  EXPECT_EQ(MakePlan(Job(), Cpus(1, 1), cost).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spindle::planner
