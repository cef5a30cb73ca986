#include "common/rpc/token_check.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace spindle::rpc {

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  // Every byte of the longer string is visited whatever the contents.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

grpc::Status TokenCheck::Check(const grpc::ServerContext& context) const {
  if (expected_.empty()) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        absl::StrCat("no bearer token from ", context.peer(),
                                     "; give the client the cluster's token file "
                                     "(--token_file, or SPINDLE_TOKEN_FILE)"));
  }
  if (!ConstantTimeEquals(std::string(it->second.data(), it->second.size()), expected_)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        absl::StrCat("wrong bearer token from ", context.peer(),
                                     "; the client's token file differs from this server's"));
  }
  return grpc::Status::OK;
}

}  // namespace spindle::rpc
