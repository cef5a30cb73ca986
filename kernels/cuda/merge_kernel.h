// The launch boundary between host C++ and nvcc: plain arguments only, no
// abseil or torch, so the .cu file compiles with nothing but the CUDA headers.
#pragma once

#include <cstdint>

namespace spindle::kernels::cuda {

struct MergeArgs {
  float* o;                // (b, s, h, d), strides in elements
  int64_t o_strides[3];    // batch, row, head
  float* lse;              // (b, h, s)
  int64_t lse_strides[2];  // batch, head
  const float* o_blk;
  int64_t o_blk_strides[3];
  const float* lse_blk;
  int64_t lse_blk_strides[2];
  int64_t b, s, h, d;
};

// Returns a cudaError_t as int (0 = success).
int LaunchMergeRows(const MergeArgs& args, void* stream);

}  // namespace spindle::kernels::cuda
