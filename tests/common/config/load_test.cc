#include "common/config/load.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/config/presets.h"
#include "tests/common/config/test_specs.h"
#include "tests/testing/temp_dir.h"

namespace spindle::config {
namespace {

using ::testing::HasSubstr;
using testing::kMinimalYaml;
using testing::MinimalWith;

// The error text of a parse that must fail.
std::string ParseError(const std::string& yaml, std::vector<std::string> overrides = {}) {
  auto spec = ParseJobSpec(yaml, "job.yaml", overrides);
  EXPECT_FALSE(spec.ok()) << "parsed unexpectedly:\n" << yaml;
  if (spec.ok()) return "";
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(spec.status().message());
}

TEST(LoadTest, MinimalSpecGetsEveryDefault) {
  auto spec = ParseJobSpec(kMinimalYaml, "job.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  JobSpec want;
  want.metadata.name = "minimal";
  want.model.hidden_size = 64;
  want.model.intermediate_size = 128;
  want.model.num_hidden_layers = 2;
  want.model.num_attention_heads = 4;
  want.model.vocab_size = 256;
  want.model.num_key_value_heads = 4;         // = num_attention_heads
  want.model.max_position_embeddings = 2048;  // max(seq_len 128, 2048)
  want.data.source = DataSource::kSynthetic;
  want.data.seq_len = 128;
  want.train.max_steps = 10;
  want.checkpoint.dir = "./checkpoints/minimal";  // ./checkpoints/<metadata.name>
  EXPECT_EQ(*spec, want);

  // The documented defaults, spelled out once against job_spec.h.
  EXPECT_EQ(spec->model.preset, "");
  EXPECT_EQ(spec->model.rope_theta, 10000.0);
  EXPECT_EQ(spec->model.rms_norm_eps, 1e-5);
  EXPECT_FALSE(spec->model.tie_word_embeddings);
  EXPECT_EQ(spec->model.init.from, InitFrom::kRandom);
  EXPECT_EQ(spec->model.init.seed, 1);
  EXPECT_EQ(spec->data.dtype, TokenDtype::kUint16);
  EXPECT_EQ(spec->data.global_batch_seqs, 0);  // dp auto: ResolveParallel fills it in
  EXPECT_EQ(spec->data.micro_batch_seqs, 1);
  EXPECT_EQ(spec->parallel.dp, kAuto);
  EXPECT_EQ(spec->parallel.sp.ulysses, kAuto);
  EXPECT_EQ(spec->parallel.sp.ring, kAuto);
  EXPECT_EQ(spec->parallel.sp.layout, layout::LayoutKind::kZigzag);
  EXPECT_EQ(spec->parallel.sp.schedule, layout::RingSchedule::kRing);
  EXPECT_EQ(spec->resources.device, Device::kCpu);
  EXPECT_EQ(spec->resources.devices_per_node, kAuto);
  EXPECT_EQ(spec->train.precision, Precision::kFp32);
  EXPECT_EQ(spec->train.optimizer.lr, 3e-4);
  EXPECT_EQ(spec->train.optimizer.beta2, 0.95);
  EXPECT_EQ(spec->train.schedule.decay, LrDecay::kCosine);
  EXPECT_EQ(spec->train.grad_clip, 1.0);
  EXPECT_EQ(spec->checkpoint.keep_last, 3);
  EXPECT_EQ(spec->checkpoint.resume.mode, ResumeMode::kAuto);
  EXPECT_EQ(spec->fault_tolerance.heartbeat.interval, std::chrono::seconds(5));
  EXPECT_EQ(spec->fault_tolerance.heartbeat.timeout, std::chrono::seconds(30));
  EXPECT_EQ(spec->fault_tolerance.hang_timeout, std::chrono::minutes(10));
}

TEST(LoadTest, FixedDpDefaultsTheGlobalBatch) {
  auto spec = ParseJobSpec(MinimalWith("  parallel:\n    dp: 3\n"), "job.yaml",
                           {"data.micro_batch_seqs=2"});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->data.global_batch_seqs, 6);
}

TEST(LoadTest, DemoExampleParses) {
  auto spec = LoadJobSpecFile(SPINDLE_CONFIG_EXAMPLES_DIR "/demo.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->metadata.name, "demo");
  EXPECT_EQ(spec->model.preset, "tiny");
  EXPECT_EQ(spec->model.hidden_size, 64);
  EXPECT_EQ(spec->data.source, DataSource::kSynthetic);
  EXPECT_EQ(spec->data.task, SyntheticTask::kCopy);
  EXPECT_EQ(spec->data.seq_len, 128);
  EXPECT_EQ(spec->data.global_batch_seqs, 8);
  EXPECT_EQ(spec->parallel.dp, 1);
  EXPECT_EQ(spec->parallel.sp.ulysses, 2);
  EXPECT_EQ(spec->parallel.sp.ring, 2);
  EXPECT_EQ(spec->parallel.sp.layout, layout::LayoutKind::kZigzag);
  EXPECT_EQ(spec->resources.device, Device::kCpu);
  EXPECT_EQ(spec->train.max_steps, 1000);
  EXPECT_EQ(spec->train.optimizer.lr, 3e-3);
  EXPECT_EQ(spec->train.schedule.warmup_steps, 20);
  EXPECT_EQ(spec->checkpoint.export_spec.dir, "runs/demo/export");
}

TEST(LoadTest, MissingFileIsNotFound) {
  spindle::testing::TempDir dir;
  auto spec = LoadJobSpecFile(dir.Join("absent.yaml"));
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(spec.status().message(), HasSubstr("absent.yaml"));
}

TEST(LoadTest, FileErrorsNameTheFile) {
  spindle::testing::TempDir dir;
  const std::string path = dir.Join("job.yaml");
  std::ofstream(path) << MinimalWith("  parallel:\n    dpp: 2\n");
  auto spec = LoadJobSpecFile(path);
  EXPECT_EQ(spec.status().message(),
            path + ":7:5: parallel.dpp: unknown field; did you mean parallel.dp?");
}

TEST(LoadTest, UnknownFieldsSuggestTheNearestField) {
  const std::string yaml = R"(apiVersion: spindle/v1
kind: TrainJob
metadata:
  name: typos
spec:
  model:
    preset: tiny
    hiddenSize: 64
  data:
    source: synthetic
    seq_len: 128
  train:
    max_stpes: 60
    lr: 1e-3
    optimizer:
      lr_warmup: 5
  fault_tolerance:
    heartbeat_interval: 5s
  tokenizer: bytes
)";
  EXPECT_EQ(ParseError(yaml),
            "job.yaml:8:5: model.hiddenSize: unknown field; did you mean model.hidden_size?\n"
            "job.yaml:13:5: train.max_stpes: unknown field; did you mean train.max_steps?\n"
            "job.yaml:14:5: train.lr: unknown field; did you mean train.optimizer.lr?\n"
            "job.yaml:16:7: train.optimizer.lr_warmup: unknown field; did you mean "
            "train.schedule.warmup_steps?\n"
            "job.yaml:18:5: fault_tolerance.heartbeat_interval: unknown field; did you mean "
            "fault_tolerance.heartbeat.interval?\n"
            "job.yaml:19:3: spec.tokenizer: unknown field; spec has model, data, parallel, "
            "resources, train, checkpoint, fault_tolerance");
}

TEST(LoadTest, SectionsOutsideSpecAreCalledOut) {
  EXPECT_THAT(ParseError(kMinimalYaml + "parallel:\n  dp: 1\n"),
              HasSubstr("job.yaml:17:1: parallel: unknown top-level field; parallel is a section "
                        "of the spec: indent it under `spec:`"));
  EXPECT_THAT(ParseError(kMinimalYaml + "metdata: {}\n"),
              HasSubstr("job.yaml:17:1: metdata: unknown field; did you mean metadata?"));
}

TEST(LoadTest, DuplicateKeysAreErrors) {
  EXPECT_THAT(ParseError(MinimalWith("  parallel:\n    dp: 1\n    dp: 2\n")),
              HasSubstr("job.yaml:8:5: parallel.dp: duplicate field; it is already set above"));
}

TEST(LoadTest, WrongTypesAreReportedTogether) {
  const std::string yaml = R"(apiVersion: spindle/v1
kind: TrainJob
metadata:
  name: types
spec:
  model:
    preset: tiny
    hidden_size: abc
    num_hidden_layers: 2.5
    tie_word_embeddings: yes
    rope_theta: "1e4"
  data:
    source: synthetic
    seq_len: "256"
  train:
    max_steps: 60
    optimizer:
      betas: 0.9
  checkpoint: ./ckpt
)";
  // Table order (rope_theta before tie_word_embeddings), not file order.
  EXPECT_EQ(ParseError(yaml),
            "job.yaml:19:15: checkpoint: expected a section with fields dir, every, keep_last, "
            "resume, export; got './ckpt'\n"
            "job.yaml:8:18: model.hidden_size: expected an integer, got 'abc'\n"
            "job.yaml:9:24: model.num_hidden_layers: expected an integer, got '2.5'\n"
            "job.yaml:11:17: model.rope_theta: expected a number, got the string \"1e4\"\n"
            "job.yaml:10:26: model.tie_word_embeddings: expected true or false, got 'yes'\n"
            "job.yaml:14:14: data.seq_len: expected an integer, got the string \"256\"\n"
            "job.yaml:18:14: train.optimizer.betas: expected a list of two numbers [beta1, beta2], "
            "got '0.9'");
}

TEST(LoadTest, IntegersTooLargeForTheFieldAreErrors) {
  EXPECT_THAT(ParseError(kMinimalYaml, {"model.hidden_size=4294967296"}),
              HasSubstr("model.hidden_size: 4294967296 is out of range (at most 2147483647)"));
  auto spec = ParseJobSpec(kMinimalYaml, "job.yaml", {"train.max_steps=0", "train.max_tokens=1e9"});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->train.max_tokens, 1000000000);
}

