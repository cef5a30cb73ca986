// Child processes with bounded waits: spawn a program with arguments and
// output redirected to files, wait for a group of them against one deadline,
// and kill whatever is left so nothing outlives its launcher. Used by the
// local launcher of multi-rank jobs (and, later, the worker daemon).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spindle::proc {

// The child's stdin is /dev/null: nothing it runs may wait on our terminal.
struct SpawnOptions {
  std::string program;            // path to the executable
  std::vector<std::string> args;  // argv[1..]
  std::string stdout_path;        // file receiving stdout; empty: inherit
  std::string stderr_path;        // file receiving stderr; empty: inherit
  bool stderr_to_stdout = false;  // stderr joins stdout (stderr_path ignored)
  std::vector<std::string> env;   // "NAME=value" entries added to ours, replacing same names
  std::string cwd;                // working directory; empty: ours
};

struct ExitStatus {
  bool exited = false;  // exited normally (code valid) rather than by a signal
  int code = 0;
  int signal = 0;
  bool ok() const { return exited && code == 0; }
  std::string Describe() const;  // "exit code 3" / "killed by signal 9 (SIGKILL)"
};

class Subprocess {
 public:
  static absl::StatusOr<Subprocess> Spawn(const SpawnOptions& options);

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // Kills (SIGKILL) and reaps the child if it is still running.
  ~Subprocess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !reaped_; }
  // Non-blocking: the exit status once the child has ended.
  bool Poll(ExitStatus* status);
  void Signal(int sig);
  const ExitStatus& exit_status() const { return status_; }

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}

  pid_t pid_ = -1;
  bool reaped_ = false;
  ExitStatus status_;
};

// Waits until every child ended or timeout passed; with fail_fast, the first
// child to fail makes the others get SIGKILL at once (one dead rank dooms its
// job). between_polls, when set, runs every few milliseconds while children
// run (to forward a signal, say). Returns every child's status;
// DeadlineExceeded names the children still running at the deadline, which
// are then killed.
absl::StatusOr<std::vector<ExitStatus>> WaitAll(
    std::vector<Subprocess>& children, std::chrono::milliseconds timeout, bool fail_fast,
    const std::function<void(std::vector<Subprocess>&)>& between_polls = nullptr);

// The path of the running executable (/proc/self/exe).
std::string SelfExecutable();

// The last max_lines lines of a text file ("" if unreadable).
std::string TailFile(const std::string& path, int max_lines);

}  // namespace spindle::proc
