#include "worker/daemon/control_service.h"

#include "spdlog/spdlog.h"

namespace spindle::worker {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  return s.ok() ? grpc::Status::OK
                : grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace

grpc::Status ControlService::StartRanks(grpc::ServerContext* context,
                                        const v1::StartRanksRequest* request,
                                        v1::StartRanksResponse*) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  if (request->job_id().empty() || request->attempt() < 1 || request->ranks().empty() ||
      request->world_size() < 1 || request->rendezvous().empty()) {
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "StartRanks needs job_id, attempt >= 1, world_size, rendezvous and ranks"};
  }
  return ToGrpc(supervisor_->Start(*request));
}

grpc::Status ControlService::StopRanks(grpc::ServerContext* context,
                                       const v1::StopRanksRequest* request,
                                       v1::StopRanksResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  spdlog::info("stopping {} attempt {}: {}", request->job_id(), request->attempt(),
               request->reason());
  for (v1::RankState& s : supervisor_->Stop(request->job_id(), request->attempt(),
                                            std::chrono::milliseconds(request->grace_ms()))) {
    *response->add_ranks() = std::move(s);
  }
  return grpc::Status::OK;
}

grpc::Status ControlService::ReadLog(grpc::ServerContext* context,
                                     const v1::ReadLogRequest* request,
                                     v1::ReadLogResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  absl::StatusOr<v1::ReadLogResponse> r = supervisor_->ReadLog(*request);
  if (!r.ok()) return ToGrpc(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

}  // namespace spindle::worker
