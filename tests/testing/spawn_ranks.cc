#include "tests/testing/spawn_ranks.h"

#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace spindle::testing {

void SpawnRanks(int n, const std::function<void(int rank)>& fn, const SpawnRanksOptions& options) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<bool> finished(n, false);
  int running = n;

  std::vector<std::thread> threads;
  threads.reserve(n);
  for (int rank = 0; rank < n; ++rank) {
    threads.emplace_back([&, rank] {
      {
        // GoogleTest keeps traces per thread: this one tags every failure
        // of this rank.
        ::testing::ScopedTrace trace(__FILE__, __LINE__, "rank " + std::to_string(rank));
        try {
          fn(rank);
        } catch (const std::exception& e) {
          ADD_FAILURE() << "rank " << rank << " threw: " << e.what();
        } catch (...) {
          ADD_FAILURE() << "rank " << rank << " threw a non-std exception";
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      finished[rank] = true;
      --running;
      cv.notify_all();
    });
  }

  {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, options.timeout, [&] { return running == 0; })) {
      std::cerr << "SpawnRanks: ranks still running after " << options.timeout.count() << " ms:";
      for (int rank = 0; rank < n; ++rank) {
        if (!finished[rank]) std::cerr << " " << rank;
      }
      std::cerr << "; aborting" << std::endl;
      std::abort();
    }
  }
  for (auto& t : threads) t.join();
}

}  // namespace spindle::testing
