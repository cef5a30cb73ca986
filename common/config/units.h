// The one parser (and canonical formatter) for each unit-carrying value in a
// job spec. Errors describe the value only; callers prefix the field path.
//
//   durations   "500ms", "90s", "30m", "2h", "1.5h"; a plain number is seconds.
//               Non-negative, whole milliseconds, at most ~31,000 years.
//   byte sizes  "64Gi", "512Mi", "4Ki" (powers of 1024), "1G", "10M", "1k"/"1K"
//               (powers of 1000); a plain number is bytes. Non-negative, whole
//               bytes, fits int64.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace spindle::config {

absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);
// The largest unit that represents d exactly: "2h", "90s", "500ms", "0s".
std::string FormatDuration(std::chrono::milliseconds d);

absl::StatusOr<int64_t> ParseByteSize(std::string_view text);
// The largest binary unit that represents n exactly, else the largest decimal
// unit, else plain bytes: "64Gi", "1G", "1000".
std::string FormatByteSize(int64_t n);

}  // namespace spindle::config
