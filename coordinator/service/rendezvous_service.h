// The Rendezvous service: an in-memory key-value store per job attempt that
// the ranks of that attempt meet through (Gloo's store; common/rendezvous).
// Only open attempts are served: a rank of an ended attempt gets
// FAILED_PRECONDITION, so it can never meet the ranks of a new one; a caller
// without the attempt's key (handed by the coordinator to the attempt's
// workers, by them to their ranks) gets PERMISSION_DENIED. Keys live
// only as long as the attempt (nothing here needs to survive a restart: a
// coordinator restart ends every attempt).
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "common/rpc/token_check.h"
#include "spindle/v1/rendezvous.grpc.pb.h"

namespace spindle::coordinator {

class RendezvousService final : public v1::Rendezvous::Service {
 public:
  explicit RendezvousService(rpc::TokenCheck auth = {}) : auth_(std::move(auth)) {}
  void Open(const std::string& job_id, int attempt, const std::string& attempt_key);
  void Close(const std::string& job_id, int attempt);  // wakes and refuses waiters
  void Shutdown();                                     // refuses every call; wakes every waiter

  grpc::Status SetKey(grpc::ServerContext* context, const v1::SetKeyRequest* request,
                      v1::SetKeyResponse* response) override;
  grpc::Status GetKeys(grpc::ServerContext* context, const v1::GetKeysRequest* request,
                       v1::GetKeysResponse* response) override;

 private:
  using Scope = std::pair<std::string, int>;
  // mu_ held.
  grpc::Status CheckOpen(const grpc::ServerContext& context,
                         const v1::RendezvousScope& scope) const;

  std::mutex mu_;
  std::condition_variable changed_;
  std::map<Scope, std::string> open_;  // -> attempt key
  std::map<Scope, std::map<std::string, std::string>> keys_;
  bool shutdown_ = false;
  rpc::TokenCheck auth_;
};

}  // namespace spindle::coordinator
