// A fixed pool of worker threads for the CPU kernels. Kernels split their work
// into independent tasks and ParallelFor hands them out dynamically, so causal
// problems whose tasks differ in cost still keep every thread busy.
//
// The pool owns its threads; it does not size itself from the machine. Callers
// choose the count (see worker/sp for how ranks on one host share cores).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace spindle::kernels {

class ThreadPool {
 public:
  // threads >= 1; the calling thread counts as one of them.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(task, worker) for every task in [0, n) and returns when all are
  // done. worker is in [0, size()) and identifies the executing thread, so
  // callers can index per-thread scratch. Not reentrant: fn must not call
  // ParallelFor on the same pool.
  void ParallelFor(int64_t n, const std::function<void(int64_t task, int worker)>& fn);

 private:
  void WorkerLoop(int worker);
  void RunTasks(int worker);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int64_t, int)>* fn_ = nullptr;  // guarded by mu_
  int64_t n_ = 0;
  uint64_t generation_ = 0;  // guarded by mu_; bumped per ParallelFor
  int active_ = 0;           // guarded by mu_; workers still inside a generation
  bool stop_ = false;        // guarded by mu_
  std::atomic<int64_t> next_{0};
};

// Runs fn over [0, n) on pool, or inline when pool is nullptr.
inline void ParallelFor(ThreadPool* pool, int64_t n,
                        const std::function<void(int64_t task, int worker)>& fn) {
  if (pool == nullptr) {
    for (int64_t i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  pool->ParallelFor(n, fn);
}

}  // namespace spindle::kernels
