#include "coordinator/service/registry_service.h"

#include "absl/strings/str_cat.h"

namespace spindle::coordinator {

grpc::Status RegistryServiceImpl::Register(grpc::ServerContext* context,
                                           const v1::RegisterWorkerRequest* request,
                                           v1::RegisterWorkerResponse* response) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  const v1::WorkerInfo& w = request->worker();
  if (w.worker_id().empty() || w.control_address().empty() || w.devices().empty()) {
    return {grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("worker registration from '", w.host(),
                         "' needs worker_id, control_address and at least one device")};
  }
  *response = manager_->RegisterWorker(w);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::Heartbeat(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::HeartbeatReply, v1::WorkerHeartbeat>* stream) {
  if (grpc::Status s = auth_.Check(*context); !s.ok()) return s;
  v1::WorkerHeartbeat hb;
  while (stream->Read(&hb)) {
    const v1::HeartbeatReply reply = manager_->OnHeartbeat(hb);
    if (!stream->Write(reply)) break;
    if (reply.reregister()) break;
  }
  return context->IsCancelled() ? grpc::Status::CANCELLED : grpc::Status::OK;
}

}  // namespace spindle::coordinator
