// WorkerControl (proto/spindle/v1/worker.proto) over the rank supervisor:
// what the coordinator calls on a worker.
#pragma once

#include "spindle/v1/worker.grpc.pb.h"
#include "worker/daemon/rank_supervisor.h"

namespace spindle::worker {

class ControlService final : public v1::WorkerControl::Service {
 public:
  explicit ControlService(RankSupervisor* supervisor) : supervisor_(supervisor) {}

  grpc::Status StartRanks(grpc::ServerContext*, const v1::StartRanksRequest* request,
                          v1::StartRanksResponse* response) override;
  grpc::Status StopRanks(grpc::ServerContext*, const v1::StopRanksRequest* request,
                         v1::StopRanksResponse* response) override;
  grpc::Status ReadLog(grpc::ServerContext*, const v1::ReadLogRequest* request,
                       v1::ReadLogResponse* response) override;

 private:
  RankSupervisor* supervisor_;
};

}  // namespace spindle::worker
