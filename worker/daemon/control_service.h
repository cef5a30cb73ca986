// WorkerControl (proto/spindle/v1/worker.proto) over the rank supervisor:
// what the coordinator calls on a worker.
#pragma once

#include "common/rpc/token_check.h"
#include "spindle/v1/worker.grpc.pb.h"
#include "worker/daemon/rank_supervisor.h"

namespace spindle::worker {

class ControlService final : public v1::WorkerControl::Service {
 public:
  explicit ControlService(RankSupervisor* supervisor, rpc::TokenCheck auth = {})
      : supervisor_(supervisor), auth_(std::move(auth)) {}

  grpc::Status StartRanks(grpc::ServerContext* context, const v1::StartRanksRequest* request,
                          v1::StartRanksResponse* response) override;
  grpc::Status StopRanks(grpc::ServerContext* context, const v1::StopRanksRequest* request,
                         v1::StopRanksResponse* response) override;
  grpc::Status ReadLog(grpc::ServerContext* context, const v1::ReadLogRequest* request,
                       v1::ReadLogResponse* response) override;

 private:
  RankSupervisor* supervisor_;
  rpc::TokenCheck auth_;
};

}  // namespace spindle::worker
