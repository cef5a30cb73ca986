// Block attention backward on tensor cores (FlashAttention-2 schedule), from
// the global output and lse, so that every block's gradient is exact alone.
//
// One CTA of 4 warps owns 64 keys of one (batch, key/value head) and walks
// every query tile of every query head that reads that key/value head (GQA
// sums in registers, no atomics for dK/dV). Each warp owns 16 keys and works
// in the transposed frame, so P and dS stay in registers as A operands:
//   Sᵀ = K·Qᵀ            Pᵀ = exp(scale·Sᵀ − lse)      dV += Pᵀ·dO
//   dPᵀ = V·dOᵀ          dSᵀ = Pᵀ ∘ (dPᵀ − D)           dK += dSᵀ·Q
//   dQ += dS·K through shared memory and fp32 atomics (many key tiles add
//   into one query row); dK, dQ carry the softmax scale.
// D = rowsum(dO ∘ O) is computed first by DeltaKernel into the workspace.
#include "kernels/cuda/flash_api.h"
#include "kernels/cuda/flash_common.cuh"

namespace spindle::kernels::cuda {
namespace flash {
namespace {

constexpr int kBlockM = 64;  // queries per tile
constexpr int kBlockN = 64;  // keys per CTA
constexpr int kThreads = 128;

template <int kD>
constexpr int BackwardSmemBytes() {
  // K, V, Q, dO tiles (2-byte elements), dSᵀ 64×64, then lse and D per query.
  return (4 * 64 * kD + 64 * 64) * 2 + 2 * kBlockM * 4;
}

// D[b, h, i] = Σ_d dO·O over one query row; one warp per row.
template <typename T>
__global__ void DeltaKernel(const FlashBackwardArgs a) {
  const FlashShape& p = a.shape;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarpSize) +
                      threadIdx.x / kWarpSize;
  if (row >= p.b * p.h * p.s_q) return;
  const int64_t i = row % p.s_q, hh = (row / p.s_q) % p.h, bb = row / (p.s_q * p.h);
  const T* o = static_cast<const T*>(a.o) + bb * a.o_str.batch + i * a.o_str.row + hh * a.o_str.head;
  const T* d_o = static_cast<const T*>(a.d_o) + bb * a.d_o_str.batch + i * a.d_o_str.row +
                 hh * a.d_o_str.head;
  float sum = 0.f;
  for (int64_t c = 2 * (threadIdx.x % kWarpSize); c < p.d; c += 2 * kWarpSize) {
    const float2 x = Pack2<T>::To(*reinterpret_cast<const uint32_t*>(o + c));
    const float2 y = Pack2<T>::To(*reinterpret_cast<const uint32_t*>(d_o + c));
    sum += x.x * y.x + x.y * y.y;
  }
#pragma unroll
  for (int m = 16; m >= 1; m /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, m);
  if (threadIdx.x % kWarpSize == 0) a.workspace[row] = sum;  // (b, h, s_q) contiguous
}

// Zeroes dq rows (b, s_q, h, d) before the atomics when not accumulating.
__global__ void ZeroDq(const FlashBackwardArgs a) {
  const FlashShape& p = a.shape;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / kWarpSize) +
                      threadIdx.x / kWarpSize;
  if (row >= p.b * p.h * p.s_q) return;
  const int64_t hh = row % p.h, i = (row / p.h) % p.s_q, bb = row / (p.h * p.s_q);
  float* dq = a.dq + bb * a.dq_str.batch + i * a.dq_str.row + hh * a.dq_str.head;
  for (int64_t c = threadIdx.x % kWarpSize; c < p.d; c += kWarpSize) dq[c] = 0.f;
}

// Queries per register pass: the 16-key × kQc score and dP tiles live beside
// the 16 × kD dK and dV accumulators, so d = 128 works on half a query tile
// at a time to stay within 255 registers.
template <int kD>
__host__ __device__ constexpr int QueryChunk() {
  return kD >= 128 ? 32 : 64;
}

template <typename T, int kD>
__global__ void __launch_bounds__(kThreads) BackwardKernel(const FlashBackwardArgs a) {
  using Tile = SwizzledTile<64, kD>;
  using DsTile = SwizzledTile<64, 64>;
  using P2 = Pack2<T>;
  constexpr int kQc = QueryChunk<kD>();
  constexpr int kNt = kQc / 8;  // 16×8 score tiles per warp and chunk
  constexpr int kDqCols = kQc;  // dQ columns per pass, for the same reason
  constexpr uint32_t kTileBytes = Tile::kElems * 2;
  extern __shared__ __align__(128) unsigned char smem[];
  const uint32_t s_k = SmemAddr(smem);
  const uint32_t s_v = s_k + kTileBytes;
  const uint32_t s_q = s_v + kTileBytes;
  const uint32_t s_do = s_q + kTileBytes;
  const uint32_t s_ds = s_do + kTileBytes;  // dSᵀ [key][query]
  float* s_lse = reinterpret_cast<float*>(smem + 4 * kTileBytes + DsTile::kElems * 2);
  float* s_delta = s_lse + kBlockM;

  const FlashShape& p = a.shape;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * kBlockN;
  const int hk = blockIdx.y;
  const int64_t bb = blockIdx.z;
  const int group = static_cast<int>(p.h / p.h_kv);
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  const int g = lane / 4, t = lane % 4;
  const float scale_log2 = p.scale * kLog2e;

  const Bounds kb = TileBounds64(p.k_pos, n0, p.s_k);
  const int64_t key_a = n0 + warp * 16 + g, key_b = key_a + 8;
  const int kpos_a = Position32(p.k_pos, key_a, p.s_k);
  const int kpos_b = Position32(p.k_pos, key_b, p.s_k);
  const int valid = ValidLen32(p.valid_len);

  LoadTile<64, kD, kThreads>(s_k, static_cast<const T*>(a.k) + bb * a.k_str.batch + hk * a.k_str.head,
                             a.k_str.row, n0, p.s_k);
  LoadTile<64, kD, kThreads>(s_v, static_cast<const T*>(a.v) + bb * a.v_str.batch + hk * a.v_str.head,
                             a.v_str.row, n0, p.s_k);
  CpAsyncCommit();

  float dk[kD / 8][4], dv[kD / 8][4];
#pragma unroll
  for (int i = 0; i < kD / 8; ++i) {
#pragma unroll
    for (int e = 0; e < 4; ++e) dk[i][e] = dv[i][e] = 0.f;
  }

  const int m_tiles = static_cast<int>((p.s_q + kBlockM - 1) / kBlockM);
  // One flat loop over (query head of the group, query tile): per-head
  // pointers are rebuilt each pass rather than held across a nested loop.
  for (int it = 0; it < group * m_tiles; ++it) {
    const int64_t m0 = static_cast<int64_t>(it % m_tiles) * kBlockM;
    const TileMask mask = Classify(TileBounds64(p.q_pos, m0, p.s_q), kb, p.causal, p.valid_len,
                                   n0 + kBlockN > p.s_k || m0 + kBlockM > p.s_q);
    if (mask == TileMask::kAll) continue;
    const int hq = hk * group + it / m_tiles;
    {
      LoadTile<kBlockM, kD, kThreads>(
          s_q, static_cast<const T*>(a.q) + bb * a.q_str.batch + hq * a.q_str.head, a.q_str.row,
          m0, p.s_q);
      LoadTile<kBlockM, kD, kThreads>(
          s_do, static_cast<const T*>(a.d_o) + bb * a.d_o_str.batch + hq * a.d_o_str.head,
          a.d_o_str.row, m0, p.s_q);
      CpAsyncCommit();
      if (threadIdx.x < kBlockM) {
        // A masked row (lse = -inf) or a row past the end gets +inf, so its P is 0.
        const float* lse = a.lse + bb * a.lse_batch_stride + hq * a.lse_head_stride;
        const float* delta = a.workspace + (bb * p.h + hq) * p.s_q;
        const int64_t i = m0 + threadIdx.x;
        const float l = i < p.s_q ? lse[i] : -INFINITY;
        s_lse[threadIdx.x] = (l == -INFINITY ? INFINITY : l) * kLog2e;
        s_delta[threadIdx.x] = i < p.s_q ? delta[i] : 0.f;
      }
      CpAsyncWait<0>();
      __syncthreads();

#pragma unroll 1
      for (int q0 = 0; q0 < kBlockM; q0 += kQc) {
        const int ln = LaneId();  // see LaneId()
        // Sᵀ = K·Qᵀ: this warp's 16 keys × kQc queries.
        float st[kNt][4];
#pragma unroll
        for (int i = 0; i < kNt; ++i) st[i][0] = st[i][1] = st[i][2] = st[i][3] = 0.f;
        // kk only moves addresses here, so a partial unroll keeps few
        // fragments in flight without indexing registers at run time.
#pragma unroll 1
        for (int kk = 0; kk < kD / 16; ++kk) {
          uint32_t af[4];
          Ldmatrix4(af, Tile::Addr(s_k, warp * 16 + ln % 16, kk * 16 + (ln / 16) * 8));
#pragma unroll
          for (int np = 0; np < kNt / 2; ++np) {
            uint32_t r[4];
            Ldmatrix4(r, Tile::Addr(s_q, q0 + np * 16 + ln % 8 + (ln / 16) * 8,
                                    kk * 16 + ((ln / 8) % 2) * 8));
            Mma<T>(st[2 * np], af, r[0], r[1]);
            Mma<T>(st[2 * np + 1], af, r[2], r[3]);
          }
        }
        if (mask == TileMask::kPartial) {
#pragma unroll
          for (int nt = 0; nt < kNt; ++nt) {
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const int64_t col = m0 + q0 + nt * 8 + 2 * t + e;
              const int qp = Position32(p.q_pos, col, p.s_q);
              if (!Visible(qp, kpos_a, p.causal, valid)) st[nt][e] = -INFINITY;
              if (!Visible(qp, kpos_b, p.causal, valid)) st[nt][2 + e] = -INFINITY;
            }
          }
        }
        // Pᵀ in place.
#pragma unroll
        for (int nt = 0; nt < kNt; ++nt) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            st[nt][e] = exp2f(st[nt][e] * scale_log2 - s_lse[q0 + nt * 8 + 2 * t + (e & 1)]);
          }
        }

        // dV += Pᵀ·dO.
#pragma unroll
        for (int kk = 0; kk < kQc / 16; ++kk) {
          const uint32_t pa[4] = {P2::From(st[2 * kk][0], st[2 * kk][1]),
                                  P2::From(st[2 * kk][2], st[2 * kk][3]),
                                  P2::From(st[2 * kk + 1][0], st[2 * kk + 1][1]),
                                  P2::From(st[2 * kk + 1][2], st[2 * kk + 1][3])};
#pragma unroll
          for (int dp = 0; dp < kD / 16; ++dp) {
            uint32_t r[4];
            Ldmatrix4Trans(r, Tile::Addr(s_do, q0 + kk * 16 + ln % 8 + ((ln / 8) % 2) * 8,
                                         dp * 16 + (ln / 16) * 8));
            Mma<T>(dv[2 * dp], pa, r[0], r[1]);
            Mma<T>(dv[2 * dp + 1], pa, r[2], r[3]);
          }
        }

        // dPᵀ = V·dOᵀ, then dSᵀ = Pᵀ ∘ (dPᵀ − D) in place of Pᵀ.
        {
          float dpt[kNt][4];
#pragma unroll
          for (int i = 0; i < kNt; ++i) dpt[i][0] = dpt[i][1] = dpt[i][2] = dpt[i][3] = 0.f;
#pragma unroll 1
          for (int kk = 0; kk < kD / 16; ++kk) {
            uint32_t af[4];
            Ldmatrix4(af, Tile::Addr(s_v, warp * 16 + ln % 16, kk * 16 + (ln / 16) * 8));
#pragma unroll
            for (int np = 0; np < kNt / 2; ++np) {
              uint32_t r[4];
              Ldmatrix4(r, Tile::Addr(s_do, q0 + np * 16 + ln % 8 + (ln / 16) * 8,
                                      kk * 16 + ((ln / 8) % 2) * 8));
              Mma<T>(dpt[2 * np], af, r[0], r[1]);
              Mma<T>(dpt[2 * np + 1], af, r[2], r[3]);
            }
          }
#pragma unroll
          for (int nt = 0; nt < kNt; ++nt) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              st[nt][e] *= dpt[nt][e] - s_delta[q0 + nt * 8 + 2 * t + (e & 1)];
            }
          }
        }

        // dK += dSᵀ·Q, and dSᵀ to shared memory for dQ.
