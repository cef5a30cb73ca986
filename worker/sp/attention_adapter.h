// The one place that turns torch tensors into the plain-pointer kernel API
// (kernels/attention.h). Checks each precondition with a sentence, fills the
// kernel structs from the tensors' pointers and element strides, and converts
// a kernel Status into a torch error.
//
// Shapes: q, o, d_o (b, s_q, h, d); k, v (b, s_k, h_kv, d); lse (b, h, s_q).
// Activations q, k, v, o, d_o: bf16 or fp16 on CUDA (builds against a CUDA
// libtorch, attention_adapter_cuda.h); fp32, bf16 or fp16 on CPU, where the
// kernels compute in fp32. lse, gradients and a merge's running o: fp32.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace spindle::kernels {
class ThreadPool;
}

// A Status that must be OK inside a torch op; otherwise a torch error with its
// message (the op's caller turns it back into a Status).
#define TORCH_CHECK_OK_STATUS(expr)                                              \
  do {                                                                           \
    const ::absl::Status spindle_torch_s_ = (expr);                              \
    TORCH_CHECK(spindle_torch_s_.ok(), std::string(spindle_torch_s_.message())); \
  } while (0)

namespace spindle::sp {

// Which (query, key) pairs a block attends over, in global token positions
// (see kernels/attention.h). The vectors must outlive the call.
struct BlockMask {
  bool causal = false;
  const std::vector<int64_t>* q_pos = nullptr;  // (s_q); nullptr: 0..s_q-1
  const std::vector<int64_t>* k_pos = nullptr;  // (s_k); nullptr: 0..s_k-1
  int64_t valid_len = INT64_MAX;                // positions >= valid_len are padding
};

// Writes the block's output and lse into o (b, s_q, h, d) and lse (b, h, s_q).
void BlockForwardInto(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                      const BlockMask& mask, double scale, at::Tensor& o, at::Tensor& lse,
                      kernels::ThreadPool* pool);

// Allocates and returns (o, lse).
std::pair<at::Tensor, at::Tensor> BlockForward(const at::Tensor& q, const at::Tensor& k,
                                               const at::Tensor& v, const BlockMask& mask,
                                               double scale, kernels::ThreadPool* pool);

// Gradients of one block from the *global* o and lse, written or (accumulate)
// added into dq, dk, dv.
void BlockBackwardInto(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                       const at::Tensor& o, const at::Tensor& d_o, const at::Tensor& lse,
                       const BlockMask& mask, double scale, at::Tensor& dq, at::Tensor& dk,
                       at::Tensor& dv, bool accumulate, kernels::ThreadPool* pool);

// Merges (o_blk, lse_blk) into the running (o, lse) in place.
void MergeInto(at::Tensor& o, at::Tensor& lse, const at::Tensor& o_blk, const at::Tensor& lse_blk,
               kernels::ThreadPool* pool);

}  // namespace spindle::sp
