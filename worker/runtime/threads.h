// CPU thread budget of one rank. libtorch's intra-op pool, OpenBLAS's pool and
// Spindle's kernel pool must not oversubscribe the cores: ranks sharing a host
// split its cores, and within a rank torch runs single-threaded while BLAS and
// the attention kernels (which never run at the same time) use the rank's share.
#pragma once

#include <memory>

namespace spindle::kernels {
class ThreadPool;
}

namespace spindle::runtime {

struct ThreadBudget {
  int kernel_threads = 1;  // Spindle's attention kernel pool
  int blas_threads = 1;    // OpenBLAS (libtorch's matmul)
  int torch_threads = 1;   // libtorch intra-op (elementwise, reductions)
};

// cores: usable cores on the host (0: ask the OS); local_ranks: ranks of this
// host. Pure: each rank gets max(1, cores / local_ranks).
ThreadBudget PlanThreads(int cores, int local_ranks);

// Applies the budget process-wide (torch, and OpenBLAS when it is the BLAS
// libtorch resolved) and returns a kernel pool of budget.kernel_threads.
std::shared_ptr<kernels::ThreadPool> ApplyThreads(const ThreadBudget& budget);

// Cores this process may run on (sched affinity), at least 1.
int UsableCores();

}  // namespace spindle::runtime