TEST(LoadTest, OutOfRangeValuesNameTheRule) {
  const std::string yaml = R"(apiVersion: spindle/v1
kind: TrainJob
metadata:
  name: ranges
spec:
  model:
    preset: tiny
    rms_norm_eps: 0
  data:
    source: synthetic
    seq_len: 1
    micro_batch_seqs: 0
  train:
    max_steps: 60
    optimizer:
      lr: -0.1
      betas: [0.9, 1.0]
    schedule:
      min_lr_ratio: 1.5
  fault_tolerance:
    heartbeat:
      interval: 0s
)";
  EXPECT_EQ(ParseError(yaml),
            "job.yaml:8:19: model.rms_norm_eps: must be > 0, got 0\n"
            "job.yaml:11:14: data.seq_len: must be >= 2, got 1\n"
            "job.yaml:12:23: data.micro_batch_seqs: must be >= 1, got 0\n"
            "job.yaml:16:11: train.optimizer.lr: must be > 0, got -0.1\n"
            "job.yaml:17:14: train.optimizer.betas: must be two numbers in [0, 1), got 1\n"
            "job.yaml:19:21: train.schedule.min_lr_ratio: must be in [0, 1], got 1.5\n"
            "job.yaml:22:17: fault_tolerance.heartbeat.interval: must be > 0s, got 0ms");
}

