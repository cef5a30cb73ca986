// Plain copy descriptors: what a layout copy (kernels/layout_copy.h) hands
// to a backend, the host loop (cpu/copy.h) or the CUDA kernels
// (cuda/copy_kernels.h). No dependencies, so nvcc sees only this.
#pragma once

#include <cstdint>

namespace spindle::kernels {

// dst[i0, i1, i2, :] = src[i0, i1, i2, :] for i < n: runs of inner_bytes
// contiguous bytes; strides in bytes.
struct Copy3dArgs {
  const void* src = nullptr;
  void* dst = nullptr;
  int64_t n[3] = {0, 0, 0};
  int64_t src_stride[3] = {0, 0, 0};
  int64_t dst_stride[3] = {0, 0, 0};
  int64_t inner_bytes = 0;
};

// dst[b, i, :] = src[b, index[i], :] for b < batch, i < rows; index holds
// `rows` entries, each in [0, src_rows), in the memory the backend reads.
struct GatherRowsArgs {
  const void* src = nullptr;
  void* dst = nullptr;
  const int64_t* index = nullptr;
  int64_t batch = 0, rows = 0;
  int64_t src_batch_stride = 0, src_row_stride = 0;  // bytes
  int64_t dst_batch_stride = 0, dst_row_stride = 0;  // bytes
  int64_t inner_bytes = 0;
};

}  // namespace spindle::kernels
