#include "tests/integration/local_cluster.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace spindle::testing {
namespace {

using namespace std::chrono_literals;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Terminate(proc::Subprocess& p, std::chrono::milliseconds grace) {
  if (!p.running()) return;
  p.Signal(SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  proc::ExitStatus s;
  while (!p.Poll(&s)) {
    if (std::chrono::steady_clock::now() > deadline) {
      p.Signal(SIGKILL);
    }
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

LocalCluster::LocalCluster(ClusterBinaries bins) : bins_(std::move(bins)) {}

LocalCluster::~LocalCluster() {
  for (std::optional<proc::Subprocess>& w : workers_) {
    if (w) Terminate(*w, 20s);
  }
  if (coordinator_) Terminate(*coordinator_, 20s);
}

bool LocalCluster::StartCoordinator() {
  const std::string port_file = dir_.Join("coordinator.port");
  std::filesystem::remove(port_file);
  proc::SpawnOptions o;
  o.program = bins_.coordinator;
  o.args = {"--listen",       absl::StrCat("127.0.0.1:", port_),
            "--state_dir",    dir_.Join("state"),
            "--port_file",    port_file,
            "--worker_lease", "5s",
            "--stop_grace",   "5s",
            "--metrics_listen", "127.0.0.1:0"};
  o.args.insert(o.args.end(), daemon_args.begin(), daemon_args.end());
  o.args.insert(o.args.end(), coordinator_args.begin(), coordinator_args.end());
  if (!SpawnDaemon(std::move(o), "coordinator", &coordinator_)) return false;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    proc::ExitStatus s;
    if (coordinator_->Poll(&s)) {
      std::cerr << "coordinator exited (" << s.Describe() << "):\n"
                << Slurp(LogOf("coordinator")) << std::endl;
      return false;
    }
    int port = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(Slurp(port_file)), &port) && port > 0) {
      port_ = port;
      return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  std::cerr << "coordinator did not serve within 30 s:\n" << Slurp(LogOf("coordinator"));
  return false;
}

proc::ExitStatus LocalCluster::StopCoordinator() {
  Terminate(*coordinator_, 60s);
  proc::ExitStatus s = coordinator_->exit_status();
  coordinator_.reset();
  return s;
}

bool LocalCluster::SpawnDaemon(proc::SpawnOptions o, const std::string& name,
                               std::optional<proc::Subprocess>* out) {
  o.stdout_path = LogOf(name);
  o.stderr_to_stdout = true;
  // The previous run's log (before a restart) stays as NAME.log.1.
  if (std::filesystem::exists(o.stdout_path)) {
    std::filesystem::rename(o.stdout_path, o.stdout_path + ".1");
  }
  absl::StatusOr<proc::Subprocess> p = proc::Subprocess::Spawn(o);
  if (!p.ok()) {
    std::cerr << p.status() << std::endl;
    return false;
  }
  out->emplace(*std::move(p));
  return true;
}

bool LocalCluster::SpawnWorker(int i) {
  proc::SpawnOptions o;
  o.program = bins_.worker;
  const std::string name = "w" + std::to_string(i);
  o.args = {"--coordinator", absl::StrCat("127.0.0.1:", port_),
            "--listen",      "127.0.0.1:0",
            "--name",        name,
            "--cpu_slots",   std::to_string(slots_),
            "--cpu_cores",   "1",
            "--work_dir",    WorkerDir(i),
            "--stop_grace",  "5s",
            "--metrics_listen", "127.0.0.1:0"};
  o.args.insert(o.args.end(), daemon_args.begin(), daemon_args.end());
  if (static_cast<int>(workers_.size()) <= i) workers_.resize(i + 1);
  return SpawnDaemon(std::move(o), name, &workers_[i]);
}

void LocalCluster::KillCoordinator() {
  if (!coordinator_) return;
  coordinator_->Signal(SIGKILL);
  proc::ExitStatus s;
  while (!coordinator_->Poll(&s)) std::this_thread::sleep_for(10ms);
  coordinator_.reset();
}

void LocalCluster::KillWorker(int i) {
  if (!workers_[i]) return;
  workers_[i]->Signal(SIGKILL);
  proc::ExitStatus s;
  while (!workers_[i]->Poll(&s)) std::this_thread::sleep_for(10ms);
  workers_[i].reset();
}

proc::ExitStatus LocalCluster::StopWorker(int i) {
  if (!workers_[i]) return {};
  Terminate(*workers_[i], 60s);
  proc::ExitStatus s = workers_[i]->exit_status();
  workers_[i].reset();
  return s;
}

bool LocalCluster::RestartWorker(int i) { return SpawnWorker(i); }

bool LocalCluster::StartWorkers(int count, int slots) {
  slots_ = slots;
  for (int i = 0; i < count; ++i) {
    if (!SpawnWorker(i)) return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    const CliResult r = Cli({"workers", "-o", "json"}, 10s);
    int alive = 0;
    for (size_t pos = 0; (pos = r.out.find("\"alive\"", pos)) != std::string::npos; ++pos) {
      ++alive;
    }
    if (r.exit_code == 0 && alive == count) return true;
    std::this_thread::sleep_for(200ms);
  }
  std::cerr << "workers did not register within 60 s" << std::endl;
  return false;
}

CliResult LocalCluster::Cli(std::vector<std::string> args, std::chrono::milliseconds timeout) {
  static int calls = 0;
  const std::string base = dir_.Join(absl::StrCat("cli.", ++calls));
  proc::SpawnOptions o;
  o.program = bins_.cli;
  o.args = std::move(args);
  o.args.insert(o.args.end(), {"--coordinator", absl::StrCat("127.0.0.1:", port_)});
  o.args.insert(o.args.end(), cli_args.begin(), cli_args.end());
  o.stdout_path = base + ".out";
  o.stderr_path = base + ".err";
  o.cwd = dir_.path();
  CliResult r;
  absl::StatusOr<proc::Subprocess> p = proc::Subprocess::Spawn(o);
  if (!p.ok()) {
    r.err = p.status().ToString();
    return r;
  }
  std::vector<proc::Subprocess> one;
  one.push_back(*std::move(p));
  absl::StatusOr<std::vector<proc::ExitStatus>> s = proc::WaitAll(one, timeout, false);
  if (s.ok() && (*s)[0].exited) r.exit_code = (*s)[0].code;
  r.out = Slurp(base + ".out");
  r.err = Slurp(base + ".err");
  return r;
}

std::vector<pid_t> RankPids(const std::string& id) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmd = Slurp(entry.path().string() + "/cmdline");
    if (cmd.find("spindle-trainer") != std::string::npos &&
        cmd.find("/" + id + "/attempt-") != std::string::npos) {
      out.push_back(static_cast<pid_t>(std::stol(pid)));
    }
  }
  return out;
}

}  // namespace spindle::testing
