// spindle-coordinator: the job API, worker registry and rendezvous host, with
// jobs kept in SQLite under --state_dir.
//
//   spindle-coordinator --listen 0.0.0.0:7070 --state_dir /var/lib/spindle
//   spindle-coordinator --config coordinator.yaml [--flag value]...
//
// SIGTERM/SIGINT: health NOT_SERVING, submits refused, running attempts'
// ranks stopped (their jobs restart from checkpoints when the coordinator
// comes back), server drained, exit 0.
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <filesystem>
#include <iostream>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config/daemon_file.h"
#include "common/config/units.h"
#include "common/proc/signals.h"
#include "common/rpc/security_flags.h"
#include "common/rpc/token_check.h"
#include "coordinator/service/job_manager.h"
#include "coordinator/service/job_service.h"
#include "common/formats/file_io.h"
#include "common/metrics/metrics_server.h"
#include "coordinator/service/registry_service.h"
#include "coordinator/service/rendezvous_service.h"
#include "coordinator/store/job_store.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:7070", "address to serve on (HOST:PORT; port 0 = any)");
ABSL_FLAG(std::string, advertise, "",
          "HOST:PORT ranks reach the rendezvous at (default: 127.0.0.1 and the bound port)");
ABSL_FLAG(std::string, state_dir, "spindle-state", "directory of the job database (jobs.db)");
ABSL_FLAG(std::string, heartbeat_interval, "1s", "how often workers send heartbeats");
ABSL_FLAG(std::string, worker_lease, "10s", "heartbeat silence after which a worker is lost");
ABSL_FLAG(std::string, stop_grace, "10s", "SIGTERM to SIGKILL when stopping ranks");
ABSL_FLAG(std::string, drain, "15s", "how long shutdown waits for open RPCs");
ABSL_FLAG(std::string, port_file, "", "write the bound port here once serving (for scripts)");
ABSL_FLAG(std::string, log_level, "info", "debug | info | warn | error");
ABSL_FLAG(std::string, job_roots, "",
          "comma-separated directories jobs must be submitted from and whose data, checkpoint "
          "and export paths must lie in (default: anywhere)");
ABSL_FLAG(double, rpc_rate_limit, 100,
          "JobService requests per second admitted from one client host (0: unlimited)");
ABSL_FLAG(double, rpc_burst, 200, "JobService requests admitted at once from one client host");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9400",
          "HOST:PORT of the Prometheus endpoint (/metrics; port 0 = any; empty = none)");
ABSL_FLAG(std::string, metrics_port_file, "",
          "write the metrics endpoint's bound port here once serving (for scripts)");
ABSL_FLAG(int32_t, max_streams, 1024,
          "open watch and log streams in all (each holds a thread; 0: unlimited)");

namespace spindle {
namespace {

std::vector<std::string> Flags() {
  std::vector<std::string> names = {"listen",       "advertise",  "state_dir", "heartbeat_interval",
                                    "worker_lease", "stop_grace", "drain",     "port_file",
                                    "log_level",    "job_roots",  "rpc_rate_limit", "rpc_burst",
                                    "max_streams", "metrics_listen", "metrics_port_file"};
  const std::vector<std::string>& security = rpc::SecurityFlagNames();
  names.insert(names.end(), security.begin(), security.end());
  return names;
}

absl::StatusOr<std::chrono::milliseconds> DurationFlag(const char* name, const std::string& v) {
  absl::StatusOr<std::chrono::milliseconds> d = config::ParseDuration(v);
  if (!d.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", d.status().message()));
  }
  return d;
}

// Scripts and tests wait for the file, so it appears whole.
void WritePortFile(const std::string& path, int port) {
  if (path.empty()) return;
  if (absl::Status s = formats::WriteFileAtomically(path, absl::StrCat(port, "\n")); !s.ok()) {
    spdlog::warn("port file: {}", std::string(s.message()));
  }
}

int Run() {
  spdlog::set_level(spdlog::level::from_str(absl::GetFlag(FLAGS_log_level)));
  coordinator::ManagerOptions options;
  for (auto [name, value, out] :
       {std::tuple{"heartbeat_interval", absl::GetFlag(FLAGS_heartbeat_interval),
                   &options.heartbeat_interval},
        std::tuple{"worker_lease", absl::GetFlag(FLAGS_worker_lease), &options.worker_lease},
        std::tuple{"stop_grace", absl::GetFlag(FLAGS_stop_grace), &options.stop_grace}}) {
    absl::StatusOr<std::chrono::milliseconds> d = DurationFlag(name, value);
    if (!d.ok()) {
      std::cerr << "spindle-coordinator: " << d.status().message() << std::endl;
      return 2;
    }
    *out = *d;
  }
  absl::StatusOr<std::chrono::milliseconds> drain =
      DurationFlag("drain", absl::GetFlag(FLAGS_drain));
  if (!drain.ok()) {
    std::cerr << "spindle-coordinator: " << drain.status().message() << std::endl;
    return 2;
  }

  const std::string state_dir = absl::GetFlag(FLAGS_state_dir);
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    std::cerr << "spindle-coordinator: --state_dir " << state_dir << ": " << ec.message()
              << std::endl;
    return 2;
  }
  absl::StatusOr<std::unique_ptr<store::JobStore>> store =
      store::JobStore::Open((std::filesystem::path(state_dir) / "jobs.db").string());
  if (!store.ok()) {
    std::cerr << "spindle-coordinator: " << store.status().message() << std::endl;
    return 2;
  }

