// Building blocks of the tensor-core attention kernels (sm80 and later):
// mma.sync m16n8k16 with fp32 accumulators, ldmatrix, cp.async, a swizzled
// shared-memory tile, and the position masks.
//
// Fragment layouts (PTX ISA, "mma.m16n8k16"), lane = 4·g + t:
//   A 16×16: a[0] (row g,   k 2t..2t+1)   a[1] (row g+8, k 2t..2t+1)
//            a[2] (row g,   k 2t+8..+9)   a[3] (row g+8, k 2t+8..+9)
//   B 16×8:  b[0] (k 2t..2t+1, col g)     b[1] (k 2t+8..+9, col g)
//   C 16×8:  c[0..1] (row g, col 2t..2t+1) c[2..3] (row g+8, col 2t..2t+1)
// Two C tiles side by side are, element for element, the A fragment of the
// next product (P·V), which is why P never leaves registers.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "kernels/cuda/flash_api.h"

namespace spindle::kernels::cuda::flash {

constexpr int kWarpSize = 32;

template <typename T>
struct Pack2;
template <>
struct Pack2<__nv_bfloat16> {
  static __device__ __forceinline__ uint32_t From(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
  }
  static __device__ __forceinline__ float2 To(uint32_t x) {
    return __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&x));
  }
};
template <>
struct Pack2<__half> {
  static __device__ __forceinline__ uint32_t From(float lo, float hi) {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
  }
  static __device__ __forceinline__ float2 To(uint32_t x) {
    return __half22float2(*reinterpret_cast<__half2*>(&x));
  }
};

// c += a·b on one 16×8×16 tile.
template <typename T>
__device__ __forceinline__ void Mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                    uint32_t b1);
template <>
__device__ __forceinline__ void Mma<__nv_bfloat16>(float (&c)[4], const uint32_t (&a)[4],
                                                   uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void Mma<__half>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                            uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The lane index, read afresh (volatile): address arithmetic derived from it
// inside a loop is recomputed there instead of being hoisted out of the loop
// into dozens of live registers, which would make the accumulators spill.
__device__ __forceinline__ int LaneId() {
  unsigned r;
  asm volatile("mov.u32 %0, %%laneid;\n" : "=r"(r));
  return static_cast<int>(r);
}

__device__ __forceinline__ uint32_t SmemAddr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Four 8×8 b16 matrices; lanes 8i..8i+7 give the row addresses of matrix i.
// Addresses are 32-bit shared-window addresses (SmemAddr), which keeps the
// unrolled loops' precomputed addresses at one register each.
__device__ __forceinline__ void Ldmatrix4(uint32_t (&r)[4], uint32_t row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(row));
}
__device__ __forceinline__ void Ldmatrix4Trans(uint32_t (&r)[4], uint32_t row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(row));
}

__device__ __forceinline__ void StoreShared32(uint32_t addr, uint32_t x) {
  // "memory": the compiler must not move C++ shared-memory accesses across
  // these (the ordering around __syncthreads otherwise rests on volatile alone).
  asm volatile("st.shared.b32 [%0], %1;\n" ::"r"(addr), "r"(x) : "memory");
}

// 16-byte global → shared copy that bypasses registers; zero-fills when
// !valid (rows past the end of a block).
__device__ __forceinline__ void CpAsync16(uint32_t smem, const void* gmem, bool valid) {
  const int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem), "l"(gmem), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void CpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void CpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// A rows×kD tile of 2-byte elements in shared memory. Each row is kD/8
// chunks of 16 bytes; chunk c of row r is stored at c ^ (r % 8), so the
// eight rows one ldmatrix reads (same column, consecutive rows) fall in
// eight different bank groups. Needs kD >= 64.
template <int kRows, int kD>
struct SwizzledTile {
  static_assert(kD >= 64 && kD % 64 == 0, "swizzle needs 8 chunks per row");
  static constexpr int kChunks = kD / 8;
  static constexpr int kElems = kRows * kD;
  static __device__ __forceinline__ int Offset(int row, int col) {
    return row * kD + (((col >> 3) ^ (row & 7)) << 3) + (col & 7);
  }
  // Shared-window byte address of (row, col) in a tile at byte address base.
  static __device__ __forceinline__ uint32_t Addr(uint32_t base, int row, int col) {
    return base + 2u * static_cast<uint32_t>(Offset(row, col));
  }
};

