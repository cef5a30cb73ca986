#include "coordinator/cli/client.h"

#include "absl/strings/str_cat.h"

namespace spindle::cli {
namespace v1 = spindle::v1;

absl::Status FromGrpc(const grpc::Status& status, absl::string_view address,
                      absl::string_view rpc) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  std::string detail = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::Status(
          code, absl::StrCat("cannot reach the coordinator at ", address, " (", rpc, ": ", detail,
                             "): is spindle-coordinator running? start it or pass --coordinator "
                             "HOST:PORT / set SPINDLE_COORDINATOR"));
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::Status(
          code, absl::StrCat("the coordinator at ", address, " refused ", rpc, " (", detail,
                             "): pass the cluster's token file with --token-file FILE or "
                             "SPINDLE_TOKEN_FILE, and check that --coordinator names your "
                             "coordinator"));
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::Status(
          code, absl::StrCat("the coordinator at ", address, " refused ", rpc, " (", detail,
                             "): check that --coordinator / SPINDLE_COORDINATOR names your "
                             "coordinator and that you may call it"));
    default:
      return absl::Status(code, detail);
  }
}

Client::Client(const ClientOptions& options) : options_(options) {
  grpc::ChannelArguments args;
  // Pings keep long watch/logs streams alive through idle NATs and notice a
  // dead coordinator; the coordinator permits this rate.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // A restarted coordinator is found within ~2 s instead of gRPC's backoff of
  // up to 2 min, so a followed job reconnects before the CLI gives up.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  absl::StatusOr<rpc::Security> security = rpc::LoadSecurity(options_.security);
  if (!security.ok()) security_error_ = security.status();
  channel_ = rpc::MakeChannel(options_.address, security.ok() ? *security : rpc::Security(), args);
  stub_ = v1::JobService::NewStub(channel_);
}

template <typename Request, typename Response>
absl::StatusOr<Response> Client::Unary(UnaryMethod<Request, Response> method,
                                       const Request& request, absl::string_view rpc) {
  if (!security_error_.ok()) return security_error_;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + options_.unary_timeout);
  Response response;
  absl::Status s = FromGrpc((stub_.get()->*method)(&context, request, &response), address(), rpc);
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::SubmitJobResponse> Client::SubmitJob(const v1::SubmitJobRequest& request) {
  return Unary(&v1::JobService::Stub::SubmitJob, request, "SubmitJob");
}

absl::StatusOr<v1::PlanJobResponse> Client::PlanJob(const v1::PlanJobRequest& request) {
  return Unary(&v1::JobService::Stub::PlanJob, request, "PlanJob");
}

absl::StatusOr<v1::Job> Client::GetJob(const std::string& job_id) {
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  return Unary(&v1::JobService::Stub::GetJob, request, "GetJob");
}

absl::StatusOr<v1::ListJobsResponse> Client::ListJobs(const v1::ListJobsRequest& request) {
  return Unary(&v1::JobService::Stub::ListJobs, request, "ListJobs");
}

absl::StatusOr<v1::CancelJobResponse> Client::CancelJob(const v1::CancelJobRequest& request) {
  return Unary(&v1::JobService::Stub::CancelJob, request, "CancelJob");
}

absl::StatusOr<v1::ListWorkersResponse> Client::ListWorkers() {
  return Unary(&v1::JobService::Stub::ListWorkers, v1::ListWorkersRequest(), "ListWorkers");
}

absl::Status Client::WatchJob(const v1::WatchJobRequest& request, absl::Time deadline,
                              const std::function<void(const v1::JobEvent&)>& on_event) {
  if (!security_error_.ok()) return security_error_;
  grpc::ClientContext context;
  if (deadline != absl::InfiniteFuture()) context.set_deadline(absl::ToChronoTime(deadline));
  std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader = stub_->WatchJob(&context, request);
  v1::JobEvent event;
  while (reader->Read(&event)) on_event(event);
  return FromGrpc(reader->Finish(), address(), "WatchJob");
}

absl::Status Client::JobLogs(const v1::JobLogsRequest& request,
                             const std::function<void(const v1::LogChunk&)>& on_chunk) {
  if (!security_error_.ok()) return security_error_;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::LogChunk>> reader = stub_->JobLogs(&context, request);
  v1::LogChunk chunk;
  while (reader->Read(&chunk)) on_chunk(chunk);
  return FromGrpc(reader->Finish(), address(), "JobLogs");
}

bool Client::WaitForConnected(absl::Time deadline) {
  return channel_->WaitForConnected(absl::ToChronoTime(deadline));
}

}  // namespace spindle::cli
