// One rank's training loop: data-parallel × sequence-parallel (DP outermost).
// Each optimizer step runs grad_accum micro-steps; in each, this DP rank's
// micro-batch of sequences is sharded by the layout to this SP rank's tokens
// (labels shifted on the global sequence before sharding), the model runs on
// them, and the loss is the sum of cross-entropy over local real tokens
// divided by the global number of target tokens of the step, so summing
// gradients over all DP×SP ranks gives exactly the one-device gradient (no
// scaling by the SP degree). Then: bucketed gradient all-reduce (started
// during the last backward), global-norm clipping, AdamW with warmup + decay, its state sharded
// over all ranks and the updated weights all-gathered.
//
// Precision: fp32 throughout, or bf16 mixed precision (the weights, the
// activations and the attention in bf16; norms, softmaxes, the loss, the
// gradients, their reduction and the optimizer with its fp32 master weights
// in fp32).
//
// Deterministic: weights from a seed, data a pure function of the global
// sequence index, fixed reduction orders; a run resumed from a checkpoint
// reproduces the uninterrupted one bit for bit on CPU.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/layout/comm_volume.h"
#include "common/layout/sequence_layout.h"
#include "worker/model/llama.h"
#include "worker/sp/process_groups.h"
#include "worker/train/lr_schedule.h"
#include "worker/train/sharded_adamw.h"

namespace spindle::kernels {
class ThreadPool;
}

namespace spindle::train {

class GradReducer;

// Fills out (seq_len + 1 token ids) with sequence `index` of the run: step s
// uses indices [s·global_batch_seqs, (s+1)·global_batch_seqs), spread over DP
// ranks and micro-steps by common/data/sampler.h. Must be a pure function of
// index (resume and layout independence depend on it).
using SequenceSource = std::function<absl::Status(int64_t index, absl::Span<int64_t> out)>;

struct TrainerOptions {
  model::LlamaConfig model;
  uint64_t init_seed = 1;
  int64_t seq_len = 256;          // S: tokens per sequence (targets: S)
  int64_t global_batch_seqs = 1;  // sequences per optimizer step over all DP ranks
  int64_t micro_batch_seqs = 1;   // sequences per DP rank per micro-step
  layout::LayoutKind layout = layout::LayoutKind::kZigzag;
  layout::RingSchedule schedule = layout::RingSchedule::kRing;
  model::Checkpointing checkpointing = model::Checkpointing::kNone;
  AdamWOptions adamw;
  LrSchedule lr;
  double grad_clip = 1.0;          // max global L2 norm; 0 disables clipping
  int64_t bucket_bytes = 4 << 20;  // gradient all-reduce and parameter all-gather bucket size
  // Shard AdamW's state over all ranks (sharded_adamw.h); same result.
  bool shard_optimizer = true;
  at::ScalarType compute_dtype = at::kFloat;  // kFloat or kBFloat16 (train.precision)
  at::Device device = at::kCPU;               // where the model and its activations live
  SequenceSource data;
};

struct StepStats {
  int64_t step = 0;      // optimizer steps done, this one included
  double loss = 0;       // mean next-token loss over the global batch
  double grad_norm = 0;  // global L2 norm before clipping
  double lr = 0;         // rate used by this update
  int64_t tokens = 0;    // target tokens in the global batch
  double seconds = 0;    // wall time of the step on this rank
  // Where `seconds` went on this rank (they add up to it, within timer
  // resolution). forward/backward include the attention's exposed
  // communication; grad_sync is the wait for the gradient all-reduce that
  // backward did not hide; optimizer includes the loss all-reduce, the norm
  // and the (sharded) update with its weight all-gather.
  struct Phases {
    double data = 0, forward = 0, backward = 0, grad_sync = 0, optimizer = 0;
  } phases;
};

class Trainer {
 public:
  // groups: this rank's communicators for options' mesh. grad_comm: a world
  // group used by nothing else (the gradient reducer owns it; GradSchedule
  // says from which thread).
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(
      TrainerOptions options, const sp::ProcessGroups& groups,
      std::shared_ptr<comm::Communicator> grad_comm, std::shared_ptr<kernels::ThreadPool> pool);
  ~Trainer();

  // One optimizer step. Errors: data, or a collective that failed or timed out.
  absl::StatusOr<StepStats> Step();

  // Optimizer steps done (the next Step computes step() + 1).
  int64_t step() const { return step_; }
  void set_step(int64_t step);
  model::LlamaForCausalLM& model() { return model_; }
  ShardedAdamW& optimizer() { return *optimizer_; }
  const TrainerOptions& options() const { return options_; }
  const sp::SpAttention& attention() const { return *attention_; }
  const sp::ProcessGroups& groups() const { return groups_; }
  int64_t grad_accum() const { return grad_accum_; }
  // Loads a Hugging Face model directory's weights (model.init.from: hf) into
  // the model, converted to its type; a bf16 run's masters start from the
  // converted values.
  absl::Status ImportHfWeights(const std::string& dir);
  // The parameter gradients of the last step after reduction and clipping,
  // by name (tests compare them across layouts).
  std::vector<std::pair<std::string, at::Tensor>> NamedGradients();

 private:
  Trainer(TrainerOptions options, const sp::ProcessGroups& groups);
  absl::StatusOr<StepStats> StepImpl();
  // This rank's (ids, labels), each (micro_batch_seqs, L) int64, of micro-step
  // `micro` of the current step; labels of padding are -100 (ignored).
  absl::StatusOr<std::pair<at::Tensor, at::Tensor>> MicroBatch(int64_t micro) const;

  TrainerOptions options_;
  sp::ProcessGroups groups_;
  std::shared_ptr<sp::SpAttention> attention_;
  model::LlamaForCausalLM model_{nullptr};
  model::RopeTables rope_;
  std::unique_ptr<ShardedAdamW> optimizer_;
  std::unique_ptr<GradReducer> reducer_;
  std::vector<std::pair<std::string, at::Tensor>> params_;
  int64_t grad_accum_ = 1;
  int64_t step_ = 0;
};

}  // namespace spindle::train
