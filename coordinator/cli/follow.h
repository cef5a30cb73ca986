// Following a job (submit, watch, wait): the WatchJob stream, re-opened after
// the last seen seq when it breaks, turned into timestamped event lines and a
// progress bar. Follower and ProgressThrottle decide what to print from the
// events and the time they are given (no I/O, testable); FollowJob does the
// calls and the writing.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "coordinator/cli/client.h"
#include "coordinator/cli/verbs.h"
#include "spindle/v1/job.pb.h"

namespace spindle::cli {

// When output is not a terminal, progress is printed as plain lines: the
// first one, then one each time the step crosses another 1/`parts` of the
// total (10%) or `interval` has passed, and the last step, so CI logs stay
// short.
class ProgressThrottle {
 public:
  explicit ProgressThrottle(absl::Duration interval = absl::Seconds(10), int parts = 10)
      : interval_(interval), parts_(parts) {}
  bool ShouldPrint(const spindle::v1::Progress& p, absl::Time now);

 private:
  absl::Duration interval_;
  int parts_;
  int64_t last_step_ = -1;  // -1 = nothing printed yet
  absl::Time last_time_;
};

struct FollowerOptions {
  std::string job_id;
  bool tty = false;    // redraw the bar in place with '\r' instead of printing lines
  bool json = false;   // one JobEvent JSON object per line instead of text
  bool quiet = false;  // print nothing (wait)
  absl::TimeZone tz;
  spindle::v1::JobState initial_state = spindle::v1::JOB_STATE_UNSPECIFIED;  // before any event
};

class Follower {
 public:
  explicit Follower(FollowerOptions options)
      : options_(std::move(options)), state_(options_.initial_state) {}

  // What to write for this event (possibly ""); tracks seq and state.
  std::string OnEvent(const spindle::v1::JobEvent& e, absl::Time now);
  // Ends a bar drawn in place with '\n'; "" when none is on screen.
  std::string EndLine();

  int64_t last_seq() const { return last_seq_; }  // for WatchJobRequest.after_seq
  spindle::v1::JobState state() const { return state_; }

 private:
  FollowerOptions options_;
  ProgressThrottle throttle_;
  int64_t last_seq_ = 0;
  spindle::v1::JobState state_;
  bool bar_on_screen_ = false;
};

struct FollowOptions {
  std::string job_id;
  bool show_ranks = false;  // watch: per-rank table at the start and the end
  bool quiet = false;       // wait: only the final summary
  spindle::v1::JobState initial_state = spindle::v1::JOB_STATE_UNSPECIFIED;  // from GetJob
  absl::Time deadline = absl::InfiniteFuture();                              // wait --timeout
  // A broken stream is re-opened until the coordinator has been unreachable
  // this long; then exit 5.
  absl::Duration reconnect_for = absl::Seconds(30);
};

// Follows the job until it ends; returns the exit code of its final state,
// kExitError on timeout, kExitUnreachable when the coordinator stays away.
int FollowJob(Client& client, const FollowOptions& options, const Options& cli, Io& io);

}  // namespace spindle::cli
