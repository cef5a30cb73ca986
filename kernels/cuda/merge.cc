#include "kernels/cuda/merge.h"

#include "kernels/cuda/launch_status.h"
#include "kernels/cuda/merge_kernel.h"

namespace spindle::kernels::cuda {

absl::Status MergeAttention(const MergeProblem& m, void* stream) {
  if (m.b < 0 || m.s < 0 || m.h < 0 || m.d < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("merge: sizes must be non-negative and d >= 1, got b=", m.b, " s=", m.s,
                     " h=", m.h, " d=", m.d));
  }
  if (m.o.data == nullptr || m.lse.data == nullptr || m.o_blk.data == nullptr ||
      m.lse_blk.data == nullptr) {
    return absl::InvalidArgumentError("merge: o, lse, o_blk and lse_blk must be non-null");
  }
  MergeArgs a{m.o.data,
              {m.o.batch_stride, m.o.row_stride, m.o.head_stride},
              m.lse.data,
              {m.lse.batch_stride, m.lse.head_stride},
              m.o_blk.data,
              {m.o_blk.batch_stride, m.o_blk.row_stride, m.o_blk.head_stride},
              m.lse_blk.data,
              {m.lse_blk.batch_stride, m.lse_blk.head_stride},
              m.b,
              m.s,
              m.h,
              m.d};
  return LaunchStatus(LaunchMergeRows(a, stream), "merge kernel");
}

}  // namespace spindle::kernels::cuda