#pragma unroll
        for (int kk = 0; kk < kQc / 16; ++kk) {
          const uint32_t da[4] = {P2::From(st[2 * kk][0], st[2 * kk][1]),
                                  P2::From(st[2 * kk][2], st[2 * kk][3]),
                                  P2::From(st[2 * kk + 1][0], st[2 * kk + 1][1]),
                                  P2::From(st[2 * kk + 1][2], st[2 * kk + 1][3])};
          const int row = warp * 16 + g, col = q0 + kk * 16 + 2 * t;
          StoreShared32(DsTile::Addr(s_ds, row, col), da[0]);
          StoreShared32(DsTile::Addr(s_ds, row + 8, col), da[1]);
          StoreShared32(DsTile::Addr(s_ds, row, col + 8), da[2]);
          StoreShared32(DsTile::Addr(s_ds, row + 8, col + 8), da[3]);
#pragma unroll
          for (int dp = 0; dp < kD / 16; ++dp) {
            uint32_t r[4];
            Ldmatrix4Trans(r, Tile::Addr(s_q, q0 + kk * 16 + ln % 8 + ((ln / 8) % 2) * 8,
                                         dp * 16 + (ln / 16) * 8));
            Mma<T>(dk[2 * dp], da, r[0], r[1]);
            Mma<T>(dk[2 * dp + 1], da, r[2], r[3]);
          }
        }
      }
      __syncthreads();

      // dQ (this warp's 16 queries) += dS·K, kDqCols head-dim columns at a time.
      float* dq = a.dq + bb * a.dq_str.batch + hq * a.dq_str.head;
      const int64_t q_a = m0 + warp * 16 + g, q_b = q_a + 8;
