// The CPU's fp32 peak, measured: a register-only FMA loop (AVX-512, AVX2+FMA
// or SSE2, picked at run time) on `threads` threads at once, best of three
// rounds of about 0.2 s. The ceiling MFU is computed against on CPU (the
// benchmark's BLAS gate, worker daemons' CPU slots).
#pragma once

namespace spindle::kernels {

// "avx512", "avx2" or "sse2": the loop the probe runs.
const char* FmaIsa();

// fp32 GFLOP/s of `threads` threads together (an FMA counts as 2 FLOPs).
double MeasureFmaPeakGflops(int threads);

}  // namespace spindle::kernels
