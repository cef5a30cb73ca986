#include "worker/train/adamw.h"

#include <torch/torch.h>

#include <cmath>

namespace spindle::train {

AdamW::AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options)
    : params_(std::move(params)), options_(options) {
  for (const auto& [name, p] : params_) {
    exp_avg_[name] = at::zeros_like(p);
    exp_avg_sq_[name] = at::zeros_like(p);
  }
}

void AdamW::Step(double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double bias1 = 1.0 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(options_.beta2, static_cast<double>(steps_));
  for (auto& [name, p] : params_) {
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (p.dim() >= 2 && options_.weight_decay != 0) p.mul_(1.0 - lr * options_.weight_decay);
    at::Tensor& m = exp_avg_[name];
    at::Tensor& v = exp_avg_sq_[name];
    m.mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
    v.mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
    at::Tensor denom = (v.sqrt() / std::sqrt(bias2)).add_(options_.eps);
    p.addcdiv_(m, denom, -lr / bias1);
  }
}

}  // namespace spindle::train