#pragma unroll 1
      for (int c0 = 0; c0 < kD; c0 += kDqCols) {
        const int ln = LaneId();
        float dqa[kDqCols / 8][4];
#pragma unroll
        for (int i = 0; i < kDqCols / 8; ++i) dqa[i][0] = dqa[i][1] = dqa[i][2] = dqa[i][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
          uint32_t af[4];
          Ldmatrix4Trans(af, DsTile::Addr(s_ds, kk * 16 + ln % 8 + (ln / 16) * 8,
                                          warp * 16 + ((ln / 8) % 2) * 8));
#pragma unroll
          for (int dp = 0; dp < kDqCols / 16; ++dp) {
            uint32_t r[4];
            Ldmatrix4Trans(r, Tile::Addr(s_k, kk * 16 + ln % 8 + ((ln / 8) % 2) * 8,
                                         c0 + dp * 16 + (ln / 16) * 8));
            Mma<T>(dqa[2 * dp], af, r[0], r[1]);
            Mma<T>(dqa[2 * dp + 1], af, r[2], r[3]);
          }
        }
#pragma unroll
        for (int nt = 0; nt < kDqCols / 8; ++nt) {
          const int c = c0 + nt * 8 + 2 * t;
          if (q_a < p.s_q) {
            atomicAdd(dq + q_a * a.dq_str.row + c, dqa[nt][0] * p.scale);
            atomicAdd(dq + q_a * a.dq_str.row + c + 1, dqa[nt][1] * p.scale);
          }
          if (q_b < p.s_q) {
            atomicAdd(dq + q_b * a.dq_str.row + c, dqa[nt][2] * p.scale);
            atomicAdd(dq + q_b * a.dq_str.row + c + 1, dqa[nt][3] * p.scale);
          }
        }
      }
      __syncthreads();  // Q, dO and dSᵀ are refilled by the next tile
    }
  }
  CpAsyncWait<0>();  // the K/V copy, when every query tile was skipped

  float* dkp = a.dk + bb * a.dk_str.batch + hk * a.dk_str.head;
  float* dvp = a.dv + bb * a.dv_str.batch + hk * a.dv_str.head;
  auto store = [&](float* base, int64_t row_stride, int64_t key, float x0, float x1, int c) {
    float2* out = reinterpret_cast<float2*>(base + key * row_stride + c);
    if (a.accumulate) {
      const float2 old = *out;
      x0 += old.x;
      x1 += old.y;
    }
    *out = make_float2(x0, x1);
  };
