#include "kernels/view_checks.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace spindle::kernels {

absl::Status CheckViewStrides(const std::string& view, std::array<ViewAxis, 3> axes, int64_t inner,
                              bool output) {
  for (const ViewAxis& a : axes) {
    if (a.stride < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(view, ".", a.name, ": is negative (", a.stride, ")"));
    }
  }
  if (!output) return absl::OkStatus();
  std::sort(axes.begin(), axes.end(),
            [](const ViewAxis& x, const ViewAxis& y) { return x.stride < y.stride; });
  int64_t span = inner;
  for (const ViewAxis& a : axes) {
    if (a.extent <= 1) continue;
    if (a.stride < span) {
      return absl::InvalidArgumentError(
          absl::StrCat(view, ".", a.name, ": ", a.stride,
                       " makes output elements overlap (needs >= ", span, "; d is contiguous)"));
    }
    span = a.stride * (a.extent - 1) + span;
  }
  return absl::OkStatus();
}

}  // namespace spindle::kernels
