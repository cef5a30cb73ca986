// MakePlan's refusals (coordinator/planner/refusal.h): the binding
// constraint and the nearest change, and the Llama-class examples on the
// example clusters.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/config/presets.h"
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

TEST(PlanTest, DemoSpecOnOneNodeNeedsASecond) {
  const config::JobSpec spec = ExampleJob(
      "demo.yaml",
      {"resources.nodes.min=1", "resources.nodes.max=1", "resources.devices_per_node=auto"});
  const std::string message = Refusal(spec, Cpus(2, 2));
  EXPECT_THAT(message, HasSubstr("parallel.sp: ulysses × ring = 2 × 2 = 4 but there are 2 ranks"));
  EXPECT_THAT(message, HasSubstr("nearest change: set resources.nodes.max: 2 (the inventory has 2 "
                                 "cpu nodes) (then dp 1 × U 2 × R 2 on 2 nodes × 2"));
}

// Tiny with 32 layers, 65,536 tokens on one CPU device: activations decide.
// Per device: none ≈ 11.8 GB, attention ≈ 3.1 GB, full ≈ 1.4 GB.
std::vector<std::string> LongTiny(const std::string& checkpointing) {
  return {"model.num_hidden_layers=32", "data.seq_len=65536", "data.global_batch_seqs=1",
          "train.activation_checkpointing=" + checkpointing};
}

TEST(PlanTest, MemoryRefusalSuggestsFullCheckpointing) {
  const config::JobSpec spec = Job(LongTiny("none"));
  const Inventory inventory = Cpus(1, 1, 2 * kGiB);
  const std::string message = Refusal(spec, inventory);
  EXPECT_THAT(message,
              HasSubstr("no feasible plan for job plan-test on 1 cpu node: device memory"));
  EXPECT_THAT(message, HasSubstr("1.8 GiB available (2.0 GiB × (1 − 0.10 headroom))"));
  EXPECT_THAT(message, HasSubstr("nearest change: set train.activation_checkpointing: full"));
  // attention is tried first and does not fit; full does.
  EXPECT_FALSE(MakePlan(Job(LongTiny("attention")), inventory).ok());
  absl::StatusOr<Plan> fixed = MakePlan(Job(LongTiny("full")), inventory);
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  EXPECT_LE(fixed->chosen.memory.total, fixed->chosen.memory.capacity);
}

TEST(PlanTest, MemoryRefusalAsksForMoreNodes) {
  // Full checkpointing already; 1 GiB devices need the sequence over 2 ranks.
  // Within the inventory: raise resources.nodes.max.
  EXPECT_THAT(Refusal(Job(LongTiny("full")), Cpus(2, 1, kGiB)),
              HasSubstr("nearest change: set resources.nodes.max: 2 (the inventory has 2 cpu "
                        "nodes)"));
  // resources.nodes.max allows 4 but the inventory has 1 node.
  EXPECT_THAT(Refusal(Job(With(LongTiny("full"), {"resources.nodes.max=4"})), Cpus(1, 1, kGiB)),
              HasSubstr("nearest change: needs 1 more cpu node like cpu-0 (resources.nodes.max "
                        "allows 4; the inventory has 1)"));
  // Neither the spec nor the inventory allows a second node.
  EXPECT_THAT(Refusal(Job(LongTiny("full")), Cpus(1, 1, kGiB)),
              HasSubstr("nearest change: needs 2 nodes: add 1 more cpu node like cpu-0 and set "
                        "resources.nodes.max: 2"));
  // And with two nodes it plans.
  absl::StatusOr<Plan> plan =
      MakePlan(Job(With(LongTiny("full"), {"resources.nodes.max=2"})), Cpus(2, 1, kGiB));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->world(), 2);
}

TEST(PlanTest, MemoryRefusalSaysWhenOnlyChangesTogetherFit) {
  // 1 GiB, one node allowed: neither full checkpointing alone nor 5 nodes
  // without it bring the activations under 0.9 GiB; the state is 24 MB.
  const std::string message = Refusal(Job(LongTiny("none")), Cpus(1, 1, kGiB));
  EXPECT_THAT(message, HasSubstr("nearest change: none: no single change"));
  EXPECT_THAT(message, HasSubstr("Combine them"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("alone take")));
}

