#include "worker/train/adamw.h"

#include <torch/torch.h>

#include <cmath>

namespace spindle::train {
namespace {

at::Tensor Slice(const at::Tensor& t, const ParamSlice& s) {
  return t.view(-1).narrow(0, s.offset, s.length);
}

}  // namespace

AdamW::AdamW(std::vector<ParamSlice> slices, AdamWOptions options)
    : slices_(std::move(slices)), options_(options) {
  torch::NoGradGuard no_grad;
  for (const ParamSlice& s : slices_) {
    const at::ScalarType type = StateType(s.param.scalar_type());
    const at::TensorOptions state = s.param.options().dtype(type).requires_grad(false);
    exp_avg_.push_back(at::zeros({s.length}, state));
    exp_avg_sq_.push_back(at::zeros({s.length}, state));
    master_.push_back(type == s.param.scalar_type() ? at::Tensor()
                                                    : Slice(s.param.detach(), s)
                                                          .to(type, /*non_blocking=*/false,
                                                              /*copy=*/true));
  }
}

at::Tensor AdamW::Weights(size_t i) const {
  return master_[i].defined() ? master_[i] : Slice(slices_[i].param.detach(), slices_[i]);
}

void AdamW::Step(double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double bias1 = 1.0 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(options_.beta2, static_cast<double>(steps_));
  for (size_t i = 0; i < slices_.size(); ++i) {
    const ParamSlice& s = slices_[i];
    const at::Tensor whole_grad = s.grad.defined() ? s.grad : s.param.grad();
    if (!whole_grad.defined() || s.length == 0) continue;
    at::Tensor p = Weights(i);
    const at::Tensor g = Slice(whole_grad, s);
    if (s.param.dim() >= 2 && options_.weight_decay != 0) {
      p.mul_(1.0 - lr * options_.weight_decay);
    }
    at::Tensor& m = exp_avg_[i];
    at::Tensor& v = exp_avg_sq_[i];
    m.mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
    v.mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
    at::Tensor denom = (v.sqrt() / std::sqrt(bias2)).add_(options_.eps);
    p.addcdiv_(m, denom, -lr / bias1);
    if (master_[i].defined()) Slice(s.param.detach(), s).copy_(p);
  }
}

}  // namespace spindle::train
