// One warp per (b, s, h) row: lanes stride over d, lane 0 writes the lse.
// Kept free of host-side libraries so nvcc sees only this file and
// attention.h's plain structs.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/merge_kernel.h"

namespace spindle::kernels::cuda {
namespace {

constexpr int kRowsPerBlock = 8;

__global__ void MergeRows(MergeArgs a) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.y;
  if (row >= a.b * a.s * a.h) return;
  const int64_t hh = row % a.h;
  const int64_t ss = (row / a.h) % a.s;
  const int64_t bb = row / (a.h * a.s);
  float* o = a.o + bb * a.o_strides[0] + ss * a.o_strides[1] + hh * a.o_strides[2];
  const float* ob = a.o_blk + bb * a.o_blk_strides[0] + ss * a.o_blk_strides[1] +
                    hh * a.o_blk_strides[2];
  float* lse = a.lse + bb * a.lse_strides[0] + hh * a.lse_strides[1] + ss;
  const float blk = a.lse_blk[bb * a.lse_blk_strides[0] + hh * a.lse_blk_strides[1] + ss];
  const float run = *lse;
  // Empty cases first: a masked block row changes nothing; an empty running
  // row takes the block's.
  if (blk == -INFINITY) return;
  float w_run = 0.f, w_blk = 1.f, merged = blk;
  if (run != -INFINITY) {
    const float hi = fmaxf(run, blk);
    merged = hi + log1pf(expf(-fabsf(run - blk)));
    w_run = expf(run - merged);
    w_blk = expf(blk - merged);
  }
  for (int64_t i = threadIdx.x; i < a.d; i += warpSize) o[i] = w_run * o[i] + w_blk * ob[i];
  if (threadIdx.x == 0) *lse = merged;
}

}  // namespace

int LaunchMergeRows(const MergeArgs& args, void* stream) {
  const int64_t rows = args.b * args.s * args.h;
  if (rows == 0) return 0;
  const dim3 block(32, kRowsPerBlock);
  const dim3 grid(static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock));
  MergeRows<<<grid, block, 0, static_cast<cudaStream_t>(stream)>>>(args);
  return static_cast<int>(cudaGetLastError());
}


}  // namespace spindle::kernels::cuda
