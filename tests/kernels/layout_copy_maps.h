// The Ulysses copies' documented index maps (kernels/layout_copy.h) as
// checks, shared by the host test of the descriptors (cpu/copy_test.cc) and
// the CUDA kernels' test (cuda/layout_copy_test.cc): one small problem,
// 2-byte elements numbered 1, 2, ... so every misplaced element shows.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "kernels/layout_copy.h"

namespace spindle::kernels::layout_maps {

constexpr int64_t kB = 2, kS = 5, kH = 8, kD = 6, kP = 4, kHp = kH / kP;
constexpr int64_t kSeg = kB * kS * kHp * kD;  // elements of one packed segment

inline std::vector<uint16_t> Iota(size_t n) {
  std::vector<uint16_t> v(n);
  std::iota(v.begin(), v.end(), uint16_t{1});
  return v;
}

inline UlyssesShape Shape() { return {kB, kS, kH, kD, kP, 2}; }

// send: kP segments packed from in (b, s, h, d): segment j holds heads j·h/P…
inline ::testing::AssertionResult IsPackedByHeads(const std::vector<uint16_t>& send,
                                                  const std::vector<uint16_t>& in) {
  for (int64_t j = 0; j < kP; ++j)
    for (int64_t b = 0; b < kB; ++b)
      for (int64_t i = 0; i < kS; ++i)
        for (int64_t x = 0; x < kHp * kD; ++x) {
          const int64_t at = ((j * kB + b) * kS + i) * kHp * kD + x;
          const int64_t from = (b * kS + i) * kH * kD + j * kHp * kD + x;
          if (send[at] != in[from]) {
            return ::testing::AssertionFailure()
                   << "segment " << j << " b " << b << " token " << i << " element " << x;
          }
        }
  return ::testing::AssertionSuccess();
}

// out (b, P·s, h/P, d) unpacked from recv's kP segments: rank i's tokens at rows i·s…
inline ::testing::AssertionResult IsUnpackedByTokens(const std::vector<uint16_t>& out,
                                                     const std::vector<uint16_t>& recv) {
  const int64_t rows = kP * kS;
  for (int64_t i = 0; i < kP; ++i)
    for (int64_t b = 0; b < kB; ++b)
      for (int64_t t = 0; t < kS; ++t)
        for (int64_t x = 0; x < kHp * kD; ++x) {
          const int64_t at = (b * rows + i * kS + t) * kHp * kD + x;
          const int64_t from = ((i * kB + b) * kS + t) * kHp * kD + x;
          if (out[at] != recv[from]) {
            return ::testing::AssertionFailure()
                   << "rank " << i << " b " << b << " token " << t << " element " << x;
          }
        }
  return ::testing::AssertionSuccess();
}

}  // namespace spindle::kernels::layout_maps
