// Launch boundary of the data-movement kernels behind the sequence layouts
// (zigzag/striped permutes, Ulysses pack/unpack): plain arguments only.
// Every copy moves whole "inner" runs of contiguous bytes (a token's heads),
// with 16-, 8-, 4- or 2-byte accesses, the widest that every address allows.
#pragma once

#include <cstdint>

namespace spindle::kernels::cuda {

// dst[i0, i1, i2, :] = src[i0, i1, i2, :] for i < n, offsets in bytes.
struct Copy3dArgs {
  const void* src;
  void* dst;
  int64_t n[3];
  int64_t src_stride[3];
  int64_t dst_stride[3];
  int64_t inner_bytes;
};

// dst[b, i, :] = src[b, index[i], :] for b < batch, i < rows; index is a
// device array of `rows` entries, each in [0, src_rows).
struct GatherRowsArgs {
  const void* src;
  void* dst;
  const int64_t* index;
  int64_t batch, rows;
  int64_t src_batch_stride, src_row_stride;  // bytes
  int64_t dst_batch_stride, dst_row_stride;  // bytes
  int64_t inner_bytes;
};

// Return a cudaError_t as int (0 = success); asynchronous on stream.
int LaunchCopy3d(const Copy3dArgs& args, void* stream);
int LaunchGatherRows(const GatherRowsArgs& args, void* stream);

}  // namespace spindle::kernels::cuda
