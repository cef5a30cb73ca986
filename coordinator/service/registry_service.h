// WorkerRegistry (proto/spindle/v1/worker.proto): workers register, then hold
// a heartbeat stream; each heartbeat is answered (re-register, or attempts to
// stop) by the JobManager.
#pragma once

#include "common/rpc/token_check.h"
#include "coordinator/service/job_manager.h"
#include "spindle/v1/worker.grpc.pb.h"

namespace spindle::coordinator {

class RegistryServiceImpl final : public v1::WorkerRegistry::Service {
 public:
  explicit RegistryServiceImpl(JobManager* manager, rpc::TokenCheck auth = {})
      : manager_(manager), auth_(std::move(auth)) {}

  grpc::Status Register(grpc::ServerContext* context, const v1::RegisterWorkerRequest* request,
                        v1::RegisterWorkerResponse* response) override;
  grpc::Status Heartbeat(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::HeartbeatReply, v1::WorkerHeartbeat>* stream) override;

 private:
  JobManager* manager_;
  rpc::TokenCheck auth_;
};

}  // namespace spindle::coordinator
