// The BLAS gate (performance.md C1): the machine's fp32 FMA peak, measured
// with a tight register-only FMA loop on every core, against libtorch's fp32
// matmul at n = 2048. A matmul far below peak means libtorch is calling the
// reference BLAS instead of OpenBLAS, and every torch baseline is void.
#pragma once

#include <ostream>

#include "worker/bench/bench_util.h"

namespace spindle::bench {

struct BlasGate {
  double fma_peak_gflops = 0;  // all usable cores
  double matmul_gflops = 0;    // best thread setting
  TorchThreads matmul_threads;
  bool passed = false;  // matmul >= 50% of peak
};

// Measures and prints the gate as markdown; warns on stderr when it fails.
BlasGate RunBlasGate(int cores, std::ostream& out);

}  // namespace spindle::bench
