// The synthetic "copy" task: a token stream that a model can only learn by
// attending far back, used to show that sequence parallelism really carries
// information across rank boundaries. No files, no state: a sequence is a pure
// function of (seed, index).
//
// A sequence is L = seq_len + 1 tokens t[0..L). With the copy offset
// h = ceil(L / 2):
//   t[i]     uniform over [0, vocab_size), independent, for i < h;
//   t[h + i] = t[i]                                       for 0 <= i < L - h.
// Inputs are t[0..S), labels t[1..S] (S = seq_len). Label position j (the
// target predicted from inputs t[0..j)) is predictable exactly when j >= h, by
// copying the input h positions back; targets 1 <= j < h are pure noise.
// With even S that is S/2 predictable targets, each S/2 + 1 positions behind
// its source, which under a contiguous or zigzag split over P >= 2
// sequence-parallel ranks sits on another rank.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace spindle::data {

// ceil((seq_len + 1) / 2): length of the random prefix and distance a copied
// token lies behind its original.
int64_t CopyOffset(int64_t seq_len);

// Fills out (seq_len + 1 tokens) with copy-task sequence `index`. InvalidArgument
// when out.size() != seq_len + 1, seq_len < 1, vocab_size < 2 or index < 0.
absl::Status CopySequence(uint64_t seed, int64_t index, int64_t seq_len, int vocab_size,
                          absl::Span<int64_t> out);

// What a perfect model achieves on the copy task, for a demo to print "loss
// should approach X". Losses are mean next-token cross-entropy in nats over the
// seq_len targets of a sequence.
struct CopyTaskFloor {
  int64_t targets = 0;              // seq_len
  int64_t predictable_targets = 0;  // seq_len + 1 - CopyOffset(seq_len)
  double predictable_fraction = 0;  // predictable_targets / targets
  double initial_loss = 0;          // ln(vocab_size): an untrained, uniform model
  double loss_floor = 0;            // (1 - predictable_fraction) · ln(vocab_size)
};

// seq_len >= 1, vocab_size >= 2 (checked).
CopyTaskFloor CopyTaskLossFloor(int64_t seq_len, int vocab_size);

}  // namespace spindle::data
