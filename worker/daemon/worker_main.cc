// spindle-worker: one per node. Registers its devices with the coordinator,
// runs the ranks it is pushed (one spindle-trainer process per device), keeps
// their logs, and reports their states and progress by heartbeat.
//
//   spindle-worker --coordinator HOST:7070 [--cpu_slots 2] [--listen 0.0.0.0:0]
//   spindle-worker --config worker.yaml
//
// SIGTERM/SIGINT: health NOT_SERVING; draining (heartbeats say so, nothing
// new starts here); every rank stopped (SIGTERM: it commits a checkpoint at
// its step and exits; SIGKILL after the grace); one last heartbeat reports
// their exit; deregistered by silence, exit 0.
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/config/daemon_file.h"
#include "common/config/units.h"
#include "common/formats/file_io.h"
#include "common/metrics/metrics_server.h"
#include "common/proc/signals.h"
#include "common/proc/subprocess.h"
#include "common/rpc/security_flags.h"
#include "common/rpc/token_check.h"
#include "spdlog/spdlog.h"
#include "worker/daemon/control_service.h"
#include "worker/daemon/coordinator_link.h"
#include "worker/daemon/devices.h"
#include "worker/daemon/rank_supervisor.h"
#include "worker/daemon/worker_metrics.h"

ABSL_FLAG(std::string, coordinator, "127.0.0.1:7070", "the coordinator's HOST:PORT");
ABSL_FLAG(std::string, listen, "0.0.0.0:0", "where WorkerControl listens (port 0 = any)");
ABSL_FLAG(std::string, advertise_host, "127.0.0.1",
          "host name the coordinator reaches this worker at");
ABSL_FLAG(std::string, name, "", "worker id (default: host name, or host-PORT with port 0)");
ABSL_FLAG(int, cpu_slots, 0, "offer N CPU slots instead of GPUs (0: GPUs if found, else 1 slot)");
ABSL_FLAG(int, cpu_cores, 0,
          "cores the CPU slots share (0: all of the host's; set when several workers share a "
          "host)");
ABSL_FLAG(std::string, work_dir, "spindle-worker", "per-attempt files: specs, rank logs, metrics");
ABSL_FLAG(std::string, trainer, "", "spindle-trainer to run (default: next to this binary)");
ABSL_FLAG(std::string, stop_grace, "10s", "SIGTERM to SIGKILL when stopping ranks");
ABSL_FLAG(double, intra_node_gbps, 0,
          "GB/s per device inside the node (default: 450 for GPUs, 5 for CPU slots)");
ABSL_FLAG(double, inter_node_gbps, 0,
          "GB/s per device to other nodes (default: 50 for GPUs, 1 for CPU slots)");
ABSL_FLAG(std::string, log_level, "info", "debug | info | warn | error");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9401",
          "HOST:PORT of the Prometheus endpoint (/metrics; port 0 = any; empty = none)");
ABSL_FLAG(std::string, metrics_port_file, "",
          "write the metrics endpoint's bound port here once serving (for scripts)");

namespace spindle {
namespace {

std::vector<std::string> Flags() {
  std::vector<std::string> names = {
      "coordinator", "listen",          "advertise_host",  "name",
      "cpu_slots",   "cpu_cores",       "work_dir",        "trainer",
      "stop_grace",  "intra_node_gbps", "inter_node_gbps", "log_level",
      "metrics_listen", "metrics_port_file"};
  const std::vector<std::string>& security = rpc::SecurityFlagNames();
  names.insert(names.end(), security.begin(), security.end());
  return names;
}

int Fail(const std::string& message) {
  std::cerr << "spindle-worker: " << message << std::endl;
  return 2;
}

int Run() {
  spdlog::set_level(spdlog::level::from_str(absl::GetFlag(FLAGS_log_level)));
  absl::StatusOr<std::chrono::milliseconds> grace =
      config::ParseDuration(absl::GetFlag(FLAGS_stop_grace));
  if (!grace.ok()) return Fail(absl::StrCat("--stop_grace: ", grace.status().message()));

  std::string trainer = absl::GetFlag(FLAGS_trainer);
  if (trainer.empty()) {
    trainer =
        (std::filesystem::path(proc::SelfExecutable()).parent_path() / "spindle-trainer").string();
  }
  if (access(trainer.c_str(), X_OK) != 0) {
    return Fail(absl::StrCat("trainer ", trainer,
                             " is not an executable; build it or pass --trainer PATH"));
  }
  const std::string work_dir = std::filesystem::absolute(absl::GetFlag(FLAGS_work_dir)).string();
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec) return Fail(absl::StrCat("--work_dir ", work_dir, ": ", ec.message()));

  std::vector<v1::Device> devices;
  const int slots = absl::GetFlag(FLAGS_cpu_slots);
  if (slots < 0) return Fail("--cpu_slots must be >= 0");
  if (slots == 0) devices = worker::DetectGpus();
  const bool cuda = !devices.empty();
  const int host_cores = worker::HostCores();
  int cores = absl::GetFlag(FLAGS_cpu_cores);
  if (cores < 0 || cores > host_cores) {
    return Fail(absl::StrCat("--cpu_cores ", cores, ": this host has ", host_cores, " cores"));
  }
  if (cores == 0) cores = host_cores;
  if (!cuda) devices = worker::CpuSlots(std::max(1, slots), cores);

