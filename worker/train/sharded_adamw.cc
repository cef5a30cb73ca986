#include "worker/train/sharded_adamw.h"

#include <torch/torch.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace spindle::train {

std::vector<FlatRun> RunsInRange(absl::Span<const int64_t> numels, int64_t begin, int64_t end) {
  std::vector<FlatRun> runs;
  int64_t start = 0;  // flat index of parameter i's first element
  for (size_t i = 0; i < numels.size() && start < end; start += numels[i], ++i) {
    const int64_t lo = std::max(begin, start), hi = std::min(end, start + numels[i]);
    if (lo < hi) runs.push_back({static_cast<int>(i), lo - start, hi - lo});
  }
  return runs;
}

int64_t ShardChunk(int64_t total, int world) { return (total + world - 1) / world; }

absl::StatusOr<std::unique_ptr<ShardedAdamW>> ShardedAdamW::Create(
    std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options,
    std::shared_ptr<comm::Communicator> comm, int64_t gather_bucket_bytes,
    std::vector<at::Tensor> grads) {
  if (params.empty()) return absl::InvalidArgumentError("optimizer: no parameters");
  if (!grads.empty() && grads.size() != params.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("optimizer: ", grads.size(), " gradients for ", params.size(), " parameters"));
  }
  std::unique_ptr<ShardedAdamW> o(new ShardedAdamW());
  const at::ScalarType dtype = params.front().second.scalar_type();
  if (!at::isFloatingType(dtype)) {
    return absl::InvalidArgumentError(absl::StrCat("optimizer: parameters are ",
                                                   c10::toString(dtype),
                                                   "; AdamW updates floating-point parameters"));
  }
  for (const auto& [name, p] : params) {
    if (p.scalar_type() != dtype || !p.is_contiguous()) {
      return absl::InvalidArgumentError(
          absl::StrCat("optimizer: parameter ", name, " is ", c10::toString(p.scalar_type()),
                       p.is_contiguous() ? "" : " and not contiguous", "; every parameter must be ",
                       c10::toString(dtype), " and contiguous"));
    }
    o->numels_.push_back(p.numel());
    o->total_ += p.numel();
  }
  o->params_ = std::move(params);
  const int world = comm ? comm->size() : 1;
  const int rank = comm ? comm->rank() : 0;
  if (world > 1) o->comm_ = std::move(comm);
  o->chunk_ = ShardChunk(o->total_, world);
  o->owned_begin_ = std::min(o->total_, rank * o->chunk_);
  o->owned_end_ = std::min(o->total_, (rank + 1) * o->chunk_);
  const int64_t elem = static_cast<int64_t>(c10::elementSize(dtype));
  o->bucket_elements_ = std::clamp<int64_t>(gather_bucket_bytes / elem, 1, o->chunk_);

  std::vector<ParamSlice> slices;
  for (const FlatRun& r : RunsInRange(o->numels_, o->owned_begin_, o->owned_end_)) {
    const auto& [name, p] = o->params_[r.param];
    slices.push_back({name, p, grads.empty() ? at::Tensor() : grads[r.param], r.offset, r.length});
    o->slice_param_.push_back(r.param);
  }
  o->adamw_ = std::make_unique<AdamW>(std::move(slices), options);
  return o;
}

void ShardedAdamW::CopyOut(int64_t begin, int64_t end, at::Tensor buffer) const {
  int64_t pos = 0;
  for (const FlatRun& r : RunsInRange(numels_, begin, end)) {
    buffer.narrow(0, pos, r.length)
        .copy_(params_[r.param].second.detach().view(-1).narrow(0, r.offset, r.length));
    pos += r.length;
  }
}

void ShardedAdamW::CopyIn(int64_t begin, int64_t end, const at::Tensor& buffer) {
  int64_t pos = 0;
  for (const FlatRun& r : RunsInRange(numels_, begin, end)) {
    params_[r.param]
        .second.detach()
        .view(-1)
        .narrow(0, r.offset, r.length)
        .copy_(buffer.narrow(0, pos, r.length));
    pos += r.length;
  }
}

absl::Status ShardedAdamW::GatherParameters() {
  const int world = comm_->size();
  const int rank = comm_->rank();
  const at::TensorOptions opts = params_.front().second.options().requires_grad(false);
  const int64_t elem = static_cast<int64_t>(params_.front().second.element_size());
  at::Tensor send = at::zeros({bucket_elements_}, opts);
  at::Tensor recv = at::empty({world * bucket_elements_}, opts);
  // Round k gathers elements [k·B, k·B + len) of every rank's chunk; a rank
  // whose chunk ends early (the last) sends zeros past the end, never read.
  for (int64_t from = 0; from < chunk_; from += bucket_elements_) {
    const int64_t len = std::min(bucket_elements_, chunk_ - from);
    const int64_t mine = std::clamp<int64_t>(owned_end_ - (owned_begin_ + from), 0, len);
    CopyOut(owned_begin_ + from, owned_begin_ + from + mine, send);
    SPINDLE_RETURN_IF_ERROR(comm_->AllGather(send.data_ptr(), len * elem, recv.data_ptr()));
    for (int j = 0; j < world; ++j) {
      if (j == rank) continue;
      const int64_t begin = std::min(total_, j * chunk_ + from);
      const int64_t end = std::min(total_, j * chunk_ + from + len);
      CopyIn(begin, end, recv.narrow(0, j * len, end - begin));
    }
  }
  return absl::OkStatus();
}

