#include "common/formats/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/formats/text.h"
#include "common/status.h"

namespace spindle::formats {
namespace {

constexpr std::string_view kTempInfix = ".tmp.";
constexpr size_t kTempSuffixDigits = 16;

std::string ErrnoText(int err) {
  char buf[256];
  // GNU strerror_r: returns a pointer to a static string or into buf.
  return strerror_r(err, buf, sizeof(buf));
}

int CloseFd(int fd) {
  // close() must not be retried on EINTR on Linux: the descriptor is gone.
  return close(fd);
}

}  // namespace

absl::Status ErrnoError(int err, std::string_view syscall, std::string_view path) {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(Sv(syscall), "(", Sv(path), "): ", ErrnoText(err)));
}

absl::Status WithContext(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(Sv(context), ": ", status.message()));
}

absl::Status FsyncPath(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open", path);
  if (fsync(fd) != 0) {
    const int err = errno;
    CloseFd(fd);
    return ErrnoError(err, "fsync", path);
  }
  if (CloseFd(fd) != 0) return ErrnoError(errno, "close", path);
  return absl::OkStatus();
}

std::string DirName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string BaseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (a.back() == '/') return absl::StrCat(Sv(a), Sv(b));
  return absl::StrCat(Sv(a), "/", Sv(b));
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open", path);
  std::string out;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      CloseFd(fd);
      return ErrnoError(err, "read", path);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      CloseFd(fd);
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": larger than the ", max_bytes, " bytes such a file may have"));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  CloseFd(fd);
  return out;
}

absl::StatusOr<AtomicFileWriter> AtomicFileWriter::Create(const std::string& path) {
  const std::string dir = DirName(path);
  const std::string base = BaseName(path);
  std::random_device random;
  // A name collision needs the same 64 random bits: retry a few times anyway.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const uint64_t r = (static_cast<uint64_t>(random()) << 32) ^ random();
    const std::string temp_path = JoinPath(dir, absl::StrFormat(".%s%s%016x", base, kTempInfix, r));
    const int fd = open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return AtomicFileWriter(path, temp_path, fd);
    if (errno != EEXIST) return ErrnoError(errno, "open", temp_path);
  }
  return absl::AlreadyExistsError(
      absl::StrCat(path, ": could not create a unique temporary file beside it"));
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(std::exchange(other.fd_, -1)) {}

AtomicFileWriter& AtomicFileWriter::operator=(AtomicFileWriter&& other) noexcept {
  if (this != &other) {
    Abandon();
    path_ = std::move(other.path_);
    temp_path_ = std::move(other.temp_path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

AtomicFileWriter::~AtomicFileWriter() { Abandon(); }

void AtomicFileWriter::Abandon() {
  if (fd_ < 0) return;
  CloseFd(fd_);
  fd_ = -1;
  unlink(temp_path_.c_str());
}

absl::Status AtomicFileWriter::Append(const void* data, size_t bytes) {
  if (fd_ < 0) {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": writer already finished"));
  }
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    // Linux transfers at most 0x7ffff000 bytes per write.
    const ssize_t n = write(fd_, p, bytes < (size_t{1} << 30) ? bytes : (size_t{1} << 30));
    if (n < 0) {
      if (errno == EINTR) continue;
      // A later Commit must not publish the prefix written so far.
      const absl::Status status = ErrnoError(errno, "write", temp_path_);
      Abandon();
      return status;
    }
    p += n;
    bytes -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status AtomicFileWriter::Commit() {
  if (fd_ < 0) {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": writer already finished"));
  }
  if (fsync(fd_) != 0) {
    const absl::Status status = ErrnoError(errno, "fsync", temp_path_);
    Abandon();
    return status;
  }
  const int fd = std::exchange(fd_, -1);
  if (CloseFd(fd) != 0) {
    const absl::Status status = ErrnoError(errno, "close", temp_path_);
    unlink(temp_path_.c_str());
    return status;
  }
  if (rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const absl::Status status =
        ErrnoError(errno, "rename", absl::StrCat(temp_path_, " -> ", path_));
    unlink(temp_path_.c_str());
    return status;
  }
  return FsyncPath(DirName(path_));
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  SPINDLE_ASSIGN_OR_RETURN(AtomicFileWriter writer, AtomicFileWriter::Create(path));
  SPINDLE_RETURN_IF_ERROR(writer.Append(contents));
  return writer.Commit();
}

bool IsAtomicWriterTempName(std::string_view name) {
  if (name.size() < 1 + kTempInfix.size() + kTempSuffixDigits || name[0] != '.') return false;
  const std::string_view suffix = name.substr(name.size() - kTempSuffixDigits);
  for (char c : suffix) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return name.substr(name.size() - kTempSuffixDigits - kTempInfix.size(), kTempInfix.size()) ==
         kTempInfix;
}

}  // namespace spindle::formats
