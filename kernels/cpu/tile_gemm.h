// Register-blocked tile GEMM: C (m × n) = init(C) + A (m × k) · B (k × n)
// with A read element by element (broadcast) through arbitrary strides and B
// and C read as rows of contiguous vectors. One routine serves all six
// attention products: a transposed operand is just a swapped pair of A
// strides, so nothing but Qᵀ and dOᵀ is ever packed. Include only from a
// kernels_<isa>.cc translation unit; see [ISA dispatch] in isa.h.
#pragma once

#ifndef SPINDLE_CPU_ISA
#error "include from a kernels_<isa>.cc translation unit"
#endif

namespace spindle::kernels::cpu::SPINDLE_CPU_ISA {

// How the product P = A·B meets C. P is always summed from zero over k and
// combined with C once at the end, so long accumulations (dV over every query
// of every head, dQ over every key tile) add one rounded tile sum per call
// instead of extending a single fp32 chain: ~8x smaller error at 1K queries.
enum class CInit {
  kZero,      // C = P
  kAdd,       // C = C + P
  kScaleAdd,  // C = row_scale[r]·C + P (online-softmax rescale)
};

struct GemmOperands {
  const float* a = nullptr;  // A(r, kk) = a[r·a_rs + kk·a_ks]
  int64_t a_rs = 0;
  int64_t a_ks = 0;
  const float* b = nullptr;  // B(kk, x) = b[kk·ldb + x], x contiguous
  int64_t ldb = 0;
  float* c = nullptr;  // C(r, x) = c[r·ldc + x], x contiguous
  int64_t ldc = 0;
  int64_t k = 0;  // inner dimension, >= 0
  CInit init = CInit::kZero;
  const float* row_scale = nullptr;  // (m), kScaleAdd only
  // Optional (m): row r's A is zero outside kk in [k_begin[r], k_end[r]), so
  // each micro-tile runs only the union of its rows' spans.
  const int32_t* k_begin = nullptr;
  const int32_t* k_end = nullptr;
  // Optional (m): only columns [n_begin[r], n_end[r]) of row r are needed;
  // the others may be left unwritten.
  const int32_t* n_begin = nullptr;
  const int32_t* n_end = nullptr;
};

// One MR × (NV vectors) block of C at row r0, column n0, summed over kk in
// [kb, ke) in registers. kTail: the last vector has only the lanes in
// `tail` (B and C are never touched past column n).
template <int MR, int NV, bool kTail>
void MicroTile(const GemmOperands& g, int64_t r0, int64_t n0, int64_t kb, int64_t ke,
               Vec::Mask tail) {
  constexpr int kW = Vec::kWidth;
  const float* a = g.a + r0 * g.a_rs + kb * g.a_ks;
  const float* b = g.b + kb * g.ldb + n0;
  float* c = g.c + r0 * g.ldc + n0;
  const int64_t a_rs = g.a_rs, a_ks = g.a_ks, ldb = g.ldb, ldc = g.ldc;
  auto load = [&](const float* p, int v) {
    return kTail && v == NV - 1 ? Vec::LoadTail(p, tail) : Vec::Load(p);
  };

  if (g.init != CInit::kZero) {
    // C may be far away (dk, dv live in the output): start fetching it now so
    // the epilogue does not stall on it.
    for (int r = 0; r < MR; ++r) {
      for (int byte = 0; byte < NV * kW * 4; byte += 64) {
        __builtin_prefetch(reinterpret_cast<const char*>(c + r * ldc) + byte, 1, 3);
      }
    }
  }

  Vec::F acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = Vec::Zero();

  for (int64_t kk = kb; kk < ke; ++kk) {
    Vec::F bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = load(b + v * kW, v);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const Vec::F av = Vec::Set1(a[r * a_rs]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = Vec::Fma(av, bv[v], acc[r][v]);
    }
    a += a_ks;
    b += ldb;
  }

#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    const Vec::F s = Vec::Set1(g.init == CInit::kScaleAdd ? g.row_scale[r0 + r] : 1.0f);
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      float* p = c + r * ldc + v * kW;
      Vec::F x = acc[r][v];
      if (g.init != CInit::kZero) x = Vec::Fma(load(p, v), s, x);
      if (kTail && v == NV - 1) {
        Vec::StoreTail(p, x, tail);
      } else {
        Vec::Store(p, x);
      }
    }
  }
}

using TileFn = void (*)(const GemmOperands&, int64_t, int64_t, int64_t, int64_t, Vec::Mask);

// The MicroTile for mr <= MR rows and nv <= NV vectors.
template <int MR, int NV>
TileFn PickTile(int mr, int nv, bool tail) {
  if constexpr (MR > 1) {
    if (mr < MR) return PickTile<MR - 1, NV>(mr, nv, tail);
  }
  if constexpr (NV > 1) {
    if (nv < NV) return PickTile<MR, NV - 1>(mr, nv, tail);
  }
  return tail ? &MicroTile<MR, NV, true> : &MicroTile<MR, NV, false>;
}

// The union of the spans [begin[r], end[r]) of rows [r0, r0 + rows), or
// [0, full) without spans; empty when hi <= lo.
inline void RowSpan(const int32_t* begin, const int32_t* end, int64_t r0, int rows, int64_t full,
                    int64_t* lo, int64_t* hi) {
  *lo = 0;
  *hi = full;
  if (begin == nullptr) return;
  *lo = full;
  *hi = 0;
  for (int r = 0; r < rows; ++r) {
    *lo = std::min<int64_t>(*lo, begin[r0 + r]);
    *hi = std::max<int64_t>(*hi, end[r0 + r]);
  }
}

// C (m × n) per g, in MR × NV-vector blocks. Without column spans the column
// blocks are the outer loop, so that a B panel (k × NV vectors) is reused by
// every row block; with them each row block covers only its columns.
template <int MR, int NV>
void Gemm(int64_t m, int64_t n, const GemmOperands& g) {
  constexpr int kW = Vec::kWidth;
  auto run = [&](int64_t r0, int rows, int64_t n0, int64_t n1) {
    const int cols = static_cast<int>(n1 - n0);
    const int nv = (cols + kW - 1) / kW;
    const int lanes = cols - (nv - 1) * kW;
    int64_t kb, ke;
    RowSpan(g.k_begin, g.k_end, r0, rows, g.k, &kb, &ke);
    PickTile<MR, NV>(rows, nv, lanes < kW)(g, r0, n0, kb, ke, Vec::TailMask(lanes));
  };
  if (g.n_begin == nullptr) {
    for (int64_t n0 = 0; n0 < n; n0 += NV * kW) {
      const int64_t n1 = std::min<int64_t>(n, n0 + NV * kW);
      for (int64_t r0 = 0; r0 < m; r0 += MR)
        run(r0, static_cast<int>(std::min<int64_t>(MR, m - r0)), n0, n1);
    }
    return;
  }
  for (int64_t r0 = 0; r0 < m; r0 += MR) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, m - r0));
    int64_t lo, hi;
    RowSpan(g.n_begin, g.n_end, r0, rows, n, &lo, &hi);
    for (int64_t n0 = lo / kW * kW; n0 < hi; n0 += NV * kW) {
      run(r0, rows, n0, std::min<int64_t>(hi, n0 + NV * kW));
    }
  }
}

}  // namespace spindle::kernels::cpu::SPINDLE_CPU_ISA