#pragma unroll
  for (int i = 0; i < kD / 8; ++i) {
    const int c = i * 8 + 2 * t;
    if (key_a < p.s_k) {
      store(dkp, a.dk_str.row, key_a, dk[i][0] * p.scale, dk[i][1] * p.scale, c);
      store(dvp, a.dv_str.row, key_a, dv[i][0], dv[i][1], c);
    }
    if (key_b < p.s_k) {
      store(dkp, a.dk_str.row, key_b, dk[i][2] * p.scale, dk[i][3] * p.scale, c);
      store(dvp, a.dv_str.row, key_b, dv[i][2], dv[i][3], c);
    }
  }
}

template <typename T, int kD>
int Launch(const FlashBackwardArgs& a, cudaStream_t stream) {
  const FlashShape& p = a.shape;
  const int64_t rows = p.b * p.h * p.s_q;
  constexpr int kRowsPerBlock = 8;
  const unsigned row_blocks = static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock);
  if (rows > 0) {
    DeltaKernel<T><<<row_blocks, kRowsPerBlock * kWarpSize, 0, stream>>>(a);
    if (!a.accumulate) ZeroDq<<<row_blocks, kRowsPerBlock * kWarpSize, 0, stream>>>(a);
  }
  constexpr int kSmem = BackwardSmemBytes<kD>();
  const cudaError_t attr = cudaFuncSetAttribute(
      BackwardKernel<T, kD>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  if (attr != cudaSuccess) return static_cast<int>(attr);
  if (p.s_k > 0) {
    const dim3 grid(static_cast<unsigned>((p.s_k + kBlockN - 1) / kBlockN),
                    static_cast<unsigned>(p.h_kv), static_cast<unsigned>(p.b));
    BackwardKernel<T, kD><<<grid, kThreads, kSmem, stream>>>(a);
  }
  return static_cast<int>(cudaGetLastError());
}

}  // namespace
}  // namespace flash

int64_t BackwardWorkspaceBytes(const FlashShape& shape) {
  return shape.b * shape.h * shape.s_q * static_cast<int64_t>(sizeof(float));
}

int LaunchFlashBackward(const FlashBackwardArgs& a, void* stream) {
  if (a.shape.b == 0 || a.shape.h == 0 || (a.shape.s_q == 0 && a.shape.s_k == 0)) return 0;
  auto s = static_cast<cudaStream_t>(stream);
  return flash::DispatchTypeAndDim(a.type, a.shape.d, [&](auto t, auto dim) {
    return flash::Launch<decltype(t), decltype(dim)::value>(a, s);
  });
}

}  // namespace spindle::kernels::cuda
