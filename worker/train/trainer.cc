#include "worker/train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/data/sampler.h"
#include "common/status.h"
#include "worker/model/hf_weights.h"
#include "worker/runtime/backward_thread.h"
#include "worker/sp/sp_attention.h"
#include "worker/train/grad_reducer.h"

namespace spindle::train {
namespace {

constexpr int64_t kIgnoreLabel = -100;  // cross_entropy's ignore_index

absl::Status CheckOptions(const TrainerOptions& o, const layout::MeshDims& mesh) {
  SPINDLE_RETURN_IF_ERROR(o.model.Validate());
  if (o.seq_len < 1) return absl::InvalidArgumentError("data.seq_len: must be at least 1");
  if (o.micro_batch_seqs < 1) {
    return absl::InvalidArgumentError("data.micro_batch_seqs: must be at least 1");
  }
  const int64_t per_step = static_cast<int64_t>(mesh.dp) * o.micro_batch_seqs;
  if (o.global_batch_seqs < per_step || o.global_batch_seqs % per_step != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data.global_batch_seqs: ", o.global_batch_seqs, " is not a multiple of dp (", mesh.dp,
        ") × micro_batch_seqs (", o.micro_batch_seqs, "); use a multiple of ", per_step));
  }
  if (o.compute_dtype != at::kFloat && o.compute_dtype != at::kBFloat16) {
    return absl::InvalidArgumentError(
        absl::StrCat("train.precision: ", c10::toString(o.compute_dtype),
                     " is not supported; use fp32 or bf16"));
  }
  if (!o.data) return absl::InvalidArgumentError("trainer: no data source");
  return absl::OkStatus();
}

}  // namespace

Trainer::Trainer(TrainerOptions options, const sp::ProcessGroups& groups)
    : options_(std::move(options)), groups_(groups) {}

Trainer::~Trainer() = default;

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(
    TrainerOptions options, const sp::ProcessGroups& groups,
    std::shared_ptr<comm::Communicator> grad_comm, std::shared_ptr<kernels::ThreadPool> pool) {
  SPINDLE_RETURN_IF_ERROR(CheckOptions(options, groups.mesh));
  std::unique_ptr<Trainer> t(new Trainer(std::move(options), groups));
  const TrainerOptions& o = t->options_;
  SPINDLE_ASSIGN_OR_RETURN(
      layout::SequenceLayout seq_layout,
      layout::SequenceLayout::Create(o.layout, o.seq_len, groups.mesh.ulysses, groups.mesh.ring));
  sp::SpAttentionOptions attn;
  attn.h = static_cast<int>(o.model.num_attention_heads);
  attn.h_kv = static_cast<int>(o.model.num_key_value_heads);
  attn.causal = true;
  attn.sp_rank = groups.sp_rank();
  attn.schedule = o.schedule;
  attn.ulysses = groups.ulysses;
  attn.ring = groups.ring;
  attn.pool = std::move(pool);
  SPINDLE_ASSIGN_OR_RETURN(t->attention_, sp::SpAttention::Create(seq_layout, attn));
  t->rope_ =
      model::MakeRope(t->attention_->local_positions(), o.model.head_dim(), o.model.rope_theta);
  t->rope_.cos = t->rope_.cos.to(o.device);
  t->rope_.sin = t->rope_.sin.to(o.device);

  // Drawn in fp32 on the CPU (the same weights on every device), then moved;
  // under bf16 the masters start from the rounded values, equal to the model's.
  t->model_ = model::LlamaForCausalLM(o.model);
  t->model_->InitWeights(o.init_seed);
  t->model_->to(o.device, o.compute_dtype);
  std::vector<at::Tensor> tensors;
  for (auto& item : t->model_->named_parameters()) {
    t->params_.emplace_back(item.key(), item.value());
    tensors.push_back(item.value());
  }
  SPINDLE_CHECK(grad_comm != nullptr) << "Trainer::Create needs a gradient communicator";
  const GradSchedule schedule = GradScheduleFor(*grad_comm);
  SPINDLE_ASSIGN_OR_RETURN(
      t->reducer_, GradReducer::Create(tensors, std::move(grad_comm), o.bucket_bytes, schedule));
  std::vector<at::Tensor> grads;
  for (size_t i = 0; i < tensors.size(); ++i)
    grads.push_back(t->reducer_->grad(static_cast<int>(i)));
  SPINDLE_ASSIGN_OR_RETURN(
      t->optimizer_,
      ShardedAdamW::Create(t->params_, o.adamw, o.shard_optimizer ? groups.world : nullptr,
                           o.bucket_bytes, std::move(grads)));
  t->grad_accum_ = o.global_batch_seqs / (groups.mesh.dp * o.micro_batch_seqs);
  return t;
}

absl::Status Trainer::ImportHfWeights(const std::string& dir) {
  SPINDLE_RETURN_IF_ERROR(model::ImportHfWeights(dir, model_));
  optimizer_->SyncMasters();
  return absl::OkStatus();
}

void Trainer::set_step(int64_t step) {
  step_ = step;
  optimizer_->set_steps(step);
}

