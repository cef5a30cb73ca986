// Mean next-token loss of a model over sequences, on one process (no
// sequence parallelism): what `spindle-eval` prints.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "worker/model/llama.h"
#include "worker/train/trainer.h"

namespace spindle::train {

struct EvalResult {
  double loss = 0;     // mean cross-entropy per target token, nats
  int64_t tokens = 0;  // targets scored
  int64_t sequences = 0;
};

// Scores sequences 0 .. num_seqs-1 of `source` (each seq_len + 1 tokens),
// batch_seqs at a time.
absl::StatusOr<EvalResult> Evaluate(model::LlamaForCausalLM& model, int64_t seq_len,
                                    const SequenceSource& source, int64_t num_seqs,
                                    int64_t batch_seqs);

}  // namespace spindle::train
