#include "common/rendezvous/grpc_store.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/comm/gloo_communicator.h"
#include "common/rpc/secret.h"
#include "common/rpc/security.h"
#include "common/status.h"
#include "gloo/common/error.h"
#include "spindle/v1/rendezvous.grpc.pb.h"

namespace spindle::rendezvous {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// The server holds one GetKeys call at most this long; longer waits loop, so
// a coordinator restart is noticed within one poll.
constexpr milliseconds kPoll{5000};
constexpr milliseconds kRpcSlack{5000};
// A coordinator that is briefly unreachable (restarting) is retried until the
// wait's own deadline.
constexpr milliseconds kRetryPause{200};

class GrpcStore final : public gloo::rendezvous::Store {
 public:
  GrpcStore(GrpcAddress address, const rpc::Security& security, const std::string& attempt_key,
            milliseconds wait_timeout)
      : address_(std::move(address)), wait_timeout_(wait_timeout) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    stub_ = v1::Rendezvous::NewStub(rpc::MakeChannel(address_.target, security, args));
    scope_.set_job_id(address_.job_id);
    scope_.set_attempt(address_.attempt);
    scope_.set_attempt_key(attempt_key);
  }

  void set(const std::string& key, const std::vector<char>& data) override {
    v1::SetKeyRequest request;
    *request.mutable_scope() = scope_;
    request.set_key(key);
    request.set_value(std::string(data.begin(), data.end()));
    const auto deadline = Clock::now() + wait_timeout_;
    for (;;) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + kRpcSlack);
      v1::SetKeyResponse response;
      const grpc::Status status = stub_->SetKey(&context, request, &response);
      if (status.ok()) return;
      Fail(status, key, deadline);
    }
  }

  std::vector<char> get(const std::string& key) override {
    std::vector<std::string> values = Get({key}, wait_timeout_, /*values=*/true);
    return std::vector<char>(values.front().begin(), values.front().end());
  }

  void wait(const std::vector<std::string>& keys) override { wait(keys, wait_timeout_); }

  void wait(const std::vector<std::string>& keys, const milliseconds& timeout) override {
    Get(keys, timeout == gloo::kNoTimeout ? wait_timeout_ : timeout, /*values=*/false);
  }

 private:
  std::vector<std::string> Get(const std::vector<std::string>& keys, milliseconds timeout,
                               bool values) {
    const auto deadline = Clock::now() + timeout;
    v1::GetKeysRequest request;
    *request.mutable_scope() = scope_;
    for (const std::string& k : keys) request.add_keys(k);
    request.set_values(values);
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      request.set_wait_ms(std::clamp(left, milliseconds(0), kPoll).count());
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + milliseconds(request.wait_ms()) +
                           kRpcSlack);
      v1::GetKeysResponse response;
      const grpc::Status status = stub_->GetKeys(&context, request, &response);
      if (!status.ok()) {
        Fail(status, keys.front(), deadline);
        continue;
      }
      if (response.ready()) {
        return {response.values().begin(), response.values().end()};
      }
      if (Clock::now() >= deadline) {
        GLOO_THROW_IO_EXCEPTION(
            "Wait timeout for key(s): ", absl::StrJoin(response.missing(), ", "),
            " in rendezvous of job ", address_.job_id, " attempt ", address_.attempt, " at ",
            address_.target);
      }
    }
  }

  // Retries transient failures until the deadline; anything else (a fenced
  // attempt: FAILED_PRECONDITION) is final.
  void Fail(const grpc::Status& status, const std::string& key, Clock::time_point deadline) {
    const bool transient = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                           status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (!transient || Clock::now() >= deadline) {
      GLOO_THROW_IO_EXCEPTION("rendezvous at ", address_.target, " (key ", key,
                              "): ", status.error_message());
    }
    std::this_thread::sleep_for(kRetryPause);
  }

  const GrpcAddress address_;
  const milliseconds wait_timeout_;
  std::unique_ptr<v1::Rendezvous::Stub> stub_;
  v1::RendezvousScope scope_;
};

}  // namespace

absl::StatusOr<GrpcAddress> ParseGrpcAddress(const std::string& url) {
  const std::string kScheme = "grpc://";
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError(absl::StrCat("rendezvous address '", url, "': ", why,
                                                   "; expected grpc://HOST:PORT/JOB_ID/ATTEMPT"));
  };
  if (url.rfind(kScheme, 0) != 0) return bad("not a grpc:// address");
  const std::vector<std::string> parts = absl::StrSplit(url.substr(kScheme.size()), '/');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    return bad("needs a target, a job id and an attempt");
  }
  GrpcAddress a;
  a.target = parts[0];
  a.job_id = parts[1];
  if (!absl::SimpleAtoi(parts[2], &a.attempt) || a.attempt < 1) {
    return bad("the attempt is not a positive integer");
  }
  return a;
}

absl::StatusOr<std::unique_ptr<gloo::rendezvous::Store>> MakeStore(const std::string& address,
                                                                   milliseconds wait_timeout,
                                                                   std::string attempt_key) {
  if (address.rfind("grpc://", 0) != 0) return comm::MakeFileStore(address);
  absl::StatusOr<GrpcAddress> parsed = ParseGrpcAddress(address);
  if (!parsed.ok()) return parsed.status();
  // The worker hands its token and TLS files to ranks through the environment.
  absl::StatusOr<rpc::Security> security = rpc::LoadSecurity(rpc::WithEnvironmentDefaults({}));
  if (!security.ok()) return security.status();
  if (const char* file = std::getenv(rpc::kAttemptKeyFileEnv); attempt_key.empty() && file != nullptr) {
    SPINDLE_ASSIGN_OR_RETURN(attempt_key, rpc::ReadSecretFile("attempt key file", file));
  }
  return std::unique_ptr<gloo::rendezvous::Store>(
      new GrpcStore(*parsed, *security, attempt_key, wait_timeout));
}

}  // namespace spindle::rendezvous
