// The kernel section of spindle-bench (performance.md C1, C2): the BLAS gate,
// then Spindle's CPU block-attention kernel against libtorch 1.13's unfused
// attention, forward and backward, over S, d and the causal mask.
#pragma once

#include <ostream>

namespace spindle::bench {

struct KernelBenchOptions {
  int cores = 1;                 // kernel pool size and the torch/BLAS thread budget
  bool allow_slow_blas = false;  // run the table even when the BLAS gate fails
  bool quick = false;            // tiny shapes: a smoke test of the bench itself
};

// Prints markdown to out (warnings to stderr). Returns 0, or 1 when the BLAS
// gate fails and allow_slow_blas is false (the table is then skipped).
int RunKernelBench(const KernelBenchOptions& options, std::ostream& out);

}  // namespace spindle::bench
