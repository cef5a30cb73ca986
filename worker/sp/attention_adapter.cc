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
  TORCH_CHECK(t.scalar_type() == at::kFloat, name, " must be float32, got ", t.scalar_type());
  TORCH_CHECK(t.dim() == 4, name, " must be (b, s, h, d), got ", t.sizes());
  TORCH_CHECK(t.stride(3) == 1, name, " must have a contiguous head dimension, strides ",
              t.strides());
}

void CheckLse(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.defined() && t.device().is_cpu() && t.scalar_type() == at::kFloat, name,
              " must be a float32 CPU tensor");
  TORCH_CHECK(t.dim() == 3 && t.stride(2) == 1, name, " must be (b, h, s) with s contiguous, got ",
              t.sizes(), " strides ", t.strides());
}

kernels::AttentionProblem Problem(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const BlockMask& mask, double scale) {
  CheckBshd(q, "q");
  CheckBshd(k, "k");
  CheckBshd(v, "v");
  CheckBlockShapes(q, k, v, mask);
  kernels::AttentionProblem p;
  p.q = Bshd<const float>(q);
  p.k = Bshd<const float>(k);
  p.v = Bshd<const float>(v);
  p.b = q.size(0);
  p.s_q = q.size(1);
  p.s_k = k.size(1);
  p.h = q.size(2);
  p.h_kv = k.size(2);
  p.d = q.size(3);
  p.scale = static_cast<float>(scale);
  p.causal = mask.causal;
  p.q_pos = mask.q_pos ? mask.q_pos->data() : nullptr;
  p.k_pos = mask.k_pos ? mask.k_pos->data() : nullptr;
  p.valid_len = mask.valid_len;
  return p;
}

}  // namespace

void BlockForwardInto(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                      const BlockMask& mask, double scale, at::Tensor& o, at::Tensor& lse,
                      kernels::ThreadPool* pool) {
#if SPINDLE_TORCH_CUDA
  if (q.is_cuda()) return cuda::BlockForwardInto(q, k, v, mask, scale, o, lse);
#endif
  const kernels::AttentionProblem p = Problem(q, k, v, mask, scale);
  CheckBshd(o, "o");
  CheckLse(lse, "lse");
  TORCH_CHECK(o.sizes() == q.sizes(), "o must be shaped like q ", q.sizes(), ", got ", o.sizes());
  TORCH_CHECK(lse.size(0) == p.b && lse.size(1) == p.h && lse.size(2) == p.s_q,
              "lse must be (b, h, s_q), got ", lse.sizes());
  TORCH_CHECK_OK_STATUS(kernels::AttentionForward(p, {Bshd<float>(o), Bhs<float>(lse)}, pool));
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
  const kernels::AttentionProblem p = Problem(q, k, v, mask, scale);
  CheckBshd(o, "o");
  CheckBshd(d_o, "d_o");
  CheckLse(lse, "lse");
  CheckBshd(dq, "dq");
  CheckBshd(dk, "dk");
  CheckBshd(dv, "dv");
  TORCH_CHECK(o.sizes() == q.sizes() && d_o.sizes() == q.sizes() && dq.sizes() == q.sizes(),
              "o, d_o and dq must be shaped like q ", q.sizes());
  TORCH_CHECK(dk.sizes() == k.sizes() && dv.sizes() == k.sizes(),
              "dk and dv must be shaped like k ", k.sizes());
  kernels::AttentionBackwardIn in{Bshd<const float>(o), Bshd<const float>(d_o),
                                  Bhs<const float>(lse)};
  kernels::AttentionBackwardOut out{Bshd<float>(dq), Bshd<float>(dk), Bshd<float>(dv), accumulate};
  TORCH_CHECK_OK_STATUS(kernels::AttentionBackward(p, in, out, pool));
}

void MergeInto(at::Tensor& o, at::Tensor& lse, const at::Tensor& o_blk, const at::Tensor& lse_blk,
               kernels::ThreadPool* pool) {
#if SPINDLE_TORCH_CUDA
  if (o.is_cuda()) return cuda::MergeInto(o, lse, o_blk, lse_blk);
#endif
  CheckBshd(o, "o");
  CheckBshd(o_blk, "o_blk");
  CheckLse(lse, "lse");
  CheckLse(lse_blk, "lse_blk");
  TORCH_CHECK(o.sizes() == o_blk.sizes() && lse.sizes() == lse_blk.sizes(),
              "merged results must have equal shapes");
  kernels::MergeProblem m;
  m.o = Bshd<float>(o);
  m.lse = Bhs<float>(lse);
  m.o_blk = Bshd<const float>(o_blk);
  m.lse_blk = Bhs<const float>(lse_blk);
  m.b = o.size(0);
  m.s = o.size(1);
  m.h = o.size(2);
  m.d = o.size(3);
  TORCH_CHECK_OK_STATUS(kernels::MergeAttention(m, pool));
}

}  // namespace spindle::sp
