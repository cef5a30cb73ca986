// AVX-512 instantiation of the CPU attention kernels.
// See [ISA dispatch] in isa.h for how this file is put together.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/attention.h"
#include "kernels/cpu/kernel_table.h"

// Everything above keeps the baseline target; everything below is compiled
// for this ISA and lives in namespace cpu::avx512.
#pragma GCC push_options
// GCC 12 warns about the deliberately undefined operands inside its own
// AVX-512 intrinsics (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,bmi,bmi2,f16c,popcnt")
// Each header below uses the ones before it.
// clang-format off
#define SPINDLE_CPU_ISA avx512
#include "kernels/cpu/simd_avx512.h"
#include "kernels/cpu/vec_exp.h"
#include "kernels/cpu/tile_gemm.h"
#include "kernels/cpu/tile_ops.h"
#include "kernels/cpu/forward_impl.h"
#include "kernels/cpu/backward_impl.h"
#undef SPINDLE_CPU_ISA
// clang-format on

namespace spindle::kernels::cpu {

extern const KernelTable kAvx512Kernels = {"avx512", &avx512::ForwardTask, &avx512::BackwardTask,
                                           &avx512::Exp2Array};

}  // namespace spindle::kernels::cpu
#pragma GCC diagnostic pop
#pragma GCC pop_options
