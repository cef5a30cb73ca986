// The security flags every daemon takes (--token_file, --tls_cert,
// --tls_key, --tls_ca, --tls_client_auth, --max_message_bytes), defined once
// for both.
#pragma once

#include <string>
#include <vector>

#include "common/rpc/security.h"

namespace spindle::rpc {

// Their names, for config files (common/config/daemon_file.h).
const std::vector<std::string>& SecurityFlagNames();

// Loads what the flags name; errors name the flag and file.
absl::StatusOr<Security> SecurityFromFlags();

// --max_message_bytes, at least 4 KiB: for ServerBuilder::SetMaxReceiveMessageSize.
int MaxMessageBytesFromFlags();

}  // namespace spindle::rpc
