#include "coordinator/service/rendezvous_service.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"

namespace spindle::coordinator {
namespace {

// One GetKeys call waits at most this long; clients loop (grpc_store.cc).
constexpr std::chrono::milliseconds kMaxWait{10000};
// A single value larger than this is a bug in the caller, not a rendezvous.
constexpr size_t kMaxValueBytes = 1 << 20;

}  // namespace

void RendezvousService::Open(const std::string& job_id, int attempt,
                             const std::string& attempt_key) {
  std::lock_guard<std::mutex> lock(mu_);
  open_[{job_id, attempt}] = attempt_key;
}

void RendezvousService::Close(const std::string& job_id, int attempt) {
  std::lock_guard<std::mutex> lock(mu_);
  open_.erase({job_id, attempt});
  keys_.erase({job_id, attempt});
  changed_.notify_all();
}

void RendezvousService::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutdown_ = true;
  changed_.notify_all();
}

grpc::Status RendezvousService::CheckOpen(const grpc::ServerContext& context,
                                         const v1::RendezvousScope& scope) const {
  if (shutdown_) return {grpc::StatusCode::UNAVAILABLE, "the coordinator is shutting down"};
  const auto it = open_.find({scope.job_id(), scope.attempt()});
  if (it == open_.end()) {
    return {grpc::StatusCode::FAILED_PRECONDITION,
            absl::StrCat("attempt ", scope.attempt(), " of job '", scope.job_id(),
                         "' is not running (ended, or never started); this rank is stale")};
  }
  if (!rpc::ConstantTimeEquals(scope.attempt_key(), it->second)) {
    return {grpc::StatusCode::PERMISSION_DENIED,
            absl::StrCat("wrong attempt key from ", context.peer(), " for attempt ",
                         scope.attempt(), " of job '", scope.job_id(),
                         "': only ranks the coordinator started for this attempt may use its "
                         "rendezvous (their worker hands them the key in ",
                         "SPINDLE_ATTEMPT_KEY_FILE)")};
  }
  return grpc::Status::OK;
}

grpc::Status RendezvousService::SetKey(grpc::ServerContext* context,
                                       const v1::SetKeyRequest* request, v1::SetKeyResponse*) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  if (request->value().size() > kMaxValueBytes) {
    return {grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("rendezvous value for key '", request->key(), "' is ",
                         request->value().size(), " bytes; the limit is ", kMaxValueBytes)};
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (grpc::Status s = CheckOpen(*context, request->scope()); !s.ok()) return s;
  keys_[{request->scope().job_id(), request->scope().attempt()}][request->key()] = request->value();
  changed_.notify_all();
  return grpc::Status::OK;
}

grpc::Status RendezvousService::GetKeys(grpc::ServerContext* context,
                                        const v1::GetKeysRequest* request,
                                        v1::GetKeysResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  const Scope scope{request->scope().job_id(), request->scope().attempt()};
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::min(std::chrono::milliseconds(std::max<int64_t>(0, request->wait_ms())), kMaxWait);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (grpc::Status s = CheckOpen(*context, request->scope()); !s.ok()) return s;
    const auto& kv = keys_[scope];
    response->clear_missing();
    for (const std::string& key : request->keys()) {
      if (kv.count(key) == 0) response->add_missing(key);
    }
    if (response->missing().empty()) {
      response->set_ready(true);
      if (request->values()) {
        for (const std::string& key : request->keys()) response->add_values(kv.at(key));
      }
      return grpc::Status::OK;
    }
    if (context->IsCancelled() || std::chrono::steady_clock::now() >= deadline) {
      response->set_ready(false);
      return grpc::Status::OK;
    }
    // Bounded slices so a cancelled call is noticed without a notify.
    changed_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                     std::chrono::milliseconds(500)));
  }
}

}  // namespace spindle::coordinator
