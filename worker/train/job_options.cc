#include "worker/train/job_options.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace spindle::train {

model::LlamaConfig LlamaConfigOf(const config::ModelSpec& m) {
  model::LlamaConfig c;
  c.hidden_size = m.hidden_size;
  c.intermediate_size = m.intermediate_size;
  c.num_hidden_layers = m.num_hidden_layers;
  c.num_attention_heads = m.num_attention_heads;
  c.num_key_value_heads = m.num_key_value_heads;
  c.vocab_size = m.vocab_size;
  c.max_position_embeddings = m.max_position_embeddings;
  c.rope_theta = m.rope_theta;
  c.rms_norm_eps = m.rms_norm_eps;
  c.tie_word_embeddings = m.tie_word_embeddings;
  return c;
}

data::TokenSourceOptions TokenSourceOptionsOf(const config::JobSpec& spec) {
  data::TokenSourceOptions o;
  switch (spec.data.source) {
    case config::DataSource::kSynthetic:
      o.kind = data::TokenSourceOptions::kSynthetic;
      break;
    case config::DataSource::kTokens:
      o.kind = data::TokenSourceOptions::kTokens;
      break;
    case config::DataSource::kText:
      o.kind = data::TokenSourceOptions::kText;
      break;
  }
  o.path = spec.data.path;
  o.token_bytes = spec.data.dtype == config::TokenDtype::kUint32 ? 4 : 2;
  o.vocab_size = spec.model.vocab_size;
  o.seq_len = spec.data.seq_len;
  o.seed = static_cast<uint64_t>(spec.data.seed);
  return o;
}

namespace {

// What the CUDA attention kernels take (kernels/cuda/attention_cuda.h):
// 16-bit activations and head dim 64 or 128. Checked before any group forms,
// so such a job fails at once (exit 2, not retried) naming the field.
absl::Status CheckCudaJob(const config::JobSpec& spec) {
  if (spec.resources.device != config::Device::kCuda) return absl::OkStatus();
  if (spec.train.precision != config::Precision::kBf16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "train.precision: ", config::EnumName(spec.train.precision),
        " with resources.device: cuda; the CUDA attention kernels take bf16 activations "
        "(weights, gradients and optimizer state stay fp32): set train.precision: bf16"));
  }
  const config::ModelSpec& m = spec.model;
  const int head_dim = m.num_attention_heads > 0 ? m.hidden_size / m.num_attention_heads : 0;
  if (head_dim != 64 && head_dim != 128) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.hidden_size: head_dim = hidden_size / num_attention_heads = ", m.hidden_size, " / ",
        m.num_attention_heads, " = ", head_dim,
        "; the CUDA attention kernels (resources.device: cuda) take 64 or 128"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RankPlan> PlanRank(const config::JobSpec& spec, int world) {
  SPINDLE_RETURN_IF_ERROR(CheckCudaJob(spec));
  SPINDLE_ASSIGN_OR_RETURN(config::ResolvedParallel par, config::ResolveParallel(spec, world));
  RankPlan plan;
  SPINDLE_ASSIGN_OR_RETURN(plan.mesh, layout::MakeMesh(world, par.dp, par.ulysses, par.ring));
  TrainerOptions& t = plan.trainer;
  t.model = LlamaConfigOf(spec.model);
  t.init_seed = static_cast<uint64_t>(spec.model.init.seed);
  t.seq_len = spec.data.seq_len;
  t.global_batch_seqs = par.global_batch_seqs;
  t.micro_batch_seqs = spec.data.micro_batch_seqs;
  t.layout = spec.parallel.sp.layout;
  t.schedule = spec.parallel.sp.schedule;
  switch (spec.train.activation_checkpointing) {
    case config::ActivationCheckpointing::kNone:
      t.checkpointing = model::Checkpointing::kNone;
      break;
    case config::ActivationCheckpointing::kFull:
      t.checkpointing = model::Checkpointing::kFull;
      break;
    case config::ActivationCheckpointing::kAttention:
      t.checkpointing = model::Checkpointing::kAttention;
      break;
  }
  const config::OptimizerSpec& opt = spec.train.optimizer;
  t.adamw = {opt.beta1, opt.beta2, opt.eps, opt.weight_decay};
  t.shard_optimizer = opt.sharded;
  t.compute_dtype = spec.train.precision == config::Precision::kBf16 ? at::kBFloat16 : at::kFloat;
  plan.total_steps = config::TotalSteps(spec, par.global_batch_seqs);
  t.lr.lr = opt.lr;
  t.lr.warmup_steps = spec.train.schedule.warmup_steps;
  t.lr.max_steps = plan.total_steps;
  t.lr.decay = config::EnumName(spec.train.schedule.decay);
  t.lr.min_lr_ratio = spec.train.schedule.min_lr_ratio;
  t.grad_clip = spec.train.grad_clip;
  return plan;
}

}  // namespace spindle::train
