#include "coordinator/cli/exit_codes.h"

namespace spindle::cli {

int ExitCodeForState(spindle::v1::JobState state) {
  switch (state) {
    case spindle::v1::SUCCEEDED:
      return kExitOk;
    case spindle::v1::FAILED:
      return kExitJobFailed;
    case spindle::v1::CANCELLED:
      return kExitJobCancelled;
    default:
      return kExitError;
  }
}

int ExitCodeForStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kExitUnreachable;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return kExitInvalid;
    default:
      return kExitError;
  }
}

}  // namespace spindle::cli