TEST(LoadTest, EnumErrorsListTheAllowedValues) {
  EXPECT_THAT(ParseError(MinimalWith("  parallel:\n    sp:\n      layout: zigzg\n")),
              HasSubstr("job.yaml:8:15: parallel.sp.layout: 'zigzg' is not one of contiguous, "
                        "zigzag, striped; did you mean zigzag?"));
  EXPECT_THAT(ParseError(kMinimalYaml, {"train.precision=fp16"}),
              HasSubstr("train.precision: 'fp16' is not one of fp32, bf16"));
  EXPECT_THAT(ParseError(kMinimalYaml, {"resources.device=gpu"}),
              HasSubstr("resources.device: 'gpu' is not one of cpu, cuda"));
  EXPECT_THAT(ParseError(kMinimalYaml, {"parallel.sp.schedule=lightseg"}),
              HasSubstr("'lightseg' is not one of ring, lightseq; did you mean lightseq?"));
}

TEST(LoadTest, ApiVersionAndKindAreRequired) {
  const std::string body = kMinimalYaml.substr(kMinimalYaml.find("metadata:"));
  EXPECT_EQ(ParseError(body),
            "job.yaml: apiVersion: required field is missing\n"
            "job.yaml: kind: required field is missing");
  EXPECT_EQ(ParseError("apiVersion: spindle/v2\nkind: Job\n" + body),
            "job.yaml:1:13: apiVersion: must be spindle/v1, got 'spindle/v2'\n"
            "job.yaml:2:7: kind: must be TrainJob, got 'Job'");
}

