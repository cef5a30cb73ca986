#include "common/checkpoint/commit.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/checkpoint/dir_ops.h"
#include "common/checkpoint/manifest.h"
#include "common/formats/file_io.h"
#include "common/formats/text.h"
#include "common/status.h"

namespace spindle::checkpoint {
namespace {

namespace fs = std::filesystem;
using formats::JoinPath;

// [Commit order] A reader must never take a half-written directory for a
// checkpoint. So: (1) every file is fsynced and digested; (2) MANIFEST.json
// is written, fsynced, and the directory fsynced; (3) only then is the
// directory renamed to its step-NNNNNNNN name and root fsynced; (4) `latest`
// moves last. A crash before (3) leaves a temporary name, which readers
// ignore; after (3) the checkpoint is complete whatever `latest` says.
absl::Status WriteManifest(const std::string& dir, int64_t step) {
  Manifest manifest;
  manifest.step = step;
  std::vector<std::string> subdirs;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string path = it->path().string();
    const std::string name = it->path().lexically_relative(dir).generic_string();
    const fs::file_status status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(status)) {
      subdirs.push_back(path);
      continue;
    }
    if (!fs::is_regular_file(status)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path,
          ": not a regular file (a symlink?); a checkpoint holds only files, copy the data "
          "in instead"));
    }
    if (name == kManifestName) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": the name is reserved for the manifest that Commit writes; rename the file"));
    }
    if (!formats::IsUtf8(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": the name is not UTF-8, which the manifest cannot hold"));
    }
    SPINDLE_ASSIGN_OR_RETURN(const FileDigest digest, DigestFile(path, /*sync=*/true));
    manifest.files.push_back(ManifestFile{name, digest.bytes, digest.crc32c});
  }
  if (ec) return formats::ErrnoError(ec.value(), "readdir", dir);
  for (const std::string& subdir : subdirs) SPINDLE_RETURN_IF_ERROR(formats::FsyncPath(subdir));
  std::sort(manifest.files.begin(), manifest.files.end(),
            [](const ManifestFile& a, const ManifestFile& b) { return a.name < b.name; });
  // Also fsyncs dir, making the files' directory entries durable.
  return formats::WriteFileAtomically(JoinPath(dir, kManifestName), SerializeManifest(manifest));
}

}  // namespace

std::string StepDirName(int64_t step) { return absl::StrFormat("step-%08d", step); }

std::optional<int64_t> ParseStepDirName(std::string_view name) {
  constexpr std::string_view kPrefix = "step-";
  if (name.rfind(kPrefix, 0) != 0) return std::nullopt;
  const std::string_view digits = name.substr(kPrefix.size());
  if (digits.size() < 8 || digits.size() > 19) return std::nullopt;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int64_t step = 0;
  if (!absl::SimpleAtoi(formats::Sv(digits), &step) || StepDirName(step) != name) {
    return std::nullopt;  // out of range, or zero-padded beyond 8 digits
  }
  return step;
}

absl::StatusOr<PendingCheckpoint> BeginCheckpoint(const std::string& root, int64_t step) {
  if (step < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(root, ": checkpoint step ", step, " is negative; steps count from 0"));
  }
  SPINDLE_RETURN_IF_ERROR(MakeDirectories(root));
  // A collision needs the same 64 random bits: retry a few times anyway.
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string dir = JoinPath(root, TempDirName(step));
    if (mkdir(dir.c_str(), 0777) == 0) return PendingCheckpoint(root, step, std::move(dir));
    if (errno != EEXIST) return formats::ErrnoError(errno, "mkdir", dir);
  }
  return absl::AlreadyExistsError(
      absl::StrCat(root, ": could not create a unique temporary checkpoint directory"));
}

PendingCheckpoint::PendingCheckpoint(PendingCheckpoint&& other) noexcept
    : root_(std::move(other.root_)),
      step_(other.step_),
      dir_(std::move(other.dir_)),
      open_(std::exchange(other.open_, false)) {}

PendingCheckpoint& PendingCheckpoint::operator=(PendingCheckpoint&& other) noexcept {
  if (this != &other) {
    Abandon();
    root_ = std::move(other.root_);
    step_ = other.step_;
    dir_ = std::move(other.dir_);
    open_ = std::exchange(other.open_, false);
  }
  return *this;
}

PendingCheckpoint::~PendingCheckpoint() { Abandon(); }

void PendingCheckpoint::Abandon() {
  if (!open_) return;
  open_ = false;
  RemoveTree(dir_).IgnoreError();  // a leftover is a temporary name, pruned later
}

absl::Status PendingCheckpoint::Commit() {
  if (!open_) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir_, ": checkpoint already committed or abandoned; call BeginCheckpoint again"));
  }
  // See [Commit order].
  const std::string final_dir = JoinPath(root_, StepDirName(step_));
  absl::Status status = WriteManifest(dir_, step_);
  if (status.ok()) {
    status = ReplaceDirectory(dir_, final_dir, JoinPath(root_, TempDirName(step_)));
  }
  if (!status.ok()) {
    Abandon();
    return status;
  }
  open_ = false;
  dir_ = final_dir;
  SPINDLE_RETURN_IF_ERROR(formats::FsyncPath(root_));
  return formats::WriteFileAtomically(JoinPath(root_, kLatestName), StepDirName(step_) + "\n");
}

}  // namespace spindle::checkpoint