  absl::StatusOr<rpc::Security> security = rpc::SecurityFromFlags();
  if (!security.ok()) return Fail(std::string(security.status().message()));

  worker::SupervisorOptions so;
  // Ranks reach the coordinator's rendezvous with this daemon's files.
  so.env = rpc::EnvironmentFor(security->files);
  // Ranks on other workers connect to this host's ranks at the address the
  // coordinator reaches this worker at (worker/train/run_rank.h).
  so.env.push_back(absl::StrCat("SPINDLE_RANK_HOST=", absl::GetFlag(FLAGS_advertise_host)));
  so.work_dir = work_dir;
  so.trainer = trainer;
  so.cuda = cuda;
  so.core_share = cuda ? 1.0 : static_cast<double>(host_cores) / cores;
  worker::RankSupervisor supervisor(so);
  worker::ControlService control(&supervisor, rpc::TokenCheck(security->token));

  std::unique_ptr<metrics::MetricsServer> metrics_server;
  if (const std::string address = absl::GetFlag(FLAGS_metrics_listen); !address.empty()) {
    absl::StatusOr<std::unique_ptr<metrics::MetricsServer>> m =
        metrics::MetricsServer::Start(address, "worker");
    if (!m.ok()) return Fail(std::string(m.status().message()));
    metrics_server = *std::move(m);
  }

  grpc::EnableDefaultHealthCheckService(true);
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
  builder.SetMaxReceiveMessageSize(rpc::MaxMessageBytesFromFlags());
  builder.RegisterService(&control);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fail(absl::StrCat("cannot listen on ", absl::GetFlag(FLAGS_listen),
                             " (in use? pass --listen HOST:PORT)"));
  }

  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  v1::WorkerInfo info;
  std::string name = absl::GetFlag(FLAGS_name);
  if (name.empty()) name = absl::StrCat(host, "-", port);
  info.set_worker_id(name);
  info.set_host(host);
  info.set_control_address(absl::StrCat(absl::GetFlag(FLAGS_advertise_host), ":", port));
  for (v1::Device& d : devices) *info.add_devices() = std::move(d);
  const double intra = absl::GetFlag(FLAGS_intra_node_gbps);
  const double inter = absl::GetFlag(FLAGS_inter_node_gbps);
  info.set_intra_node_bandwidth((intra > 0 ? intra : cuda ? 450 : 5) * 1e9);
  info.set_inter_node_bandwidth((inter > 0 ? inter : cuda ? 50 : 1) * 1e9);
  info.set_version("0.1.0");

  if (metrics_server != nullptr) {
    const std::vector<v1::Device> registered(info.devices().begin(), info.devices().end());
    metrics_server->Add([&supervisor, name, registered](metrics::Families* f) {
      worker::AddWorkerMetrics(name, registered, supervisor.Running(), f);
    });
    if (const std::string pf = absl::GetFlag(FLAGS_metrics_port_file); !pf.empty()) {
      if (absl::Status s = formats::WriteFileAtomically(pf, absl::StrCat(metrics_server->port(), "\n"));
          !s.ok()) {
        return Fail(absl::StrCat("--metrics_port_file: ", s.message()));
      }
    }
  }
  worker::CoordinatorLink link(absl::GetFlag(FLAGS_coordinator), *security, info, &supervisor,
                               *grace);
  link.Start();
  spdlog::info("spindle-worker {} serving on port {} (metrics {}) with {} {} device(s); work dir "
               "{}; {}",
               name, port,
               metrics_server ? absl::StrCat("on port ", metrics_server->port()) : "off",
               info.devices_size(), cuda ? "cuda" : "cpu", work_dir, rpc::Describe(*security));

  int sig = 0;
  while ((sig = proc::WaitForTerminationSignal(std::chrono::seconds(1))) == 0) {
  }
  spdlog::info("signal {}: stopping every rank", sig);
  server->GetHealthCheckService()->SetServingStatus(false);
  // Heartbeats go on (saying draining, so nothing new is placed here) while
  // the ranks commit a checkpoint and exit, and one more reports their exit:
  // the coordinator then sees a preemption, not a lost worker.
  supervisor.Drain();
  supervisor.StopAll(*grace);
  if (link.registered() && !link.Flush(std::chrono::seconds(5))) {
    spdlog::warn("could not report the stopped ranks to the coordinator");
  }
  link.Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  spdlog::info("spindle-worker {} stopped", name);
  return 0;
}

}  // namespace
}  // namespace spindle

int main(int argc, char** argv) {
  spindle::proc::BlockTerminationSignals();
  if (!spindle::config::ParseDaemonCommandLine(
          argc, argv, "spindle-worker",
          "spindle-worker [--config FILE] [--coordinator HOST:PORT] [--cpu_slots N] ...",
          spindle::Flags())) {
    return 2;
  }
  return spindle::Run();
}
