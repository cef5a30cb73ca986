// MergeAttention (kernels/attention.h): folds one block's (o, lse) into the
// running result, row by row, in fp32. Memory-bound; plain loops suffice.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/attention.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cpu/validate.h"

namespace spindle::kernels {
namespace {

constexpr int64_t kRowsPerTask = 256;

// One row: the empty cases first (sp-algorithms.md §1, -inf guards), so that
// -inf - (-inf) is never formed.
void MergeRow(float* o, float* lse, const float* o_blk, float lse_blk, int64_t d) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const float a = *lse, b = lse_blk;
  if (b == kNegInf) {
    if (a == kNegInf) std::fill(o, o + d, 0.0f);
    return;
  }
  if (a == kNegInf) {
    std::copy(o_blk, o_blk + d, o);
    *lse = b;
    return;
  }
  const float merged = std::max(a, b) + std::log1p(std::exp(-std::abs(a - b)));
  const float wa = std::exp(a - merged), wb = std::exp(b - merged);
  for (int64_t c = 0; c < d; ++c) o[c] = wa * o[c] + wb * o_blk[c];
  *lse = merged;
}

}  // namespace

absl::Status MergeAttention(const MergeProblem& m, ThreadPool* pool) {
  if (absl::Status s = cpu::ValidateMerge(m); !s.ok()) return s;
  const int64_t row_blocks = cpu::CeilDiv(m.s, kRowsPerTask);
  ParallelFor(pool, m.b * m.h * row_blocks, [&](int64_t task, int) {
    const int64_t bh = task / row_blocks, bi = bh / m.h, hh = bh % m.h;
    const int64_t i0 = task % row_blocks * kRowsPerTask;
    const int64_t i1 = std::min(m.s, i0 + kRowsPerTask);
    float* lse = m.lse.data + bi * m.lse.batch_stride + hh * m.lse.head_stride;
    const float* lse_blk =
        m.lse_blk.data + bi * m.lse_blk.batch_stride + hh * m.lse_blk.head_stride;
    for (int64_t i = i0; i < i1; ++i) {
      MergeRow(m.o.data + bi * m.o.batch_stride + i * m.o.row_stride + hh * m.o.head_stride,
               lse + i,
               m.o_blk.data + bi * m.o_blk.batch_stride + i * m.o_blk.row_stride +
                   hh * m.o_blk.head_stride,
               lse_blk[i], m.d);
    }
  });
  return absl::OkStatus();
}

}  // namespace spindle::kernels
