#include "common/proc/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace spindle::proc {
namespace {

ExitStatus Decode(int raw) {
  ExitStatus s;
  if (WIFEXITED(raw)) {
    s.exited = true;
    s.code = WEXITSTATUS(raw);
  } else if (WIFSIGNALED(raw)) {
    s.signal = WTERMSIG(raw);
  }
  return s;
}

}  // namespace

std::string ExitStatus::Describe() const {
  if (exited) return absl::StrCat("exit code ", code);
  const char* name = sigabbrev_np(signal);
  return absl::StrCat("killed by signal ", signal, name ? absl::StrCat(" (SIG", name, ")") : "");
}

absl::StatusOr<Subprocess> Subprocess::Spawn(const SpawnOptions& options) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (!options.stdout_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, options.stdout_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  if (options.stderr_to_stdout) {
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  } else if (!options.stderr_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, options.stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  std::vector<std::string> argv_store = {options.program};
  argv_store.insert(argv_store.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  // An entry of options.env replaces ours of the same name (getenv would
  // return the first of two).
  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const bool replaced =
        std::any_of(options.env.begin(), options.env.end(),
                    [&](const std::string& o) { return name_of(o) == name_of(entry); });
    if (!replaced) env_store.push_back(entry);
  }
  env_store.insert(env_store.end(), options.env.begin(), options.env.end());
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  if (!options.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  }
  // A daemon blocks termination signals for sigwait (signals.h); its children
  // must start with none blocked and default actions, or SIGTERM would not
  // stop them.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, options.program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("cannot start ", options.program,
                                            options.cwd.empty() ? "" : " in " + options.cwd, ": ",
                                            strerror(rc)));
  }
  return Subprocess(pid);
}

Subprocess::Subprocess(Subprocess&& other) noexcept { *this = std::move(other); }

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (running()) {
      Signal(SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = other.pid_;
    reaped_ = other.reaped_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (running()) {
    Signal(SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool Subprocess::Poll(ExitStatus* status) {
  if (!reaped_) {
    int raw = 0;
    const pid_t r = waitpid(pid_, &raw, WNOHANG);
    if (r != pid_) return false;
    reaped_ = true;
    status_ = Decode(raw);
  }
  if (status) *status = status_;
  return true;
}

void Subprocess::Signal(int sig) {
  if (running()) kill(pid_, sig);
}

absl::StatusOr<std::vector<ExitStatus>> WaitAll(
    std::vector<Subprocess>& children, std::chrono::milliseconds timeout, bool fail_fast,
    const std::function<void(std::vector<Subprocess>&)>& between_polls) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool all_done = true;
    bool any_failed = false;
    for (auto& c : children) {
      ExitStatus s;
      if (!c.Poll(&s)) {
        all_done = false;
      } else if (!s.ok()) {
        any_failed = true;
      }
    }
    if (all_done) break;
    if (fail_fast && any_failed) {
      for (auto& c : children) c.Signal(SIGKILL);
    } else if (std::chrono::steady_clock::now() >= deadline) {
      std::vector<pid_t> stuck;
      for (auto& c : children) {
        if (c.running()) stuck.push_back(c.pid());
        c.Signal(SIGKILL);
      }
      for (auto& c : children) c.Poll(nullptr);
      return absl::DeadlineExceededError(absl::StrCat("processes ", absl::StrJoin(stuck, ", "),
                                                      " still running after ", timeout.count(),
                                                      " ms; killed them"));
    }
    if (between_polls) between_polls(children);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::vector<ExitStatus> statuses;
  for (auto& c : children) statuses.push_back(c.exit_status());
  return statuses;
}

std::string SelfExecutable() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, n) : std::string();
}

std::string TailFile(const std::string& path, int max_lines) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (static_cast<int>(lines.size()) > max_lines) lines.pop_front();
  }
  return absl::StrJoin(lines, "\n");
}

}  // namespace spindle::proc
