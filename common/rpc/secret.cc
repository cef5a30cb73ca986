#include "common/rpc/secret.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/formats/file_io.h"
#include "common/status.h"

namespace spindle::rpc {

std::string NewSecret() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    // getrandom only fails on a kernel without it (< 3.17); nothing to fall back to.
    SPINDLE_CHECK(n > 0) << "getrandom: " << std::strerror(errno);
    got += static_cast<size_t>(n);
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& what, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(what, " ", path,
                                            ": cannot read it; create it with a random secret, "
                                            "e.g. `head -c 32 /dev/urandom | base64 > ",
                                            path, " && chmod 600 ", path, "`"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        what, " ", path, ": readable by group or others; run `chmod 600 ", path, "`"));
  }
  SPINDLE_ASSIGN_OR_RETURN(std::string text, formats::ReadFileToString(path, 4096));
  const std::string secret(absl::StripAsciiWhitespace(text));
  if (secret.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " ", path, ": empty"));
  for (char c : secret) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " ", path, ": the secret must be one line of printable ASCII without spaces"));
    }
  }
  return secret;
}

absl::Status WriteSecretFile(const std::string& path, const std::string& secret) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("creating ", tmp, ": ", std::strerror(errno)));
  const std::string line = secret + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const int saved = errno;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("writing ", tmp, ": ", std::strerror(saved)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("renaming ", tmp, " to ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace spindle::rpc
