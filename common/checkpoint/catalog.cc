// The reading side of commit.h: verifying a checkpoint, finding the one to
// resume from, pruning old ones.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/checkpoint/commit.h"
#include "common/checkpoint/dir_ops.h"
#include "common/checkpoint/manifest.h"
#include "common/formats/file_io.h"
#include "common/status.h"

namespace spindle::checkpoint {
namespace {

using formats::JoinPath;

constexpr size_t kMaxManifestBytes = size_t{64} << 20;
constexpr size_t kMaxLatestBytes = 4096;
constexpr char kTorn[] = ": the checkpoint is torn; delete it or resume from an earlier one";

// The step <root>/latest names; nullopt when there is no such file. DataLoss
// when it holds something else than a step directory name.
absl::StatusOr<std::optional<int64_t>> ReadLatest(const std::string& root) {
  const std::string path = JoinPath(root, kLatestName);
  absl::StatusOr<std::string> text = formats::ReadFileToString(path, kMaxLatestBytes);
  if (absl::IsNotFound(text.status())) return std::nullopt;
  if (!text.ok()) return text.status();
  const std::string name(absl::StripAsciiWhitespace(*text));
  const std::optional<int64_t> step = ParseStepDirName(name);
  if (!step.has_value()) {
    return absl::DataLossError(absl::StrCat(path, ": holds \"", absl::CHexEscape(name),
                                            "\", not a step-NNNNNNNN name; ignoring it"));
  }
  return step;
}

// Committed step directories in root, newest first.
absl::StatusOr<std::vector<int64_t>> ListSteps(const std::string& root) {
  SPINDLE_ASSIGN_OR_RETURN(const std::vector<std::string> names, ListDirectory(root));
  std::vector<int64_t> steps;
  for (const std::string& name : names) {
    const std::optional<int64_t> step = ParseStepDirName(name);
    if (step.has_value() && IsDirectory(JoinPath(root, name))) steps.push_back(*step);
  }
  std::sort(steps.begin(), steps.end(), std::greater<>());
  return steps;
}

}  // namespace

absl::Status VerifyCheckpoint(const std::string& dir) {
  if (!IsDirectory(dir)) {
    return absl::NotFoundError(absl::StrCat(dir, ": no such checkpoint directory"));
  }
  const std::string manifest_path = JoinPath(dir, kManifestName);
  absl::StatusOr<std::string> text = formats::ReadFileToString(manifest_path, kMaxManifestBytes);
  if (absl::IsNotFound(text.status())) {
    return absl::DataLossError(
        absl::StrCat(manifest_path,
                     ": missing, so the checkpoint was never committed or was damaged; delete "
                     "it or resume from an earlier one"));
  }
  if (!text.ok()) return text.status();
  SPINDLE_ASSIGN_OR_RETURN(const Manifest manifest, ParseManifest(manifest_path, *text));
  const std::optional<int64_t> named = ParseStepDirName(formats::BaseName(dir));
  if (named.has_value() && *named != manifest.step) {
    return absl::DataLossError(absl::StrCat(manifest_path, ": says step ", manifest.step,
                                            ", but the directory is named for step ", *named,
                                            "; rename it back or delete it"));
  }
  for (const ManifestFile& file : manifest.files) {
    const std::string path = JoinPath(dir, file.name);
    std::error_code ec;
    const uint64_t bytes = std::filesystem::file_size(path, ec);
    if (ec == std::errc::no_such_file_or_directory) {
      return absl::DataLossError(
          absl::StrCat(path, ": missing, manifest lists it with ", file.bytes, " bytes", kTorn));
    }
    if (ec) return formats::ErrnoError(ec.value(), "stat", path);
    if (bytes != file.bytes) {
      return absl::DataLossError(
          absl::StrCat(path, ": size ", bytes, " bytes, manifest says ", file.bytes, kTorn));
    }
    SPINDLE_ASSIGN_OR_RETURN(const FileDigest digest, DigestFile(path, /*sync=*/false));
    if (digest.bytes != file.bytes || digest.crc32c != file.crc32c) {
      return absl::DataLossError(absl::StrFormat(
          "%s: crc32c 0x%08x over %d bytes, manifest says 0x%08x over %d: the file is corrupt; "
          "delete the checkpoint or resume from an earlier one",
          path, digest.crc32c, digest.bytes, file.crc32c, file.bytes));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<CheckpointRef>> FindLatestValid(const std::string& root,
                                                             std::vector<std::string>* skipped) {
  auto skip = [skipped](std::string reason) {
    if (skipped != nullptr) skipped->push_back(std::move(reason));
  };
  absl::StatusOr<std::vector<int64_t>> steps = ListSteps(root);
  if (absl::IsNotFound(steps.status())) return std::nullopt;
  if (!steps.ok()) return steps.status();

  std::optional<int64_t> tried;
  const absl::StatusOr<std::optional<int64_t>> latest = ReadLatest(root);
  if (!latest.ok()) {
    skip(std::string(latest.status().message()));
  } else if (latest->has_value()) {
    tried = **latest;
    const std::string dir = JoinPath(root, StepDirName(*tried));
    const absl::Status status = VerifyCheckpoint(dir);
    if (status.ok()) return CheckpointRef{dir, *tried};
    if (absl::IsNotFound(status)) {
      skip(absl::StrCat(JoinPath(root, kLatestName), ": names ", StepDirName(*tried),
                        ", which is missing; falling back to the newest valid step directory"));
    } else {
      skip(std::string(status.message()));
    }
  }
  for (const int64_t step : *steps) {
    if (tried == step) continue;
    const std::string dir = JoinPath(root, StepDirName(step));
    const absl::Status status = VerifyCheckpoint(dir);
    if (status.ok()) return CheckpointRef{dir, step};
    skip(std::string(status.message()));
  }
  return std::nullopt;
}

absl::Status PruneCheckpoints(const std::string& root, int keep_last) {
  if (keep_last < 1) {
    return absl::InvalidArgumentError(absl::StrCat(root, ": keep_last must be at least 1, got ",
                                                   keep_last, " (the newest is always kept)"));
  }
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(root);
  if (absl::IsNotFound(names.status())) return absl::OkStatus();
  if (!names.ok()) return names.status();
  SPINDLE_ASSIGN_OR_RETURN(const std::vector<int64_t> steps, ListSteps(root));
  // An unreadable `latest` might name any step: prune nothing rather than
  // guess. One holding garbage protects nothing.
  const absl::StatusOr<std::optional<int64_t>> latest = ReadLatest(root);
  if (!latest.ok() && !absl::IsDataLoss(latest.status())) return latest.status();
  const int64_t protect = latest.ok() && latest->has_value() ? **latest : -1;  // -1: none

  const std::string latest_temp_prefix = absl::StrCat(".", kLatestName, ".tmp.");
  for (const std::string& name : *names) {
    const bool stale_latest =
        name.rfind(latest_temp_prefix, 0) == 0 && formats::IsAtomicWriterTempName(name);
    if (IsTempDirName(name) || stale_latest) {
      SPINDLE_RETURN_IF_ERROR(RemoveTree(JoinPath(root, name)));
    }
  }
  for (size_t i = static_cast<size_t>(keep_last); i < steps.size(); ++i) {
    if (steps[i] == protect) continue;
    // Renamed first, so a crash mid-delete leaves a temporary name, not a
    // torn step directory.
    const std::string dir = JoinPath(root, StepDirName(steps[i]));
    const std::string doomed = JoinPath(root, TempDirName(steps[i]));
    if (rename(dir.c_str(), doomed.c_str()) != 0) {
      return formats::ErrnoError(errno, "rename", absl::StrCat(dir, " -> ", doomed));
    }
    SPINDLE_RETURN_IF_ERROR(RemoveTree(doomed));
  }
  return formats::FsyncPath(root);
}

}  // namespace spindle::checkpoint
