// Stride checks of the strided views (kernels/attention.h) shared by the CPU
// and CUDA entry points. Errors are InvalidArgument "<view>.<field>: why",
// e.g. "dq.row_stride: 64 makes output elements overlap (needs >= 128; d is
// contiguous)".
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "kernels/attention.h"

namespace spindle::kernels {

struct ViewAxis {
  const char* name;
  int64_t stride;  // elements
  int64_t extent;
};

// Strides must be >= 0. For outputs, distinct indices must not share memory:
// walking axes by increasing stride, each stride must clear the span of the
// axes inside it (innermost: `inner` contiguous elements).
absl::Status CheckViewStrides(const std::string& view, std::array<ViewAxis, 3> axes, int64_t inner,
                              bool output);

// A (b, s, h, d) view: non-null, and its strides as above.
template <typename T>
absl::Status CheckBshdView(const std::string& name, const BshdView<T>& v, int64_t b, int64_t s,
                           int64_t h, int64_t d, bool output) {
  if (v.data == nullptr) return absl::InvalidArgumentError(name + ".data: is null");
  return CheckViewStrides(
      name,
      {ViewAxis{"batch_stride", v.batch_stride, b}, ViewAxis{"row_stride", v.row_stride, s},
       ViewAxis{"head_stride", v.head_stride, h}},
      d, output);
}

// A (b, h, s) view of statistics whose s is contiguous.
template <typename T>
absl::Status CheckBhsView(const std::string& name, const BhsView<T>& v, int64_t b, int64_t h,
                          int64_t s, bool output) {
  if (v.data == nullptr) return absl::InvalidArgumentError(name + ".data: is null");
  return CheckViewStrides(name,
                          {ViewAxis{"batch_stride", v.batch_stride, b},
                           ViewAxis{"head_stride", v.head_stride, h}, ViewAxis{"unused", 0, 1}},
                          s, output);
}

}  // namespace spindle::kernels