TEST(LoadTest, EmptyDocumentListsTheRequiredFields) {
  EXPECT_EQ(ParseError(""),
            "job.yaml: apiVersion: required field is missing\n"
            "job.yaml: kind: required field is missing\n"
            "job.yaml: metadata.name: required field is missing\n"
            "job.yaml: data.source: required field is missing");
  EXPECT_EQ(ParseError("- a\n- b\n"),
            "job.yaml:1:1: expected a job spec (a map with apiVersion, kind, metadata and spec), "
            "got a list");
}

TEST(LoadTest, InvalidYamlGivesTheLine) {
  EXPECT_THAT(ParseError("apiVersion: spindle/v1\nkind: [TrainJob\n"),
              ::testing::StartsWith("job.yaml:3:1: invalid YAML: "));
}

TEST(LoadTest, CrossFieldErrorsPointAtTheField) {
  const std::string yaml = R"(apiVersion: spindle/v1
kind: TrainJob
metadata:
  name: cross
spec:
  model:
    preset: tiny
    hidden_size: 100
    num_attention_heads: 3
  data:
    source: tokens
    seq_len: 256
  train:
    max_steps: 60
)";
  // Fields not written point at their section (num_key_value_heads comes
  // from the preset, data.path is missing).
  EXPECT_EQ(ParseError(yaml),
            "job.yaml:8:18: model.hidden_size: 100 is not divisible by num_attention_heads 3 "
            "(head_dim = hidden_size / num_attention_heads); use a multiple of 3\n"
            "job.yaml:7:5: model.num_key_value_heads: 2 does not divide num_attention_heads 3; "
            "use one of 1, 3\n"
            "job.yaml:11:5: data.path: required for data.source: tokens (a file of token ids, see "
            "data.dtype)");
}

TEST(LoadTest, OverridesApplyBeforeValidation) {
  auto spec = ParseJobSpec(
      kMinimalYaml, "job.yaml",
      {"train.max_steps=100", "spec.data.seq_len=512", "parallel.sp.layout=striped",
       "parallel.sp.ulysses=auto", "train.optimizer.betas=[0.8, 0.9]", "metadata.labels.team=ml",
       "checkpoint.every.time=90s", "checkpoint.export.dir=", "train.max_steps=200"});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->train.max_steps, 200);  // the last override of a key wins
  EXPECT_EQ(spec->data.seq_len, 512);
  EXPECT_EQ(spec->parallel.sp.layout, layout::LayoutKind::kStriped);
  EXPECT_EQ(spec->parallel.sp.ulysses, kAuto);
  EXPECT_EQ(spec->train.optimizer.beta1, 0.8);
  EXPECT_EQ(spec->train.optimizer.beta2, 0.9);
  EXPECT_EQ(spec->metadata.labels.at("team"), "ml");
  EXPECT_EQ(spec->checkpoint.every.time, std::chrono::seconds(90));
  EXPECT_EQ(spec->checkpoint.export_spec.dir, "");
}

TEST(LoadTest, OverrideErrorsNameTheOverride) {
  EXPECT_EQ(
      ParseError(kMinimalYaml, {"train.max_stpes=3", "data.seq_len=abc", "nokey",
                                "data.source.kind=x", "train.optimizer.lr=[1"}),
      "--set nokey: expected key.path=value, e.g. train.max_steps=100\n"
      "--set data.source.kind=x: data.source is 'synthetic', not a section\n"
      "--set train.optimizer.lr=[1: the value is not valid YAML: end of sequence flow not found\n"
      "--set train.max_stpes=3: train.max_stpes: unknown field; did you mean "
      "train.max_steps?\n"
      "--set data.seq_len=abc: data.seq_len: expected an integer, got 'abc'");
  EXPECT_EQ(ParseError(kMinimalYaml, {"train.max_steps=0"}),
            "--set train.max_steps=0: train.max_steps: set exactly one of train.max_steps or "
            "train.max_tokens");
}

