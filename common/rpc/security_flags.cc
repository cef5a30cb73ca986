#include "common/rpc/security_flags.h"

#include <algorithm>
#include <cstdint>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, token_file, "",
          "file holding the cluster's bearer token (mode 600); every RPC must carry it");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate this daemon presents (with --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificate that signed the other daemons' certificates");
ABSL_FLAG(bool, tls_client_auth, false, "require client certificates signed by --tls_ca (mTLS)");
ABSL_FLAG(int32_t, max_message_bytes, 4 << 20,
          "largest request this daemon accepts, in bytes (larger ones: RESOURCE_EXHAUSTED)");

namespace spindle::rpc {

const std::vector<std::string>& SecurityFlagNames() {
  static const std::vector<std::string> names = {
      "token_file", "tls_cert", "tls_key", "tls_ca", "tls_client_auth", "max_message_bytes"};
  return names;
}

absl::StatusOr<Security> SecurityFromFlags() {
  SecurityFiles files;
  files.token_file = absl::GetFlag(FLAGS_token_file);
  files.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  files.tls_key = absl::GetFlag(FLAGS_tls_key);
  files.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  files.client_auth = absl::GetFlag(FLAGS_tls_client_auth);
  return LoadSecurity(files);
}

int MaxMessageBytesFromFlags() {
  return std::max(4096, absl::GetFlag(FLAGS_max_message_bytes));
}

}  // namespace spindle::rpc
