// Rotary position embeddings in the Hugging Face Llama convention
// ("rotate half": the two halves of each head are the rotated pair), at
// *global* token positions, whatever layout put the tokens on this rank.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace spindle::model {

struct RopeTables {
  at::Tensor cos;  // (L, d) fp32
  at::Tensor sin;  // (L, d) fp32
};

// positions: the global position of each local token (padding positions
// included; their rows are masked by the attention anyway).
RopeTables MakeRope(const std::vector<int64_t>& positions, int64_t head_dim, double theta);

// x (b, L, heads, d) -> x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁].
at::Tensor ApplyRope(const at::Tensor& x, const RopeTables& rope);

}  // namespace spindle::model
