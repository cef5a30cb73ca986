#include "common/config/emit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/config/load.h"
#include "common/config/schema.h"
#include "common/config/validate.h"
#include "tests/common/config/test_specs.h"

namespace spindle::config {
namespace {

using ::testing::HasSubstr;

JobSpec Parse(const std::string& yaml) {
  auto spec = ParseJobSpec(yaml, "emitted.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status() << "\n" << yaml;
  return spec.ok() ? *spec : JobSpec{};
}

TEST(EmitTest, MinimalSpecRoundTrips) {
  const JobSpec spec = Parse(testing::kMinimalYaml);
  const std::string text = EmitJobSpec(spec);
  EXPECT_EQ(Parse(text), spec);
  EXPECT_EQ(EmitJobSpec(Parse(text)), text);  // canonical: a fixed point
}

TEST(EmitTest, DemoRoundTrips) {
  auto spec = LoadJobSpecFile(SPINDLE_CONFIG_EXAMPLES_DIR "/demo.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(Parse(EmitJobSpec(*spec)), *spec);
}

TEST(EmitTest, WritesEveryFieldWithUnitsAndAuto) {
  const std::string text = EmitJobSpec(Parse(testing::kMinimalYaml));
  for (const schema::Field& field : schema::Fields()) {
    const std::string path = field.path;
    const std::string key = path.substr(path.rfind('.') + 1);
    EXPECT_THAT(text, HasSubstr(key + ":")) << path;
  }
  EXPECT_THAT(text, HasSubstr("apiVersion: spindle/v1\nkind: TrainJob\n"));
  EXPECT_THAT(text, HasSubstr("    dp: auto\n"));
  EXPECT_THAT(text, HasSubstr("      ulysses: auto\n"));
  EXPECT_THAT(text, HasSubstr("    global_batch_seqs: auto\n"));
  EXPECT_THAT(text, HasSubstr("      lr: 0.0003\n"));
  EXPECT_THAT(text, HasSubstr("      betas: [0.9, 0.95]\n"));
  EXPECT_THAT(text, HasSubstr("    rope_theta: 10000\n"));
  EXPECT_THAT(text, HasSubstr("      timeout: 30s\n"));
  EXPECT_THAT(text, HasSubstr("    hang_timeout: 10m\n"));
  EXPECT_THAT(text, HasSubstr("    resume: auto\n"));
  EXPECT_THAT(text, HasSubstr("      path: \"\"\n"));
  EXPECT_THAT(text, HasSubstr("  labels: {}\n"));
}

TEST(EmitTest, EveryFieldChangedRoundTrips) {
  JobSpec spec = Parse(testing::kMinimalYaml);
  spec.metadata.name = "every-field-2";
  spec.metadata.labels = {
      {"team", "ml"}, {"null", "~"}, {"empty", ""}, {"odd key", "a: b # c"}, {"number", "123"}};
  ModelSpec& m = spec.model;
  m.preset = "tiny";
  m.hidden_size = 96;
  m.intermediate_size = 200;
  m.num_hidden_layers = 3;
  m.num_attention_heads = 6;
  m.num_key_value_heads = 2;
  m.vocab_size = 300;
  m.rope_theta = 500000.5;
  m.rms_norm_eps = 1.5e-6;
  m.max_position_embeddings = 8192;
  m.tie_word_embeddings = true;
  m.init = {InitFrom::kHf, 7, "/models/llama tiny"};
  DataSpec& d = spec.data;
  d.source = DataSource::kText;
  d.path = "null";
  d.dtype = TokenDtype::kUint32;
  d.seq_len = 1000;
  d.global_batch_seqs = 12;
  d.micro_batch_seqs = 2;
  d.seed = 99;
  spec.parallel = {3, {2, 4, layout::LayoutKind::kContiguous, layout::RingSchedule::kLightSeq}};
  spec.resources = {Device::kCuda, {2, 5}, 8};
  TrainSpec& t = spec.train;
  t.max_steps = 0;
  t.max_tokens = 123456789012;
  t.precision = Precision::kBf16;
  t.activation_checkpointing = ActivationCheckpointing::kAttention;
  t.optimizer = {OptimizerName::kAdamW, 1.0 / 3.0, 0.85, 0.999, 1e-10, 0};
  t.schedule = {17, LrDecay::kLinear, 0};
  t.grad_clip = 0.25;
  t.log_every_steps = 10;
  CheckpointSpec& c = spec.checkpoint;
  c.dir = "/ckpt/run #1";
  c.every = {500, std::chrono::milliseconds(1500)};
  c.keep_last = 1;
  c.resume = {ResumeMode::kPath, "./ckpt/step-100"};
  c.export_spec = {"/export", ExportFormat::kSafetensors, ExportNaming::kHfLlama};
  spec.fault_tolerance = {0,
                          std::chrono::milliseconds(0),
                          {std::chrono::milliseconds(250), std::chrono::hours(1)},
                          std::chrono::seconds(61),
                          std::chrono::hours(2)};
  ASSERT_TRUE(ValidateJobSpec(spec).ok()) << ValidateJobSpec(spec);
  EXPECT_EQ(Parse(EmitJobSpec(spec)), spec);
}

}  // namespace
}  // namespace spindle::config
