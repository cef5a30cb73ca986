// spindle-trainer: runs a training job's ranks without the daemons.
//
//   spindle-trainer job.yaml [--set train.max_steps=50]... --local-ranks 4
//       launcher: validates the spec and the data, starts 4 rank processes of
//       itself on this machine (Gloo over loopback), streams rank 0's
//       progress, and fails fast if any rank fails, showing its log.
//   spindle-trainer job.yaml --rank 2 --world 4 --rendezvous DIR|grpc://HOST:PORT/JOB/ATTEMPT
//       one rank (what the launcher and worker daemons start).
//
// A job with checkpoint.dir stops gracefully on SIGTERM or Ctrl-C: every rank
// finishes its step, they commit a checkpoint together and exit; running the
// same command again resumes there. A second signal to the launcher, or none
// of that within --stop-grace-s, kills the ranks.
//
// Exit codes (common/proc/rank_exit.h): 0 done, 2 invalid spec, data or
// usage, 3 the job failed, 4 stopped by a signal after a checkpoint.
#include <signal.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config/load.h"
#include "common/data/token_source.h"
#include "common/proc/parent_watch.h"
#include "common/proc/rank_exit.h"
#include "common/proc/signals.h"
#include "common/proc/stop_signal.h"
#include "common/proc/subprocess.h"
#include "worker/train/job_options.h"
#include "worker/train/rank_device.h"
#include "worker/train/run_rank.h"

namespace spindle {
namespace {

constexpr int kExitInvalid = proc::kRankExitInvalid;
constexpr int kExitFailed = proc::kRankExitFailed;
constexpr int kExitStopped = proc::kRankExitStopped;

// A rank that stopped on a signal after committing a checkpoint.
bool Stopped(const proc::ExitStatus& s) { return s.exited && s.code == kExitStopped; }

constexpr char kUsage[] =
    "usage: spindle-trainer JOB.yaml [--set FIELD=VALUE]... [--local-ranks N] [--peak-gflops F]\n"
    "                       [--metrics FILE.jsonl] [--stop-grace-s S]\n"
    "       spindle-trainer JOB.yaml [--set ...] --rank R --world N --rendezvous DIR|URL\n";

struct Args {
  std::string spec_path;
  std::vector<std::string> overrides;
  int local_ranks = 0;
  int rank = -1;
  int world = 0;
  std::string rendezvous;
  std::string metrics;     // rank 0's per-step JSON lines
  std::string liveness;    // this rank's sign of life (worker/train/liveness.h)
  double peak_gflops = 0;  // per rank
  int deadline_hours = 72;
  int stop_grace_s = 60;  // launcher: first stop signal -> SIGKILL
};

bool ParseArgs(int argc, char** argv, Args* a, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) {
        *error = arg + " needs a value";
        return false;
      }
      *out = argv[++i];
      return true;
    };
    auto number = [&](auto* out) {
      std::string v;
      if (!value(&v)) return false;
      if (!absl::SimpleAtoi(v, out) || *out < 0) {
        *error = arg + ": '" + v + "' is not a non-negative integer";
        return false;
      }
      return true;
    };
    std::string v;
    if (arg == "--set") {
      if (!value(&v)) return false;
      a->overrides.push_back(v);
    } else if (arg == "--local-ranks") {
      if (!number(&a->local_ranks)) return false;
    } else if (arg == "--rank") {
      if (!number(&a->rank)) return false;
    } else if (arg == "--world") {
      if (!number(&a->world)) return false;
    } else if (arg == "--deadline-hours") {
      if (!number(&a->deadline_hours)) return false;
    } else if (arg == "--stop-grace-s") {
      if (!number(&a->stop_grace_s)) return false;
    } else if (arg == "--rendezvous") {
      if (!value(&a->rendezvous)) return false;
    } else if (arg == "--metrics") {
      if (!value(&a->metrics)) return false;
    } else if (arg == "--liveness") {
      if (!value(&a->liveness)) return false;
    } else if (arg == "--peak-gflops") {
      if (!value(&v)) return false;
      if (!absl::SimpleAtod(v, &a->peak_gflops) || a->peak_gflops < 0) {
        *error = "--peak-gflops: '" + v + "' is not a non-negative number";
        return false;
      }
    } else if (arg.rfind("--", 0) == 0) {
      *error = "unknown flag " + arg;
      return false;
    } else if (a->spec_path.empty()) {
      a->spec_path = arg;
    } else {
      *error = "one job spec expected, got '" + a->spec_path + "' and '" + arg + "'";
      return false;
    }
  }
  if (a->spec_path.empty()) *error = "no job spec given";
  if (a->rank >= 0 && (a->world < 1 || a->rank >= a->world || a->rendezvous.empty())) {
    *error = "--rank needs --world (> rank) and --rendezvous";
  }
  return error->empty();
}