// Found by the planner fuzzer: when the batch rules out every degree set
// there is no candidate at all, and the refusal says why instead of reading
// a candidate that does not exist.
TEST(PlanTest, BatchThatRulesOutEveryDegreeIsExplained) {
  const std::string message =
      Refusal(Job({"data.global_batch_seqs=3", "parallel.dp=auto", "parallel.sp.ulysses=1",
                   "parallel.sp.ring=2", "resources.nodes.max=1",
                   "resources.devices_per_node=4"}),
              Cpus(1, 4));
  EXPECT_THAT(message, HasSubstr("dp 2 not considered: data.global_batch_seqs 3 is not a "
                                 "multiple of dp × micro_batch_seqs"));
  EXPECT_THAT(message, HasSubstr("nearest change: "));
}

TEST(PlanTest, RefusesWithoutNodesOfTheDeviceKind) {
  EXPECT_THAT(Refusal(Job({"resources.device=cuda"}), Cpus(2, 2)),
              HasSubstr("resources.device: cuda but the inventory has no node with free cuda "
                        "devices"));
  EXPECT_THAT(Refusal(Job({"resources.nodes.min=3", "resources.nodes.max=3"}), Cpus(2, 2)),
              HasSubstr("resources.nodes.min: 3 but the inventory has 2 nodes with free cpu "
                        "devices\nnearest change: set resources.nodes.min: 2"));
}

// Llama-3-8B at 128K on 2 × 8 GPUs (N = 8.03 G parameters). With the sharded
// optimizer each device holds bf16 weights (2·N) and fp32 gradients (4·N)
// whole, the fp32 master weights and AdamW moments (12·N) over 16 ranks:
// 6.75 B per parameter, 50.5 GiB, which leaves room for 8,192 tokens of
// activations per rank on an H100 and an H200.
TEST(PlanTest, Llama3With128KPlansOnH100AndH200WithTheShardedOptimizer) {
  const config::JobSpec spec = ExampleJob("llama3-8b-128k.yaml");
  ASSERT_TRUE(spec.train.optimizer.sharded);
  const int64_t n = config::LlamaParameterCount(spec.model);
  ASSERT_EQ(n, 8'030'261'248);
  for (const char* cluster : {"cluster-2x8-h100.yaml", "cluster-2x8-h200.yaml"}) {
    SCOPED_TRACE(cluster);
    absl::StatusOr<Plan> plan = MakePlan(spec, ExampleCluster(cluster));
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(plan->world(), 16);
    EXPECT_EQ(plan->chosen.nodes, 2);
    const MemoryEstimate& m = plan->chosen.memory;
    EXPECT_EQ(m.weights, 2 * n + 4 * n / 16);
    EXPECT_EQ(m.gradients, 4 * n);
    EXPECT_EQ(m.optimizer, 8 * n / 16);
    EXPECT_LE(m.total, m.capacity);
    EXPECT_GT(plan->chosen.mfu, 0.2);
    EXPECT_LT(plan->chosen.mfu, 0.5);
    // The weight all-gather: (W−1)/W × 2 B × N, exposed.
    bool saw_params = false;
    for (const TrafficEstimate& t : plan->chosen.traffic) {
      if (t.group != "params") continue;
      saw_params = true;
      EXPECT_NEAR(static_cast<double>(t.bytes), 15.0 / 16 * 2 * static_cast<double>(n), 1.0);
      EXPECT_DOUBLE_EQ(t.exposed, t.seconds);
    }
    EXPECT_TRUE(saw_params);
    const std::string text = ExplainPlan(*plan, spec);
    for (const char* part :
         {"degrees      dp 1 × ulysses", "memory       ", "step time    ", "MFU ",
          "alternatives ", "U 16 × R 1 on 2 nodes × 8: ",
          "slower: exposed Ulysses all-to-all crosses", "params    inter-node",
          "AdamW moments sharded over the 16 ranks", "notes        "}) {
      EXPECT_THAT(text, HasSubstr(part));
    }
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      EXPECT_LT(line.size(), 100u) << line;
    }
  }
}

