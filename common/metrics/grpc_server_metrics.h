// gRPC server metrics under the names the common gRPC exporters use, so
// existing dashboards work: grpc_server_started_total,
// grpc_server_handled_total (with grpc_code), grpc_server_msg_received_total,
// grpc_server_msg_sent_total and the grpc_server_handling_seconds histogram,
// labelled grpc_type, grpc_service and grpc_method. Counted by a server
// interceptor (interceptors can observe every call, though not refuse one).
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "common/metrics/histogram_data.h"
#include "common/metrics/metric_families.h"

namespace spindle::metrics {

class GrpcServerMetrics {
 public:
  // Pass to ServerBuilder::experimental().SetInterceptorCreators; the
  // factory refers to this object, which must outlive the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> Factory();
  void Collect(Families* f) const;

  // Called by the interceptor. method: "/package.Service/Method".
  void Started(const std::string& type, const std::string& method);
  void Message(const std::string& type, const std::string& method, bool received);
  void Handled(const std::string& type, const std::string& method, grpc::StatusCode code,
               double seconds);

 private:
  using Key = std::tuple<std::string, std::string>;  // type, method
  struct PerMethod {
    double started = 0, received = 0, sent = 0;
    std::map<int, double> handled;  // by status code
    HistogramData seconds{SecondsBuckets()};
  };
  mutable std::mutex mu_;
  std::map<Key, PerMethod> methods_;
};

}  // namespace spindle::metrics
