// Vec for AVX-512 (16 lanes). Include only from kernels_avx512.cc, after its
// target pragma; see [ISA dispatch] in isa.h.
#pragma once

#ifndef SPINDLE_CPU_ISA
#error "include from a kernels_<isa>.cc translation unit"
#endif

namespace spindle::kernels::cpu::SPINDLE_CPU_ISA {

// The vector operations the tile code is written against. Max and Min return
// the second operand when either is NaN (x86 semantics).
struct Vec {
  using F = __m512;
  using I = __m512i;
  using Mask = __mmask16;  // the valid lanes of a partial vector
  static constexpr int kWidth = 16;
  // Micro-tile shapes (rows × vectors): scores (keys × queries) and
  // outputs (rows × d). 24 accumulators of the 32 registers each; 8 × 3 keeps
  // a score tile's B panel (d × 48 queries) within L1.
  static constexpr int kScoreMr = 8;
  static constexpr int kScoreNv = 3;
  static constexpr int kOutMr = 6;
  static constexpr int kOutNv = 4;

  static F Zero() { return _mm512_setzero_ps(); }
  static F Set1(float x) { return _mm512_set1_ps(x); }
  static F Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, F v) { _mm512_storeu_ps(p, v); }
  // lanes in [1, kWidth].
  static Mask TailMask(int lanes) { return static_cast<Mask>((1u << lanes) - 1u); }
  static F LoadTail(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void StoreTail(float* p, F v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static F Add(F a, F b) { return _mm512_add_ps(a, b); }
  static F Sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F Mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F Max(F a, F b) { return _mm512_max_ps(a, b); }
  static F Min(F a, F b) { return _mm512_min_ps(a, b); }
  static F Fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }  // a·b + c
  // x where p != 0, else 0 (so 0·anything, even a stale inf, is 0).
  static F KeepWhereNonzero(F x, F p) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(p, _mm512_setzero_ps(), _CMP_NEQ_UQ), x);
  }
  static float ReduceAdd(F v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
    return _mm_cvtss_f32(q);
  }
  // Round to nearest (the default MXCSR mode), int to float, and 2^n built in
  // the exponent field (exact for n in [-126, 127]; -127 gives 0, 128 +inf).
  static I RoundToInt(F x) { return _mm512_cvtps_epi32(x); }
  static F IntToFloat(I n) { return _mm512_cvtepi32_ps(n); }
  static F Pow2Int(I n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23));
  }
};

}  // namespace spindle::kernels::cpu::SPINDLE_CPU_ISA