absl::StatusOr<std::pair<at::Tensor, at::Tensor>> Trainer::MicroBatch(int64_t micro) const {
  const TrainerOptions& o = options_;
  const layout::SequenceLayout& lay = attention_->layout();
  data::SamplerShape shape;
  shape.dp = groups_.mesh.dp;
  shape.micro_batch_seqs = static_cast<int>(o.micro_batch_seqs);
  shape.accumulation_steps = static_cast<int>(grad_accum_);
  const std::vector<int64_t> indices =
      data::MicroBatchIndices(shape, step_, static_cast<int>(micro), groups_.coord().dp);
  const int sp_rank = groups_.sp_rank();
  const int64_t l = lay.local_len();
  at::Tensor ids = at::empty({o.micro_batch_seqs, l}, at::kLong);
  at::Tensor labels = at::empty({o.micro_batch_seqs, l}, at::kLong);
  std::vector<int64_t> tokens(o.seq_len + 1);
  for (int64_t i = 0; i < o.micro_batch_seqs; ++i) {
    SPINDLE_RETURN_IF_ERROR(o.data(indices[i], absl::MakeSpan(tokens)));
    const absl::Span<const int64_t> inputs(tokens.data(), o.seq_len);
    const std::vector<int64_t> next = layout::NextTokenLabels(tokens);
    // Padding ids embed token 0 (its output is masked and unlabelled).
    const std::vector<int64_t> local_ids = lay.Shard<int64_t>(inputs, sp_rank, 0);
    const std::vector<int64_t> local_labels = lay.Shard<int64_t>(next, sp_rank, kIgnoreLabel);
    std::copy(local_ids.begin(), local_ids.end(), ids[i].data_ptr<int64_t>());
    std::copy(local_labels.begin(), local_labels.end(), labels[i].data_ptr<int64_t>());
  }
  return std::make_pair(ids, labels);
}

absl::StatusOr<StepStats> Trainer::Step() {
  // A failed collective inside the attention op surfaces as c10::Error
  // (docs/errors.md); it becomes a Status naming the peer here.
  try {
    return StepImpl();
  } catch (const c10::Error& e) {
    return absl::UnavailableError(e.what_without_backtrace());
  }
}

absl::StatusOr<StepStats> Trainer::StepImpl() {
  using SteadyClock = std::chrono::steady_clock;
  const auto start = SteadyClock::now();
  StepStats stats;
  // Adds the time since the previous lap to `phase`.
  auto lap = [last = start](double* phase) mutable {
    const auto now = SteadyClock::now();
    *phase += std::chrono::duration<double>(now - last).count();
    last = now;
  };
  const TrainerOptions& o = options_;
  const int64_t global_targets = o.global_batch_seqs * o.seq_len;
  reducer_->ZeroGrad();
  double local_loss = 0;  // this rank's share of the global mean loss
  for (int64_t micro = 0; micro < grad_accum_; ++micro) {
    SPINDLE_ASSIGN_OR_RETURN(auto batch, MicroBatch(micro));
    lap(&stats.phases.data);
    const at::Tensor ids = batch.first.to(o.device), labels = batch.second.to(o.device);
    if (micro + 1 == grad_accum_) reducer_->Arm();
    at::Tensor logits = model_->forward(ids, rope_, attention_, o.checkpointing);
    at::Tensor loss = torch::nn::functional::cross_entropy(
                          logits.reshape({-1, logits.size(-1)}), labels.reshape({-1}),
                          torch::nn::functional::CrossEntropyFuncOptions()
                              .ignore_index(kIgnoreLabel)
                              .reduction(torch::kSum)) /
                      static_cast<double>(global_targets);
    lap(&stats.phases.forward);
    {
      const runtime::BackwardOnThisThread here;  // see backward_thread.h
      loss.backward();
    }
    local_loss += loss.item<double>();
    lap(&stats.phases.backward);
  }
  SPINDLE_RETURN_IF_ERROR(reducer_->Finish());
  lap(&stats.phases.grad_sync);

  double loss_sum = local_loss;
  SPINDLE_RETURN_IF_ERROR(
      groups_.world->AllReduce(&loss_sum, 1, comm::DType::kFloat64, comm::ReduceOp::kSum));
  stats.loss = loss_sum;

  // Gradients are identical on every rank after the all-reduce, so the norm
  // and the clipping need no communication. Accumulated in fp64 in parameter
  // order, the same on every layout; one host sync for the whole norm.
  torch::NoGradGuard no_grad;
  at::Tensor sq = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(o.device));
  for (size_t i = 0; i < params_.size(); ++i) {
    sq += reducer_->grad(static_cast<int>(i)).to(at::kDouble).pow(2).sum();
  }
  stats.grad_norm = std::sqrt(sq.item<double>());
  if (o.grad_clip > 0 && stats.grad_norm > o.grad_clip) {
    const double coef = o.grad_clip / (stats.grad_norm + 1e-6);
    for (size_t i = 0; i < params_.size(); ++i) {
      at::Tensor g = reducer_->grad(static_cast<int>(i));
      g.mul_(coef);
    }
  }
  stats.lr = LearningRate(o.lr, step_);
  SPINDLE_RETURN_IF_ERROR(optimizer_->Step(stats.lr));
  ++step_;
  stats.step = step_;
  stats.tokens = global_targets;
  lap(&stats.phases.optimizer);
  stats.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  return stats;
}

std::vector<std::pair<std::string, at::Tensor>> Trainer::NamedGradients() {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back(params_[i].first, reducer_->grad(static_cast<int>(i)).clone());
  }
  return out;
}

}  // namespace spindle::train
