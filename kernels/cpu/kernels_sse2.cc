// SSE2 (the x86-64 baseline: the portable fallback) instantiation of the CPU attention kernels.
// See [ISA dispatch] in isa.h for how this file is put together.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/attention.h"
#include "kernels/cpu/kernel_table.h"

// Everything above keeps the baseline target; everything below is compiled
// in namespace cpu::sse2 (SSE2 is the baseline, so no target pragma).
// Each header below uses the ones before it.
// clang-format off
#define SPINDLE_CPU_ISA sse2
#include "kernels/cpu/simd_sse2.h"
#include "kernels/cpu/vec_exp.h"
#include "kernels/cpu/tile_gemm.h"
#include "kernels/cpu/tile_ops.h"
#include "kernels/cpu/forward_impl.h"
#include "kernels/cpu/backward_impl.h"
#undef SPINDLE_CPU_ISA
// clang-format on

namespace spindle::kernels::cpu {

extern const KernelTable kSse2Kernels = {"sse2", &sse2::ForwardTask, &sse2::BackwardTask,
                                         &sse2::Exp2Array};

}  // namespace spindle::kernels::cpu
