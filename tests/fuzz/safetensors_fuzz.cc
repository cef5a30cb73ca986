// libFuzzer: the safetensors reader on arbitrary file images. Invariants:
// it never reads outside the buffer (ASan) or crashes; every error starts
// with the file's label; every tensor it accepts lies inside the data
// section.
#include <cstdlib>
#include <algorithm>
#include <iostream>
#include <memory>

#include "common/formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes, so ASan sees any read past the end.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[size]);
  std::copy(data, data + size, copy.get());
  absl::StatusOr<spindle::formats::SafetensorsContents> c =
      spindle::formats::ParseSafetensors("fuzz.safetensors", copy.get(), size);
  if (!c.ok()) {
    if (c.status().message().rfind("fuzz.safetensors", 0) != 0) {
      std::cerr << "error without the file's name: " << c.status() << "\n";
      std::abort();
    }
    return 0;
  }
  for (const auto& t : c->tensors) {
    const uint8_t* begin = t.data;
    if (begin < copy.get() || begin + t.bytes > copy.get() + size) {
      std::cerr << "tensor " << t.name << " outside the buffer\n";
      std::abort();
    }
  }
  return 0;
}
