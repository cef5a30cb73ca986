#include "kernels/cpu/fma_peak.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace spindle::kernels {
namespace {

// kChains independent accumulators hide the FMA latency (4 cycles on Zen 4,
// two pipes). Each returns the FLOPs done; the result sink stops the
// compiler from deleting the loop.
constexpr int kChains = 12;

__attribute__((target("avx512f"))) double FmaLoopAvx512(int64_t iters, float* sink) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(1.0f + c * 1e-3f);
  const __m512 mul = _mm512_set1_ps(0.9999999f), add = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], mul, add);
  }
  float lanes[16];
  __m512 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  _mm512_storeu_ps(lanes, sum);
  *sink = lanes[0];
  return 2.0 * 16 * kChains * static_cast<double>(iters);
}

__attribute__((target("avx2,fma"))) double FmaLoopAvx2(int64_t iters, float* sink) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(1.0f + c * 1e-3f);
  const __m256 mul = _mm256_set1_ps(0.9999999f), add = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], mul, add);
  }
  float lanes[8];
  __m256 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
  _mm256_storeu_ps(lanes, sum);
  *sink = lanes[0];
  return 2.0 * 8 * kChains * static_cast<double>(iters);
}

// SSE2 has no FMA: a multiply and an add count as the same two FLOPs.
double FmaLoopSse2(int64_t iters, float* sink) {
  __m128 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm_set1_ps(1.0f + c * 1e-3f);
  const __m128 mul = _mm_set1_ps(0.9999999f), add = _mm_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = _mm_add_ps(_mm_mul_ps(acc[c], mul), add);
  }
  *sink = _mm_cvtss_f32(acc[0]);
  return 2.0 * 4 * kChains * static_cast<double>(iters);
}

double FmaLoop(int64_t iters, float* sink) {
  const std::string isa = FmaIsa();
  if (isa == "avx512") return FmaLoopAvx512(iters, sink);
  if (isa == "avx2") return FmaLoopAvx2(iters, sink);
  return FmaLoopSse2(iters, sink);
}

}  // namespace

const char* FmaIsa() {
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
  return "sse2";
}

double MeasureFmaPeakGflops(int threads) {
  constexpr int64_t kIters = 20'000'000;
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    std::vector<float> sinks(threads);
    std::vector<double> flops(threads);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
      running.emplace_back([&, t] { flops[t] = FmaLoop(kIters, &sinks[t]); });
    }
    for (auto& t : running) t.join();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double total = 0;
    for (double f : flops) total += f;
    best = std::max(best, total / secs / 1e9);
  }
  return best;
}

}  // namespace spindle::kernels
