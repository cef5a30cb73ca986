// Block attention forward on tensor cores (FlashAttention-2 schedule).
//
// One CTA of 4 warps owns 64 query rows of one (batch, query head); each warp
// owns 16 rows and keeps their Q fragments, running max m, running sum l and
// output accumulator in registers. Key/value tiles of 64 rows stream through
// two shared-memory buffers: tile j+1 is copied (cp.async) while tile j is
// multiplied. Tiles whose position bounds show them fully masked are never
// loaded, so causal, zigzag and striped blocks skip their empty tiles.
#include "kernels/cuda/flash_api.h"
#include "kernels/cuda/flash_common.cuh"

namespace spindle::kernels::cuda {
namespace flash {
namespace {

constexpr int kBlockM = 64;
constexpr int kBlockN = 64;
constexpr int kThreads = 128;

template <int kD>
constexpr int ForwardSmemBytes() {
  return (kBlockM * kD + 4 * kBlockN * kD) * 2;  // Q + two (K, V) buffers, 2-byte elements
}

template <typename T, int kD>
__global__ void __launch_bounds__(kThreads) ForwardKernel(const FlashForwardArgs a) {
  using Tile = SwizzledTile<kBlockN, kD>;
  using P2 = Pack2<T>;
  extern __shared__ __align__(128) unsigned char smem[];
  constexpr uint32_t kTileBytes = Tile::kElems * 2;
  const uint32_t s_q = SmemAddr(smem);
  const uint32_t s_k = s_q + kTileBytes;  // [2][kBlockN][kD]
  const uint32_t s_v = s_k + 2 * kTileBytes;

  const FlashShape& p = a.shape;
  // Heaviest (latest causal) query tiles first, so they do not finish last.
  const int64_t m0 = static_cast<int64_t>(gridDim.x - 1 - blockIdx.x) * kBlockM;
  const int hq = blockIdx.y;
  const int64_t bb = blockIdx.z;
  const int hk = hq / static_cast<int>(p.h / p.h_kv);
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  const int g = lane / 4, t = lane % 4;

  const T* q = static_cast<const T*>(a.q) + bb * a.q_str.batch + hq * a.q_str.head;
  const T* k = static_cast<const T*>(a.k) + bb * a.k_str.batch + hk * a.k_str.head;
  const T* v = static_cast<const T*>(a.v) + bb * a.v_str.batch + hk * a.v_str.head;

  const Bounds qb = TileBounds64(p.q_pos, m0, p.s_q);
  const int n_tiles = static_cast<int>((p.s_k + kBlockN - 1) / kBlockN);
  auto classify = [&](int j) {
    const int64_t n0 = static_cast<int64_t>(j) * kBlockN;
    return Classify(qb, TileBounds64(p.k_pos, n0, p.s_k), p.causal, p.valid_len,
                    n0 + kBlockN > p.s_k);
  };
  auto next_tile = [&](int j) {
    while (j < n_tiles && classify(j) == TileMask::kAll) ++j;
    return j;
  };
  auto load_kv = [&](int j, int buf) {
    const int64_t n0 = static_cast<int64_t>(j) * kBlockN;
    LoadTile<kBlockN, kD, kThreads>(s_k + buf * kTileBytes, k, a.k_str.row, n0, p.s_k);
    LoadTile<kBlockN, kD, kThreads>(s_v + buf * kTileBytes, v, a.v_str.row, n0, p.s_k);
  };

  const int64_t row_a = m0 + warp * 16 + g, row_b = row_a + 8;
  // Rows past the end see nothing (and are never stored).
  const int qpos_a = Position32(p.q_pos, row_a, p.s_q);
  const int qpos_b = Position32(p.q_pos, row_b, p.s_q);
  const int valid = ValidLen32(p.valid_len);

  int j = next_tile(0);
  LoadTile<kBlockM, kD, kThreads>(s_q, q, a.q_str.row, m0, p.s_q);
  if (j < n_tiles) load_kv(j, 0);
  CpAsyncCommit();
  CpAsyncWait<0>();
  __syncthreads();

  uint32_t qf[kD / 16][4];
  const int ln = lane;
#pragma unroll
  for (int kk = 0; kk < kD / 16; ++kk) {
    Ldmatrix4(qf[kk], Tile::Addr(s_q, warp * 16 + ln % 16, kk * 16 + (ln / 16) * 8));
  }

  float acc[kD / 8][4];
#pragma unroll
  for (int i = 0; i < kD / 8; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
  float m_a = -INFINITY, m_b = -INFINITY, l_a = 0.f, l_b = 0.f;
  const float scale_log2 = p.scale * kLog2e;

  int buf = 0;
  while (j < n_tiles) {
    const TileMask mask = classify(j);
    const int jn = next_tile(j + 1);
    if (jn < n_tiles) load_kv(jn, buf ^ 1);
    CpAsyncCommit();
    CpAsyncWait<1>();
    __syncthreads();
    const int ln = LaneId();  // see LaneId()
    const uint32_t kt = s_k + buf * kTileBytes;
    const uint32_t vt = s_v + buf * kTileBytes;

    // S = Q·Kᵀ for this warp's 16 rows × 64 keys: 8 tiles of 16×8.
    float s[8][4];
#pragma unroll
    for (int i = 0; i < 8; ++i) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
#pragma unroll
      for (int np = 0; np < 4; ++np) {
        uint32_t r[4];
        Ldmatrix4(r, Tile::Addr(kt, np * 16 + ln % 8 + (ln / 16) * 8,
                                       kk * 16 + ((ln / 8) % 2) * 8));
        Mma<T>(s[2 * np], qf[kk], r[0], r[1]);
        Mma<T>(s[2 * np + 1], qf[kk], r[2], r[3]);
      }
    }

    if (mask == TileMask::kPartial) {
      const int64_t n0 = static_cast<int64_t>(j) * kBlockN;
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int64_t col = n0 + nt * 8 + 2 * t + e;
          const int kp = Position32(p.k_pos, col, p.s_k);
          if (!Visible(qpos_a, kp, p.causal, valid)) s[nt][e] = -INFINITY;
          if (!Visible(qpos_b, kp, p.causal, valid)) s[nt][2 + e] = -INFINITY;
        }
      }
    }

