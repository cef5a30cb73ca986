// The Hugging Face safetensors format, read through mmap and written
// atomically. Layout: u64 little-endian header length N, N bytes of UTF-8
// JSON {"<name>": {"dtype", "shape", "data_offsets": [begin, end]}, …,
// "__metadata__": {str: str}}, then the data region; offsets are relative to
// its first byte (file offset 8 + N). Elements are little-endian, row-major.
// Not here: torch tensors (the trainer adapts them), sharded-index files
// (model.safetensors.index.json), dtype conversion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/formats/dtype.h"
#include "common/formats/mapped_file.h"

namespace spindle::formats {

// Headers above this are rejected, as by the reference implementation.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// One tensor of a parsed file; data points into the caller's buffer or the
// SafetensorsFile's mapping and lives as long as it does.
struct TensorView {
  std::string name;
  DType dtype = DType::kU8;
  std::vector<int64_t> shape;  // [] is a 0-d tensor (one element); any 0 dim: empty
  const uint8_t* data = nullptr;
  size_t bytes = 0;         // product(shape) * DTypeSize(dtype)
  uint64_t data_begin = 0;  // data_offsets[0], relative to the data region
  // data is aligned to the element size only if the writer aligned it (ours
  // and the reference's do, for files whose header length is a multiple of 8);
  // memcpy rather than casting when unsure.
};

struct SafetensorsContents {
  std::vector<TensorView> tensors;              // sorted by name, names unique
  std::map<std::string, std::string> metadata;  // "__metadata__"; empty if absent
  uint64_t header_bytes = 0;                    // N
};

// Validates and indexes a whole file image. Every error is InvalidArgument or
// DataLoss and starts with `label` (the file name), then the tensor and the
// problem. Never reads outside [data, data + size).
absl::StatusOr<SafetensorsContents> ParseSafetensors(std::string_view label, const uint8_t* data,
                                                     size_t size);

// A safetensors file mapped read-only.
//   SPINDLE_ASSIGN_OR_RETURN(auto f, SafetensorsFile::Open(path));
//   SPINDLE_ASSIGN_OR_RETURN(const TensorView* w, f.Get("model.norm.weight"));
class SafetensorsFile {
 public:
  static absl::StatusOr<SafetensorsFile> Open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const std::vector<TensorView>& tensors() const { return contents_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return contents_.metadata; }
  // nullptr when absent.
  const TensorView* Find(std::string_view name) const;
  // NotFound naming the file and the tensor when absent.
  absl::StatusOr<const TensorView*> Get(std::string_view name) const;

 private:
  SafetensorsFile(MappedFile file, SafetensorsContents contents)
      : file_(std::move(file)), contents_(std::move(contents)) {}

  MappedFile file_;  // contents_ points into its mapping, which moves with it
  SafetensorsContents contents_;
};

// Collects tensors and metadata, then writes one file atomically (temporary
// sibling + fsync + rename; see AtomicFileWriter). Output is deterministic and
// matches the reference writer byte for byte: tensors ordered by dtype
// alignment, largest first, then by name (so each tensor starts at a multiple
// of its element size); "__metadata__" first, its keys sorted (the reference
// leaves their order to a hash map); compact JSON padded with spaces to a
// multiple of 8 bytes; "__metadata__" omitted when there is none.
class SafetensorsWriter {
 public:
  // data holds `bytes` little-endian row-major bytes and must stay valid until
  // Write returns. InvalidArgument for a duplicate, empty or reserved
  // ("__metadata__") name, a name that is not UTF-8, a negative dim, or bytes
  // != product(shape) * DTypeSize(dtype).
  absl::Status AddTensor(std::string name, DType dtype, std::vector<int64_t> shape,
                         const void* data, size_t bytes);
  // InvalidArgument for a duplicate key or a key/value that is not UTF-8.
  absl::Status AddMetadata(std::string key, std::string value);

  // The first 8 + N bytes of the file: length prefix and padded JSON.
  std::string SerializeHeader() const;
  // Writes the file; errors name the path and the failing syscall.
  absl::Status Write(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    const void* data;
    size_t bytes;
  };
  // Entries in file order.
  std::vector<const Entry*> Ordered() const;

  std::vector<Entry> entries_;
  std::set<std::string, std::less<>> names_;  // of entries_, for the duplicate check
  std::map<std::string, std::string> metadata_;
};

}  // namespace spindle::formats
