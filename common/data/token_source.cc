#include "common/data/token_source.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/data/counter_hash.h"
#include "common/data/synthetic.h"
#include "common/data/token_file.h"
#include "common/status.h"

namespace spindle::data {
namespace {

absl::Status CheckRequest(const std::string& what, int64_t index, int64_t seq_len,
                          absl::Span<int64_t> out) {
  if (index < 0 || seq_len < 1) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": sequence index ", index, ", seq_len ",
                                                   seq_len, "; need index >= 0 and seq_len >= 1"));
  }
  if (static_cast<int64_t>(out.size()) != seq_len + 1) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": output holds ", out.size(),
                                                   " tokens, seq_len + 1 = ", seq_len + 1,
                                                   " expected (inputs plus shifted labels)"));
  }
  return absl::OkStatus();
}

class FileTokenSource final : public TokenSource {
 public:
  FileTokenSource(TokenFile file, int vocab_size, uint64_t seed)
      : file_(std::move(file)), vocab_size_(vocab_size), seed_(seed) {}

  int64_t num_tokens() const override { return file_.num_tokens(); }
  int vocab_size() const override { return vocab_size_; }

  absl::Status Sequence(int64_t index, int64_t seq_len, absl::Span<int64_t> out) const override {
    SPINDLE_RETURN_IF_ERROR(CheckRequest(file_.path(), index, seq_len, out));
    if (seq_len + 1 > file_.num_tokens()) {
      return absl::OutOfRangeError(absl::StrCat(
          file_.path(), ": ", file_.num_tokens(), " tokens, fewer than the ", seq_len + 1,
          " (seq_len + 1) a sequence needs; use more data or a shorter seq_len"));
    }
    file_.Read(WindowStart(seed_, index, file_.num_tokens(), seq_len), out);
    return absl::OkStatus();
  }

 private:
  TokenFile file_;
  int vocab_size_;
  uint64_t seed_;
};

class SyntheticTokenSource final : public TokenSource {
 public:
  SyntheticTokenSource(int vocab_size, uint64_t seed) : vocab_size_(vocab_size), seed_(seed) {}

  int64_t num_tokens() const override { return -1; }
  int vocab_size() const override { return vocab_size_; }

  absl::Status Sequence(int64_t index, int64_t seq_len, absl::Span<int64_t> out) const override {
    SPINDLE_RETURN_IF_ERROR(CheckRequest("synthetic copy task", index, seq_len, out));
    return CopySequence(seed_, index, seq_len, vocab_size_, out);
  }

 private:
  int vocab_size_;
  uint64_t seed_;
};

}  // namespace

int64_t WindowStart(uint64_t seed, int64_t index, int64_t num_tokens, int64_t seq_len) {
  SPINDLE_CHECK(index >= 0 && seq_len >= 1 && num_tokens >= seq_len + 1)
      << "index " << index << ", seq_len " << seq_len << ", num_tokens " << num_tokens;
  const uint64_t starts = static_cast<uint64_t>(num_tokens - seq_len);
  return static_cast<int64_t>(
      UniformBelow(CounterHash(seed, kWindowStream, static_cast<uint64_t>(index)), starts));
}

absl::StatusOr<std::unique_ptr<TokenSource>> OpenTokenSource(const TokenSourceOptions& options) {
  if (options.seq_len < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("data: seq_len ", options.seq_len, " must be at least 1"));
  }
  switch (options.kind) {
    case TokenSourceOptions::kSynthetic: {
      if (options.vocab_size < 2) {
        return absl::InvalidArgumentError(absl::StrCat("synthetic copy task: vocab_size ",
                                                       options.vocab_size, " must be at least 2"));
      }
      return std::make_unique<SyntheticTokenSource>(options.vocab_size, options.seed);
    }
    case TokenSourceOptions::kTokens:
    case TokenSourceOptions::kText: {
      if (options.path.empty()) {
        return absl::InvalidArgumentError(
            "data: no path given for a token or text file; set the data path");
      }
      TokenFileOptions file_options;
      const bool text = options.kind == TokenSourceOptions::kText;
      file_options.kind = text ? TokenFileKind::kText : TokenFileKind::kTokens;
      file_options.token_bytes = options.token_bytes;
      file_options.vocab_size = text && options.vocab_size == 0 ? 256 : options.vocab_size;
      file_options.seq_len = options.seq_len;
      SPINDLE_ASSIGN_OR_RETURN(TokenFile file, TokenFile::Open(options.path, file_options));
      return std::make_unique<FileTokenSource>(std::move(file), file_options.vocab_size,
                                               options.seed);
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("data: unknown source kind ", static_cast<int>(options.kind)));
}

}  // namespace spindle::data