    // Online softmax in base 2; a row that has seen no key keeps m = -inf and
    // uses 0 as its exponent base so that exp2 gives 0, not NaN.
    float mx_a = m_a, mx_b = m_b;
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
      mx_a = fmaxf(mx_a, fmaxf(s[nt][0], s[nt][1]));
      mx_b = fmaxf(mx_b, fmaxf(s[nt][2], s[nt][3]));
    }
    mx_a = QuadMax(mx_a);
    mx_b = QuadMax(mx_b);
    const float base_a = mx_a == -INFINITY ? 0.f : mx_a * scale_log2;
    const float base_b = mx_b == -INFINITY ? 0.f : mx_b * scale_log2;
    const float alpha_a = exp2f(m_a * scale_log2 - base_a);
    const float alpha_b = exp2f(m_b * scale_log2 - base_b);
    m_a = mx_a;
    m_b = mx_b;
    float sum_a = 0.f, sum_b = 0.f;
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
      s[nt][0] = exp2f(s[nt][0] * scale_log2 - base_a);
      s[nt][1] = exp2f(s[nt][1] * scale_log2 - base_a);
      s[nt][2] = exp2f(s[nt][2] * scale_log2 - base_b);
      s[nt][3] = exp2f(s[nt][3] * scale_log2 - base_b);
      sum_a += s[nt][0] + s[nt][1];
      sum_b += s[nt][2] + s[nt][3];
    }
    l_a = l_a * alpha_a + sum_a;  // this thread's share; summed over the quad at the end
    l_b = l_b * alpha_b + sum_b;
#pragma unroll
    for (int i = 0; i < kD / 8; ++i) {
      acc[i][0] *= alpha_a;
      acc[i][1] *= alpha_a;
      acc[i][2] *= alpha_b;
      acc[i][3] *= alpha_b;
    }

