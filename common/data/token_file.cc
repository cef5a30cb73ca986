#include "common/data/token_file.h"

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/formats/file_io.h"
#include "common/status.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "token files are little-endian and read in place");

namespace spindle::data {
namespace {

std::string TokenName(int token_bytes) {
  switch (token_bytes) {
    case 1:
      return "bytes";
    case 2:
      return "uint16 tokens";
    default:
      return "uint32 tokens";
  }
}

int32_t HeaderInt(const uint8_t* data, int i) {
  int32_t v;
  std::memcpy(&v, data + 4 * i, sizeof(v));
  return v;
}

template <typename T>
T Load(const uint8_t* tokens, int64_t i) {
  T v;
  std::memcpy(&v, tokens + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

template <typename T>
void ReadAs(const uint8_t* tokens, int64_t begin, absl::Span<int64_t> out) {
  for (size_t k = 0; k < out.size(); ++k) out[k] = Load<T>(tokens, begin + static_cast<int64_t>(k));
}

// Index of the first id >= vocab_size, or -1. The max pass vectorises; the
// second pass runs only on a bad file.
template <typename T>
int64_t FirstOutOfVocab(const uint8_t* tokens, int64_t n, int64_t vocab_size) {
  T max = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T v = Load<T>(tokens, i);
    max = v > max ? v : max;
  }
  if (static_cast<int64_t>(max) < vocab_size) return -1;
  for (int64_t i = 0; i < n; ++i) {
    if (static_cast<int64_t>(Load<T>(tokens, i)) >= vocab_size) return i;
  }
  return -1;
}

int64_t FirstOutOfVocab(const uint8_t* tokens, int64_t n, int token_bytes, int64_t vocab_size) {
  switch (token_bytes) {
    case 1:
      return FirstOutOfVocab<uint8_t>(tokens, n, vocab_size);
    case 2:
      return FirstOutOfVocab<uint16_t>(tokens, n, vocab_size);
    default:
      return FirstOutOfVocab<uint32_t>(tokens, n, vocab_size);
  }
}

// The llm.c header of a file whose first int32 is the magic: checks the
// version against token_bytes and the count against the size; returns the count.
absl::StatusOr<int64_t> ParseLlmcHeader(const std::string& path, const uint8_t* data, int64_t size,
                                        int token_bytes) {
  if (size < kLlmcHeaderBytes) {
    return absl::DataLossError(absl::StrCat(
        path, ": starts with the llm.c magic ", kLlmcMagic, " but holds only ", size,
        " bytes, less than the ", kLlmcHeaderBytes, "-byte header: truncated file; re-export it"));
  }
  const int32_t version = HeaderInt(data, 1);
  if (version != 1 && version != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": llm.c header version ", version,
                     " is neither 1 (uint16 tokens) nor 2 (uint32 tokens): corrupt file or a newer "
                     "llm.c format"));
  }
  const int header_bytes_per_token = version == 1 ? 2 : 4;
  if (header_bytes_per_token != token_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": llm.c header version ", version, " means ", TokenName(header_bytes_per_token),
        " but the job reads ", TokenName(token_bytes), " (token_bytes ", token_bytes,
        "); set the data dtype to ", header_bytes_per_token == 2 ? "uint16" : "uint32"));
  }
  const int64_t count = HeaderInt(data, 2);
  const int64_t payload = size - kLlmcHeaderBytes;
  if (count < 0 || count * token_bytes != payload) {
    return absl::DataLossError(
        absl::StrCat(path, ": llm.c header says ", count, " tokens (", count * token_bytes,
                     " bytes after the ", kLlmcHeaderBytes, "-byte header) but the file holds ",
                     payload, " bytes after it: truncated or corrupt file; re-export it"));
  }
  return count;
}

}  // namespace

absl::StatusOr<TokenFile> TokenFile::Open(const std::string& path,
                                          const TokenFileOptions& options) {
  const bool text = options.kind == TokenFileKind::kText;
  const int token_bytes = text ? 1 : options.token_bytes;
  if (token_bytes != 1 && token_bytes != 2 && token_bytes != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": token_bytes ", token_bytes, " is not supported; use 2 (uint16) or 4 (uint32)"));
  }
  if (options.vocab_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": vocab_size ", options.vocab_size, " must be positive"));
  }
  if (options.seq_len < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": seq_len ", options.seq_len, " must be at least 1"));
  }
  absl::StatusOr<formats::MappedFile> mapped = formats::MappedFile::Open(path);
  if (!mapped.ok()) {
    return formats::WithContext(mapped.status(),
                                absl::StrCat(path, ": cannot read token file; check data.path"));
  }
  formats::MappedFile bytes = *std::move(mapped);
  const uint8_t* data = bytes.data();
  const int64_t size = static_cast<int64_t>(bytes.size());

  bool llmc = false;
  const uint8_t* tokens = data;
  int64_t num_tokens = 0;
  if (!text && size >= 4 && HeaderInt(data, 0) == kLlmcMagic) {
    SPINDLE_ASSIGN_OR_RETURN(num_tokens, ParseLlmcHeader(path, data, size, token_bytes));
    llmc = true;
    tokens = data + kLlmcHeaderBytes;
  } else {
    if (size % token_bytes != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", size, " bytes is not a whole number of ", TokenName(token_bytes),
                       " (", token_bytes, " bytes each): wrong dtype or truncated file"));
    }
    num_tokens = size / token_bytes;
  }

  if (num_tokens < options.seq_len + 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": ", num_tokens, " tokens, fewer than the ", options.seq_len + 1,
        " (seq_len + 1) one training sequence needs; use more data or a shorter seq_len"));
  }
  const int64_t bad = FirstOutOfVocab(tokens, num_tokens, token_bytes, options.vocab_size);
  if (bad >= 0) {
    int64_t value = 0;
    if (token_bytes == 1) ReadAs<uint8_t>(tokens, bad, absl::MakeSpan(&value, 1));
    if (token_bytes == 2) ReadAs<uint16_t>(tokens, bad, absl::MakeSpan(&value, 1));
    if (token_bytes == 4) ReadAs<uint32_t>(tokens, bad, absl::MakeSpan(&value, 1));
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": token ", value, " at index ", bad, " is >= vocab_size ", options.vocab_size,
        text ? ": a text file's bytes need vocab_size 256"
             : ": wrong dtype (uint16 vs uint32) or data from a tokenizer with a larger "
               "vocabulary than the model; check the data dtype and vocab_size"));
  }
  return TokenFile(path, std::move(bytes), tokens, num_tokens, token_bytes, llmc);
}

int64_t TokenFile::Token(int64_t i) const {
  int64_t v = 0;
  Read(i, absl::MakeSpan(&v, 1));
  return v;
}

void TokenFile::Read(int64_t begin, absl::Span<int64_t> out) const {
  const int64_t n = static_cast<int64_t>(out.size());
  SPINDLE_CHECK(begin >= 0 && begin + n <= num_tokens_)
      << path_ << ": window [" << begin << ", " << begin + n << ") of " << num_tokens_;
  switch (token_bytes_) {
    case 1:
      return ReadAs<uint8_t>(tokens_, begin, out);
    case 2:
      return ReadAs<uint16_t>(tokens_, begin, out);
    default:
      return ReadAs<uint32_t>(tokens_, begin, out);
  }
}

}  // namespace spindle::data
