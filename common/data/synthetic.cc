#include "common/data/synthetic.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/data/counter_hash.h"
#include "common/status.h"

namespace spindle::data {

int64_t CopyOffset(int64_t seq_len) { return (seq_len + 2) / 2; }

absl::Status CopySequence(uint64_t seed, int64_t index, int64_t seq_len, int vocab_size,
                          absl::Span<int64_t> out) {
  if (seq_len < 1 || vocab_size < 2 || index < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "synthetic copy task: seq_len ", seq_len, ", vocab_size ", vocab_size, ", sequence index ",
        index, "; need seq_len >= 1, vocab_size >= 2 and a non-negative index"));
  }
  if (static_cast<int64_t>(out.size()) != seq_len + 1) {
    return absl::InvalidArgumentError(absl::StrCat("synthetic copy task: output holds ", out.size(),
                                                   " tokens, seq_len + 1 = ", seq_len + 1,
                                                   " expected (inputs plus shifted labels)"));
  }
  const int64_t h = CopyOffset(seq_len);
  // One key per sequence, then one counter per position: any token of any
  // sequence is computable on its own.
  const uint64_t key = CounterHash(seed, kCopyStream, static_cast<uint64_t>(index));
  for (int64_t i = 0; i < h; ++i) {
    const uint64_t r = SplitMix64(key ^ static_cast<uint64_t>(i));
    out[i] = static_cast<int64_t>(UniformBelow(r, static_cast<uint64_t>(vocab_size)));
  }
  for (int64_t i = h; i <= seq_len; ++i) out[i] = out[i - h];
  return absl::OkStatus();
}

CopyTaskFloor CopyTaskLossFloor(int64_t seq_len, int vocab_size) {
  SPINDLE_CHECK(seq_len >= 1 && vocab_size >= 2)
      << "seq_len " << seq_len << ", vocab_size " << vocab_size;
  CopyTaskFloor f;
  f.targets = seq_len;
  f.predictable_targets = seq_len + 1 - CopyOffset(seq_len);
  f.predictable_fraction = static_cast<double>(f.predictable_targets) / f.targets;
  f.initial_loss = std::log(static_cast<double>(vocab_size));
  f.loss_floor = (1.0 - f.predictable_fraction) * f.initial_loss;
  return f;
}

}  // namespace spindle::data
