// One Prometheus scrape endpoint per daemon (GET /metrics on its own port),
// serving spindle_build_info, the process_* metrics, gRPC server metrics
// and whatever the daemon adds.
#pragma once

#include <prometheus/collectable.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics/grpc_server_metrics.h"
#include "common/metrics/metric_families.h"

namespace prometheus {
class Exposer;
}

namespace spindle::metrics {

class MetricsServer {
 public:
  // Serves on address ("HOST:PORT"; port 0 picks one). daemon names the
  // program in spindle_build_info. Errors name the address.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                              const std::string& daemon);
  ~MetricsServer();

  int port() const { return port_; }
  // Adds families computed at each scrape.
  void Add(std::function<void(Families*)> fill);
  GrpcServerMetrics& grpc() { return *grpc_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::shared_ptr<GrpcServerMetrics> grpc_;
  int port_ = 0;
};

// Version and revision compiled in (CMake project version, git revision).
const char* Version();
const char* Revision();

}  // namespace spindle::metrics