// Replicated, every device would hold fp32 weights, gradients and AdamW
// state plus the bf16 copy: 18 B × 8.03 G = 134.6 GiB, above what even an
// H200 offers after headroom; the nearest change is to shard the optimizer.
TEST(PlanTest, Llama3With128KReplicatedAsksForTheShardedOptimizer) {
  const config::JobSpec spec =
      ExampleJob("llama3-8b-128k.yaml", {"train.optimizer.sharded=false"});
  for (const char* cluster : {"cluster-2x8-h200.yaml", "cluster-2x8-h100.yaml"}) {
    const std::string message = Refusal(spec, ExampleCluster(cluster));
    EXPECT_THAT(message, HasSubstr("no feasible plan for job llama3-8b-128k on 2 cuda nodes: "
                                   "device memory: the smallest candidate"))
        << cluster;
    EXPECT_THAT(message, HasSubstr("nearest change: set train.optimizer.sharded: true (then dp 1"))
        << cluster;
  }
  EXPECT_THAT(Refusal(spec, ExampleCluster("cluster-2x8-h200.yaml")),
              HasSubstr("126.9 GiB available (141.0 GiB × (1 − 0.10 headroom))"));
  EXPECT_THAT(Refusal(spec, ExampleCluster("cluster-2x8-h100.yaml")),
              HasSubstr("72.0 GiB available (80.0 GiB × (1 − 0.10 headroom))"));
}

// One H100 node: the state is sharded over 8 ranks only (2·N + 4·N + 12·N/8
// = 7.5 B per parameter, 56.1 GiB), and 131,072 tokens over 8 ranks leave too
// little for activations and logits; no single change of the spec fits, and
// the message says what the state alone takes and that it is replicated.
TEST(PlanTest, Llama3On128KOnOneH100NodeSaysWhatTheStateTakes) {
  const config::JobSpec spec =
      ExampleJob("llama3-8b-128k.yaml", {"resources.nodes.min=1", "resources.nodes.max=1"});
  Inventory one = ExampleCluster("cluster-2x8-h100.yaml");
  one.nodes.resize(1);
  const std::string message = Refusal(spec, one);
  EXPECT_THAT(message, HasSubstr("no feasible plan for job llama3-8b-128k on 1 cuda node"));
  EXPECT_THAT(message, HasSubstr("nearest change: "));
}

// A Llama-2-7B-shaped model (32 key/value heads, intermediate 11008, vocab
// 32000; 6.74 G parameters, 113 GiB of replicated state) fits an H200
// replicated but not an H100, where the state alone is too much.
const std::vector<std::string> kLlama2Shape = {
    "model.num_key_value_heads=32", "model.intermediate_size=11008", "model.vocab_size=32000",
    "train.optimizer.sharded=false"};

TEST(PlanTest, SevenBillionAt128KReplicatedFitsH200AndNotH100) {
  const config::JobSpec spec = ExampleJob("llama3-8b-128k.yaml", kLlama2Shape);
  absl::StatusOr<Plan> plan = MakePlan(spec, ExampleCluster("cluster-2x8-h200.yaml"));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->world(), 16);
  EXPECT_EQ(plan->chosen.dp, 1);  // global_batch_seqs 1
  EXPECT_EQ(plan->chosen.nodes, 2);
  EXPECT_LE(plan->chosen.memory.total, plan->chosen.memory.capacity);
  EXPECT_EQ(plan->chosen.memory.optimizer, 8 * config::LlamaParameterCount(spec.model));
  bool saw_u16 = false;
  for (const Candidate& c : plan->alternatives) {
    if (c.ulysses != 16) continue;
    saw_u16 = true;
    EXPECT_TRUE(c.feasible);
    EXPECT_GT(c.time.total, plan->chosen.time.total);
    EXPECT_THAT(c.verdict, HasSubstr("slower: exposed Ulysses all-to-all crosses nodes"));
  }
  EXPECT_TRUE(saw_u16);
  const std::string text = ExplainPlan(*plan, spec);
  EXPECT_THAT(text, HasSubstr("replicated on every device, 18 B per"));
  EXPECT_THAT(text, HasSubstr("(train.optimizer.sharded: false)"));

  const std::string message = Refusal(spec, ExampleCluster("cluster-2x8-h100.yaml"));
  EXPECT_THAT(message, HasSubstr("72.0 GiB available"));
  EXPECT_THAT(message, HasSubstr("nearest change: set train.optimizer.sharded: true"));
}

}  // namespace
}  // namespace spindle::planner
