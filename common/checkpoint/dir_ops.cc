#include "common/checkpoint/dir_ops.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <random>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/formats/file_io.h"
#include "common/status.h"

namespace spindle::checkpoint {
namespace {

namespace fs = std::filesystem;
using formats::ErrnoError;

constexpr char kTempPrefix[] = ".step-";
constexpr char kTempInfix[] = ".tmp-";

// std::filesystem reports POSIX errors with errno values.
absl::Status FsError(const std::error_code& ec, std::string_view op, const std::string& path) {
  return ErrnoError(ec.value(), op, path);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return FsError(ec, "opendir", dir);
  std::sort(names.begin(), names.end());
  return names;
}

bool IsDirectory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(path, ec));
}

absl::Status RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return FsError(ec, "remove_all", path);
  return absl::OkStatus();
}

absl::Status MakeDirectories(const std::string& path) {
  if (IsDirectory(path)) return absl::OkStatus();
  const std::string parent = formats::DirName(path);
  if (parent != path) SPINDLE_RETURN_IF_ERROR(MakeDirectories(parent));
  if (mkdir(path.c_str(), 0777) != 0 && errno != EEXIST) return ErrnoError(errno, "mkdir", path);
  return formats::FsyncPath(parent);
}

std::string TempDirName(int64_t step) {
  std::random_device random;
  const uint64_t r = (static_cast<uint64_t>(random()) << 32) ^ random();
  return absl::StrFormat(".step-%08d.tmp-%016x", step, r);
}

bool IsTempDirName(std::string_view name) {
  return name.rfind(kTempPrefix, 0) == 0 &&
         name.find(kTempInfix, sizeof(kTempPrefix) - 1) != std::string_view::npos;
}

absl::Status ReplaceDirectory(const std::string& from, const std::string& to,
                              const std::string& aside, bool use_exchange) {
  if (rename(from.c_str(), to.c_str()) == 0) return absl::OkStatus();
  if (errno != EEXIST && errno != ENOTEMPTY) {
    return ErrnoError(errno, "rename", absl::StrCat(from, " -> ", to));
  }
  if (use_exchange) {
    if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_EXCHANGE) == 0) {
      RemoveTree(from).IgnoreError();  // the old tree; see the header
      return absl::OkStatus();
    }
    if (errno != EINVAL && errno != ENOSYS) {
      return ErrnoError(errno, "renameat2(RENAME_EXCHANGE)", absl::StrCat(from, " <-> ", to));
    }
  }
  if (rename(to.c_str(), aside.c_str()) != 0) {
    return ErrnoError(errno, "rename", absl::StrCat(to, " -> ", aside));
  }
  if (rename(from.c_str(), to.c_str()) != 0) {
    const absl::Status status = ErrnoError(errno, "rename", absl::StrCat(from, " -> ", to));
    rename(aside.c_str(), to.c_str());  // put the old tree back; best effort
    return status;
  }
  RemoveTree(aside).IgnoreError();
  return absl::OkStatus();
}

}  // namespace spindle::checkpoint
