// SpawnRanks: runs n ranks of a test on threads of this process, each
// calling fn(rank), and joins them. GoogleTest assertions work inside fn:
// every failure is reported with "rank i" in its trace, and an exception
// escaping fn becomes a failure naming the rank. A fatal assertion ends only
// its own rank; use ASSERT_NO_FATAL_FAILURE(SpawnRanks(...)) to stop the test.
#pragma once

#include <chrono>
#include <functional>

namespace spindle::testing {

struct SpawnRanksOptions {
  // Ranks still running after this long abort the test binary, naming them
  // (threads cannot be killed, and a ctest timeout names nobody).
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
};

void SpawnRanks(int n, const std::function<void(int rank)>& fn,
                const SpawnRanksOptions& options = {});

}  // namespace spindle::testing
