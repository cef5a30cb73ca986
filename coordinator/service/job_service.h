// JobService (proto/spindle/v1/job.proto) over the JobManager, plus the log
// relay: rank logs stay on the workers and are read through their
// WorkerControl.ReadLog as the client asks.
#pragma once

#include "common/rpc/limits.h"
#include "common/rpc/token_check.h"
#include "coordinator/service/job_manager.h"
#include "spindle/v1/job.grpc.pb.h"

namespace spindle::coordinator {

// absl::Status -> grpc::Status, keeping the code and message.
grpc::Status ToGrpc(const absl::Status& status);

class JobServiceImpl final : public v1::JobService::Service {
 public:
  explicit JobServiceImpl(JobManager* manager, rpc::TokenCheck auth = {},
                          rpc::LimitOptions limits = {})
      : manager_(manager),
        auth_(std::move(auth)),
        rate_(limits.rate, limits.burst),
        streams_(limits.max_streams) {}

  grpc::Status SubmitJob(grpc::ServerContext* context, const v1::SubmitJobRequest* request,
                         v1::SubmitJobResponse* response) override;
  grpc::Status PlanJob(grpc::ServerContext* context, const v1::PlanJobRequest* request,
                       v1::PlanJobResponse* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const v1::GetJobRequest* request,
                      v1::Job* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override;
  grpc::Status WatchJob(grpc::ServerContext* context, const v1::WatchJobRequest* request,
                        grpc::ServerWriter<v1::JobEvent>* writer) override;
  grpc::Status JobLogs(grpc::ServerContext* context, const v1::JobLogsRequest* request,
                       grpc::ServerWriter<v1::LogChunk>* writer) override;
  grpc::Status CancelJob(grpc::ServerContext* context, const v1::CancelJobRequest* request,
                         v1::CancelJobResponse* response) override;
  grpc::Status ListWorkers(grpc::ServerContext* context, const v1::ListWorkersRequest* request,
                           v1::ListWorkersResponse* response) override;

 private:
  // The token, then the caller's request rate.
  grpc::Status Admit(const grpc::ServerContext& context);

  JobManager* manager_;
  rpc::TokenCheck auth_;
  rpc::RateLimiter rate_;
  rpc::StreamSlots streams_;
};

}  // namespace spindle::coordinator
