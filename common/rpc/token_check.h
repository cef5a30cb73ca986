// The server side of bearer-token authentication. gRPC C++ offers no hook
// that can refuse a call before its handler runs on plaintext channels (the
// AuthMetadataProcessor needs TLS; server interceptors cannot stop a call),
// so every handler starts with
//
//   if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
//
// and tests call every method of every service without a token, expecting
// UNAUTHENTICATED. The health service stays open (probes carry no token).
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

namespace spindle::rpc {

class TokenCheck {
 public:
  TokenCheck() = default;  // no token: every call passes
  // token empty: every call passes.
  explicit TokenCheck(const std::string& token)
      : expected_(token.empty() ? "" : "Bearer " + token) {}

  // OK, or UNAUTHENTICATED naming what was wrong (missing or not matching;
  // never the token) and the peer.
  grpc::Status Check(const grpc::ServerContext& context) const;
  bool enabled() const { return !expected_.empty(); }

 private:
  std::string expected_;
};

// Compares in time that depends only on the lengths, never on where the
// first difference is.
bool ConstantTimeEquals(const std::string& a, const std::string& b);

}  // namespace spindle::rpc
