// CPU entry points of kernels/attention.h: validate, pick the ISA's kernel
// table, size per-thread scratch, and run the tasks on the pool. Results are
// bitwise independent of the pool size: every output element is produced by
// one task in a fixed order, and split dk/dv sums are reduced in chunk order.
#include "kernels/attention.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cpu/validate.h"

namespace spindle::kernels {
namespace cpu {
namespace {

// 64-byte-aligned floats: per-thread scratch blocks (zeroed, so that vector
// lanes past a tile's edge never hold uninitialised bits) or partial sums
// (not zeroed: each task clears its own slice).
class FloatBuffer {
 public:
  FloatBuffer(int64_t floats, bool zero) {
    const size_t bytes = (static_cast<size_t>(floats) * 4 + 63) / 64 * 64;
    data_.reset(static_cast<float*>(std::aligned_alloc(64, bytes == 0 ? 64 : bytes)));
    if (data_ != nullptr && zero) std::memset(data_.get(), 0, bytes);
  }
  float* get() const { return data_.get(); }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
};

int Workers(ThreadPool* pool) { return pool != nullptr ? pool->size() : 1; }

absl::Status CheckIsa(Isa isa) {
  if (IsaSupported(isa)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("this CPU cannot run the ", IsaName(isa), " kernels"));
}

// Backward q-chunks per (batch, kv head): 1 when there are >= 8 groups to
// spread over threads; otherwise enough to make ~8 tasks, with the partial
// dk/dv buffers capped at 2^24 floats. Depends only on the problem, so
// results do not depend on the pool size.
int64_t BackwardChunks(const AttentionProblem& p, int64_t q_tiles) {
  const int64_t groups = p.b * p.h_kv;
  if (groups >= 8) return 1;
  int64_t chunks = std::min(CeilDiv(8, groups), q_tiles);
  const int64_t per_chunk = groups * 2 * p.s_k * p.d;  // partial floats per extra chunk
  chunks = std::min(chunks, 1 + (int64_t{1} << 24) / per_chunk);
  return chunks;
}

// dk, dv += Σ_c partial[c], c = 1, 2, ... in order (chunk 0 wrote them
// already); tasks of kReduceRows key rows.
void ReducePartials(const AttentionProblem& p, const AttentionBackwardOut& out,
                    const BackwardPlan& plan, ThreadPool* pool) {
  constexpr int64_t kReduceRows = 256;
  const int64_t row_blocks = CeilDiv(p.s_k, kReduceRows);
  ParallelFor(pool, p.b * p.h_kv * row_blocks, [&](int64_t task, int) {
    const int64_t group = task / row_blocks, bi = group / p.h_kv, g = group % p.h_kv;
    const int64_t j0 = task % row_blocks * kReduceRows;
    const int64_t j1 = std::min(p.s_k, j0 + kReduceRows);
    const float* base = plan.partial + group * (plan.chunks - 1) * 2 * p.s_k * p.d;
    for (int which = 0; which < 2; ++which) {
      const BshdView<float>& dst = which == 0 ? out.dk : out.dv;
      for (int64_t j = j0; j < j1; ++j) {
        float* row = dst.data + bi * dst.batch_stride + j * dst.row_stride + g * dst.head_stride;
        for (int64_t ch = 1; ch < plan.chunks; ++ch) {
          const float* part = base + ((ch - 1) * 2 + which) * p.s_k * p.d + j * p.d;
          for (int64_t c = 0; c < p.d; ++c) row[c] += part[c];
        }
      }
    }
  });
}

}  // namespace

absl::Status AttentionForwardOn(Isa isa, const AttentionProblem& p, const AttentionForwardOut& out,
                                ThreadPool* pool) {
  if (absl::Status s = ValidateProblem(p); !s.ok()) return s;
  if (absl::Status s = ValidateForwardOut(p, out); !s.ok()) return s;
  if (absl::Status s = CheckIsa(isa); !s.ok()) return s;
  const KernelTable& kernels = Kernels(isa);
  ForwardScratch layout;
  const int64_t per_thread = LayoutForwardScratch(p.d, nullptr, &layout);
  FloatBuffer scratch(per_thread * Workers(pool), /*zero=*/true);
  if (scratch.get() == nullptr) return absl::ResourceExhaustedError("forward scratch");
  ParallelFor(pool, ForwardTaskCount(p), [&](int64_t task, int worker) {
    kernels.forward(p, out, task, scratch.get() + worker * per_thread);
  });
  return absl::OkStatus();
}

absl::Status AttentionBackwardOn(Isa isa, const AttentionProblem& p, const AttentionBackwardIn& in,
                                 const AttentionBackwardOut& out, ThreadPool* pool) {
  if (absl::Status s = ValidateProblem(p); !s.ok()) return s;
  if (absl::Status s = ValidateBackward(p, in, out); !s.ok()) return s;
  if (absl::Status s = CheckIsa(isa); !s.ok()) return s;
  const KernelTable& kernels = Kernels(isa);
  BackwardScratch layout;
  const int64_t per_thread = LayoutBackwardScratch(p.d, p.s_k, nullptr, &layout);
  FloatBuffer scratch(per_thread * Workers(pool), /*zero=*/true);
  BackwardPlan plan;
  plan.q_tiles = CeilDiv(p.s_q, kBwdBlockQ);
  plan.chunks = BackwardChunks(p, plan.q_tiles);
  FloatBuffer partial(p.b * p.h_kv * (plan.chunks - 1) * 2 * p.s_k * p.d,
                      /*zero=*/false);
  if (scratch.get() == nullptr || partial.get() == nullptr) {
    return absl::ResourceExhaustedError("backward scratch");
  }
  plan.partial = partial.get();
  ParallelFor(pool, BackwardTaskCount(p, plan), [&](int64_t task, int worker) {
    kernels.backward(p, in, out, plan, task, scratch.get() + worker * per_thread);
  });
  if (plan.chunks > 1) ReducePartials(p, out, plan, pool);
  return absl::OkStatus();
}

}  // namespace cpu

absl::Status AttentionForward(const AttentionProblem& p, const AttentionForwardOut& out,
                              ThreadPool* pool) {
  return cpu::AttentionForwardOn(cpu::BestIsa(), p, out, pool);
}

absl::Status AttentionBackward(const AttentionProblem& p, const AttentionBackwardIn& in,
                               const AttentionBackwardOut& out, ThreadPool* pool) {
  return cpu::AttentionBackwardOn(cpu::BestIsa(), p, in, out, pool);
}

}  // namespace spindle::kernels
