#include "worker/bench/blas_gate.h"

#include <torch/torch.h>

#include <iostream>

#include "kernels/cpu/fma_peak.h"

namespace spindle::bench {

BlasGate RunBlasGate(int cores, std::ostream& out) {
  BlasGate gate;
  gate.fma_peak_gflops = kernels::MeasureFmaPeakGflops(cores);
  constexpr int64_t n = 2048;
  const at::Tensor a = at::randn({n, n}), b = at::randn({n, n});
  Table table({"fp32 matmul n = 2048", "GFLOP/s", "% of FMA peak"});
  for (const TorchThreads& t : CandidateSettings(cores)) {
    ApplyTorchThreads(t);
    const double secs = MedianSeconds([&] { at::matmul(a, b); }, /*warmup=*/2, /*timed=*/5);
    const double gflops = 2.0 * n * n * n / secs / 1e9;
    table.Add({t.Label(), Fixed(gflops, 1), Fixed(100 * gflops / gate.fma_peak_gflops, 0)});
    if (gflops > gate.matmul_gflops) {
      gate.matmul_gflops = gflops;
      gate.matmul_threads = t;
    }
  }
  gate.passed = gate.matmul_gflops >= 0.5 * gate.fma_peak_gflops;

  out << "## BLAS gate (C1)\n\n";
  out << "FMA peak (" << kernels::FmaIsa() << " loop, " << cores
      << " threads): " << Fixed(gate.fma_peak_gflops, 1) << " GFLOP/s\n\n";
  table.Print(out);
  out << "\nBest: " << Fixed(gate.matmul_gflops, 1)
      << " GFLOP/s = " << Fixed(100 * gate.matmul_gflops / gate.fma_peak_gflops, 0)
      << "% of peak (target >= 75%; gate fails below 50%): " << (gate.passed ? "pass" : "FAIL")
      << "\n\n";
  if (!gate.passed) {
    std::cerr << "\n*** BLAS GATE FAILED: libtorch fp32 matmul runs at "
              << Fixed(gate.matmul_gflops, 1) << " GFLOP/s, under 50% of the "
              << Fixed(gate.fma_peak_gflops, 1) << " GFLOP/s FMA peak. libtorch is probably\n"
              << "*** calling the reference BLAS: install libopenblas0-pthread and check\n"
              << "*** `update-alternatives --display libblas.so.3-x86_64-linux-gnu`. Every torch\n"
              << "*** baseline below is meaningless until this is fixed.\n\n";
  }
  return gate;
}

}  // namespace spindle::bench
