#include "kernels/cpu/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace spindle::kernels {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskOnceWithWorkerIdsInRange) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(n);
      std::atomic<bool> bad_worker{false};
      pool.ParallelFor(n, [&](int64_t task, int worker) {
        hits[task].fetch_add(1);
        if (worker < 0 || worker >= threads) bad_worker = true;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << threads << " " << n;
      EXPECT_FALSE(bad_worker);
    }
  }
}

TEST(ThreadPoolTest, ManyConsecutiveCallsAndNullPoolRunInline) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  for (int round = 0; round < 2000; ++round) {
    pool.ParallelFor(3, [&](int64_t task, int) { sum += task; });
  }
  EXPECT_EQ(sum.load(), 2000 * 3);
  std::vector<int> order;
  ParallelFor(nullptr, 4, [&](int64_t task, int worker) {
    EXPECT_EQ(worker, 0);
    order.push_back(static_cast<int>(task));
  });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace spindle::kernels
