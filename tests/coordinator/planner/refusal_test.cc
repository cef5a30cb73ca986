// MakePlan's refusals (coordinator/planner/refusal.h): the binding
// constraint and the nearest change, and the Llama-class examples on the
// example clusters.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
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

TEST(PlanTest, RefusesWithoutNodesOfTheDeviceKind) {
  EXPECT_THAT(Refusal(Job({"resources.device=cuda"}), Cpus(2, 2)),
              HasSubstr("resources.device: cuda but the inventory has no node with free cuda "
                        "devices"));
  EXPECT_THAT(Refusal(Job({"resources.nodes.min=3", "resources.nodes.max=3"}), Cpus(2, 2)),
              HasSubstr("resources.nodes.min: 3 but the inventory has 2 nodes with free cpu "
                        "devices\nnearest change: set resources.nodes.min: 2"));
}

// Llama-3-8B at 128K on 2 × 8 GPUs. Without ZeRO every device holds fp32
// weights, gradients and AdamW state plus the bf16 copy: 18 B × 8.03 G
// parameters = 134.6 GiB, above what even an H200 offers after headroom.
TEST(PlanTest, Llama3With128KTokensDoesNotFitReplicatedOnH200OrH100) {
  const config::JobSpec spec = ExampleJob("llama3-8b-128k.yaml");
  for (const char* cluster : {"cluster-2x8-h200.yaml", "cluster-2x8-h100.yaml"}) {
    const std::string message = Refusal(spec, ExampleCluster(cluster));
    EXPECT_THAT(message, HasSubstr("no feasible plan for job llama3-8b-128k on 2 cuda nodes: "
                                   "device memory: the smallest candidate"))
        << cluster;
    EXPECT_THAT(message, HasSubstr("Weights, gradients and AdamW state alone take 134.6 GiB (18 B "
                                   "per parameter × 8,030,261,248, replicated on every device)"));
    EXPECT_THAT(message, HasSubstr("use devices with more memory or a smaller model"));
  }
  EXPECT_THAT(Refusal(spec, ExampleCluster("cluster-2x8-h200.yaml")),
              HasSubstr("126.9 GiB available (141.0 GiB × (1 − 0.10 headroom))"));
  EXPECT_THAT(Refusal(spec, ExampleCluster("cluster-2x8-h100.yaml")),
              HasSubstr("72.0 GiB available (80.0 GiB × (1 − 0.10 headroom))"));
}

// The same job with a Llama-2-7B-shaped model (32 key/value heads,
// intermediate 11008, vocab 32000; 6.74 G parameters, 113 GiB of replicated
// state) fits an H200 but not an H100.
const std::vector<std::string> kLlama2Shape = {
    "model.num_key_value_heads=32", "model.intermediate_size=11008", "model.vocab_size=32000"};

TEST(PlanTest, SevenBillionAt128KFitsH200AndNotH100) {
  const config::JobSpec spec = ExampleJob("llama3-8b-128k.yaml", kLlama2Shape);
  absl::StatusOr<Plan> plan = MakePlan(spec, ExampleCluster("cluster-2x8-h200.yaml"));
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->world(), 16);
  EXPECT_EQ(plan->chosen.dp, 1);  // global_batch_seqs 1
  EXPECT_EQ(plan->chosen.nodes, 2);
  EXPECT_LE(plan->chosen.memory.total, plan->chosen.memory.capacity);
  EXPECT_GT(plan->chosen.mfu, 0.2);
  EXPECT_LT(plan->chosen.mfu, 0.5);
  const std::string text = ExplainPlan(*plan, spec);
  for (const char* part : {"degrees      dp 1 × ulysses", "memory       ", "step time    ", "MFU ",
                           "alternatives ", "U 16 × R 1 on 2 nodes × 8: ",
                           "slower: exposed Ulysses all-to-all crosses", "notes        "}) {
    EXPECT_THAT(text, HasSubstr(part));
  }
  bool saw_u16 = false;
  for (const Candidate& c : plan->alternatives) {
    if (c.ulysses != 16) continue;
    saw_u16 = true;
    EXPECT_TRUE(c.feasible);
    EXPECT_GT(c.time.total, plan->chosen.time.total);
    EXPECT_THAT(c.verdict, HasSubstr("slower: exposed Ulysses all-to-all crosses nodes"));
  }
  EXPECT_TRUE(saw_u16);
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    EXPECT_LT(line.size(), 100u) << line;
  }

  const std::string message = Refusal(spec, ExampleCluster("cluster-2x8-h100.yaml"));
  EXPECT_THAT(message, HasSubstr("72.0 GiB available"));
  EXPECT_THAT(message, HasSubstr("Weights, gradients and AdamW state alone take 113.0 GiB"));
}

}  // namespace
}  // namespace spindle::planner
