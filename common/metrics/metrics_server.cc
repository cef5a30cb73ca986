#include "common/metrics/metrics_server.h"

#include <prometheus/exposer.h>

#include <exception>

#include "absl/strings/str_cat.h"
#include "common/metrics/process_metrics.h"

namespace spindle::metrics {

const char* Version() { return SPINDLE_VERSION; }
const char* Revision() { return SPINDLE_REVISION; }

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                                    const std::string& daemon) {
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  try {
    s->exposer_ = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("metrics endpoint ", address, ": ", e.what(),
                                               " (in use? pass --metrics_listen HOST:PORT, or "
                                               "an empty value to serve no metrics)"));
  }
  const std::vector<int> ports = s->exposer_->GetListeningPorts();
  if (ports.empty()) return absl::UnavailableError(absl::StrCat("metrics endpoint ", address, ": not listening"));
  s->port_ = ports.front();
  s->grpc_ = std::make_shared<GrpcServerMetrics>();
  GrpcServerMetrics* grpc = s->grpc_.get();
  s->Add([daemon](Families* f) {
    f->Gauge("spindle_build_info", "Always 1; the labels say which build is running.")
        .Add({{"version", Version()}, {"revision", Revision()}, {"daemon", daemon}}, 1);
    AddProcessMetrics(f);
  });
  s->Add([grpc](Families* f) { grpc->Collect(f); });
  return s;
}

MetricsServer::~MetricsServer() = default;

void MetricsServer::Add(std::function<void(Families*)> fill) {
  auto c = std::make_shared<FunctionCollectable>(std::move(fill));
  exposer_->RegisterCollectable(c);
  collectables_.push_back(std::move(c));
}

}  // namespace spindle::metrics
