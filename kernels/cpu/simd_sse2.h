// Vec for SSE2 (4 lanes, no FMA): the x86-64 baseline, so the portable
// fallback. Include only from kernels_sse2.cc; see [ISA dispatch] in isa.h.
#pragma once

#ifndef SPINDLE_CPU_ISA
#error "include from a kernels_<isa>.cc translation unit"
#endif

namespace spindle::kernels::cpu::SPINDLE_CPU_ISA {

// See simd_avx512.h for the contract. Fma rounds twice here.
struct Vec {
  using F = __m128;
  using I = __m128i;
  using Mask = int;  // number of valid lanes
  static constexpr int kWidth = 4;
  // 8 accumulators: without FMA each update needs a temporary register.
  static constexpr int kScoreMr = 4;
  static constexpr int kScoreNv = 2;
  static constexpr int kOutMr = 4;
  static constexpr int kOutNv = 2;

  static F Zero() { return _mm_setzero_ps(); }
  static F Set1(float x) { return _mm_set1_ps(x); }
  static F Load(const float* p) { return _mm_loadu_ps(p); }
  static void Store(float* p, F v) { _mm_storeu_ps(p, v); }
  static Mask TailMask(int lanes) { return lanes; }
  static F LoadTail(const float* p, Mask m) {
    alignas(16) float buf[4] = {0, 0, 0, 0};
    for (int i = 0; i < m; ++i) buf[i] = p[i];
    return _mm_load_ps(buf);
  }
  static void StoreTail(float* p, F v, Mask m) {
    alignas(16) float buf[4];
    _mm_store_ps(buf, v);
    for (int i = 0; i < m; ++i) p[i] = buf[i];
  }
  static F Add(F a, F b) { return _mm_add_ps(a, b); }
  static F Sub(F a, F b) { return _mm_sub_ps(a, b); }
  static F Mul(F a, F b) { return _mm_mul_ps(a, b); }
  static F Max(F a, F b) { return _mm_max_ps(a, b); }
  static F Min(F a, F b) { return _mm_min_ps(a, b); }
  static F Fma(F a, F b, F c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
  static F KeepWhereNonzero(F x, F p) { return _mm_and_ps(_mm_cmpneq_ps(p, _mm_setzero_ps()), x); }
  static float ReduceAdd(F v) {
    F q = _mm_add_ps(v, _mm_movehl_ps(v, v));
    q = _mm_add_ss(q, _mm_shuffle_ps(q, q, 1));
    return _mm_cvtss_f32(q);
  }
  static I RoundToInt(F x) { return _mm_cvtps_epi32(x); }
  static F IntToFloat(I n) { return _mm_cvtepi32_ps(n); }
  static F Pow2Int(I n) {
    return _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(n, _mm_set1_epi32(127)), 23));
  }
};

}  // namespace spindle::kernels::cpu::SPINDLE_CPU_ISA
