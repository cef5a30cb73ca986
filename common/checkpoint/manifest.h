// The commit record of a checkpoint directory: MANIFEST.json, written last by
// PendingCheckpoint::Commit, lists every file with its size and CRC32C; a
// directory without a valid one is not a checkpoint. Also the per-file digest
// that writing and verifying both compute. Not here: where checkpoint
// directories live or how they are named (commit.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace spindle::checkpoint {

inline constexpr char kManifestName[] = "MANIFEST.json";
inline constexpr char kManifestFormat[] = "spindle-checkpoint/1";

struct ManifestFile {
  std::string name;     // relative to the checkpoint directory, '/'-separated
  uint64_t bytes = 0;   // file size
  uint32_t crc32c = 0;  // of the whole file
};

// {"format": "spindle-checkpoint/1", "step": N, "files": [{"name", "bytes",
// "crc32c"}, …]}, files sorted by name.
struct Manifest {
  int64_t step = 0;
  std::vector<ManifestFile> files;
};

// Pretty-printed JSON with a trailing newline. Names must be UTF-8 (Commit
// checks them before).
std::string SerializeManifest(const Manifest& manifest);

// Errors start with path. DataLoss for text that is not a manifest (bad JSON,
// missing or mistyped fields, unsafe or repeated names); FailedPrecondition
// for another "format", which a newer Spindle may have written.
absl::StatusOr<Manifest> ParseManifest(std::string_view path, std::string_view text);

// True for a relative '/'-separated path with no empty, "." or ".." part.
bool IsSafeRelativeName(std::string_view name);

struct FileDigest {
  uint64_t bytes = 0;
  uint32_t crc32c = 0;
};

// Reads the whole file; with sync, fsyncs it too, so the data is durable
// before a manifest vouches for it.
absl::StatusOr<FileDigest> DigestFile(const std::string& path, bool sync);

}  // namespace spindle::checkpoint
