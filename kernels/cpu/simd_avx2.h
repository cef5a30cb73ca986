// Vec for AVX2 + FMA (8 lanes). Include only from kernels_avx2.cc, after its
// target pragma; see [ISA dispatch] in isa.h.
#pragma once

#ifndef SPINDLE_CPU_ISA
#error "include from a kernels_<isa>.cc translation unit"
#endif

namespace spindle::kernels::cpu::SPINDLE_CPU_ISA {

// See simd_avx512.h for the contract.
struct Vec {
  using F = __m256;
  using I = __m256i;
  using Mask = __m256i;  // lane i valid iff its sign bit is set
  static constexpr int kWidth = 8;
  // 12 accumulators of the 16 registers.
  static constexpr int kScoreMr = 4;
  static constexpr int kScoreNv = 3;
  static constexpr int kOutMr = 6;
  static constexpr int kOutNv = 2;

  static F Zero() { return _mm256_setzero_ps(); }
  static F Set1(float x) { return _mm256_set1_ps(x); }
  static F Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static Mask TailMask(int lanes) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static F LoadTail(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void StoreTail(float* p, F v, Mask m) { _mm256_maskstore_ps(p, m, v); }
  static F Add(F a, F b) { return _mm256_add_ps(a, b); }
  static F Sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F Mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F Max(F a, F b) { return _mm256_max_ps(a, b); }
  static F Min(F a, F b) { return _mm256_min_ps(a, b); }
  static F Fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F KeepWhereNonzero(F x, F p) {
    return _mm256_and_ps(_mm256_cmp_ps(p, _mm256_setzero_ps(), _CMP_NEQ_UQ), x);
  }
  static float ReduceAdd(F v) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
    return _mm_cvtss_f32(q);
  }
  static I RoundToInt(F x) { return _mm256_cvtps_epi32(x); }
  static F IntToFloat(I n) { return _mm256_cvtepi32_ps(n); }
  static F Pow2Int(I n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
  }
};

}  // namespace spindle::kernels::cpu::SPINDLE_CPU_ISA
