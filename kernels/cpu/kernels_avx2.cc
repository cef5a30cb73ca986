// AVX2 + FMA instantiation of the CPU attention kernels.
// See [ISA dispatch] in isa.h for how this file is put together.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/attention.h"
#include "kernels/cpu/kernel_table.h"

// Everything above keeps the baseline target; everything below is compiled
// for this ISA and lives in namespace cpu::avx2.
#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi,bmi2,f16c,popcnt")
// Each header below uses the ones before it.
// clang-format off
#define SPINDLE_CPU_ISA avx2
#include "kernels/cpu/simd_avx2.h"
#include "kernels/cpu/vec_exp.h"
#include "kernels/cpu/tile_gemm.h"
#include "kernels/cpu/tile_ops.h"
#include "kernels/cpu/forward_impl.h"
#include "kernels/cpu/backward_impl.h"
#undef SPINDLE_CPU_ISA
// clang-format on

namespace spindle::kernels::cpu {

extern const KernelTable kAvx2Kernels = {"avx2", &avx2::ForwardTask, &avx2::BackwardTask,
                                         &avx2::Exp2Array};

}  // namespace spindle::kernels::cpu
#pragma GCC pop_options
