// What `spindle` prints, as pure functions of the API's messages: job status,
// lists, workers, per-rank tables, event lines, the progress bar and JSON.
// No I/O and no clock: callers pass "now" and the time zone, so tests pin
// the exact text. Deciding when to print is follow.h's job.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/config/job_spec.h"
#include "google/protobuf/message.h"
#include "spindle/v1/job.pb.h"

namespace spindle::cli {

// "RUNNING"; "UNKNOWN" for JOB_STATE_UNSPECIFIED.
std::string StateName(spindle::v1::JobState state);
bool IsTerminal(spindle::v1::JobState state);

// Seconds as H:MM:SS, or M:SS under an hour ("0:45", "12:03", "1:02:03");
// "--:--" when negative or not finite (unknown).
std::string FormatEta(double seconds);
// 1234 -> "1.2k", 5.6e6 -> "5.6M", 950 -> "950".
std::string FormatCount(double n);
// 0.031 -> "3.1%".
std::string FormatPercent(double ratio);
// Bytes with a binary unit: "1.5 GiB", "512 MiB", "900 B".
std::string FormatBytes(int64_t bytes);

// One progress line without a trailing newline:
//   [#########.......] step 250/1000  loss 3.1234  1.2k tok/s  MFU 3.1%  ETA 0:45
// bar_width: characters between the brackets. Fields the trainer has not
// reported yet (0) are left out.
std::string ProgressLine(const spindle::v1::Progress& p, int bar_width = 16);

// A state or info event as one line, no trailing newline:
//   12:03:04 job demo-3 RUNNING (attempt 1): every rank started
std::string EventLine(const spindle::v1::JobEvent& e, absl::string_view job_id, absl::TimeZone tz);

// "2/4": the attempt and the number the job may reach (1 + max_restarts +
// preemptions so far).
std::string AttemptText(const spindle::v1::Job& job);

// "dp 1 × U 2 × R 2, world 4, zigzag, 2 nodes × 2 devices"; "" for an empty plan.
std::string PlanSummary(const spindle::v1::Plan& plan);

// `spindle status`: one "key: value" line per field, ending in '\n'.
std::string StatusText(const spindle::v1::Job& job, absl::TimeZone tz, absl::Time now);
// `spindle list`: a table, newest first as given; "no jobs\n" when empty.
std::string JobListText(const spindle::v1::ListJobsResponse& jobs, absl::TimeZone tz);
// `spindle workers`: a table; "no workers registered\n" when empty.
std::string WorkersText(const spindle::v1::ListWorkersResponse& workers, absl::Time now);
// `spindle watch`'s per-rank table; "" when the job has no ranks.
std::string RanksText(const spindle::v1::Job& job);
// The end of a followed job: final state, loss, checkpoint, export dir and,
// unless it succeeded, the root cause.
std::string FinalText(const spindle::v1::Job& job);
// The footer `submit -d` prints: how to follow up on job_id.
std::string SubmitFooter(absl::string_view job_id);

// `spindle validate`'s success line:
//   demo.yaml: valid (job demo: llama tiny, 125K params, seq 128, ...)
std::string ValidSummary(absl::string_view source, const config::JobSpec& spec);

// The message as protobuf JSON with proto field names (snake_case), enums by
// name and zero values printed, so every field is present; no trailing newline.
absl::StatusOr<std::string> MessageJson(const google::protobuf::Message& message);

}  // namespace spindle::cli