absl::Status ShardedAdamW::Step(double lr) {
  adamw_->Step(lr);
  if (!comm_) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  return GatherParameters();
}

absl::StatusOr<at::Tensor> ShardedAdamW::GatherFlat(const std::vector<at::Tensor>& parts) {
  const at::TensorOptions opts =
      params_.front().second.options().dtype(state_type()).requires_grad(false);
  at::Tensor whole = at::zeros({total_}, opts);
  at::Tensor owned = whole.narrow(0, owned_begin_, owned_end_ - owned_begin_);
  int64_t pos = 0;
  for (const at::Tensor& part : parts) {
    owned.narrow(0, pos, part.numel()).copy_(part);
    pos += part.numel();
  }
  if (!comm_) return whole;
  at::Tensor send = at::zeros({chunk_}, opts);
  send.narrow(0, 0, owned.numel()).copy_(owned);
  at::Tensor recv = at::empty({comm_->size() * chunk_}, opts);
  SPINDLE_RETURN_IF_ERROR(
      comm_->AllGather(send.data_ptr(), chunk_ * send.element_size(), recv.data_ptr()));
  return recv.narrow(0, 0, total_);
}

model::NamedTensors ShardedAdamW::Unflatten(const std::string& prefix,
                                            const at::Tensor& flat) const {
  model::NamedTensors out;
  int64_t start = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back(prefix + params_[i].first,
                     flat.narrow(0, start, numels_[i]).view(params_[i].second.sizes()));
    start += numels_[i];
  }
  return out;
}

absl::StatusOr<model::NamedTensors> ShardedAdamW::GatherMoments() {
  torch::NoGradGuard no_grad;
  model::NamedTensors out;
  const std::pair<const char*, std::vector<at::Tensor>*> moments[] = {
      {"exp_avg.", &adamw_->exp_avg()}, {"exp_avg_sq.", &adamw_->exp_avg_sq()}};
  for (const auto& [kind, parts] : moments) {
    SPINDLE_ASSIGN_OR_RETURN(at::Tensor whole, GatherFlat(*parts));
    for (auto& named : Unflatten(kind, whole)) out.push_back(std::move(named));
  }
  return out;
}

absl::StatusOr<model::NamedTensors> ShardedAdamW::GatherWeights() {
  if (!mixed()) return params_;
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  for (size_t i = 0; i < adamw_->slices().size(); ++i) parts.push_back(adamw_->Weights(i));
  SPINDLE_ASSIGN_OR_RETURN(at::Tensor whole, GatherFlat(parts));
  return Unflatten("", whole);
}

absl::StatusOr<model::NamedTensors> ShardedAdamW::Staged(
    const std::string& label, const std::map<std::string, at::Tensor>& whole,
    const std::vector<std::string>& prefixes) const {
  // Whole-shaped destinations let LoadInto check every name and shape.
  model::NamedTensors staging;
  for (const std::string& prefix : prefixes) {
    for (const auto& [name, p] : params_) {
      staging.emplace_back(
          prefix + name,
          at::empty(p.sizes(), p.options().dtype(state_type()).requires_grad(false)));
    }
  }
  SPINDLE_RETURN_IF_ERROR(model::LoadInto(label, whole, staging));
  return staging;
}

absl::Status ShardedAdamW::LoadMoments(const std::string& label,
                                       const std::map<std::string, at::Tensor>& whole) {
  torch::NoGradGuard no_grad;
  SPINDLE_ASSIGN_OR_RETURN(model::NamedTensors staging,
                           Staged(label, whole, {"exp_avg.", "exp_avg_sq."}));
  const size_t n = params_.size();
  const std::vector<ParamSlice>& slices = adamw_->slices();
  for (size_t i = 0; i < slices.size(); ++i) {
    const ParamSlice& s = slices[i];
    const size_t p = static_cast<size_t>(slice_param_[i]);
    adamw_->exp_avg()[i].copy_(staging[p].second.view(-1).narrow(0, s.offset, s.length));
    adamw_->exp_avg_sq()[i].copy_(staging[n + p].second.view(-1).narrow(0, s.offset, s.length));
  }
  return absl::OkStatus();
}

absl::Status ShardedAdamW::LoadWeights(const std::string& label,
                                       const std::map<std::string, at::Tensor>& whole) {
  torch::NoGradGuard no_grad;
  SPINDLE_ASSIGN_OR_RETURN(model::NamedTensors staging, Staged(label, whole, {""}));
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor target = params_[i].second.detach();
    target.copy_(staging[i].second);
  }
  const std::vector<ParamSlice>& slices = adamw_->slices();
  for (size_t i = 0; i < slices.size(); ++i) {
    if (!adamw_->master()[i].defined()) continue;
    const ParamSlice& s = slices[i];
    adamw_->master()[i].copy_(staging[static_cast<size_t>(slice_param_[i])].second.view(-1).narrow(
        0, s.offset, s.length));
  }
  return absl::OkStatus();
}

void ShardedAdamW::SyncMasters() {
  torch::NoGradGuard no_grad;
  const std::vector<ParamSlice>& slices = adamw_->slices();
  for (size_t i = 0; i < slices.size(); ++i) {
    if (!adamw_->master()[i].defined()) continue;
    const ParamSlice& s = slices[i];
    adamw_->master()[i].copy_(s.param.detach().view(-1).narrow(0, s.offset, s.length));
  }
}

}  // namespace spindle::train
