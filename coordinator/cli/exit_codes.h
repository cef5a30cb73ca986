// The `spindle` command's exit codes (docs/cli.md), and the two mappings
// into them: a job's final state, and an error from the coordinator or the
// command line. Scripts branch on these numbers; never renumber them.
#pragma once

#include "absl/status/status.h"
#include "spindle/v1/job.pb.h"

namespace spindle::cli {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;         // anything else: job not found, wait timed out, I/O
constexpr int kExitInvalid = 2;       // invalid spec, infeasible plan, bad usage
constexpr int kExitJobFailed = 3;     // the job ended FAILED
constexpr int kExitJobCancelled = 4;  // the job ended CANCELLED
constexpr int kExitUnreachable = 5;   // coordinator unreachable, or refused our credentials

// SUCCEEDED -> 0, FAILED -> 3, CANCELLED -> 4; a state that is not final -> 1.
int ExitCodeForState(spindle::v1::JobState state);

// OK -> 0; UNAVAILABLE, DEADLINE_EXCEEDED, UNAUTHENTICATED, PERMISSION_DENIED
// -> 5; INVALID_ARGUMENT, FAILED_PRECONDITION -> 2; everything else -> 1.
// Codes are gRPC's (grpc::StatusCode has the same numbers as absl).
int ExitCodeForStatus(const absl::Status& status);

}  // namespace spindle::cli