int RunOneRank(const config::JobSpec& spec, const Args& a) {
  // Blocked since load (below); without a checkpoint directory there is
  // nothing to save, and a stop signal ends the rank at once.
  proc::WatchStopSignals(spec.checkpoint.dir.empty() ? proc::OnStopSignal::kDie
                                                     : proc::OnStopSignal::kRaiseFlag);
  // A rank dies with its launcher (worker daemon or local runner).
  proc::ExitWithParent();
  train::RankRunOptions o;
  o.rank = a.rank;
  o.world = a.world;
  o.local_ranks = a.local_ranks > 0 ? a.local_ranks : a.world;
  o.rendezvous = a.rendezvous;
  o.peak_flops_per_rank = a.peak_gflops * 1e9;
  o.metrics_path = a.metrics;
  o.liveness_path = a.liveness;
  o.stop_signal = proc::StopSignal;
  auto summary = train::RunRank(spec, o, std::cout);
  if (!summary.ok()) {
    std::cerr << "rank " << a.rank << ": " << summary.status().message() << std::endl;
    // Bad spec or data (a missing, unreadable or malformed file) is the
    // user's to fix: exit 2, which the coordinator does not restart.
    // Communication and everything else exit 3 (restartable).
    const absl::StatusCode code = summary.status().code();
    return code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kNotFound ||
                   code == absl::StatusCode::kPermissionDenied
               ? kExitInvalid
               : kExitFailed;
  }
  if (summary->stopped_by != 0) return kExitStopped;
  if (a.rank == 0) {
    std::cout << "done: " << summary->steps << " steps, loss " << summary->first_loss << " -> "
              << summary->last_loss;
    if (!summary->checkpoint.empty()) std::cout << ", checkpoint " << summary->checkpoint;
    if (!summary->exported.empty()) std::cout << ", weights exported to " << summary->exported;
    std::cout << std::endl;
  }
  return 0;
}