// Copies rows [row0, row0 + kRows) of one head of a (b, s, h, d) tensor into
// a swizzled tile; rows >= rows_valid are zero-filled.
template <int kRows, int kD, int kThreads, typename T>
__device__ __forceinline__ void LoadTile(uint32_t smem, const T* head_base, int64_t row_stride,
                                         int64_t row0, int64_t rows_valid) {
  using Tile = SwizzledTile<kRows, kD>;
  constexpr int kTotal = kRows * Tile::kChunks;
  static_assert(kTotal % kThreads == 0, "tile chunks must divide among the threads");
#pragma unroll
  for (int i = 0; i < kTotal / kThreads; ++i) {
    const int idx = i * kThreads + threadIdx.x;
    const int r = idx / Tile::kChunks;
    const int c = idx % Tile::kChunks;
    const int64_t row = row0 + r;
    const bool valid = row < rows_valid;
    const T* src = head_base + (valid ? row : 0) * row_stride + c * 8;
    CpAsync16(Tile::Addr(smem, r, c * 8), src, valid);
  }
}

// Smallest and largest position of rows [row0, row0 + 64) ∩ [0, n), computed
// by every warp alike (no shared memory, no barrier). Rows past n do not count.
struct Bounds {
  int64_t lo, hi;
};
__device__ __forceinline__ Bounds TileBounds64(const int64_t* pos, int64_t row0, int64_t n) {
  const int64_t last = min(row0 + 64, n) - 1;
  if (pos == nullptr) return {row0, last};
  const int lane = threadIdx.x % kWarpSize;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int64_t r = row0 + lane + i * kWarpSize;
    if (r <= last) {
      lo = min(lo, pos[r]);
      hi = max(hi, pos[r]);
    }
  }
#pragma unroll
  for (int m = 16; m >= 1; m /= 2) {
    lo = min(lo, __shfl_xor_sync(0xffffffffu, lo, m));
    hi = max(hi, __shfl_xor_sync(0xffffffffu, hi, m));
  }
  return {lo, hi};
}

// How a 64-query × 64-key tile is masked, from its position bounds.
enum class TileMask { kNone, kPartial, kAll };
__device__ __forceinline__ TileMask Classify(Bounds q, Bounds k, bool causal, int64_t valid_len,
                                             bool ragged) {
  if (q.lo >= valid_len || k.lo >= valid_len) return TileMask::kAll;
  if (causal && k.lo > q.hi) return TileMask::kAll;
  const bool full = !ragged && q.hi < valid_len && k.hi < valid_len && (!causal || k.hi <= q.lo);
  return full ? TileMask::kNone : TileMask::kPartial;
}

// Per-element masks compare 32-bit positions (sequences below 2^31 tokens, as
// the host wrapper checks): 64-bit compares in the inner loop cost the
// registers that keep the accumulators from spilling. Rows or keys past the
// end of a block get kPastEnd and are never visible (the host side keeps real
// positions below it: kPositionLimit in attention_cuda.h).
constexpr int kPastEnd = 0x7fffffff;
__device__ __forceinline__ int Position32(const int64_t* pos, int64_t i, int64_t n) {
  return i < n ? static_cast<int>(pos == nullptr ? i : pos[i]) : kPastEnd;
}
__device__ __forceinline__ int ValidLen32(int64_t valid_len) {
  return static_cast<int>(min(valid_len, static_cast<int64_t>(kPastEnd)));
}
__device__ __forceinline__ bool Visible(int qp, int kp, bool causal, int valid_len) {
  return qp < valid_len && kp < valid_len && (!causal || kp <= qp);
}

__device__ __forceinline__ float QuadMax(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float QuadSum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

constexpr float kLog2e = 1.4426950408889634f;

// Calls launch(T{}, std::integral_constant<int, kD>{}) for the compiled
// (element type, head dim) pair; an unsupported d gives cudaErrorInvalidValue.
template <typename Launch>
int DispatchTypeAndDim(ElemType type, int64_t d, Launch&& launch) {
  const bool bf16 = type == ElemType::kBFloat16;
  switch (d) {
    case 64:
      return bf16 ? launch(__nv_bfloat16{}, std::integral_constant<int, 64>{})
                  : launch(__half{}, std::integral_constant<int, 64>{});
    case 128:
      return bf16 ? launch(__nv_bfloat16{}, std::integral_constant<int, 128>{})
                  : launch(__half{}, std::integral_constant<int, 128>{});
    default:
      return static_cast<int>(cudaErrorInvalidValue);
  }
}

}  // namespace spindle::kernels::cuda::flash
