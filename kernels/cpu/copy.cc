#include "kernels/cpu/copy.h"

#include <cstring>

namespace spindle::kernels::cpu {

void Copy3dOuter(const Copy3dArgs& a, int64_t begin, int64_t end) {
  if (a.n[1] <= 0) return;
  const auto* src = static_cast<const char*>(a.src);
  auto* dst = static_cast<char*>(a.dst);
  for (int64_t i = begin; i < end; ++i) {
    const int64_t i0 = i / a.n[1], i1 = i % a.n[1];
    const char* s = src + i0 * a.src_stride[0] + i1 * a.src_stride[1];
    char* d = dst + i0 * a.dst_stride[0] + i1 * a.dst_stride[1];
    for (int64_t i2 = 0; i2 < a.n[2]; ++i2) {
      std::memcpy(d + i2 * a.dst_stride[2], s + i2 * a.src_stride[2],
                  static_cast<size_t>(a.inner_bytes));
    }
  }
}

}  // namespace spindle::kernels::cpu
