// CUDA block attention on tensor cores: the same problem and conventions as
// kernels/attention.h (global-position masks, GQA, masked rows o = 0 and
// lse = -inf, backward from the global o and lse), on device pointers in
// bf16 or fp16 with fp32 accumulation. Head dims 64 and 128.
//
// Inputs q, k, v, o, d_o: element strides that are multiples of 8 and
// 16-byte-aligned pointers (tiles are copied with 16-byte cp.async). lse and
// the gradients are fp32; gradients of ring steps and GQA heads accumulate
// in fp32 without rounding. Positions are device arrays below 2^31.
// Everything is asynchronous on `stream` (a cudaStream_t; nullptr: default).
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "kernels/attention.h"
#include "kernels/cuda/flash_api.h"

namespace spindle::kernels::cuda {

// Masks compare 32-bit positions; 2^31 - 1 marks a row past a block's end.
constexpr int64_t kPositionLimit = (int64_t{1} << 31) - 1;

struct CudaAttentionProblem {
  ElemType type = ElemType::kBFloat16;
  BshdView<const void> q;  // (b, s_q, h, d)
  BshdView<const void> k;  // (b, s_k, h_kv, d)
  BshdView<const void> v;  // (b, s_k, h_kv, d)
  int64_t b = 0, s_q = 0, s_k = 0, h = 0, h_kv = 0, d = 0;
  float scale = 0;  // > 0, usually 1/sqrt(d)
  bool causal = false;
  // Device arrays the kernels cannot check: each entry in [0, kPositionLimit).
  const int64_t* q_pos = nullptr;  // device (s_q); nullptr: 0..s_q-1
  const int64_t* k_pos = nullptr;  // device (s_k); nullptr: 0..s_k-1
  int64_t valid_len = kNoPadding;
};

struct CudaForwardOut {
  BshdView<void> o;    // (b, s_q, h, d), element type of q
  BhsView<float> lse;  // (b, h, s_q)
};

struct CudaBackwardIn {
  BshdView<const void> o;    // global output (b, s_q, h, d)
  BshdView<const void> d_o;  // (b, s_q, h, d)
  BhsView<const float> lse;  // global lse (b, h, s_q)
};

// fp32 gradients; AttentionBackwardOut's accumulate adds instead of writing.
using CudaBackwardOut = AttentionBackwardOut;

// InvalidArgument naming the field for a malformed problem (sizes, h % h_kv,
// unsupported d, null or misaligned pointers, strides, scale); Internal for a
// launch error.
absl::Status AttentionForward(const CudaAttentionProblem& p, const CudaForwardOut& out,
                              void* stream);

// Device scratch for AttentionBackward, in bytes.
int64_t BackwardWorkspaceBytes(const CudaAttentionProblem& p);
// workspace: BackwardWorkspaceBytes(p) bytes of device memory, 16-byte
// aligned, not touched by anyone else until the kernels ran.
absl::Status AttentionBackward(const CudaAttentionProblem& p, const CudaBackwardIn& in,
                               const CudaBackwardOut& out, void* workspace, void* stream);

}  // namespace spindle::kernels::cuda
