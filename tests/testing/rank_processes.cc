#include "tests/testing/rank_processes.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

extern char** environ;

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
    std::vector<std::string> args = {options.executable,
                                     "--rank",
                                     std::to_string(rank),
                                     "--world",
                                     std::to_string(options.world),
                                     "--store",
                                     options.store_dir};
    args.insert(args.end(), options.args.begin(), options.args.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    const std::string log = LogPath(options, rank);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    const int err =
        posix_spawn(&pid, options.executable.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) {
      // The destructor reaps the ranks already started.
      return absl::InternalError(absl::StrCat("posix_spawn ", options.executable, " for rank ",
                                              rank, ": ", std::strerror(err)));
    }
    procs->pids_.push_back(pid);
    procs->reaped_.push_back(false);
  }
  return procs;
}

RankProcesses::~RankProcesses() {
  for (size_t i = 0; i < pids_.size(); ++i) {
    if (reaped_[i]) continue;
    kill(pids_[i], SIGKILL);
    waitpid(pids_[i], nullptr, 0);
  }
}

void RankProcesses::Kill(int rank, int signal) {
  if (!reaped_[rank]) kill(pids_[rank], signal);
}

std::vector<RankExit> RankProcesses::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<RankExit> exits(pids_.size());
  size_t left = 0;
  for (size_t i = 0; i < pids_.size(); ++i) {
    exits[i].rank = static_cast<int>(i);
    if (!reaped_[i]) ++left;
  }
  auto record = [&](size_t i, int status) {
    reaped_[i] = true;
    --left;
    exits[i].elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start_);
    exits[i].exited = WIFEXITED(status);
    if (exits[i].exited) exits[i].exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) exits[i].signal = WTERMSIG(status);
  };
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    for (size_t i = 0; i < pids_.size(); ++i) {
      int status = 0;
      if (!reaped_[i] && waitpid(pids_[i], &status, WNOHANG) == pids_[i]) record(i, status);
    }
    if (left > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (size_t i = 0; i < pids_.size(); ++i) {
    if (reaped_[i]) continue;
    kill(pids_[i], SIGKILL);
    int status = 0;
    waitpid(pids_[i], &status, 0);
    record(i, status);
    exits[i].killed_at_deadline = true;
  }
  for (size_t i = 0; i < pids_.size(); ++i) exits[i].log = ReadFile(LogPath(options_, i));
  return exits;
}

absl::StatusOr<std::vector<RankExit>> RunRanks(const RankProcessOptions& options,
                                               std::chrono::milliseconds timeout) {
  auto procs = RankProcesses::Start(options);
  if (!procs.ok()) return procs.status();
  return (*procs)->Wait(timeout);
}

}  // namespace spindle::testing
