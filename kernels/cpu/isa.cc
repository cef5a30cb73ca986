#include "kernels/cpu/isa.h"

#include "kernels/cpu/kernel_table.h"

namespace spindle::kernels::cpu {

bool IsaSupported(Isa isa) {
  switch (isa) {
    case Isa::kSse2:
      return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::kAvx512:
      return IsaSupported(Isa::kAvx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl");
  }
  return false;
}

Isa BestIsa() {
  static const Isa best = IsaSupported(Isa::kAvx512) ? Isa::kAvx512
                          : IsaSupported(Isa::kAvx2) ? Isa::kAvx2
                                                     : Isa::kSse2;
  return best;
}

const char* IsaName(Isa isa) { return Kernels(isa).name; }

const KernelTable& Kernels(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return kAvx512Kernels;
    case Isa::kAvx2:
      return kAvx2Kernels;
    case Isa::kSse2:
      break;
  }
  return kSse2Kernels;
}

}  // namespace spindle::kernels::cpu
