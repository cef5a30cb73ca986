// The CLI's connection to the coordinator's JobService: one channel (TLS and
// the bearer token when configured, common/rpc/security.h) with keepalive, a deadline on every
// unary call, and gRPC errors turned into absl::Status with a message that names the address and
// how to fix it. Streams are synchronous: the CLI follows one stream at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/rpc/security.h"
#include "grpcpp/grpcpp.h"
#include "spindle/v1/job.grpc.pb.h"

namespace spindle::cli {

struct ClientOptions {
  std::string address;                             // HOST:PORT of spindle-coordinator
  std::chrono::milliseconds unary_timeout{10000};  // deadline of each unary call
  rpc::SecurityFiles security;                     // token and TLS files; none: plaintext
};

// The same code, so ExitCodeForStatus applies. UNAVAILABLE and
// DEADLINE_EXCEEDED say the coordinator at `address` could not be reached
// and how to point the CLI at one; UNAUTHENTICATED and PERMISSION_DENIED say
// it refused the call; other codes keep the coordinator's message (which
// names the spec field or job).
absl::Status FromGrpc(const grpc::Status& status, absl::string_view address, absl::string_view rpc);

class Client {
 public:
  explicit Client(const ClientOptions& options);

  const std::string& address() const { return options_.address; }

  absl::StatusOr<spindle::v1::SubmitJobResponse> SubmitJob(
      const spindle::v1::SubmitJobRequest& request);
  absl::StatusOr<spindle::v1::PlanJobResponse> PlanJob(const spindle::v1::PlanJobRequest& request);
  absl::StatusOr<spindle::v1::Job> GetJob(const std::string& job_id);
  absl::StatusOr<spindle::v1::ListJobsResponse> ListJobs(
      const spindle::v1::ListJobsRequest& request);
  absl::StatusOr<spindle::v1::CancelJobResponse> CancelJob(
      const spindle::v1::CancelJobRequest& request);
  absl::StatusOr<spindle::v1::ListWorkersResponse> ListWorkers();

  // Reads the stream to its end, calling on_event for each event; returns
  // the stream's status. deadline: absl::InfiniteFuture() for none.
  absl::Status WatchJob(const spindle::v1::WatchJobRequest& request, absl::Time deadline,
                        const std::function<void(const spindle::v1::JobEvent&)>& on_event);
  absl::Status JobLogs(const spindle::v1::JobLogsRequest& request,
                       const std::function<void(const spindle::v1::LogChunk&)>& on_chunk);

  // Blocks until the channel is connected or the deadline passes; true when
  // connected. Used before re-opening a broken stream.
  bool WaitForConnected(absl::Time deadline);

 private:
  template <typename Request, typename Response>
  using UnaryMethod = grpc::Status (spindle::v1::JobService::Stub::*)(grpc::ClientContext*,
                                                                      const Request&, Response*);
  // One call with options_.unary_timeout as its deadline.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Unary(UnaryMethod<Request, Response> method, const Request& request,
                                 absl::string_view rpc);

  ClientOptions options_;
  absl::Status security_error_;  // the files could not be loaded: every call fails with it
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<spindle::v1::JobService::Stub> stub_;
};

}  // namespace spindle::cli
