// Which global token positions each sequence-parallel rank holds, for the
// contiguous, zigzag and striped layouts, under P = U × R (USP: Ulysses inside
// groups of U consecutive ranks, ring across R groups). Pure math shared by
// the planner (token ranges per rank) and the trainer (sharding ids, labels
// and positions; the attention masks).
//
// Construction, for ring rank r (0 <= r < R) and Ulysses rank u (0 <= u < U):
//   1. the ring layout gives r its ring sequence of S_pad/R positions:
//        contiguous  [r·S_pad/R, (r+1)·S_pad/R)
//        zigzag      chunk r ‖ chunk 2R−1−r of 2R equal chunks (causal balance)
//        striped     r, r+R, r+2R, …
//   2. that sequence is cut into U equal pieces and Ulysses rank u keeps piece u,
//      so the Ulysses all-to-all (gathering pieces in u order) rebuilds the
//      ring sequence for h/U heads and the ring runs the plain R-way layout.
// With U = 1 this is plain ring attention; with R = 1 plain Ulysses.
//
// Padding: S is padded up to S_pad, the smallest multiple of the layout's
// granularity (R·U; zigzag R·lcm(2, U)). Positions >= S are padding: every
// rank holds the same number of tokens (unequal local lengths hang
// collectives), and the attention masks padding on both sides, so results on
// real tokens are exact.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace spindle::layout {

enum class LayoutKind { kContiguous, kZigzag, kStriped };

const char* LayoutName(LayoutKind kind);  // "contiguous", "zigzag", "striped"
absl::StatusOr<LayoutKind> ParseLayout(std::string_view name);

class SequenceLayout {
 public:
  // seq_len >= 1 real tokens; ulysses, ring >= 1.
  static absl::StatusOr<SequenceLayout> Create(LayoutKind kind, int64_t seq_len, int ulysses,
                                               int ring);

  LayoutKind kind() const { return kind_; }
  int64_t seq_len() const { return seq_len_; }        // S, real tokens
  int64_t padded_len() const { return padded_len_; }  // S_pad
  int ulysses() const { return ulysses_; }
  int ring() const { return ring_; }
  int sp() const { return ulysses_ * ring_; }
  int64_t local_len() const { return padded_len_ / sp(); }  // tokens per SP rank
  int64_t ring_len() const { return padded_len_ / ring_; }  // tokens per ring rank
  int64_t padding() const { return padded_len_ - seq_len_; }

  // Global positions held by SP rank sp_rank = ring·U + ulysses, in local
  // order (local_len() of them). Values >= seq_len() are padding.
  std::vector<int64_t> Positions(int sp_rank) const;
  // Global positions of ring rank r's ring sequence (ring_len() of them):
  // what a ring rank attends with after the Ulysses all-to-all.
  std::vector<int64_t> RingPositions(int ring_rank) const;

  // Local values of sp_rank from a global sequence of seq_len() values;
  // padding positions get pad.
  template <typename T>
  std::vector<T> Shard(absl::Span<const T> global, int sp_rank, T pad) const;
  // Inverse of Shard: per_rank[p] holds SP rank p's local values.
  template <typename T>
  std::vector<T> Unshard(const std::vector<std::vector<T>>& per_rank) const;

 private:
  SequenceLayout(LayoutKind kind, int64_t seq_len, int64_t padded_len, int ulysses, int ring)
      : kind_(kind), seq_len_(seq_len), padded_len_(padded_len), ulysses_(ulysses), ring_(ring) {}

  LayoutKind kind_;
  int64_t seq_len_;
  int64_t padded_len_;
  int ulysses_;
  int ring_;
};

// Next-token labels for a sequence of seq_len + 1 token ids: labels[t] =
// tokens[t + 1]. Shift on the global sequence *before* sharding, so the label
// of the last token of a chunk is the first token of the next chunk, wherever
// the layout puts that chunk.
std::vector<int64_t> NextTokenLabels(absl::Span<const int64_t> tokens_plus_one);

template <typename T>
std::vector<T> SequenceLayout::Shard(absl::Span<const T> global, int sp_rank, T pad) const {
  std::vector<T> local;
  local.reserve(local_len());
  for (int64_t pos : Positions(sp_rank)) local.push_back(pos < seq_len_ ? global[pos] : pad);
  return local;
}

template <typename T>
std::vector<T> SequenceLayout::Unshard(const std::vector<std::vector<T>>& per_rank) const {
  std::vector<T> global(seq_len_);
  for (int p = 0; p < sp(); ++p) {
    const std::vector<int64_t> positions = Positions(p);
    for (size_t i = 0; i < positions.size(); ++i) {
      if (positions[i] < seq_len_) global[positions[i]] = per_rank[p][i];
    }
  }
  return global;
}

}  // namespace spindle::layout