    // O += P·V with P straight from the score registers.
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      const uint32_t pa[4] = {P2::From(s[2 * kk][0], s[2 * kk][1]),
                              P2::From(s[2 * kk][2], s[2 * kk][3]),
                              P2::From(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                              P2::From(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int dp = 0; dp < kD / 16; ++dp) {
        uint32_t r[4];
        Ldmatrix4Trans(r, Tile::Addr(vt, kk * 16 + ln % 8 + ((ln / 8) % 2) * 8,
                                            dp * 16 + (ln / 16) * 8));
        Mma<T>(acc[2 * dp], pa, r[0], r[1]);
        Mma<T>(acc[2 * dp + 1], pa, r[2], r[3]);
      }
    }
    __syncthreads();  // every warp is done with `buf` before it is refilled
    buf ^= 1;
    j = jn;
  }
  CpAsyncWait<0>();

  l_a = QuadSum(l_a);
  l_b = QuadSum(l_b);
  const float inv_a = l_a > 0.f ? 1.f / l_a : 0.f;
  const float inv_b = l_b > 0.f ? 1.f / l_b : 0.f;
  T* o = static_cast<T*>(a.o) + bb * a.o_str.batch + hq * a.o_str.head;
  if (row_a < p.s_q) {
    uint32_t* out = reinterpret_cast<uint32_t*>(o + row_a * a.o_str.row);
#pragma unroll
    for (int i = 0; i < kD / 8; ++i) out[i * 4 + t] = P2::From(acc[i][0] * inv_a, acc[i][1] * inv_a);
  }
  if (row_b < p.s_q) {
    uint32_t* out = reinterpret_cast<uint32_t*>(o + row_b * a.o_str.row);
#pragma unroll
    for (int i = 0; i < kD / 8; ++i) out[i * 4 + t] = P2::From(acc[i][2] * inv_b, acc[i][3] * inv_b);
  }
  if (t == 0) {
    float* lse = a.lse + bb * a.lse_batch_stride + hq * a.lse_head_stride;
    if (row_a < p.s_q) lse[row_a] = l_a > 0.f ? m_a * p.scale + logf(l_a) : -INFINITY;
    if (row_b < p.s_q) lse[row_b] = l_b > 0.f ? m_b * p.scale + logf(l_b) : -INFINITY;
  }
}

template <typename T, int kD>
int Launch(const FlashForwardArgs& a, cudaStream_t stream) {
  constexpr int kSmem = ForwardSmemBytes<kD>();
  const cudaError_t attr =
      cudaFuncSetAttribute(ForwardKernel<T, kD>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  if (attr != cudaSuccess) return static_cast<int>(attr);
  const dim3 grid(static_cast<unsigned>((a.shape.s_q + kBlockM - 1) / kBlockM),
                  static_cast<unsigned>(a.shape.h), static_cast<unsigned>(a.shape.b));
  ForwardKernel<T, kD><<<grid, kThreads, kSmem, stream>>>(a);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace
}  // namespace flash

int LaunchFlashForward(const FlashForwardArgs& a, void* stream) {
  if (a.shape.b == 0 || a.shape.s_q == 0 || a.shape.h == 0) return 0;
  auto s = static_cast<cudaStream_t>(stream);
  return flash::DispatchTypeAndDim(a.type, a.shape.d, [&](auto t, auto dim) {
    return flash::Launch<decltype(t), decltype(dim)::value>(a, s);
  });
}

bool SupportedHeadDim(int64_t d) { return d == 64 || d == 128; }

}  // namespace spindle::kernels::cuda
