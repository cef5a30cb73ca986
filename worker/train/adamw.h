// AdamW (Loshchilov & Hutter; the update PyTorch's torch.optim.AdamW makes),
// with its state addressable by parameter name so checkpoints are independent
// of how ranks are laid out. Weight decay applies to matrices only (dim >= 2),
// not to norm weights.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace spindle::train {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
};

class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options);

  // One update with learning rate lr from the parameters' .grad().
  void Step(double lr);

  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }
  // First and second moments by parameter name, (same shape as the parameter).
  std::map<std::string, at::Tensor>& exp_avg() { return exp_avg_; }
  std::map<std::string, at::Tensor>& exp_avg_sq() { return exp_avg_sq_; }

 private:
  std::vector<std::pair<std::string, at::Tensor>> params_;
  AdamWOptions options_;
  int64_t steps_ = 0;
  std::map<std::string, at::Tensor> exp_avg_;
  std::map<std::string, at::Tensor> exp_avg_sq_;
};

}  // namespace spindle::train
