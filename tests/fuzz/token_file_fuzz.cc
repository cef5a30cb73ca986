// libFuzzer: the token-file reader (raw uint16/uint32, llm.c headers, text)
// on arbitrary files. The first byte picks the options, the rest is the
// file. Invariants: Open never crashes; errors name the file; every token of
// an accepted file reads back below vocab_size.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "common/data/token_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const std::string path =
      std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
      "/spindle-token-fuzz-" + std::to_string(::getpid()) + ".bin";
  spindle::data::TokenFileOptions o;
  o.kind = data[0] & 1 ? spindle::data::TokenFileKind::kText
                       : spindle::data::TokenFileKind::kTokens;
  o.token_bytes = data[0] & 2 ? 4 : 2;
  o.vocab_size = (data[0] & 4) ? 256 : 50000;
  o.seq_len = 1 + (data[0] >> 3);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  absl::StatusOr<spindle::data::TokenFile> f = spindle::data::TokenFile::Open(path, o);
  if (!f.ok()) {
    if (f.status().message().find(path) == std::string::npos) {
      std::cerr << "error without the file's name: " << f.status() << "\n";
      std::abort();
    }
    return 0;
  }
  for (int64_t i = 0; i < f->num_tokens(); ++i) {
    const int64_t t = f->Token(i);
    if (t < 0 || t >= o.vocab_size) {
      std::cerr << "token " << i << " = " << t << " escaped validation\n";
      std::abort();
    }
  }
  return 0;
}
