// A whole file mapped read-only into memory (mmap, MAP_PRIVATE). Readers of
// the on-disk formats validate against size() before touching data(), so a
// corrupt file cannot make them read past the mapping. A file truncated by
// another process while mapped still raises SIGBUS on access; Spindle's files
// are written once and renamed into place, never truncated in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace spindle::formats {

class MappedFile {
 public:
  // NotFound / PermissionDenied name the path and syscall; a directory or
  // other non-regular file is InvalidArgument. An empty file maps to
  // data() == nullptr, size() == 0.
  static absl::StatusOr<MappedFile> Open(const std::string& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  void Unmap();

  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace spindle::formats
