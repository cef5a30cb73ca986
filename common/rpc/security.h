// How Spindle's daemons, ranks and CLI secure their gRPC channels:
//   - a bearer token shared by the cluster, read from a file that only its
//     owner may read, sent as "authorization: Bearer <token>" on every call
//     and compared in constant time by every server (TokenCheck);
//   - TLS when certificate files are given: the server presents cert/key,
//     clients verify it against the CA; with client_auth, servers also
//     require a client certificate signed by the CA (mutual TLS).
// Without a token file and certificates everything is plaintext and open,
// as a localhost development setup expects; daemons say so when they start.
//
// The token never appears in logs, errors or argv: ranks get the file's path
// in the environment (kTokenFileEnv), not the secret.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spindle::rpc {

// Environment variables that carry the files' paths to child processes and
// give the CLI its defaults.
inline constexpr char kTokenFileEnv[] = "SPINDLE_TOKEN_FILE";
inline constexpr char kTlsCaEnv[] = "SPINDLE_TLS_CA";
inline constexpr char kTlsCertEnv[] = "SPINDLE_TLS_CERT";
inline constexpr char kTlsKeyEnv[] = "SPINDLE_TLS_KEY";
// Set by the worker for each rank: the 0600 file holding its attempt's
// rendezvous key (StartRanksRequest.attempt_key).
inline constexpr char kAttemptKeyFileEnv[] = "SPINDLE_ATTEMPT_KEY_FILE";

struct SecurityFiles {
  std::string token_file;  // empty: no authentication
  std::string tls_cert;    // PEM; with tls_key: serve TLS / present as a client
  std::string tls_key;
  std::string tls_ca;        // PEM of the CA that signed the peers' certificates
  bool client_auth = false;  // servers require client certificates (mTLS)
};

struct Security {
  SecurityFiles files;
  std::string token;  // the secret; empty: none
  std::string cert_pem, key_pem, ca_pem;
  bool tls() const { return !ca_pem.empty() || !cert_pem.empty(); }
};

// Reads and checks every file named. Errors name the file (never its
// content) and the fix: a token file readable by group or others is refused
// ("chmod 600 FILE"); cert without key, client_auth without a CA, or an
// empty token are refused too.
absl::StatusOr<Security> LoadSecurity(const SecurityFiles& files);

// Fills empty paths from the environment variables above.
SecurityFiles WithEnvironmentDefaults(SecurityFiles files);
// "NAME=path" entries that hand these files to a child process.
std::vector<std::string> EnvironmentFor(const SecurityFiles& files);

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const Security& security);

// A channel to target that verifies the server (when TLS) and attaches the
// token to every call.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const Security& security,
                                           const grpc::ChannelArguments& args);

// One line for the daemon's start-up log: "TLS (mutual), bearer token" or
// "plaintext, no authentication (pass --token_file and --tls_cert ...)".
std::string Describe(const Security& security);

}  // namespace spindle::rpc
