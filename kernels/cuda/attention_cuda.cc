#include "kernels/cuda/attention_cuda.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "kernels/cuda/launch_status.h"
#include "kernels/view_checks.h"

namespace spindle::kernels::cuda {
namespace {

constexpr int64_t kMaxTokens = int64_t{1} << 31;

absl::Status Invalid(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("cuda attention: ", what));
}

bool Aligned(const void* p, int64_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(bytes) == 0;
}

// A (b, s, h, d) view of 2-byte elements the kernels read with cp.async.
template <typename View>
absl::Status CheckTileView(const View& v, const char* name) {
  if (v.data == nullptr) return Invalid(absl::StrCat(name, " is null"));
  if (!Aligned(v.data, 16)) {
    return Invalid(absl::StrCat(name, " must be 16-byte aligned (pass a contiguous tensor)"));
  }
  if (v.batch_stride < 0 || v.row_stride < 0 || v.head_stride < 0 || v.batch_stride % 8 != 0 ||
      v.row_stride % 8 != 0 || v.head_stride % 8 != 0) {
    return Invalid(absl::StrCat(name, " strides must be non-negative multiples of 8 elements, got ",
                                v.batch_stride, "/", v.row_stride, "/", v.head_stride));
  }
  return absl::OkStatus();
}

// The kernels write every output element from exactly one thread (dq by
// atomics): views whose elements overlap would race.
absl::Status CheckNoOverlap(absl::Status s) {
  return s.ok() ? s : Invalid(std::string(s.message()));
}

// An fp32 gradient (b, s, h, d): stored as float2, so 8-byte aligned with even
// strides, and its elements must not overlap.
absl::Status CheckGradView(const BshdView<float>& v, const char* name, int64_t b, int64_t s,
                           int64_t h, int64_t d) {
  if (v.data == nullptr) return Invalid(absl::StrCat(name, " is null"));
  if (!Aligned(v.data, 8) || v.batch_stride % 2 != 0 || v.row_stride % 2 != 0 ||
      v.head_stride % 2 != 0) {
    return Invalid(absl::StrCat(name, " must be 8-byte aligned with even strides"));
  }
  return CheckNoOverlap(CheckBshdView(name, v, b, s, h, d, /*output=*/true));
}

absl::Status CheckProblem(const CudaAttentionProblem& p) {
  if (p.b < 1 || p.h < 1 || p.h_kv < 1 || p.s_q < 0 || p.s_k < 0) {
    return Invalid(absl::StrCat("need b, h, h_kv >= 1 and s_q, s_k >= 0; got b=", p.b, " h=", p.h,
                                " h_kv=", p.h_kv, " s_q=", p.s_q, " s_k=", p.s_k));
  }
  if (p.h % p.h_kv != 0) {
    return Invalid(absl::StrCat("h_kv=", p.h_kv, " must divide h=", p.h));
  }
  if (!SupportedHeadDim(p.d)) {
    return Invalid(absl::StrCat("head dim d=", p.d, " has no CUDA kernel (64 or 128)"));
  }
  if (p.s_q >= kMaxTokens || p.s_k >= kMaxTokens) {
    return Invalid("s_q and s_k must be below 2^31");
  }
  if (!(std::isfinite(p.scale) && p.scale > 0)) {
    return Invalid(absl::StrCat("scale must be finite and > 0, got ", p.scale));
  }
  if (p.valid_len < 0) return Invalid("valid_len must be >= 0");
  if (p.b > 65535 || p.h > 65535) return Invalid("b and h must be at most 65535 (grid limits)");
  if (auto s = CheckTileView(p.q, "q"); !s.ok()) return s;
  if (auto s = CheckTileView(p.k, "k"); !s.ok()) return s;
  return CheckTileView(p.v, "v");
}

FlashShape ShapeOf(const CudaAttentionProblem& p) {
  FlashShape s;
  s.b = p.b;
  s.s_q = p.s_q;
  s.s_k = p.s_k;
  s.h = p.h;
  s.h_kv = p.h_kv;
  s.d = p.d;
  s.scale = p.scale;
  s.causal = p.causal;
  s.q_pos = p.q_pos;
  s.k_pos = p.k_pos;
  s.valid_len = p.valid_len;
  return s;
}

template <typename View>
Strides3 StridesOf(const View& v) {
  return {v.batch_stride, v.row_stride, v.head_stride};
}

void FillInputs(const CudaAttentionProblem& p, FlashInputs& a) {
  a.shape = ShapeOf(p);
  a.type = p.type;
  a.q = p.q.data;
  a.q_str = StridesOf(p.q);
  a.k = p.k.data;
  a.k_str = StridesOf(p.k);
  a.v = p.v.data;
  a.v_str = StridesOf(p.v);
}

}  // namespace

