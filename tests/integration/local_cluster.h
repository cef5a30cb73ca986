// A real Spindle service on localhost for end-to-end tests: one
// spindle-coordinator and N spindle-worker processes with CPU slots, each in
// its own directory under a TempDir, plus a runner for the `spindle` CLI.
// Everything is stopped (SIGTERM, then SIGKILL) when the object goes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/proc/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace spindle::testing {

struct CliResult {
  int exit_code = -1;  // -1: did not exit in time (then killed)
  std::string out;     // stdout
  std::string err;     // stderr
};

struct ClusterBinaries {
  std::string coordinator, worker, cli;
};

class LocalCluster {
 public:
  explicit LocalCluster(ClusterBinaries bins);
  ~LocalCluster();

  // Starts the coordinator (same port and state on a restart) and waits
  // until it serves; false with a message on stderr otherwise.
  bool StartCoordinator();
  // SIGTERM and wait: a graceful shutdown; returns its exit status.
  proc::ExitStatus StopCoordinator();
  // Starts `count` workers named w0, w1, ... with `slots` CPU slots each and
  // waits until the coordinator lists them all alive.
  bool StartWorkers(int count, int slots);

  // Chaos: SIGKILL (no chance to clean up) and wait for the process to go.
  void KillCoordinator();
  void KillWorker(int i);
  // SIGTERM and wait: worker i shuts down gracefully (a node drained).
  proc::ExitStatus StopWorker(int i);
  // Starts worker i again with the same name, slots and directory.
  bool RestartWorker(int i);
  int num_workers() const { return static_cast<int>(workers_.size()); }

  // Runs `spindle ARGS... --coordinator 127.0.0.1:PORT` from the temp dir.
  CliResult Cli(std::vector<std::string> args,
                std::chrono::milliseconds timeout = std::chrono::seconds(120));

  // Extra flags for both daemons and for every CLI call (e.g. security
  // files); set them before starting.
  std::vector<std::string> daemon_args;
  std::vector<std::string> coordinator_args;  // the coordinator's only
  std::vector<std::string> cli_args;

  int port() const { return port_; }
  const TempDir& dir() const { return dir_; }
  std::string WorkerDir(int i) const { return dir_.Join("w" + std::to_string(i)); }
  std::string LogOf(const std::string& name) const { return dir_.Join(name + ".log"); }

 private:
  ClusterBinaries bins_;
  TempDir dir_;
  int port_ = 0;
  bool SpawnWorker(int i);
  // Spawns with output to LogOf(name), keeping a previous log as .1.
  bool SpawnDaemon(proc::SpawnOptions o, const std::string& name,
                   std::optional<proc::Subprocess>* out);

  std::optional<proc::Subprocess> coordinator_;
  std::vector<std::optional<proc::Subprocess>> workers_;
  int slots_ = 0;
};

// PIDs of the spindle-trainer processes running job `id` on this machine
// (their spec path, under a worker's directory, holds it).
std::vector<pid_t> RankPids(const std::string& id);

}  // namespace spindle::testing
