#include "coordinator/planner/format.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spindle::planner::internal {

const char* UnitOf(int64_t total) { return total < (int64_t{1} << 30) ? "MiB" : "GiB"; }

std::string InUnitOf(int64_t bytes, int64_t total) {
  const double unit = total < (int64_t{1} << 30) ? (1 << 20) : (1 << 30);
  return absl::StrFormat("%.1f", static_cast<double>(bytes) / unit);
}

std::string GiB(int64_t bytes) { return absl::StrCat(InUnitOf(bytes, bytes), " ", UnitOf(bytes)); }

std::string GB(double bytes) {
  if (bytes >= 1e9) return absl::StrFormat("%.1f GB", bytes / 1e9);
  if (bytes >= 1e6) return absl::StrFormat("%.1f MB", bytes / 1e6);
  return absl::StrFormat("%.1f kB", bytes / 1e3);
}

std::string Seconds(double s) {
  if (s == 0) return "0 s";
  if (s >= 1) return absl::StrFormat("%.2f s", s);
  if (s >= 1e-3) return absl::StrFormat("%.1f ms", s * 1e3);
  return absl::StrFormat("%.0f µs", s * 1e6);
}

std::string Percent(double fraction) { return absl::StrFormat("%.1f%%", fraction * 100); }

std::string Count(int64_t n) {
  std::string digits = absl::StrCat(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

}  // namespace spindle::planner::internal