absl::Status AttentionForward(const CudaAttentionProblem& p, const CudaForwardOut& out,
                              void* stream) {
  if (auto s = CheckProblem(p); !s.ok()) return s;
  if (out.o.data == nullptr || out.lse.data == nullptr)
    return Invalid("o and lse must be non-null");
  if (!Aligned(out.o.data, 4) || out.o.row_stride % 2 != 0 || out.o.batch_stride % 2 != 0 ||
      out.o.head_stride % 2 != 0) {
    return Invalid("o must be 4-byte aligned with even strides");
  }
  if (auto s = CheckNoOverlap(CheckBshdView("o", out.o, p.b, p.s_q, p.h, p.d, true)); !s.ok())
    return s;
  if (auto s = CheckNoOverlap(CheckBhsView("lse", out.lse, p.b, p.h, p.s_q, true)); !s.ok())
    return s;
  FlashForwardArgs a;
  FillInputs(p, a);
  a.o = out.o.data;
  a.o_str = StridesOf(out.o);
  a.lse = out.lse.data;
  a.lse_batch_stride = out.lse.batch_stride;
  a.lse_head_stride = out.lse.head_stride;
  return LaunchStatus(LaunchFlashForward(a, stream), "attention forward");
}

int64_t BackwardWorkspaceBytes(const CudaAttentionProblem& p) {
  return cuda::BackwardWorkspaceBytes(ShapeOf(p));
}

absl::Status AttentionBackward(const CudaAttentionProblem& p, const CudaBackwardIn& in,
                               const CudaBackwardOut& out, void* workspace, void* stream) {
  if (auto s = CheckProblem(p); !s.ok()) return s;
  if (auto s = CheckTileView(in.d_o, "d_o"); !s.ok()) return s;
  if (in.o.data == nullptr || !Aligned(in.o.data, 4) || in.o.row_stride % 2 != 0 ||
      in.o.batch_stride % 2 != 0 || in.o.head_stride % 2 != 0) {
    return Invalid("o must be non-null, 4-byte aligned, with even strides");
  }
  if (in.lse.data == nullptr) return Invalid("lse is null");
  if (auto s = CheckGradView(out.dq, "dq", p.b, p.s_q, p.h, p.d); !s.ok()) return s;
  if (auto s = CheckGradView(out.dk, "dk", p.b, p.s_k, p.h_kv, p.d); !s.ok()) return s;
  if (auto s = CheckGradView(out.dv, "dv", p.b, p.s_k, p.h_kv, p.d); !s.ok()) return s;
  if (BackwardWorkspaceBytes(p) > 0 && (workspace == nullptr || !Aligned(workspace, 16))) {
    return Invalid("workspace must be non-null and 16-byte aligned (BackwardWorkspaceBytes)");
  }
  FlashBackwardArgs a;
  FillInputs(p, a);
  a.o = in.o.data;
  a.o_str = StridesOf(in.o);
  a.d_o = in.d_o.data;
  a.d_o_str = StridesOf(in.d_o);
  a.lse = in.lse.data;
  a.lse_batch_stride = in.lse.batch_stride;
  a.lse_head_stride = in.lse.head_stride;
  a.dq = out.dq.data;
  a.dq_str = StridesOf(out.dq);
  a.dk = out.dk.data;
  a.dk_str = StridesOf(out.dk);
  a.dv = out.dv.data;
  a.dv_str = StridesOf(out.dv);
  a.accumulate = out.accumulate;
  a.workspace = static_cast<float*>(workspace);
  return LaunchStatus(LaunchFlashBackward(a, stream), "attention backward");
}

}  // namespace spindle::kernels::cuda
