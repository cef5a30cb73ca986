#include "worker/model/rope.h"

#include <torch/torch.h>

namespace spindle::model {

RopeTables MakeRope(const std::vector<int64_t>& positions, int64_t head_dim, double theta) {
  // Angles in float64 so large positions (long contexts) keep their precision.
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  at::Tensor inv_freq = 1.0 / at::pow(theta, at::arange(0, head_dim, 2, f64) / head_dim);
  at::Tensor pos = at::tensor(positions, at::kLong).to(at::kDouble);
  at::Tensor freqs = at::outer(pos, inv_freq);   // (L, d/2)
  at::Tensor emb = at::cat({freqs, freqs}, -1);  // (L, d)
  return {emb.cos().to(at::kFloat), emb.sin().to(at::kFloat)};
}

at::Tensor ApplyRope(const at::Tensor& x, const RopeTables& rope) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  // (L, d) broadcast over (b, L, heads, d), in x's type (bf16 runs round the
  // fp32 tables, as Hugging Face's Llama does).
  at::Tensor cos = rope.cos.to(x.scalar_type()).unsqueeze(1);
  at::Tensor sin = rope.sin.to(x.scalar_type()).unsqueeze(1);
  return x * cos + rotated * sin;
}

}  // namespace spindle::model
