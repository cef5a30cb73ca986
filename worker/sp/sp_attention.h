// Sequence-parallel attention as one differentiable op: Ulysses (U > 1, R = 1),
// ring (U = 1, R > 1) and USP (both) are the same code path with degenerate
// stages skipped:
//
//   q, k, v (b, L, heads, d), this rank's L tokens in layout order
//     -> Ulysses all-to-all: (b, U·L, heads/U, d), the ring rank's sequence
//     -> ring attention over R ranks (or one local block when R = 1), with
//        the pass-KV ring or LightSeq's balanced causal schedule
//     -> Ulysses all-to-all back: o (b, L, h, d)
//
// Backward runs the mirror image from the saved post-exchange q, k, v and the
// global o and lse, so attention forward never re-runs.
#pragma once

#include <ATen/core/Tensor.h>

#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/comm/communicator.h"
#include "common/layout/comm_volume.h"
#include "common/layout/head_plan.h"
#include "common/layout/sequence_layout.h"

namespace spindle::kernels {
class ThreadPool;
}

namespace spindle::sp {

class ContextAttention;
class UlyssesExchange;

struct SpAttentionOptions {
  int h = 0;     // query heads of the model
  int h_kv = 0;  // key/value heads of the model
  bool causal = true;
  double scale = 0;  // softmax scale; 0 means 1/sqrt(d)
  int sp_rank = 0;   // ring_rank · U + ulysses_rank
  // Ring stage: pass-KV ring (any layout) or LightSeq (contiguous, causal, R even).
  layout::RingSchedule schedule = layout::RingSchedule::kRing;
  // Group communicators; may be null when their degree is 1.
  std::shared_ptr<comm::Communicator> ulysses;
  std::shared_ptr<comm::Communicator> ring;
  std::shared_ptr<kernels::ThreadPool> pool;  // null: kernels run on the calling thread
};

class SpAttention : public std::enable_shared_from_this<SpAttention> {
 public:
  // Validates the head split (naming valid degrees) and group sizes against
  // the layout.
  static absl::StatusOr<std::shared_ptr<SpAttention>> Create(const layout::SequenceLayout& layout,
                                                             SpAttentionOptions options);
  ~SpAttention();

  // q (b, L, h, d), k, v (b, L, h_kv, d), L = layout().local_len(); fp32.
  // Returns o (b, L, h, d). Differentiable in q, k and v.
  at::Tensor Forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) const;

  // Forward calls so far, recomputation included (checkpointing tests count
  // them: attention-aware checkpointing must never re-run attention).
  int64_t forward_calls() const { return forward_calls_.load(std::memory_order_relaxed); }

  const layout::SequenceLayout& layout() const { return layout_; }
  const layout::HeadPlan& heads() const { return heads_; }
  // Global positions of this rank's L tokens (>= seq_len() is padding).
  const std::vector<int64_t>& local_positions() const { return local_positions_; }

  // The stages, for the autograd function.
  const UlyssesExchange* ulysses() const { return ulysses_.get(); }
  const ContextAttention& ring() const { return *ring_; }

 private:
  SpAttention(const layout::SequenceLayout& layout, const layout::HeadPlan& heads,
              SpAttentionOptions options);

  layout::SequenceLayout layout_;
  layout::HeadPlan heads_;
  SpAttentionOptions options_;
  std::vector<int64_t> local_positions_;
  std::unique_ptr<UlyssesExchange> ulysses_;  // null when U = 1
  std::unique_ptr<ContextAttention> ring_;
  mutable std::atomic<int64_t> forward_calls_{0};
};

}  // namespace spindle::sp
