#include "worker/sp/attention_adapter.h"

#include <torch/torch.h>

#include "kernels/attention.h"
#include "worker/sp/block_views.h"
#if SPINDLE_TORCH_CUDA
#include "worker/sp/attention_adapter_cuda.h"
#endif

namespace spindle::sp {
namespace {

void CheckBshd(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.defined(), name, " is undefined");
  TORCH_CHECK(t.device().is_cpu(), name, " is on ", t.device(),
              " but this build's attention runs on CPU tensors only (build against a CUDA "
              "libtorch with nvcc present for the CUDA kernels; see docs/gpu.md)");
  const at::ScalarType type = t.scalar_type();
  TORCH_CHECK(type == at::kFloat || type == at::kBFloat16 || type == at::kHalf, name,
              " must be float32, bfloat16 or float16, got ", type);
  TORCH_CHECK(t.dim() == 4, name, " must be (b, s, h, d), got ", t.sizes());
  TORCH_CHECK(t.stride(3) == 1, name, " must have a contiguous head dimension, strides ",
              t.strides());
}

// Gradients, lse and merge accumulators are fp32 whatever the activations'
// type (the same contract as the CUDA kernels').
void CheckFloat32(const at::Tensor& t, const char* name) {
  CheckBshd(t, name);
  TORCH_CHECK(t.scalar_type() == at::kFloat, name, " must be float32, got ", t.scalar_type());
}

// The CPU kernels compute in fp32: 16-bit activations (bf16 training on CPU)
// are widened on the way in, and 16-bit outputs are written back rounded.
at::Tensor Widen(const at::Tensor& t, const char* name) {
  CheckBshd(t, name);
  return t.scalar_type() == at::kFloat ? t : t.to(at::kFloat);
}

// An fp32 tensor to compute `out` in: out itself, or a scratch copy whose
// values WriteBack rounds into it.
at::Tensor Float32Target(const at::Tensor& out, const char* name) {
  CheckBshd(out, name);
  return out.scalar_type() == at::kFloat ? out : out.to(at::kFloat);
}

void WriteBack(at::Tensor& out, const at::Tensor& computed) {
  if (!computed.is_same(out)) out.copy_(computed);
}

void CheckLse(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.defined() && t.device().is_cpu() && t.scalar_type() == at::kFloat, name,
              " must be a float32 CPU tensor");
  TORCH_CHECK(t.dim() == 3 && t.stride(2) == 1, name, " must be (b, h, s) with s contiguous, got ",
              t.sizes(), " strides ", t.strides());
}

// q, k, v: fp32 (Widen'ed by the caller, who keeps them alive).
kernels::AttentionProblem Problem(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const BlockMask& mask, double scale) {
  CheckBlockShapes(q, k, v, mask);
  kernels::AttentionProblem p;
  p.q = Bshd<const float>(q);
  p.k = Bshd<const float>(k);
  p.v = Bshd<const float>(v);
  FillBlockShape(q, k, mask, scale, p);
  p.q_pos = mask.q_pos ? mask.q_pos->data() : nullptr;
  p.k_pos = mask.k_pos ? mask.k_pos->data() : nullptr;
  return p;
}

}  // namespace

void BlockForwardInto(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                      const BlockMask& mask, double scale, at::Tensor& o, at::Tensor& lse,
                      kernels::ThreadPool* pool) {
#if SPINDLE_TORCH_CUDA
  if (q.is_cuda()) return cuda::BlockForwardInto(q, k, v, mask, scale, o, lse);
#endif
  const at::Tensor q32 = Widen(q, "q"), k32 = Widen(k, "k"), v32 = Widen(v, "v");
  const kernels::AttentionProblem p = Problem(q32, k32, v32, mask, scale);
  at::Tensor o32 = Float32Target(o, "o");
  CheckLse(lse, "lse");
  TORCH_CHECK(o.sizes() == q.sizes(), "o must be shaped like q ", q.sizes(), ", got ", o.sizes());
  TORCH_CHECK(lse.size(0) == p.b && lse.size(1) == p.h && lse.size(2) == p.s_q,
              "lse must be (b, h, s_q), got ", lse.sizes());
  TORCH_CHECK_OK_STATUS(kernels::AttentionForward(p, {Bshd<float>(o32), Bhs<float>(lse)}, pool));
  WriteBack(o, o32);
}

std::pair<at::Tensor, at::Tensor> BlockForward(const at::Tensor& q, const at::Tensor& k,
                                               const at::Tensor& v, const BlockMask& mask,
                                               double scale, kernels::ThreadPool* pool) {
  at::Tensor o = at::empty(q.sizes(), q.options());
  at::Tensor lse = at::empty({q.size(0), q.size(2), q.size(1)}, q.options().dtype(at::kFloat));
  BlockForwardInto(q, k, v, mask, scale, o, lse, pool);
  return {o, lse};
}

void BlockBackwardInto(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                       const at::Tensor& o, const at::Tensor& d_o, const at::Tensor& lse,
                       const BlockMask& mask, double scale, at::Tensor& dq, at::Tensor& dk,
                       at::Tensor& dv, bool accumulate, kernels::ThreadPool* pool) {
#if SPINDLE_TORCH_CUDA
  if (q.is_cuda()) {
    return cuda::BlockBackwardInto(q, k, v, o, d_o, lse, mask, scale, dq, dk, dv, accumulate);
  }
#endif
  const at::Tensor q32 = Widen(q, "q"), k32 = Widen(k, "k"), v32 = Widen(v, "v");
  const at::Tensor o32 = Widen(o, "o"), d_o32 = Widen(d_o, "d_o");
  const kernels::AttentionProblem p = Problem(q32, k32, v32, mask, scale);
  CheckLse(lse, "lse");
  CheckFloat32(dq, "dq");
  CheckFloat32(dk, "dk");
  CheckFloat32(dv, "dv");
  TORCH_CHECK(o.sizes() == q.sizes() && d_o.sizes() == q.sizes() && dq.sizes() == q.sizes(),
              "o, d_o and dq must be shaped like q ", q.sizes());
  TORCH_CHECK(dk.sizes() == k.sizes() && dv.sizes() == k.sizes(),
              "dk and dv must be shaped like k ", k.sizes());
  kernels::AttentionBackwardIn in{Bshd<const float>(o32), Bshd<const float>(d_o32),
                                  Bhs<const float>(lse)};
  kernels::AttentionBackwardOut out{Bshd<float>(dq), Bshd<float>(dk), Bshd<float>(dv), accumulate};
  TORCH_CHECK_OK_STATUS(kernels::AttentionBackward(p, in, out, pool));
}

void MergeInto(at::Tensor& o, at::Tensor& lse, const at::Tensor& o_blk, const at::Tensor& lse_blk,
               kernels::ThreadPool* pool) {
#if SPINDLE_TORCH_CUDA
  if (o.is_cuda()) return cuda::MergeInto(o, lse, o_blk, lse_blk);
#endif
  at::Tensor o32 = Float32Target(o, "o");
  const at::Tensor o_blk32 = Widen(o_blk, "o_blk");
  CheckLse(lse, "lse");
  CheckLse(lse_blk, "lse_blk");
  TORCH_CHECK(o.sizes() == o_blk.sizes() && lse.sizes() == lse_blk.sizes(),
              "merged results must have equal shapes");
  TORCH_CHECK_OK_STATUS(kernels::MergeAttention(MergeProblemOf(o32, lse, o_blk32, lse_blk), pool));
  WriteBack(o, o32);
}

}  // namespace spindle::sp
