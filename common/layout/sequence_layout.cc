#include "common/layout/sequence_layout.h"

#include <numeric>

#include "absl/strings/str_cat.h"

namespace spindle::layout {

const char* LayoutName(LayoutKind kind) {
  switch (kind) {
    case LayoutKind::kContiguous:
      return "contiguous";
    case LayoutKind::kZigzag:
      return "zigzag";
    case LayoutKind::kStriped:
      return "striped";
  }
  return "unknown";
}

absl::StatusOr<LayoutKind> ParseLayout(std::string_view name) {
  for (LayoutKind k : {LayoutKind::kContiguous, LayoutKind::kZigzag, LayoutKind::kStriped}) {
    if (name == LayoutName(k)) return k;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown sequence layout '", std::string(name),
                                                 "'; use one of contiguous, zigzag, striped"));
}

absl::StatusOr<SequenceLayout> SequenceLayout::Create(LayoutKind kind, int64_t seq_len, int ulysses,
                                                      int ring) {
  if (seq_len < 1) {
    return absl::InvalidArgumentError(absl::StrCat("sequence length must be >= 1, got ", seq_len));
  }
  if (ulysses < 1 || ring < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ulysses and ring degrees must be >= 1, got ulysses=", ulysses, " ring=", ring));
  }
  // Zigzag needs 2R equal chunks and S/R divisible by U.
  const int64_t granule = kind == LayoutKind::kZigzag
                              ? int64_t{ring} * std::lcm(int64_t{2}, int64_t{ulysses})
                              : int64_t{ring} * ulysses;
  const int64_t padded = (seq_len + granule - 1) / granule * granule;
  return SequenceLayout(kind, seq_len, padded, ulysses, ring);
}

std::vector<int64_t> SequenceLayout::RingPositions(int r) const {
  const int64_t n = ring_len();
  std::vector<int64_t> pos(n);
  switch (kind_) {
    case LayoutKind::kContiguous:
      std::iota(pos.begin(), pos.end(), r * n);
      break;
    case LayoutKind::kZigzag: {
      // Chunk numbering: chunk k = [k·c, (k+1)·c), c = S_pad / 2R.
      const int64_t c = n / 2;
      std::iota(pos.begin(), pos.begin() + c, r * c);
      std::iota(pos.begin() + c, pos.end(), (2 * int64_t{ring_} - 1 - r) * c);
      break;
    }
    case LayoutKind::kStriped:
      for (int64_t i = 0; i < n; ++i) pos[i] = i * ring_ + r;
      break;
  }
  return pos;
}

std::vector<int64_t> SequenceLayout::Positions(int sp_rank) const {
  const int r = sp_rank / ulysses_;
  const int u = sp_rank % ulysses_;
  const std::vector<int64_t> ring_pos = RingPositions(r);
  const int64_t n = local_len();
  return std::vector<int64_t>(ring_pos.begin() + u * n, ring_pos.begin() + (u + 1) * n);
}

std::vector<int64_t> NextTokenLabels(absl::Span<const int64_t> tokens_plus_one) {
  if (tokens_plus_one.size() < 2) return {};
  return std::vector<int64_t>(tokens_plus_one.begin() + 1, tokens_plus_one.end());
}

}  // namespace spindle::layout
