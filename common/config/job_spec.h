// The job spec (apiVersion spindle/v1, kind TrainJob) as plain structs, with
// every default written next to its field. A JobSpec returned by ParseJobSpec
// (common/config/load.h) has every default filled in and has passed
// ValidateJobSpec; one built in code should be checked with ValidateJobSpec.
// Degrees may still be `auto` (kAuto); ResolveParallel (resolve.h) turns them
// into numbers for a world size. No YAML here: see load.h and emit.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "absl/types/span.h"
#include "common/layout/comm_volume.h"
#include "common/layout/sequence_layout.h"

namespace spindle::config {

// A parallel degree or device count written `auto`: chosen by ResolveParallel.
constexpr int kAuto = 0;

enum class Arch { kLlama };
enum class InitFrom { kRandom, kHf };
enum class DataSource { kSynthetic, kTokens, kText };
enum class TokenDtype { kUint16, kUint32 };
enum class SyntheticTask { kCopy };
enum class Device { kCpu, kCuda };
enum class Precision { kFp32, kBf16 };
enum class ActivationCheckpointing { kNone, kFull, kAttention };
enum class OptimizerName { kAdamW };
enum class LrDecay { kCosine, kConstant, kLinear };
enum class ResumeMode { kAuto, kNever, kPath };
enum class ExportFormat { kSafetensors };
enum class ExportNaming { kHfLlama };

// Names as written in YAML, indexed by the enum's value ("random", "hf", ...).
template <typename E>
absl::Span<const char* const> EnumNames();
template <typename E>
const char* EnumName(E e) {
  return EnumNames<E>()[static_cast<size_t>(e)];
}

struct Metadata {
  std::string name;                           // required; DNS label: [a-z0-9-], <= 63 chars
  std::map<std::string, std::string> labels;  // free-form, for listing and metrics
};

struct ModelInit {
  InitFrom from = InitFrom::kRandom;
  int64_t seed = 1;  // weight init seed (from: random)
  std::string path;  // from: hf, required: a directory with config.json + model.safetensors
};

// Hugging Face LlamaConfig names. A preset fills the architecture fields
// (common/config/presets.h); fields written next to it override it.
struct ModelSpec {
  std::string preset;  // "" = none, else "tiny" | "small-100m"; kept for display
  Arch arch = Arch::kLlama;
  int hidden_size = 0;                  // required (or preset)
  int intermediate_size = 0;            // required (or preset)
  int num_hidden_layers = 0;            // required (or preset)
  int num_attention_heads = 0;          // h; required (or preset)
  int num_key_value_heads = 0;          // h_kv; default = num_attention_heads
  int vocab_size = 0;                   // required (or preset)
  double rope_theta = 10000.0;          // RoPE base
  double rms_norm_eps = 1e-5;           // RMSNorm epsilon
  int64_t max_position_embeddings = 0;  // default = max(data.seq_len, 2048)
  bool tie_word_embeddings = false;     // lm_head shares the embedding matrix
  ModelInit init;
};

struct DataSpec {
  DataSource source = DataSource::kSynthetic;  // required
  std::string path;                            // tokens | text: required; synthetic: empty
  TokenDtype dtype = TokenDtype::kUint16;      // tokens only: element type of the token file
  SyntheticTask task = SyntheticTask::kCopy;   // synthetic only
  int64_t seq_len = 0;                         // S, tokens per sequence; required, >= 2
  // Sequences per optimizer step over all DP ranks. Default dp × micro_batch_seqs;
  // 0 = that default while dp is auto (ResolveParallel fills it in).
  int64_t global_batch_seqs = 0;
  // Sequences per DP rank per micro-step; gradient accumulation steps =
  // global_batch_seqs / (dp × micro_batch_seqs).
  int micro_batch_seqs = 1;
  int64_t seed = 1;  // data order / synthetic data seed
};

struct SequenceParallelSpec {
  int ulysses = kAuto;  // U, or kAuto
  int ring = kAuto;     // R, or kAuto
  layout::LayoutKind layout = layout::LayoutKind::kZigzag;
  // lightseq: contiguous layout, R even or 1 (training is always causal).
  layout::RingSchedule schedule = layout::RingSchedule::kRing;
};

struct ParallelSpec {
  int dp = kAuto;  // data-parallel replicas, or kAuto = what is left of the world
  SequenceParallelSpec sp;
};

struct NodeRange {
  int min = 1;
  int max = 1;
};

struct ResourcesSpec {
  Device device = Device::kCpu;  // cpu = Gloo; cuda = NCCL
  NodeRange nodes;
  int devices_per_node = kAuto;  // or kAuto = what each node offers
};

struct OptimizerSpec {
  OptimizerName name = OptimizerName::kAdamW;
  double lr = 3e-4;  // peak learning rate
  double beta1 = 0.9;
  double beta2 = 0.95;  // written `betas: [beta1, beta2]`
  double eps = 1e-8;
  double weight_decay = 0.1;
  // AdamW state split over all ranks, updated weights all-gathered (ZeRO
  // stage 1): moments take 8·N/W bytes per rank instead of 8·N.
  bool sharded = true;
};

struct LrScheduleSpec {
  int64_t warmup_steps = 0;  // linear warmup from 0 to lr
  LrDecay decay = LrDecay::kCosine;
  double min_lr_ratio = 0.1;  // final lr = min_lr_ratio × lr
};

struct TrainSpec {
  int64_t max_steps = 0;   // optimizer steps; exactly one of max_steps, max_tokens is > 0
  int64_t max_tokens = 0;  // tokens over all ranks; 0 = use max_steps
  Precision precision = Precision::kFp32;
  ActivationCheckpointing activation_checkpointing = ActivationCheckpointing::kNone;
  OptimizerSpec optimizer;
  LrScheduleSpec schedule;
  double grad_clip = 1.0;  // max global gradient norm; 0 disables clipping
  int64_t log_every_steps = 1;
};

struct CheckpointEvery {
  int64_t steps = 0;                  // 0 = off
  std::chrono::milliseconds time{0};  // 0 = off
};

struct ResumeSpec {
  ResumeMode mode = ResumeMode::kAuto;  // auto: newest valid checkpoint in dir, if any
  std::string path;                     // mode kPath only: a checkpoint to start from
};

struct ExportSpec {
  std::string dir;  // "" = no export; else the final weights are written here
  ExportFormat format = ExportFormat::kSafetensors;
  ExportNaming naming = ExportNaming::kHfLlama;
};

struct CheckpointSpec {
  std::string dir;  // default ./checkpoints/<metadata.name>
  CheckpointEvery every;
  int keep_last = 3;       // checkpoints kept; `latest`'s target is never deleted
  ResumeSpec resume;       // written `resume: auto | never | <path>`
  ExportSpec export_spec;  // written `export:`
};

struct HeartbeatSpec {
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds timeout{30000};  // > interval
};

struct FaultToleranceSpec {
  int max_restarts = 3;  // whole-attempt restarts before the job fails
  std::chrono::milliseconds backoff{10000};
  HeartbeatSpec heartbeat;
  std::chrono::milliseconds collective_timeout{300000};
  std::chrono::milliseconds hang_timeout{600000};  // no step progress while all alive
};

struct JobSpec {
  // apiVersion (spindle/v1) and kind (TrainJob) are checked, not stored.
  Metadata metadata;
  ModelSpec model;
  DataSpec data;
  ParallelSpec parallel;
  ResourcesSpec resources;
  TrainSpec train;
  CheckpointSpec checkpoint;
  FaultToleranceSpec fault_tolerance;
};

constexpr char kApiVersion[] = "spindle/v1";
constexpr char kKind[] = "TrainJob";

bool operator==(const JobSpec& a, const JobSpec& b);
inline bool operator!=(const JobSpec& a, const JobSpec& b) { return !(a == b); }

}  // namespace spindle::config
