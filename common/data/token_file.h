// A validated, memory-mapped file of training tokens. Three layouts, all
// little-endian:
//   - nanoGPT: a flat array of uint16 or uint32 token ids (the job says which);
//   - llm.c: a 256 × int32 header {magic 20240520, version 1 = uint16 tokens /
//     2 = uint32 tokens, token count, zeros…} followed by the ids, detected by
//     the magic in the first 4 bytes;
//   - text: any file (UTF-8 expected, not checked) read as raw bytes, ids 0..255.
// Open checks everything a training run would trip over later, so a bad file
// fails before the first step. Reading windows is left to TokenSource.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/formats/mapped_file.h"

namespace spindle::data {

inline constexpr int32_t kLlmcMagic = 20240520;
inline constexpr int64_t kLlmcHeaderBytes = 256 * 4;

enum class TokenFileKind {
  kTokens,  // nanoGPT or llm.c token ids
  kText,    // raw bytes
};

struct TokenFileOptions {
  TokenFileKind kind = TokenFileKind::kTokens;
  // Bytes per token id of a kTokens file: 2 (uint16) or 4 (uint32). An llm.c
  // header's version must agree. Ignored for kText (1 byte per token).
  int token_bytes = 2;
  // Every id must be < vocab_size (256 covers any text file).
  int vocab_size = 0;
  // The file must hold at least seq_len + 1 tokens: one window of inputs plus
  // the label shifted by one.
  int64_t seq_len = 1;
};

class TokenFile {
 public:
  // Maps and validates the whole file (a linear scan of every id). Errors name
  // the file, the problem and the likely fix: unreadable file, a size that is
  // not a whole number of tokens, an llm.c header whose version contradicts
  // token_bytes or whose count contradicts the size, the first id >= vocab_size,
  // fewer than seq_len + 1 tokens.
  static absl::StatusOr<TokenFile> Open(const std::string& path, const TokenFileOptions& options);

  const std::string& path() const { return path_; }
  int64_t num_tokens() const { return num_tokens_; }
  int token_bytes() const { return token_bytes_; }  // 1 (text), 2 or 4
  bool has_llmc_header() const { return has_llmc_header_; }

  // The id at index i, 0 <= i < num_tokens() (checked).
  int64_t Token(int64_t i) const;
  // out[k] = Token(begin + k) for every k; the range must lie in the file
  // (checked). Safe to call from many threads.
  void Read(int64_t begin, absl::Span<int64_t> out) const;

 private:
  TokenFile(std::string path, formats::MappedFile bytes, const uint8_t* tokens, int64_t num_tokens,
            int token_bytes, bool has_llmc_header)
      : path_(std::move(path)),
        bytes_(std::move(bytes)),
        tokens_(tokens),
        num_tokens_(num_tokens),
        token_bytes_(token_bytes),
        has_llmc_header_(has_llmc_header) {}

  std::string path_;
  formats::MappedFile bytes_;
  const uint8_t* tokens_ = nullptr;  // first id, inside bytes_ (after any header)
  int64_t num_tokens_ = 0;
  int token_bytes_ = 0;
  bool has_llmc_header_ = false;
};

}  // namespace spindle::data
