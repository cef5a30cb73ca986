// Secrets the services hand out and read back: the cluster's bearer token
// (a file written by the operator), each worker's registration session and
// each attempt's rendezvous key (random values made by the coordinator).
// Secret files are readable by their owner only; errors name the file and
// the fix, never the content.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace spindle::rpc {

// 128 random bits from the kernel's CSPRNG as 32 lowercase hex digits.
std::string NewSecret();

// The one line of printable ASCII in `path`. `what` names the file in errors
// ("token file", "attempt key file"). Refused: missing, readable by group or
// others ("chmod 600"), empty, containing spaces or control characters.
absl::StatusOr<std::string> ReadSecretFile(const std::string& what, const std::string& path);

// Writes `secret` to `path` created with mode 0600 (replacing any file there
// through a rename, so no reader ever sees a partial or wider-readable one).
absl::Status WriteSecretFile(const std::string& path, const std::string& secret);

}  // namespace spindle::rpc
