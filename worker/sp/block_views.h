// What the CPU and CUDA halves of the torch adapter share: torch tensors as
// the kernels' strided views (kernels/attention.h), and the shape checks of
// a block that do not depend on the device.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include "kernels/attention.h"
#include "worker/sp/attention_adapter.h"

namespace spindle::sp {

template <typename T>
kernels::BshdView<T> Bshd(const at::Tensor& t) {
  return {static_cast<T*>(t.data_ptr()), t.stride(0), t.stride(1), t.stride(2)};
}

template <typename T>
kernels::BhsView<T> Bhs(const at::Tensor& t) {
  return {static_cast<T*>(t.data_ptr()), t.stride(0), t.stride(1)};
}

// k, v against q and the mask's positions against the token counts (each
// tensor's own dtype, device and layout are checked by the caller).
inline void CheckBlockShapes(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const BlockMask& mask) {
  TORCH_CHECK(k.sizes() == v.sizes(), "k and v must have equal shapes, got ", k.sizes(), " and ",
              v.sizes());
  TORCH_CHECK(q.size(0) == k.size(0) && q.size(3) == k.size(3),
              "q and k must agree on batch and head dim, got ", q.sizes(), " and ", k.sizes());
  TORCH_CHECK(mask.q_pos == nullptr || static_cast<int64_t>(mask.q_pos->size()) == q.size(1),
              "q positions cover ", mask.q_pos ? mask.q_pos->size() : 0, " tokens but q has ",
              q.size(1));
  TORCH_CHECK(mask.k_pos == nullptr || static_cast<int64_t>(mask.k_pos->size()) == k.size(1),
              "k positions cover ", mask.k_pos ? mask.k_pos->size() : 0, " tokens but k has ",
              k.size(1));
}

// The fields every attention problem struct (kernels::AttentionProblem, the
// CUDA one) shares, from the block's tensors: sizes, scale, causality and the
// padding bound. Positions and data pointers stay with the caller (their
// memory differs by device).
template <typename Problem>
void FillBlockShape(const at::Tensor& q, const at::Tensor& k, const BlockMask& mask, double scale,
                    Problem& p) {
  p.b = q.size(0);
  p.s_q = q.size(1);
  p.s_k = k.size(1);
  p.h = q.size(2);
  p.h_kv = k.size(2);
  p.d = q.size(3);
  p.scale = static_cast<float>(scale);
  p.causal = mask.causal;
  p.valid_len = mask.valid_len;
}

// The merge kernels' arguments from fp32 tensors whose shapes the caller
// checked: o, o_blk (b, s, h, d); lse, lse_blk (b, h, s).
inline kernels::MergeProblem MergeProblemOf(const at::Tensor& o, const at::Tensor& lse,
                                            const at::Tensor& o_blk, const at::Tensor& lse_blk) {
  kernels::MergeProblem m;
  m.o = Bshd<float>(o);
  m.lse = Bhs<float>(lse);
  m.o_blk = Bshd<const float>(o_blk);
  m.lse_blk = Bhs<const float>(lse_blk);
  m.b = o.size(0);
  m.s = o.size(1);
  m.h = o.size(2);
  m.d = o.size(3);
  return m;
}

}  // namespace spindle::sp
