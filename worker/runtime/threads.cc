#include "worker/runtime/threads.h"

#include <sched.h>
#include <torch/torch.h>

#include <algorithm>

#include "kernels/cpu/thread_pool.h"

// Present only when OpenBLAS provides libblas.so.3 (Debian's alternatives);
// with the reference BLAS there is no pool to size.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace spindle::runtime {

int UsableCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

ThreadBudget PlanThreads(int cores, int local_ranks) {
  if (cores <= 0) cores = UsableCores();
  const int share = std::max(1, cores / std::max(1, local_ranks));
  return ThreadBudget{share, share, 1};
}

std::shared_ptr<kernels::ThreadPool> ApplyThreads(const ThreadBudget& budget) {
  at::set_num_threads(budget.torch_threads);
  if (openblas_set_num_threads != nullptr) openblas_set_num_threads(budget.blas_threads);
  return std::make_shared<kernels::ThreadPool>(budget.kernel_threads);
}

}  // namespace spindle::runtime