TEST(LoadTest, PresetFillsTheModelAndWrittenFieldsOverrideIt) {
  const std::string yaml = R"(apiVersion: spindle/v1
kind: TrainJob
metadata:
  name: preset
spec:
  model:
    num_hidden_layers: 4
    preset: small-100m
  data:
    source: synthetic
    seq_len: 4096
  train:
    max_tokens: 1e9
)";
  auto spec = ParseJobSpec(yaml, "job.yaml", {"model.vocab_size=50000"});
  ASSERT_TRUE(spec.ok()) << spec.status();
  ModelSpec want;
  ASSERT_TRUE(ApplyModelPreset("small-100m", &want));
  want.num_hidden_layers = 4;  // written, though above `preset:`
  want.vocab_size = 50000;     // --set
  want.max_position_embeddings = 4096;
  EXPECT_EQ(spec->model.preset, "small-100m");
  EXPECT_EQ(spec->model.hidden_size, want.hidden_size);
  EXPECT_EQ(spec->model.num_key_value_heads, 4);
  EXPECT_EQ(spec->model.num_hidden_layers, 4);
  EXPECT_EQ(spec->model.vocab_size, 50000);
  EXPECT_TRUE(spec->model.tie_word_embeddings);
  EXPECT_EQ(spec->model.max_position_embeddings, 4096);

  EXPECT_EQ(ParseError(yaml, {"model.preset=medium"}),
            "--set model.preset=medium: model.preset: 'medium' is not one of tiny, small-100m, "
            "llama-1b, llama3-8b");
}

TEST(LoadTest, ModelFieldsAreRequiredWithoutAPreset) {
  EXPECT_THAT(ParseError(kMinimalYaml, {"model.hidden_size=0"}),
              HasSubstr("model.hidden_size: required: set it or use model.preset (tiny | "
                        "small-100m | llama-1b | llama3-8b)"));
}

TEST(LoadTest, ResumeTakesAutoNeverOrAPath) {
  auto spec = ParseJobSpec(kMinimalYaml, "job.yaml", {"checkpoint.resume=never"});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->checkpoint.resume.mode, ResumeMode::kNever);
  spec = ParseJobSpec(kMinimalYaml, "job.yaml", {"checkpoint.resume=/ckpt/step-100"});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->checkpoint.resume.mode, ResumeMode::kPath);
  EXPECT_EQ(spec->checkpoint.resume.path, "/ckpt/step-100");
  EXPECT_THAT(ParseError(kMinimalYaml, {"checkpoint.resume=nevr"}),
              HasSubstr("checkpoint.resume: 'nevr' is not auto, never or a checkpoint path (a "
                        "path contains '/', e.g. ./nevr); did you mean never?"));
}

TEST(LoadTest, DurationsCarryUnits) {
  auto spec = ParseJobSpec(kMinimalYaml, "job.yaml",
                           {"fault_tolerance.heartbeat={interval: 500ms, timeout: 2}",
                            "fault_tolerance.hang_timeout=1.5h"});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->fault_tolerance.heartbeat.interval, std::chrono::milliseconds(500));
  EXPECT_EQ(spec->fault_tolerance.heartbeat.timeout, std::chrono::seconds(2));
  EXPECT_EQ(spec->fault_tolerance.hang_timeout, std::chrono::minutes(90));
  EXPECT_THAT(ParseError(kMinimalYaml, {"fault_tolerance.backoff=5 minutes"}),
              HasSubstr("fault_tolerance.backoff: '5 minutes' is not a duration"));
}

TEST(LoadTest, MetadataNameIsADnsLabel) {
  EXPECT_THAT(ParseError(kMinimalYaml, {"metadata.name=My_Job"}),
              HasSubstr("metadata.name: 'My_Job' is not a DNS label"));
  EXPECT_THAT(ParseError(kMinimalYaml, {"metadata.labels=[a]"}),
              HasSubstr("metadata.labels: expected a map of label names to strings, got a list"));
}

}  // namespace
}  // namespace spindle::config
