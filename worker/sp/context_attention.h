// The interface of the stage that runs attention across the ranks of a ring
// group once every rank holds its ring sequence (after any Ulysses exchange):
// the pass-KV ring (ring.h) or LightSeq's balanced causal schedule
// (lightseq.h). Both take and return this rank's tensors only.
#pragma once

#include <ATen/core/Tensor.h>

#include <tuple>
#include <utility>

namespace spindle::sp {

class ContextAttention {
 public:
  virtual ~ContextAttention() = default;

  // q (b, n, h, d), k, v (b, n, h_kv, d) -> o (b, n, h, d), lse (b, h, n) fp32.
  virtual std::pair<at::Tensor, at::Tensor> Forward(const at::Tensor& q, const at::Tensor& k,
                                                    const at::Tensor& v) const = 0;
  // Gradients of this rank's q, k, v from the global o, lse and d_o.
  virtual std::tuple<at::Tensor, at::Tensor, at::Tensor> Backward(
      const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& o,
      const at::Tensor& lse, const at::Tensor& d_o) const = 0;
};

}  // namespace spindle::sp
