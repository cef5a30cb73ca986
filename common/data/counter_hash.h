// Counter-based hashing for stateless, reproducible sampling: every random
// value is a pure function of (seed, stream, counter), so any rank can compute
// any sequence without replaying a generator, and a resumed run needs only the
// step. Not cryptographic; splitmix64 (Steele et al., 2014) has full avalanche,
// which is all the data pipeline needs.
#pragma once

#include <cstdint>

namespace spindle::data {

// Streams keep different uses of one seed independent.
inline constexpr uint64_t kWindowStream = 0x77696e646f77ULL;  // file window offsets
inline constexpr uint64_t kCopyStream = 0x636f7079ULL;        // synthetic copy tokens

// splitmix64's finaliser applied to x + golden ratio: a bijection on uint64.
constexpr uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// One 64-bit value per (seed, stream, counter); chaining bijections keeps
// distinct counters distinct for a fixed (seed, stream).
constexpr uint64_t CounterHash(uint64_t seed, uint64_t stream, uint64_t counter) {
  return SplitMix64(SplitMix64(SplitMix64(seed) ^ stream) ^ counter);
}

// Maps a uniform 64-bit value onto [0, n) by the high half of h·n (Lemire);
// the bias is below n / 2^64, negligible for any file or vocabulary. n > 0.
inline uint64_t UniformBelow(uint64_t h, uint64_t n) {
  __extension__ using Uint128 = unsigned __int128;
  return static_cast<uint64_t>((static_cast<Uint128>(h) * n) >> 64);
}

}  // namespace spindle::data
