// Which sequence each data-parallel rank trains on at each micro-step: a pure
// map from (step, micro_step, dp_rank, seq) to a global sequence index that
// TokenSource::Sequence turns into tokens. The data cursor is the optimizer
// step alone: a run resumed at step k reads exactly what it would have read.
//
// [Sequence index mapping] With G = dp · micro_batch_seqs · accumulation_steps
// sequences per optimizer step,
//   index = step · G + (micro_step · dp + dp_rank) · micro_batch_seqs + seq
// i.e. step k consumes indices [k·G, (k+1)·G) exactly once, flattened
// row-major over (micro_step, dp_rank, seq). The set per step depends only on
// G, so DP = 2 × micro-batch 1, DP = 1 × micro-batch 2 and DP = 1 × 2
// accumulation steps all train on sequences {2k, 2k + 1} at step k.
// Sequence-parallel ranks of one DP replica share its indices.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace spindle::data {

struct SamplerShape {
  int dp = 1;                  // data-parallel replicas
  int micro_batch_seqs = 1;    // sequences per micro-batch on each replica
  int accumulation_steps = 1;  // micro-batches per optimizer step

  // G: sequences per optimizer step over all replicas.
  int64_t global_batch_seqs() const {
    return static_cast<int64_t>(dp) * micro_batch_seqs * accumulation_steps;
  }
};

// InvalidArgument naming the field when any degree is below 1.
absl::Status ValidateSamplerShape(const SamplerShape& shape);

// See [Sequence index mapping]. Arguments must lie in range: step >= 0,
// micro_step < accumulation_steps, dp_rank < dp, seq < micro_batch_seqs
// (checked).
int64_t GlobalSequenceIndex(const SamplerShape& shape, int64_t step, int micro_step, int dp_rank,
                            int seq);

// The micro_batch_seqs indices of one micro-batch of one replica, in batch
// order.
std::vector<int64_t> MicroBatchIndices(const SamplerShape& shape, int64_t step, int micro_step,
                                       int dp_rank);

}  // namespace spindle::data