  absl::StatusOr<rpc::Security> security = rpc::SecurityFromFlags();
  if (!security.ok()) {
    std::cerr << "spindle-coordinator: " << security.status().message() << std::endl;
    return 2;
  }
  options.security = *security;
  for (absl::string_view root :
       absl::StrSplit(absl::GetFlag(FLAGS_job_roots), ',', absl::SkipWhitespace())) {
    options.job_roots.emplace_back(absl::StripAsciiWhitespace(root));
  }
  const rpc::TokenCheck auth(security->token);

  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (const std::string address = absl::GetFlag(FLAGS_metrics_listen); !address.empty()) {
    absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> m =
        metrics::MetricsServer::Start(address, "coordinator");
    if (!m.ok()) {
      std::cerr << "spindle-coordinator: " << m.status().message() << std::endl;
      return 2;
    }
    metrics_server = *std::move(m);
  }

  grpc::EnableDefaultHealthCheckService(true);
  coordinator::RendezvousService rendezvous(auth);
  grpc::ServerBuilder builder;
  if (metrics_server != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(metrics_server->grpc().Factory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  // gRPC binds with SO_REUSEPORT by default: a second daemon on a taken port
  // would share it silently instead of failing to start.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), rpc::ServerCredentials(*security), &port);
  // Workers ping every 20 s; allow it without calls in flight.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.SetMaxReceiveMessageSize(rpc::MaxMessageBytesFromFlags());
  builder.RegisterService(&rendezvous);
  absl::StatusOr<std::unique_ptr<coordinator::JobManager>> manager =
      coordinator::JobManager::Create(*std::move(store), &rendezvous, options);
  if (!manager.ok()) {
    std::cerr << "spindle-coordinator: " << manager.status().message() << std::endl;
    return 2;
  }
  rpc::LimitOptions limits;
  limits.rate = absl::GetFlag(FLAGS_rpc_rate_limit);
  limits.burst = absl::GetFlag(FLAGS_rpc_burst);
  limits.max_streams = absl::GetFlag(FLAGS_max_streams);
  coordinator::JobServiceImpl jobs(manager->get(), auth, limits);
  coordinator::RegistryServiceImpl registry(manager->get(), auth);
  builder.RegisterService(&jobs);
  builder.RegisterService(&registry);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "spindle-coordinator: cannot listen on " << absl::GetFlag(FLAGS_listen)
              << " (in use? pass --listen HOST:PORT)" << std::endl;
    return 2;
  }
  if (metrics_server != nullptr) {
    coordinator::JobManager* m = manager->get();
    metrics_server->Add(
        [m](metrics::Families* f) { coordinator::AddManagerMetrics(m->Metrics(), f); });
    WritePortFile(absl::GetFlag(FLAGS_metrics_port_file), metrics_server->port());
  }
  // Ranks need the bound port (--listen may say port 0).
  const std::string advertise = absl::GetFlag(FLAGS_advertise);
  (*manager)->SetRendezvousTarget(advertise.empty() ? absl::StrCat("127.0.0.1:", port) : advertise);
  (*manager)->Start();
  spdlog::info("spindle-coordinator serving on port {} (state in {}; metrics {}); {}; jobs "
               "confined to {}",
               port, state_dir,
               metrics_server ? absl::StrCat("on port ", metrics_server->port()) : "off", rpc::Describe(*security),
               options.job_roots.empty() ? "nothing (see --job_roots)"
                                         : absl::StrJoin(options.job_roots, ", "));
  WritePortFile(absl::GetFlag(FLAGS_port_file), port);

  int sig = 0;
  while ((sig = proc::WaitForTerminationSignal(std::chrono::seconds(1))) == 0) {
  }
  spdlog::info("signal {}: shutting down", sig);
  server->GetHealthCheckService()->SetServingStatus(false);
  (*manager)->Shutdown();
  rendezvous.Shutdown();
  server->Shutdown(std::chrono::system_clock::now() + *drain);
  server->Wait();
  spdlog::info("spindle-coordinator stopped");
  return 0;
}

}  // namespace
}  // namespace spindle

int main(int argc, char** argv) {
  spindle::proc::BlockTerminationSignals();
  if (!spindle::config::ParseDaemonCommandLine(
          argc, argv, "spindle-coordinator",
          "spindle-coordinator [--config FILE] [--listen HOST:PORT] [--state_dir DIR] ...",
          spindle::Flags())) {
    return 2;
  }
  return spindle::Run();
}
