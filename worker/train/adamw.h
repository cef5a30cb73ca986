// AdamW (Loshchilov & Hutter; the update PyTorch's torch.optim.AdamW makes)
// over slices of parameters: each slice is a contiguous run of a parameter's
// flattened elements, so one rank can own part of a tensor (the sharded
// optimizer, sharded_adamw.h). The update is elementwise, so updating a
// tensor slice by slice gives the same values as updating it whole. Weight
// decay applies to matrices only (dim >= 2 of the whole parameter), not to
// norm weights.
//
// Mixed precision: a 16-bit (bf16, fp16) parameter is the compute copy. The
// update runs on an fp32 master of each slice (created from the parameter,
// so both start equal), whose result is rounded into the parameter; the
// moments are fp32 too. fp32 and fp64 parameters are their own masters.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace spindle::train {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
};

// The type of the optimizer state (masters, moments) for parameters of type t.
inline at::ScalarType StateType(at::ScalarType t) {
  return t == at::kBFloat16 || t == at::kHalf ? at::kFloat : t;
}

// Elements [offset, offset + length) of param.view(-1).
struct ParamSlice {
  std::string name;
  at::Tensor param;
  at::Tensor grad;  // StateType, shaped like param; undefined: param.grad() at each step
  int64_t offset = 0;
  int64_t length = 0;
};

class AdamW {
 public:
  AdamW(std::vector<ParamSlice> slices, AdamWOptions options);

  // One update with learning rate lr from each slice's gradient.
  void Step(double lr);

  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }
  const std::vector<ParamSlice>& slices() const { return slices_; }
  // First and second moments, one 1-D tensor of `length` per slice.
  std::vector<at::Tensor>& exp_avg() { return exp_avg_; }
  std::vector<at::Tensor>& exp_avg_sq() { return exp_avg_sq_; }
  // fp32 master weights, one 1-D tensor of `length` per slice of a 16-bit
  // parameter (undefined for the others, which are their own masters).
  std::vector<at::Tensor>& master() { return master_; }
  // The values slice i updates: its master, or a view of the parameter.
  at::Tensor Weights(size_t i) const;

 private:
  std::vector<ParamSlice> slices_;
  AdamWOptions options_;
  int64_t steps_ = 0;
  std::vector<at::Tensor> exp_avg_;
  std::vector<at::Tensor> exp_avg_sq_;
  std::vector<at::Tensor> master_;
};

}  // namespace spindle::train
