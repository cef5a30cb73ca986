#include "common/config/validate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/config/load.h"
#include "common/status.h"
#include "tests/common/config/test_specs.h"

namespace spindle::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

JobSpec Minimal() {
  auto spec = ParseJobSpec(testing::kMinimalYaml, "job.yaml");
  SPINDLE_CHECK(spec.ok()) << spec.status();
  return *spec;
}

// "path: message" for each error.
std::vector<std::string> Errors(const JobSpec& spec) {
  std::vector<std::string> out;
  for (const FieldError& e : CheckJobSpec(spec)) out.push_back(e.path + ": " + e.message);
  return out;
}

TEST(ValidateTest, ParsedSpecIsValid) { EXPECT_TRUE(ValidateJobSpec(Minimal()).ok()); }

TEST(ValidateTest, DefaultJobSpecNamesEveryMissingField) {
  JobSpec spec;
  FillDefaults(&spec);
  const absl::Status status = ValidateJobSpec(spec);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "metadata.name: required: a name such as my-job\n"
            "model.hidden_size: required: set it or use model.preset (tiny | small-100m | llama-1b | llama3-8b)\n"
            "model.intermediate_size: required: set it or use model.preset (tiny | small-100m | llama-1b | llama3-8b)\n"
            "model.num_hidden_layers: required: set it or use model.preset (tiny | small-100m | llama-1b | llama3-8b)\n"
            "model.num_attention_heads: required: set it or use model.preset (tiny | small-100m | llama-1b | llama3-8b)\n"
            "model.num_key_value_heads: must be >= 1, got 0\n"
            "model.vocab_size: required: set it or use model.preset (tiny | small-100m | llama-1b | llama3-8b)\n"
            "data.seq_len: required: tokens per sequence, >= 2\n"
            "train.max_steps: set exactly one of train.max_steps or train.max_tokens");
}

TEST(ValidateTest, HeadsMustSplitEvenly) {
  JobSpec spec = Minimal();
  spec.model.hidden_size = 100;
  spec.model.num_attention_heads = 4;
  spec.model.num_key_value_heads = 3;
  EXPECT_THAT(Errors(spec),
              ElementsAre("model.hidden_size: head_dim = hidden_size / num_attention_heads = "
                          "100 / 4 = 25 must be even for RoPE",
                          "model.num_key_value_heads: 3 does not divide num_attention_heads 4; "
                          "use one of 1, 2, 4"));
  spec.model.hidden_size = 60;
  spec.model.num_attention_heads = 8;
  spec.model.num_key_value_heads = 8;
  EXPECT_THAT(Errors(spec), ElementsAre("model.hidden_size: 60 is not divisible by "
                                        "num_attention_heads 8 (head_dim = hidden_size / "
                                        "num_attention_heads); use a multiple of 8"));
}

TEST(ValidateTest, UlyssesDegreeMustSplitTheHeads) {
  JobSpec spec = Minimal();  // 4 heads, 4 KV heads
  spec.parallel.sp.ulysses = 3;
  ASSERT_EQ(Errors(spec).size(), 1u);
  EXPECT_THAT(Errors(spec)[0], HasSubstr("parallel.sp.ulysses: degree 3 cannot split 4 query "
                                         "heads and 4 key/value heads evenly"));
  EXPECT_THAT(Errors(spec)[0], HasSubstr("valid degrees: 1, 2, 4"));
}

TEST(ValidateTest, ExactlyOneOfMaxStepsAndMaxTokens) {
  JobSpec spec = Minimal();
  spec.train.max_tokens = 1000;
  EXPECT_THAT(Errors(spec), ElementsAre("train.max_tokens: set exactly one of train.max_steps or "
                                        "train.max_tokens; remove one"));
  spec.train.max_steps = 0;
  EXPECT_TRUE(Errors(spec).empty());
}

TEST(ValidateTest, GlobalBatchMustDivideByDpTimesMicroBatch) {
  JobSpec spec = Minimal();
  spec.parallel.dp = 2;
  spec.data.micro_batch_seqs = 3;
  spec.data.global_batch_seqs = 8;
  EXPECT_THAT(Errors(spec),
              ElementsAre("data.global_batch_seqs: 8 is not divisible by parallel.dp × "
                          "data.micro_batch_seqs = 2 × 3 = 6; use a multiple of 6 such as 6 "
                          "(gradient accumulation steps = global_batch_seqs / 6)"));
  spec.data.global_batch_seqs = 12;
  EXPECT_TRUE(Errors(spec).empty());
  spec.parallel.dp = kAuto;  // only micro_batch_seqs is known
  spec.data.global_batch_seqs = 7;
  EXPECT_THAT(Errors(spec),
              ElementsAre(HasSubstr("7 is not divisible by data.micro_batch_seqs 3")));
}