int Launch(const config::JobSpec& spec, const Args& a) {
  const int world = a.local_ranks;
  // Everything that can be checked before a rank starts computing.
  if (auto plan = train::PlanRank(spec, world); !plan.ok()) {
    std::cerr << a.spec_path << ": " << plan.status().message() << std::endl;
    return kExitInvalid;
  }
  if (auto source = data::OpenTokenSource(train::TokenSourceOptionsOf(spec)); !source.ok()) {
    std::cerr << a.spec_path << ": data: " << source.status().message() << std::endl;
    return kExitInvalid;
  }
  // Each GPU rank sees only its own device, as under a worker daemon.
  auto devices = train::LocalRankDevices(spec.resources.device, world, train::ProbeDeviceSupport());
  if (!devices.ok()) {
    std::cerr << a.spec_path << ": " << devices.status().message() << std::endl;
    return kExitInvalid;
  }
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "spindle-trainer-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) {
    std::cerr << "mkdtemp(" << dir_template << "): " << std::strerror(errno) << std::endl;
    return kExitFailed;
  }
  const std::string dir = dir_template;
  std::vector<proc::Subprocess> children;
  for (int r = 0; r < world; ++r) {
    proc::SpawnOptions o;
    o.program = proc::SelfExecutable();
    o.args = {a.spec_path,    "--rank", absl::StrCat(r), "--world",          absl::StrCat(world),
              "--rendezvous", dir,      "--local-ranks", absl::StrCat(world)};
    for (const std::string& s : a.overrides) o.args.insert(o.args.end(), {"--set", s});
    if (!(*devices)[r].empty()) o.env.push_back("CUDA_VISIBLE_DEVICES=" + (*devices)[r]);
    if (a.peak_gflops > 0) {
      o.args.insert(o.args.end(), {"--peak-gflops", absl::StrCat(a.peak_gflops)});
    }
    if (r == 0 && !a.metrics.empty()) o.args.insert(o.args.end(), {"--metrics", a.metrics});
    // Rank 0 talks to the terminal; the others log to files shown on failure.
    if (r > 0) {
      o.stdout_path = absl::StrCat(dir, "/rank", r, ".log");
      o.stderr_to_stdout = true;
    }
    auto child = proc::Subprocess::Spawn(o);
    if (!child.ok()) {
      std::cerr << child.status().message() << std::endl;
      return kExitFailed;
    }
    children.push_back(std::move(*child));
  }
  // Ranks that stop after a checkpoint exit 4 at about the same step; only
  // a real failure (any other end) dooms the rest at once.
  int stop = 0;
  std::chrono::steady_clock::time_point kill_at;
  auto between_polls = [&](std::vector<proc::Subprocess>& ranks) {
    bool failed = false;
    for (auto& r : ranks) {
      proc::ExitStatus s;
      failed |= r.Poll(&s) && !s.ok() && !Stopped(s);
    }
    const int sig = proc::WaitForTerminationSignal(std::chrono::milliseconds(0));
    const auto now = std::chrono::steady_clock::now();
    if (sig != 0 && stop == 0) {
      stop = sig;
      kill_at = now + std::chrono::seconds(a.stop_grace_s);
      std::cerr << "spindle-trainer: "
                << (spec.checkpoint.dir.empty()
                        ? "stopping the ranks (no checkpoint.dir: nothing is saved)"
                        : "the ranks stop after committing a checkpoint at the next step")
                << "; signal again to kill them" << std::endl;
      // Ranks on the terminal got a Ctrl-C themselves; a repeat is harmless.
      for (auto& r : ranks) r.Signal(SIGTERM);
    } else if (failed || sig != 0 || (stop != 0 && now >= kill_at)) {
      for (auto& r : ranks) r.Signal(SIGKILL);
    }
  };
  auto statuses = proc::WaitAll(children, std::chrono::hours(a.deadline_hours),
                                /*fail_fast=*/false, between_polls);
  bool ok = statuses.ok();
  bool stopped = false;
  for (int r = 0; ok && r < world; ++r) {
    const proc::ExitStatus& s = (*statuses)[r];
    stopped |= Stopped(s);
    ok = s.ok() || Stopped(s);
  }
  if (ok) {
    std::filesystem::remove_all(dir);
    if (!stopped) return 0;
    std::cerr << "stopped; run the same command again to resume from the checkpoint" << std::endl;
    return kExitStopped;
  }
  if (stop != 0) std::cerr << "stopped by signal " << stop << ", ";
  std::cerr << "the job failed: "
            << (statuses.ok() ? "a rank exited with an error" : statuses.status().message())
            << std::endl;
  for (int r = 1; statuses.ok() && r < world; ++r) {
    const proc::ExitStatus& s = (*statuses)[r];
    if (s.ok() || Stopped(s)) continue;
    std::cerr << "rank " << r << " (" << s.Describe() << "), last lines of " << dir << "/rank" << r
              << ".log:\n"
              << proc::TailFile(absl::StrCat(dir, "/rank", r, ".log"), 8) << std::endl;
  }
  return kExitFailed;
}

}  // namespace
}  // namespace spindle

// Stop signals are blocked in every thread from load on: a rank takes them on
// its watcher thread, the launcher between polls (common/proc/stop_signal.h).
SPINDLE_BLOCK_TERMINATION_SIGNALS_AT_LOAD;

int main(int argc, char** argv) {
  using namespace spindle;
  Args args;
  std::string error;
  if (!ParseArgs(argc, argv, &args, &error)) {
    std::cerr << "spindle-trainer: " << error << "\n" << kUsage;
    return kExitInvalid;
  }
  auto spec = config::LoadJobSpecFile(args.spec_path, args.overrides);
  if (!spec.ok()) {
    std::cerr << spec.status().message() << std::endl;
    return kExitInvalid;
  }
  if (args.rank >= 0) return RunOneRank(*spec, args);
  if (args.local_ranks < 1) args.local_ranks = 1;
  return Launch(*spec, args);
}
