#include "coordinator/cli/follow.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "coordinator/cli/exit_codes.h"
#include "coordinator/cli/render.h"

namespace spindle::cli {
namespace v1 = spindle::v1;

namespace {
constexpr char kClearLine[] = "\r\x1b[K";  // carriage return, erase to end of line
}  // namespace

bool ProgressThrottle::ShouldPrint(const v1::Progress& p, absl::Time now) {
  if (p.step() == last_step_) return false;
  bool print = last_step_ < 0 || now - last_time_ >= interval_ ||
               (p.total_steps() > 0 && p.step() >= p.total_steps());
  if (!print && p.total_steps() > 0) {
    // Crossed into a new 1/parts_ of the total since the last line.
    auto bucket = [&](int64_t step) { return step * parts_ / p.total_steps(); };
    print = bucket(p.step()) > bucket(last_step_);
  }
  if (print) {
    last_step_ = p.step();
    last_time_ = now;
  }
  return print;
}

std::string Follower::OnEvent(const v1::JobEvent& e, absl::Time now) {
  if (e.seq() > last_seq_) last_seq_ = e.seq();
  if (e.kind() == v1::JobEvent::STATE && e.state() != v1::JOB_STATE_UNSPECIFIED) {
    state_ = e.state();
  }
  if (options_.quiet) return "";
  if (options_.json) {
    absl::StatusOr<std::string> json = MessageJson(e);
    return json.ok() ? *json + "\n" : "";
  }
  if (e.kind() == v1::JobEvent::PROGRESS) {
    if (options_.tty) {
      bar_on_screen_ = true;
      return absl::StrCat(kClearLine, ProgressLine(e.progress()));
    }
    if (!throttle_.ShouldPrint(e.progress(), now)) return "";
    return absl::StrCat(ProgressLine(e.progress()), "\n");
  }
  std::string out;
  if (bar_on_screen_) {
    out = kClearLine;
    bar_on_screen_ = false;
  }
  return absl::StrCat(out, EventLine(e, options_.job_id, options_.tz), "\n");
}

std::string Follower::EndLine() {
  if (!bar_on_screen_) return "";
  bar_on_screen_ = false;
  return "\n";
}

int FollowJob(Client& client, const FollowOptions& options, const Options& cli, Io& io) {
  bool json = cli.output == OutputFormat::kJson;
  Follower follower(
      {options.job_id, io.out_is_tty, json, options.quiet, io.tz, options.initial_state});
  absl::Time unreachable_since = absl::InfiniteFuture();  // future = reachable
  while (true) {
    v1::WatchJobRequest request;
    request.set_job_id(options.job_id);
    request.set_after_seq(follower.last_seq());
    absl::Status s = client.WatchJob(request, options.deadline, [&](const v1::JobEvent& e) {
      unreachable_since = absl::InfiniteFuture();
      io.out << follower.OnEvent(e, absl::Now()) << std::flush;
    });
    if (s.ok()) {
      if (IsTerminal(follower.state())) break;
      // The stream ends OK only at a terminal state; anything else is a
      // coordinator going away and is re-opened like a broken stream.
      s = absl::UnavailableError(absl::StrCat("the coordinator at ", client.address(),
                                              " ended the events of job ", options.job_id,
                                              " before the job ended"));
    }
    io.out << follower.EndLine() << std::flush;
    absl::Time now = absl::Now();
    // The stream carries --timeout's deadline: gRPC may end it as
    // DEADLINE_EXCEEDED a moment before this clock reaches it.
    const bool timed_out =
        now >= options.deadline || (options.deadline != absl::InfiniteFuture() &&
                                    s.code() == absl::StatusCode::kDeadlineExceeded);
    if (timed_out) {
      io.err << "spindle: job " << options.job_id << " is still " << StateName(follower.state())
             << " after --timeout " << absl::FormatDuration(absl::Milliseconds(cli.timeout.count()))
             << "; the job itself is not affected (spindle cancel " << options.job_id
             << " stops it)\n";
      return kExitError;
    }
    // A coordinator going down ends streams UNAVAILABLE, and cancels calls that
    // arrive while it shuts down; the CLI never cancels its own.
    if (s.code() != absl::StatusCode::kUnavailable && s.code() != absl::StatusCode::kCancelled) {
      return Fail(s, io);
    }
    if (unreachable_since == absl::InfiniteFuture()) {
      unreachable_since = now;
      io.err << "spindle: lost the coordinator at " << client.address()
             << "; reconnecting for up to " << absl::FormatDuration(options.reconnect_for) << "\n";
    }
    if (now - unreachable_since >= options.reconnect_for) return Fail(s, io);
    absl::SleepFor(absl::Milliseconds(250));  // a coordinator refusing streams is not spun on
    client.WaitForConnected(std::min(
        {now + absl::Seconds(2), options.deadline, unreachable_since + options.reconnect_for}));
  }
  io.out << follower.EndLine();

  absl::StatusOr<v1::Job> job = client.GetJob(options.job_id);
  if (!job.ok()) {
    if (!IsTerminal(follower.state())) return Fail(job.status(), io);
    io.err << "spindle: job " << options.job_id << " ended " << StateName(follower.state())
           << "; no final summary: " << job.status().message() << "\n";
    return ExitCodeForState(follower.state());
  }
  if (json) {
    if (int rc = PrintJson(*job, io); rc != kExitOk) return rc;
  } else {
    if (options.show_ranks) io.out << RanksText(*job);
    io.out << FinalText(*job);
  }
  io.out << std::flush;
  return ExitCodeForState(job->state());
}

}  // namespace spindle::cli
