// The launch boundary of the CUDA attention kernels: plain structs and
// functions only (no abseil, no torch), so the .cu files compile with nothing
// but the CUDA headers. Validation lives on the host side (attention_cuda.cc).
//
// Same conventions as kernels/attention.h: q, o, d_o (b, s_q, h, d) and k, v
// (b, s_k, h_kv, d) with d contiguous; lse and the backward's row statistic
// (b, h, s_q) fp32; masks in global token positions; masked rows o = 0,
// lse = -inf. Strides are in elements.
#pragma once

#include <cstdint>

namespace spindle::kernels::cuda {

enum class ElemType : int { kBFloat16 = 0, kFloat16 = 1 };

struct Strides3 {
  int64_t batch = 0, row = 0, head = 0;
};

struct FlashShape {
  int64_t b = 0, s_q = 0, s_k = 0, h = 0, h_kv = 0, d = 0;
  float scale = 0;  // multiplies q·k
  bool causal = false;
  const int64_t* q_pos = nullptr;  // device (s_q); nullptr: 0..s_q-1
  const int64_t* k_pos = nullptr;  // device (s_k); nullptr: 0..s_k-1
  int64_t valid_len = INT64_MAX;
};

// What forward and backward both read.
struct FlashInputs {
  FlashShape shape;
  ElemType type = ElemType::kBFloat16;
  const void* q;
  Strides3 q_str;
  const void* k;
  Strides3 k_str;
  const void* v;
  Strides3 v_str;
};

struct FlashForwardArgs : FlashInputs {
  void* o;  // same element type as q
  Strides3 o_str;
  float* lse;  // (b, h, s_q)
  int64_t lse_batch_stride = 0, lse_head_stride = 0;
};

// Gradients are fp32 so that ring steps and GQA heads accumulate without
// rounding; accumulate = false overwrites them.
struct FlashBackwardArgs : FlashInputs {
  const void* o;  // global output, element type of q
  Strides3 o_str;
  const void* d_o;
  Strides3 d_o_str;
  const float* lse;  // global lse (b, h, s_q)
  int64_t lse_batch_stride = 0, lse_head_stride = 0;
  float* dq;
  Strides3 dq_str;
  float* dk;
  Strides3 dk_str;
  float* dv;
  Strides3 dv_str;
  bool accumulate = false;
  float* workspace;  // BackwardWorkspaceBytes(shape) bytes, 16-byte aligned
};

// Head dims with a compiled kernel.
bool SupportedHeadDim(int64_t d);
// Bytes of device scratch the backward needs: the row statistic
// D = rowsum(dO ∘ O) (b, h, s_q) in fp32.
int64_t BackwardWorkspaceBytes(const FlashShape& shape);

// Asynchronous on `stream` (a cudaStream_t; nullptr is the default stream).
// Return a cudaError_t as int (0 = success).
int LaunchFlashForward(const FlashForwardArgs& args, void* stream);
int LaunchFlashBackward(const FlashBackwardArgs& args, void* stream);

}  // namespace spindle::kernels::cuda
