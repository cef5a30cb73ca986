#include "common/data/sampler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace spindle::data {

absl::Status ValidateSamplerShape(const SamplerShape& shape) {
  const std::pair<const char*, int> fields[] = {
      {"dp", shape.dp},
      {"micro_batch_seqs", shape.micro_batch_seqs},
      {"accumulation_steps", shape.accumulation_steps},
  };
  for (const auto& [name, value] : fields) {
    if (value < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("sampler: ", name, " is ", value, "; it must be at least 1"));
    }
  }
  return absl::OkStatus();
}

int64_t GlobalSequenceIndex(const SamplerShape& shape, int64_t step, int micro_step, int dp_rank,
                            int seq) {
  SPINDLE_CHECK(step >= 0 && micro_step >= 0 && micro_step < shape.accumulation_steps &&
                dp_rank >= 0 && dp_rank < shape.dp && seq >= 0 && seq < shape.micro_batch_seqs)
      << "step " << step << ", micro_step " << micro_step << " of " << shape.accumulation_steps
      << ", dp_rank " << dp_rank << " of " << shape.dp << ", seq " << seq << " of "
      << shape.micro_batch_seqs;
  const int64_t slot =
      (static_cast<int64_t>(micro_step) * shape.dp + dp_rank) * shape.micro_batch_seqs + seq;
  return step * shape.global_batch_seqs() + slot;
}

std::vector<int64_t> MicroBatchIndices(const SamplerShape& shape, int64_t step, int micro_step,
                                       int dp_rank) {
  SPINDLE_CHECK(shape.micro_batch_seqs >= 1) << "micro_batch_seqs " << shape.micro_batch_seqs;
  std::vector<int64_t> indices(shape.micro_batch_seqs);
  for (int s = 0; s < shape.micro_batch_seqs; ++s) {
    indices[s] = GlobalSequenceIndex(shape, step, micro_step, dp_rank, s);
  }
  return indices;
}

}  // namespace spindle::data
