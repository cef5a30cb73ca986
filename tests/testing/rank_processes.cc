#include "tests/testing/rank_processes.h"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spindle::testing {
namespace {

std::string LogPath(const RankProcessOptions& options, int rank) {
  return absl::StrCat(options.store_dir, "/rank_", rank, ".log");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string RankExit::Describe() const {
  std::string how = exited ? absl::StrCat("exit ", exit_code) : absl::StrCat("signal ", signal);
  if (killed_at_deadline) how += " (killed at the deadline)";
  return absl::StrFormat("rank %d: %s after %.2fs; log:\n%s", rank, how, elapsed.count() / 1000.0,
                         log);
}

absl::StatusOr<std::unique_ptr<RankProcesses>> RankProcesses::Start(
    const RankProcessOptions& options) {
  std::unique_ptr<RankProcesses> procs(new RankProcesses());
  procs->options_ = options;
  procs->start_ = std::chrono::steady_clock::now();
  for (int rank = 0; rank < options.world; ++rank) {
    proc::SpawnOptions spawn;
    spawn.program = options.executable;
    spawn.args = {"--rank", std::to_string(rank), "--world", std::to_string(options.world),
                  "--store", options.store_dir};
    spawn.args.insert(spawn.args.end(), options.args.begin(), options.args.end());
    spawn.stdout_path = LogPath(options, rank);
    spawn.stderr_to_stdout = true;
    auto child = proc::Subprocess::Spawn(spawn);
    // On failure the ranks already started are killed with `procs`.
    if (!child.ok()) {
      return absl::InternalError(absl::StrCat("rank ", rank, ": ", child.status().message()));
    }
    procs->ranks_.push_back(std::move(*child));
  }
  return procs;
}

void RankProcesses::Kill(int rank, int signal) { ranks_[rank].Signal(signal); }

std::vector<RankExit> RankProcesses::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<RankExit> exits(ranks_.size());
  auto record = [&](size_t i) {
    const proc::ExitStatus& s = ranks_[i].exit_status();
    exits[i].elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start_);
    exits[i].exited = s.exited;
    exits[i].exit_code = s.exited ? s.code : -1;
    exits[i].signal = s.signal;
  };
  std::vector<bool> recorded(ranks_.size(), false);
  size_t left = ranks_.size();
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    for (size_t i = 0; i < ranks_.size(); ++i) {
      if (!recorded[i] && ranks_[i].Poll(nullptr)) {
        record(i);
        recorded[i] = true;
        --left;
      }
    }
    if (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (size_t i = 0; i < ranks_.size(); ++i) {
    exits[i].rank = static_cast<int>(i);
    if (!recorded[i]) {
      ranks_[i].Signal(SIGKILL);
      while (!ranks_[i].Poll(nullptr)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      record(i);
      exits[i].killed_at_deadline = true;
    }
    exits[i].log = ReadFile(LogPath(options_, static_cast<int>(i)));
  }
  return exits;
}

absl::StatusOr<std::vector<RankExit>> RunRanks(const RankProcessOptions& options,
                                               std::chrono::milliseconds timeout) {
  auto procs = RankProcesses::Start(options);
  if (!procs.ok()) return procs.status();
  return (*procs)->Wait(timeout);
}

}  // namespace spindle::testing
