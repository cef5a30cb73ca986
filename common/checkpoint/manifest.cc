#include "common/checkpoint/manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/checkpoint/crc32c.h"
#include "common/formats/file_io.h"
#include "common/formats/text.h"
#include "nlohmann/json.hpp"

namespace spindle::checkpoint {
namespace {

using formats::Sv;
using Json = nlohmann::ordered_json;

absl::Status Unreadable(std::string_view path, std::string_view problem) {
  return absl::DataLossError(
      absl::StrCat(Sv(path), ": ", Sv(problem),
                   ": not a valid checkpoint manifest; delete the checkpoint or resume from an "
                   "earlier one"));
}

bool IsUnsigned(const Json& v, uint64_t max) {
  return v.is_number_unsigned() && v.get<uint64_t>() <= max;
}

}  // namespace

bool IsSafeRelativeName(std::string_view name) {
  if (name.empty()) return false;
  for (const absl::string_view part : absl::StrSplit(Sv(name), '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

std::string SerializeManifest(const Manifest& manifest) {
  Json files = Json::array();
  for (const ManifestFile& f : manifest.files) {
    files.push_back(Json{{"name", f.name}, {"bytes", f.bytes}, {"crc32c", f.crc32c}});
  }
  const Json root{{"format", kManifestFormat}, {"step", manifest.step}, {"files", files}};
  return root.dump(2) + "\n";
}

absl::StatusOr<Manifest> ParseManifest(std::string_view path, std::string_view text) {
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    return Unreadable(path, absl::StrCat("not JSON (", e.what(), ")"));
  }
  if (!root.is_object()) return Unreadable(path, "not a JSON object");
  if (!root.contains("format") || !root["format"].is_string()) {
    return Unreadable(path, "no \"format\" string");
  }
  if (root["format"] != kManifestFormat) {
    return absl::FailedPreconditionError(
        absl::StrCat(Sv(path), ": format ", root["format"].dump(), " is not ", kManifestFormat,
                     "; it was written by another Spindle version, which can read it"));
  }
  Manifest manifest;
  if (!root.contains("step") || !IsUnsigned(root["step"], INT64_MAX)) {
    return Unreadable(path, "no non-negative integer \"step\"");
  }
  manifest.step = root["step"].get<int64_t>();
  if (!root.contains("files") || !root["files"].is_array()) {
    return Unreadable(path, "no \"files\" array");
  }
  std::set<std::string> seen;
  for (const Json& f : root["files"]) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("bytes") ||
        !IsUnsigned(f["bytes"], UINT64_MAX) || !f.contains("crc32c") ||
        !IsUnsigned(f["crc32c"], UINT32_MAX)) {
      return Unreadable(path, absl::StrCat("file entry ", f.dump(),
                                           " is not {\"name\": string, \"bytes\": integer, "
                                           "\"crc32c\": 32-bit integer}"));
    }
    ManifestFile file{f["name"].get<std::string>(), f["bytes"].get<uint64_t>(),
                      f["crc32c"].get<uint32_t>()};
    if (!IsSafeRelativeName(file.name) || file.name == kManifestName) {
      return Unreadable(path, absl::StrCat("file name ", f["name"].dump(),
                                           " is not a relative path inside the checkpoint"));
    }
    if (!seen.insert(file.name).second) {
      return Unreadable(path, absl::StrCat("file ", f["name"].dump(), " is listed twice"));
    }
    manifest.files.push_back(std::move(file));
  }
  return manifest;
}

absl::StatusOr<FileDigest> DigestFile(const std::string& path, bool sync) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return formats::ErrnoError(errno, "open", path);
  constexpr size_t kChunk = size_t{1} << 20;
  const std::unique_ptr<char[]> buf(new char[kChunk]);
  FileDigest digest;
  absl::Status status;
  while (true) {
    const ssize_t n = read(fd, buf.get(), kChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = formats::ErrnoError(errno, "read", path);
    if (n <= 0) break;
    digest.crc32c = Crc32cExtend(digest.crc32c, buf.get(), static_cast<size_t>(n));
    digest.bytes += static_cast<uint64_t>(n);
  }
  // fsync through a read-only descriptor is enough: it flushes the inode.
  if (status.ok() && sync && fsync(fd) != 0) status = formats::ErrnoError(errno, "fsync", path);
  close(fd);
  if (!status.ok()) return status;
  return digest;
}

}  // namespace spindle::checkpoint
