// Where training sequences come from: one interface over token files, text
// files and the synthetic copy task, addressed by a global sequence index (see
// sampler.h for how steps and ranks map to indices). Every sequence is a pure
// function of (options, index), so ranks need no coordination and a resumed
// run reproduces the same data. No shuffling state, no prefetching, no epochs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace spindle::data {

class TokenSource {
 public:
  virtual ~TokenSource() = default;

  // Tokens in the underlying file; -1 for the synthetic task (unbounded).
  virtual int64_t num_tokens() const = 0;
  virtual int vocab_size() const = 0;

  // Fills out with the seq_len + 1 tokens of sequence `index` (index >= 0):
  // inputs are out[0..seq_len), labels out[1..seq_len]. InvalidArgument when
  // out.size() != seq_len + 1 or index < 0; OutOfRange when a file holds fewer
  // than seq_len + 1 tokens. Const and thread-safe.
  virtual absl::Status Sequence(int64_t index, int64_t seq_len, absl::Span<int64_t> out) const = 0;
};

struct TokenSourceOptions {
  enum Kind {
    kSynthetic,  // the copy task of synthetic.h; path unused
    kTokens,     // nanoGPT / llm.c token file (token_file.h)
    kText,       // text file read as bytes
  };
  Kind kind = kSynthetic;
  std::string path;
  // Bytes per token id of a kTokens file: 2 (uint16) or 4 (uint32).
  int token_bytes = 2;
  // The model's vocabulary: every id in the file must be below it; the
  // synthetic task draws from all of it. 0 with kText means 256.
  int vocab_size = 0;
  // Tokens per training sequence; files must hold seq_len + 1.
  int64_t seq_len = 0;
  // Picks file windows and synthetic tokens.
  uint64_t seed = 0;
};

// Opens and fully validates the source (see TokenFile::Open) so a bad path,
// dtype or vocabulary fails before training starts.
absl::StatusOr<std::unique_ptr<TokenSource>> OpenTokenSource(const TokenSourceOptions& options);

// First token of file sequence `index`: uniform over [0, num_tokens - seq_len - 1],
// from a counter-based hash of (seed, index). Windows of different indices
// overlap freely; requires num_tokens >= seq_len + 1 (checked).
int64_t WindowStart(uint64_t seed, int64_t index, int64_t num_tokens, int64_t seq_len);

}  // namespace spindle::data
