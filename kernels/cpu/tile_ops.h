// Row-level helpers shared by the forward and backward tile loops: packing a
// block of rows transposed, dot products, and writing accumulator rows to
// strided outputs. Include only from a kernels_<isa>.cc translation unit;
// see [ISA dispatch] in isa.h.
#pragma once

#ifndef SPINDLE_CPU_ISA
#error "include from a kernels_<isa>.cc translation unit"
#endif

namespace spindle::kernels::cpu::SPINDLE_CPU_ISA {

// xt (d × ld) = scale · xᵀ for rows x (n × d, row stride rs), n <= ld.
// Done once per query tile and reused by every key tile.
inline void PackTransposed(const float* x, int64_t rs, int64_t n, int64_t d, float scale, float* xt,
                           int64_t ld) {
  constexpr int64_t kRows = 16;  // rows per pass: 16 contiguous stores per column
  for (int64_t i0 = 0; i0 < n; i0 += kRows) {
    const int64_t rows = n - i0 < kRows ? n - i0 : kRows;
    for (int64_t c = 0; c < d; ++c) {
      float* out = xt + c * ld + i0;
      const float* in = x + i0 * rs + c;
      for (int64_t i = 0; i < rows; ++i) out[i] = in[i * rs] * scale;
    }
  }
}

// Σ_c a[c]·b[c] over c < d.
inline float RowDot(const float* a, const float* b, int64_t d) {
  constexpr int kW = Vec::kWidth;
  Vec::F acc = Vec::Zero();
  int64_t c = 0;
  for (; c + kW <= d; c += kW) acc = Vec::Fma(Vec::Load(a + c), Vec::Load(b + c), acc);
  if (c < d) {
    const Vec::Mask m = Vec::TailMask(static_cast<int>(d - c));
    acc = Vec::Fma(Vec::LoadTail(a + c, m), Vec::LoadTail(b + c, m), acc);
  }
  return Vec::ReduceAdd(acc);
}

// dst[c] = scale·src[c] (+ dst[c] when add) for c < d.
inline void WriteRow(const float* src, int64_t d, float scale, bool add, float* dst) {
  constexpr int kW = Vec::kWidth;
  const Vec::F s = Vec::Set1(scale);
  int64_t c = 0;
  for (; c + kW <= d; c += kW) {
    Vec::F x = Vec::Mul(Vec::Load(src + c), s);
    if (add) x = Vec::Add(x, Vec::Load(dst + c));
    Vec::Store(dst + c, x);
  }
  if (c < d) {
    const Vec::Mask m = Vec::TailMask(static_cast<int>(d - c));
    Vec::F x = Vec::Mul(Vec::LoadTail(src + c, m), s);
    if (add) x = Vec::Add(x, Vec::LoadTail(dst + c, m));
    Vec::StoreTail(dst + c, x, m);
  }
}

// dst[c] = 0 for c < d.
inline void ZeroRow(int64_t d, float* dst) {
  for (int64_t c = 0; c < d; ++c) dst[c] = 0.0f;
}

}  // namespace spindle::kernels::cpu::SPINDLE_CPU_ISA
