// Local-file primitives for the on-disk formats: errno → Status with the path
// and the failing syscall, fsync of files and directories, small whole-file
// reads, and crash-safe replacement of a file (write a temporary sibling,
// fsync, rename, fsync the directory). No buffering policy, no retries: a
// failed syscall is returned to the caller, who knows what the file was for.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace spindle::formats {

// Status for a failed syscall: "open(/ckpt/step-4/x): No such file or
// directory", coded from errno (ENOENT → NotFound, ENOSPC →
// ResourceExhausted, EACCES → PermissionDenied, …).
absl::Status ErrnoError(int err, std::string_view syscall, std::string_view path);

// Prefixes context to a non-OK status, keeping its code.
absl::Status WithContext(const absl::Status& status, std::string_view context);

// Flushes a file's or a directory's data and metadata to stable storage
// (open + fsync + close); for a directory this makes renames and creations
// inside it durable.
absl::Status FsyncPath(const std::string& path);

// The directory part of path ("." when there is none) and the last component.
std::string DirName(std::string_view path);
std::string BaseName(std::string_view path);
// a + "/" + b, without doubling a trailing slash of a.
std::string JoinPath(std::string_view a, std::string_view b);

// The whole file; FailedPrecondition when it is larger than max_bytes (for
// small files such as manifests, whose size an attacker-free disk bounds).
absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes);

// Writes a new file under `path` so that, after any crash, `path` holds either
// its previous content (or nothing) or the complete new content — never a
// prefix. Bytes go to a temporary sibling ".<name>.tmp.<random>" created with
// O_EXCL (mode 0666 & ~umask), which Commit fsyncs and renames onto path, then
// fsyncs the directory. Destroying an uncommitted writer removes the sibling;
// a crash may leave one behind (IsAtomicWriterTempName recognises it).
class AtomicFileWriter {
 public:
  static absl::StatusOr<AtomicFileWriter> Create(const std::string& path);

  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  // Appends bytes (retrying short writes and EINTR). A failed Append
  // abandons the writer: the sibling is removed and Commit fails.
  absl::Status Append(const void* data, size_t bytes);
  absl::Status Append(std::string_view bytes) { return Append(bytes.data(), bytes.size()); }
  // fsync, close, rename onto the final path, fsync the directory. The writer
  // is finished afterwards, whether or not Commit succeeded.
  absl::Status Commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  AtomicFileWriter(std::string path, std::string temp_path, int fd)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(fd) {}
  void Abandon();

  std::string path_;
  std::string temp_path_;
  int fd_ = -1;  // -1 once committed or abandoned
};

// AtomicFileWriter::Create + Append + Commit.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

// True for names AtomicFileWriter gives its temporary files.
bool IsAtomicWriterTempName(std::string_view name);

}  // namespace spindle::formats