TEST(ValidateTest, LightSeqNeedsContiguousLayoutAndEvenRing) {
  JobSpec spec = Minimal();
  spec.parallel.sp.schedule = layout::RingSchedule::kLightSeq;
  spec.parallel.sp.ring = 3;
  EXPECT_THAT(Errors(spec),
              ElementsAre("parallel.sp.schedule: lightseq balances causal work itself and needs "
                          "parallel.sp.layout: contiguous, got zigzag; set layout: contiguous or "
                          "schedule: ring",
                          "parallel.sp.ring: lightseq needs an even ring degree (or 1), got 3; or "
                          "use schedule: ring"));
  spec.parallel.sp.layout = layout::LayoutKind::kContiguous;
  spec.parallel.sp.ring = 4;
  EXPECT_TRUE(Errors(spec).empty());
}

TEST(ValidateTest, DataPathFollowsTheSource) {
  JobSpec spec = Minimal();
  spec.data.path = "/data/train.bin";
  EXPECT_THAT(Errors(spec), ElementsAre(HasSubstr("data.path: must be empty for data.source: "
                                                  "synthetic")));
  spec.data.source = DataSource::kTokens;
  EXPECT_TRUE(Errors(spec).empty());
  spec.model.vocab_size = 100000;
  EXPECT_THAT(Errors(spec), ElementsAre("data.dtype: uint16 holds token ids below 65536 but "
                                        "model.vocab_size is 100000; use dtype: uint32"));
  spec.data.dtype = TokenDtype::kUint32;
  EXPECT_TRUE(Errors(spec).empty());
  spec.data.source = DataSource::kText;
  spec.data.path.clear();
  spec.model.vocab_size = 128;
  EXPECT_THAT(Errors(spec),
              ElementsAre("data.path: required for data.source: text (a UTF-8 text file; tokens "
                          "are its bytes)",
                          "model.vocab_size: data.source: text uses byte tokens, so vocab_size "
                          "must be >= 256, got 128"));
}

TEST(ValidateTest, HeartbeatTimeoutExceedsInterval) {
  JobSpec spec = Minimal();
  spec.fault_tolerance.heartbeat.interval = std::chrono::seconds(30);
  spec.fault_tolerance.heartbeat.timeout = std::chrono::seconds(30);
  EXPECT_THAT(Errors(spec),
              ElementsAre("fault_tolerance.heartbeat.timeout: 30s must be longer than "
                          "heartbeat.interval 30s (a worker is lost after missing heartbeats for "
                          "this long); e.g. 3m"));
  spec.fault_tolerance.heartbeat.timeout = std::chrono::minutes(3);
  spec.fault_tolerance.hang_timeout = std::chrono::seconds(10);
  EXPECT_THAT(Errors(spec), ElementsAre("fault_tolerance.hang_timeout: 10s must be longer than "
                                        "heartbeat.interval 30s (step progress arrives with "
                                        "heartbeats)"));
}

TEST(ValidateTest, ModelAndRunRules) {
  JobSpec spec = Minimal();
  spec.model.max_position_embeddings = 64;
  spec.model.init.from = InitFrom::kHf;
  spec.train.schedule.warmup_steps = 20;
  EXPECT_THAT(Errors(spec),
              ElementsAre("model.max_position_embeddings: 64 is below data.seq_len 128; raise it "
                          "or leave it out (default max(seq_len, 2048))",
                          "model.init.path: required with init.from: hf: a directory with "
                          "config.json and model.safetensors",
                          "train.schedule.warmup_steps: 20 exceeds train.max_steps 10: the "
                          "learning rate would never reach train.optimizer.lr"));
}

TEST(ValidateTest, FixedDegreesMustFitTheResources) {
  JobSpec spec = Minimal();
  spec.parallel.dp = 1;
  spec.parallel.sp.ulysses = 2;
  spec.parallel.sp.ring = 2;
  spec.data.global_batch_seqs = 1;
  spec.resources.devices_per_node = 8;
  EXPECT_THAT(Errors(spec),
              ElementsAre("parallel: dp × sp.ulysses × sp.ring = 1 × 2 × 2 = 4 ranks, but "
                          "resources give 1..1 nodes × 8 devices_per_node; make them match or set "
                          "a degree to auto"));
  spec.resources.devices_per_node = 4;
  EXPECT_TRUE(Errors(spec).empty());
  spec.resources.nodes.min = 2;
  EXPECT_THAT(Errors(spec), ElementsAre("resources.nodes.max: 1 is below resources.nodes.min 2"));
}

TEST(ValidateTest, ResumePathNeedsASlash) {
  JobSpec spec = Minimal();
  spec.checkpoint.resume.mode = ResumeMode::kPath;
  spec.checkpoint.resume.path = "ckpt";
  EXPECT_THAT(Errors(spec), ElementsAre("checkpoint.resume: checkpoint path 'ckpt' must contain "
                                        "'/' (write ./ckpt)"));
}

}  // namespace
}  // namespace spindle::config
