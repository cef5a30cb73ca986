#include "worker/sp/attention_adapter_cuda.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "kernels/cuda/attention_cuda.h"
#include "kernels/cuda/layout_copy.h"
#include "kernels/cuda/merge.h"
#include "worker/sp/block_views.h"

namespace spindle::sp::cuda {
namespace {

namespace kc = kernels::cuda;

void CheckOnDevice(const at::Tensor& t, const at::Tensor& q, const char* name) {
  TORCH_CHECK(t.defined(), name, " is undefined");
  TORCH_CHECK(t.device() == q.device(), name, " is on ", t.device(), " but q is on ", q.device());
}

void CheckBshd(const at::Tensor& t, const at::Tensor& q, const char* name, at::ScalarType want) {
  CheckOnDevice(t, q, name);
  TORCH_CHECK(t.scalar_type() == want, name, " must be ", want, ", got ", t.scalar_type());
  TORCH_CHECK(t.dim() == 4 && t.stride(3) == 1, name,
              " must be (b, s, h, d) with d contiguous, got ", t.sizes(), " strides ", t.strides());
}

void CheckLse(const at::Tensor& t, const at::Tensor& q, const char* name) {
  CheckOnDevice(t, q, name);
  TORCH_CHECK(t.scalar_type() == at::kFloat && t.dim() == 3 && t.stride(2) == 1, name,
              " must be float32 (b, h, s) with s contiguous, got ", t.scalar_type(), " ",
              t.sizes());
}

kc::ElemType ElemTypeOf(const at::Tensor& q) {
  TORCH_CHECK(q.scalar_type() == at::kBFloat16 || q.scalar_type() == at::kHalf,
              "CUDA attention takes bfloat16 or float16 q, k, v; got ", q.scalar_type());
  return q.scalar_type() == at::kBFloat16 ? kc::ElemType::kBFloat16 : kc::ElemType::kFloat16;
}

// A block's positions on the device. The host vector is copied through
// pinned memory without blocking, ordered on the current stream before the
// kernel that reads it.
at::Tensor DevicePositions(const std::vector<int64_t>* pos, const at::Tensor& q) {
  if (pos == nullptr) return at::Tensor();
  for (const int64_t p : *pos) {
    TORCH_CHECK(p >= 0 && p < kc::kPositionLimit, "CUDA attention takes token positions in [0, ",
                kc::kPositionLimit, "), got ", p);
  }
  at::Tensor host = at::empty({static_cast<int64_t>(pos->size())},
                              at::TensorOptions().dtype(at::kLong).pinned_memory(true));
  std::copy(pos->begin(), pos->end(), host.data_ptr<int64_t>());
  return host.to(q.device(), at::kLong, /*non_blocking=*/true);
}

struct Problem {
  kc::CudaAttentionProblem p;
  at::Tensor q_pos, k_pos;  // keep the device positions alive for the launch
};

Problem MakeProblem(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                    const BlockMask& mask, double scale) {
  Problem out;
  kc::CudaAttentionProblem& p = out.p;
  p.type = ElemTypeOf(q);
  CheckBshd(q, q, "q", q.scalar_type());
  CheckBshd(k, q, "k", q.scalar_type());
  CheckBshd(v, q, "v", q.scalar_type());
  CheckBlockShapes(q, k, v, mask);
  p.q = Bshd<const void>(q);
  p.k = Bshd<const void>(k);
  p.v = Bshd<const void>(v);
  FillBlockShape(q, k, mask, scale, p);
  out.q_pos = DevicePositions(mask.q_pos, q);
  out.k_pos = DevicePositions(mask.k_pos, q);
  p.q_pos = out.q_pos.defined() ? out.q_pos.data_ptr<int64_t>() : nullptr;
  p.k_pos = out.k_pos.defined() ? out.k_pos.data_ptr<int64_t>() : nullptr;
  return out;
}

void* CurrentStream(const at::Tensor& q) {
  return c10::cuda::getCurrentCUDAStream(q.device().index()).stream();
}

}  // namespace

void BlockForwardInto(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                      const BlockMask& mask, double scale, at::Tensor& o, at::Tensor& lse) {
  const c10::cuda::CUDAGuard guard(q.device());
  const Problem pr = MakeProblem(q, k, v, mask, scale);
  CheckBshd(o, q, "o", q.scalar_type());
  CheckLse(lse, q, "lse");
  TORCH_CHECK(o.sizes() == q.sizes(), "o must be shaped like q ", q.sizes(), ", got ", o.sizes());
  TORCH_CHECK(lse.size(0) == pr.p.b && lse.size(1) == pr.p.h && lse.size(2) == pr.p.s_q,
              "lse must be (b, h, s_q), got ", lse.sizes());
  TORCH_CHECK_OK_STATUS(
      kc::AttentionForward(pr.p, {Bshd<void>(o), Bhs<float>(lse)}, CurrentStream(q)));
}

void BlockBackwardInto(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                       const at::Tensor& o, const at::Tensor& d_o, const at::Tensor& lse,
                       const BlockMask& mask, double scale, at::Tensor& dq, at::Tensor& dk,
                       at::Tensor& dv, bool accumulate) {
  const c10::cuda::CUDAGuard guard(q.device());
  const Problem pr = MakeProblem(q, k, v, mask, scale);
  CheckBshd(o, q, "o", q.scalar_type());
  CheckBshd(d_o, q, "d_o", q.scalar_type());
  CheckLse(lse, q, "lse");
  CheckBshd(dq, q, "dq", at::kFloat);
  CheckBshd(dk, q, "dk", at::kFloat);
  CheckBshd(dv, q, "dv", at::kFloat);
  TORCH_CHECK(o.sizes() == q.sizes() && d_o.sizes() == q.sizes() && dq.sizes() == q.sizes(),
              "o, d_o and dq must be shaped like q ", q.sizes());
  TORCH_CHECK(dk.sizes() == k.sizes() && dv.sizes() == k.sizes(),
              "dk and dv must be shaped like k ", k.sizes());
  const int64_t ws_bytes = kc::BackwardWorkspaceBytes(pr.p);
  // The caching allocator's blocks are 512-byte aligned.
  at::Tensor workspace = at::empty({std::max<int64_t>(ws_bytes, 16)}, q.options().dtype(at::kByte));
  kc::CudaBackwardIn in{Bshd<const void>(o), Bshd<const void>(d_o), Bhs<const float>(lse)};
  kc::CudaBackwardOut out{Bshd<float>(dq), Bshd<float>(dk), Bshd<float>(dv), accumulate};
  TORCH_CHECK_OK_STATUS(
      kc::AttentionBackward(pr.p, in, out, workspace.data_ptr(), CurrentStream(q)));
}

void MergeInto(at::Tensor& o, at::Tensor& lse, const at::Tensor& o_blk, const at::Tensor& lse_blk) {
  const c10::cuda::CUDAGuard guard(o.device());
  CheckBshd(o, o, "o", at::kFloat);
  CheckLse(lse, o, "lse");
  CheckLse(lse_blk, o, "lse_blk");
  CheckOnDevice(o_blk, o, "o_blk");
  const at::Tensor blk = o_blk.to(at::kFloat);
  CheckBshd(blk, o, "o_blk", at::kFloat);
  TORCH_CHECK(o.sizes() == blk.sizes() && lse.sizes() == lse_blk.sizes(),
              "merged results must have equal shapes");
  TORCH_CHECK_OK_STATUS(kc::MergeAttention(MergeProblemOf(o, lse, blk, lse_blk), CurrentStream(o)));
}

void Copy3d(const kernels::Copy3dArgs& args, const at::Tensor& on) {
  const c10::cuda::CUDAGuard guard(on.device());
  TORCH_CHECK_OK_STATUS(kc::Copy3d(args, CurrentStream(on)));
}

}  // namespace spindle::sp::cuda
