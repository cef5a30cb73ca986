// Which vector instruction set the CPU kernels run with, detected once at
// run time, and the ISA-explicit entry points the tests and benchmarks use to
// exercise every variant on one machine.
//
// [ISA dispatch] The binaries must run on any x86-64, so nothing is built
// with -march. The tile code (simd_*.h, vec_exp.h, tile_*.h, *_impl.h) is
// written once against a `Vec` of the ISA and compiled three times, by
// kernels_sse2.cc, kernels_avx2.cc and kernels_avx512.cc: each includes every
// standard and shared header first, then opens `#pragma GCC target(...)`,
// defines SPINDLE_CPU_ISA and includes the tile headers, which put all their
// code in namespace cpu::SPINDLE_CPU_ISA. Functions defined after the pragma
// get the target; inline functions and templates of the headers included
// before it keep the baseline, and every symbol of the tile code is unique to
// its ISA, so the linker can never substitute an AVX-512 copy of a shared
// inline function into a baseline caller. Each file exports a KernelTable;
// Kernels() picks one with __builtin_cpu_supports.
#pragma once

#include "absl/status/status.h"
#include "kernels/attention.h"

namespace spindle::kernels::cpu {

struct KernelTable;

enum class Isa {
  kSse2,    // x86-64 baseline, 4 lanes, no FMA
  kAvx2,    // AVX2 + FMA, 8 lanes
  kAvx512,  // AVX-512 F/DQ/BW/VL, 16 lanes
};

// Whether this CPU (and OS) can run isa.
bool IsaSupported(Isa isa);
// The widest supported ISA; what AttentionForward and friends use.
Isa BestIsa();
const char* IsaName(Isa isa);  // "sse2", "avx2", "avx512"
const KernelTable& Kernels(Isa isa);

// As AttentionForward / AttentionBackward with the ISA chosen by the caller;
// FailedPrecondition when the CPU cannot run it.
absl::Status AttentionForwardOn(Isa isa, const AttentionProblem& p, const AttentionForwardOut& out,
                                ThreadPool* pool);
absl::Status AttentionBackwardOn(Isa isa, const AttentionProblem& p, const AttentionBackwardIn& in,
                                 const AttentionBackwardOut& out, ThreadPool* pool);

}  // namespace spindle::kernels::cpu
