#include "common/rpc/security.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/client_interceptor.h>

#include <array>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/formats/file_io.h"
#include "common/rpc/secret.h"
#include "common/status.h"

namespace spindle::rpc {
namespace {

constexpr int64_t kMaxPemBytes = 1 << 20;

// Adds the authorization header to every call of the channel.
class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(std::string header) : header_(std::move(header)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    }
    methods->Proceed();
  }

 private:
  std::string header_;
};

class BearerFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerFactory(const std::string& token) : header_("Bearer " + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(header_);
  }

 private:
  std::string header_;
};

absl::StatusOr<std::string> ReadPem(const char* what, const std::string& path) {
  if (path.empty()) return std::string();
  absl::StatusOr<std::string> pem = formats::ReadFileToString(path, kMaxPemBytes);
  if (!pem.ok()) {
    return absl::Status(pem.status().code(),
                        absl::StrCat(what, " ", path, ": ", pem.status().message()));
  }
  if (pem->find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, ": not a PEM file"));
  }
  return pem;
}

// Each file path with the environment variable that carries it.
template <typename Files>
auto EnvPaths(Files& f) {
  return std::array{std::pair{kTokenFileEnv, &f.token_file}, std::pair{kTlsCaEnv, &f.tls_ca},
                    std::pair{kTlsCertEnv, &f.tls_cert}, std::pair{kTlsKeyEnv, &f.tls_key}};
}

}  // namespace

absl::StatusOr<Security> LoadSecurity(const SecurityFiles& files) {
  Security s;
  s.files = files;
  if ((files.tls_cert.empty()) != (files.tls_key.empty())) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together: give both files or neither");
  }
  if (files.client_auth && (files.tls_ca.empty() || files.tls_cert.empty())) {
    return absl::InvalidArgumentError(
        "--tls_client_auth needs --tls_ca (to verify clients) and --tls_cert/--tls_key");
  }
  if (!files.token_file.empty()) {
    SPINDLE_ASSIGN_OR_RETURN(s.token, ReadSecretFile("token file", files.token_file));
  }
  SPINDLE_ASSIGN_OR_RETURN(s.cert_pem, ReadPem("--tls_cert", files.tls_cert));
  SPINDLE_ASSIGN_OR_RETURN(s.key_pem, ReadPem("--tls_key", files.tls_key));
  SPINDLE_ASSIGN_OR_RETURN(s.ca_pem, ReadPem("--tls_ca", files.tls_ca));
  return s;
}

SecurityFiles WithEnvironmentDefaults(SecurityFiles files) {
  for (const auto& [name, path] : EnvPaths(files)) {
    if (const char* v = std::getenv(name); path->empty() && v != nullptr) *path = v;
  }
  return files;
}

std::vector<std::string> EnvironmentFor(const SecurityFiles& files) {
  std::vector<std::string> env;
  for (const auto& [name, path] : EnvPaths(files)) {
    if (!path->empty()) env.push_back(absl::StrCat(name, "=", *path));
  }
  return env;
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const Security& security) {
  if (security.cert_pem.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      security.files.client_auth ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                 : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_root_certs = security.ca_pem;
  options.pem_key_cert_pairs.push_back({security.key_pem, security.cert_pem});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const Security& security,
                                           const grpc::ChannelArguments& args) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (security.tls()) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = security.ca_pem;
    options.pem_private_key = security.key_pem;
    options.pem_cert_chain = security.cert_pem;
    credentials = grpc::SslCredentials(options);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (!security.token.empty()) {
    interceptors.push_back(std::make_unique<BearerFactory>(security.token));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, credentials, args,
                                                                 std::move(interceptors));
}

std::string Describe(const Security& security) {
  std::string tls = security.cert_pem.empty()
                        ? (security.ca_pem.empty() ? "plaintext" : "TLS to servers")
                        : (security.files.client_auth ? "TLS (mutual)" : "TLS");
  std::string auth = security.token.empty() ? "no authentication" : "bearer token";
  std::string hint = security.token.empty() || security.cert_pem.empty()
                         ? " (anyone who can reach the port can use it; see --token_file, "
                           "--tls_cert, --tls_key, --tls_ca)"
                         : "";
  return absl::StrCat(tls, ", ", auth, hint);
}

}  // namespace spindle::rpc
