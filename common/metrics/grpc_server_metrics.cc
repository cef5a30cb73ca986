#include "common/metrics/grpc_server_metrics.h"

#include <chrono>

namespace spindle::metrics {
namespace {

using Hook = grpc::experimental::InterceptionHookPoints;

const char* TypeName(grpc::experimental::ServerRpcInfo::Type type) {
  using Type = grpc::experimental::ServerRpcInfo::Type;
  switch (type) {
    case Type::UNARY:
      return "unary";
    case Type::CLIENT_STREAMING:
      return "client_stream";
    case Type::SERVER_STREAMING:
      return "server_stream";
    case Type::BIDI_STREAMING:
      return "bidi_stream";
  }
  return "unknown";
}

// "OK", "UNAVAILABLE", ...: the names Prometheus gRPC exporters use.
const char* CodeName(int code) {
  static const char* const kNames[] = {
      "OK",           "CANCELED",          "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",    "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",    "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",         "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? kNames[code] : "UNKNOWN";
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info, GrpcServerMetrics* metrics)
      : metrics_(metrics),
        type_(TypeName(info->type())),
        method_(info->method() == nullptr ? "" : info->method()),
        start_(std::chrono::steady_clock::now()) {
    metrics_->Started(type_, method_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE)) {
      metrics_->Message(type_, method_, /*received=*/true);
    }
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_MESSAGE)) {
      metrics_->Message(type_, method_, /*received=*/false);
    }
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      metrics_->Handled(type_, method_, methods->GetSendStatus().error_code(), seconds);
    }
    methods->Proceed();
  }

 private:
  GrpcServerMetrics* metrics_;
  std::string type_, method_;
  std::chrono::steady_clock::time_point start_;
};

class Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(GrpcServerMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(info, metrics_);
  }

 private:
  GrpcServerMetrics* metrics_;
};

// "/spindle.v1.JobService/GetJob" -> {"spindle.v1.JobService", "GetJob"}.
std::pair<std::string, std::string> Split(const std::string& method) {
  const size_t slash = method.rfind('/');
  if (method.empty() || method[0] != '/' || slash == 0 || slash == std::string::npos) {
    return {"unknown", method};
  }
  return {method.substr(1, slash - 1), method.substr(slash + 1)};
}

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcServerMetrics::Factory() {
  return std::make_unique<metrics::Factory>(this);
}

void GrpcServerMetrics::Started(const std::string& type, const std::string& method) {
  std::lock_guard<std::mutex> lock(mu_);
  ++methods_[{type, method}].started;
}

void GrpcServerMetrics::Message(const std::string& type, const std::string& method,
                                bool received) {
  std::lock_guard<std::mutex> lock(mu_);
  PerMethod& m = methods_[{type, method}];
  ++(received ? m.received : m.sent);
}

void GrpcServerMetrics::Handled(const std::string& type, const std::string& method,
                                grpc::StatusCode code, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  PerMethod& m = methods_[{type, method}];
  ++m.handled[static_cast<int>(code)];
  m.seconds.Observe(seconds);
}

void GrpcServerMetrics::Collect(Families* f) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto labels = [](const Key& k) {
    const auto [service, method] = Split(std::get<1>(k));
    return Labels{{"grpc_type", std::get<0>(k)}, {"grpc_service", service}, {"grpc_method", method}};
  };
  f->Counter("grpc_server_started_total", "RPCs started on the server.");
  for (const auto& [k, m] : methods_) f->Add(labels(k), m.started);
  f->Counter("grpc_server_handled_total", "RPCs completed on the server, by status code.");
  for (const auto& [k, m] : methods_) {
    for (const auto& [code, n] : m.handled) {
      Labels l = labels(k);
      l.emplace_back("grpc_code", CodeName(code));
      f->Add(l, n);
    }
  }
  f->Counter("grpc_server_msg_received_total", "Stream messages received on the server.");
  for (const auto& [k, m] : methods_) f->Add(labels(k), m.received);
  f->Counter("grpc_server_msg_sent_total", "Stream messages sent by the server.");
  for (const auto& [k, m] : methods_) f->Add(labels(k), m.sent);
  f->Histogram("grpc_server_handling_seconds",
               "Time from the start of an RPC to its status, in seconds.");
  for (const auto& [k, m] : methods_) {
    if (m.seconds.count > 0) f->Add(labels(k), m.seconds);
  }
}

}  // namespace spindle::metrics
