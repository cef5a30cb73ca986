// Strided copies as one grid-stride loop over vector elements: each thread
// moves one aligned vector of a run; consecutive threads take consecutive
// vectors, so a run of a token's heads is read and written coalesced.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/copy_kernels.h"

namespace spindle::kernels::cuda {
namespace {

constexpr int kThreads = 256;

int64_t VectorBytes(std::initializer_list<int64_t> values) {
  for (int64_t w : {16, 8, 4, 2}) {
    bool ok = true;
    for (int64_t v : values) ok = ok && v % w == 0;
    if (ok) return w;
  }
  return 1;
}

template <typename V>
__global__ void Copy3d(const Copy3dArgs a, int64_t vecs_per_run, int64_t total) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t v = e % vecs_per_run;
    int64_t r = e / vecs_per_run;
    const int64_t i2 = r % a.n[2];
    r /= a.n[2];
    const int64_t i1 = r % a.n[1];
    const int64_t i0 = r / a.n[1];
    const char* s = static_cast<const char*>(a.src) + i0 * a.src_stride[0] +
                    i1 * a.src_stride[1] + i2 * a.src_stride[2];
    char* d = static_cast<char*>(a.dst) + i0 * a.dst_stride[0] + i1 * a.dst_stride[1] +
              i2 * a.dst_stride[2];
    reinterpret_cast<V*>(d)[v] = reinterpret_cast<const V*>(s)[v];
  }
}

template <typename V>
__global__ void GatherRows(const GatherRowsArgs a, int64_t vecs_per_run, int64_t total) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t v = e % vecs_per_run;
    const int64_t r = e / vecs_per_run;
    const int64_t i = r % a.rows;
    const int64_t b = r / a.rows;
    const char* s = static_cast<const char*>(a.src) + b * a.src_batch_stride +
                    a.index[i] * a.src_row_stride;
    char* d = static_cast<char*>(a.dst) + b * a.dst_batch_stride + i * a.dst_row_stride;
    reinterpret_cast<V*>(d)[v] = reinterpret_cast<const V*>(s)[v];
  }
}

unsigned Blocks(int64_t total) {
  // Enough CTAs to fill any current GPU several times over; the loop covers the rest.
  const int64_t want = (total + kThreads - 1) / kThreads;
  return static_cast<unsigned>(want < 65536 ? want : 65536);
}

template <typename Args, typename Kernel16, typename Kernel8, typename Kernel4, typename Kernel2,
          typename Kernel1>
int Dispatch(const Args& a, int64_t width, int64_t runs, cudaStream_t stream, Kernel16 k16,
             Kernel8 k8, Kernel4 k4, Kernel2 k2, Kernel1 k1) {
  const int64_t per_run = a.inner_bytes / width;
  const int64_t total = runs * per_run;
  if (total == 0) return 0;
  const unsigned blocks = Blocks(total);
  switch (width) {
    case 16: k16<<<blocks, kThreads, 0, stream>>>(a, per_run, total); break;
    case 8: k8<<<blocks, kThreads, 0, stream>>>(a, per_run, total); break;
    case 4: k4<<<blocks, kThreads, 0, stream>>>(a, per_run, total); break;
    case 2: k2<<<blocks, kThreads, 0, stream>>>(a, per_run, total); break;
    default: k1<<<blocks, kThreads, 0, stream>>>(a, per_run, total); break;
  }
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int LaunchCopy3d(const Copy3dArgs& a, void* stream) {
  const int64_t width = VectorBytes(
      {reinterpret_cast<intptr_t>(a.src), reinterpret_cast<intptr_t>(a.dst), a.inner_bytes,
       a.src_stride[0], a.src_stride[1], a.src_stride[2], a.dst_stride[0], a.dst_stride[1],
       a.dst_stride[2]});
  return Dispatch(a, width, a.n[0] * a.n[1] * a.n[2], static_cast<cudaStream_t>(stream),
                  Copy3d<uint4>, Copy3d<uint2>, Copy3d<uint32_t>, Copy3d<uint16_t>,
                  Copy3d<uint8_t>);
}

int LaunchGatherRows(const GatherRowsArgs& a, void* stream) {
  const int64_t width = VectorBytes(
      {reinterpret_cast<intptr_t>(a.src), reinterpret_cast<intptr_t>(a.dst), a.inner_bytes,
       a.src_batch_stride, a.src_row_stride, a.dst_batch_stride, a.dst_row_stride});
  return Dispatch(a, width, a.batch * a.rows, static_cast<cudaStream_t>(stream),
                  GatherRows<uint4>, GatherRows<uint2>, GatherRows<uint32_t>,
                  GatherRows<uint16_t>, GatherRows<uint8_t>);
}

}  // namespace spindle::kernels::cuda
