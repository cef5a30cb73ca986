#include "common/config/units.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace spindle::config {
namespace {

struct NumberAndUnit {
  std::string digits;  // as written: "1.5"
  double number = 0;
  std::string unit;
};

// "<digits>[.<digits>]<unit>" with an optional unit made of letters.
absl::StatusOr<NumberAndUnit> Split(std::string_view text, const char* what, const char* example) {
  const std::string t(text);
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  const std::string digits = t.substr(0, i);
  const std::string unit = t.substr(i);
  bool unit_ok = true;
  for (char c : unit) unit_ok = unit_ok && std::isalpha(static_cast<unsigned char>(c));
  double number = 0;
  const bool digits_ok = !digits.empty() && digits.front() != '.' && digits.back() != '.' &&
                         digits.find('.') == digits.rfind('.') && absl::SimpleAtod(digits, &number);
  if (!digits_ok || !unit_ok) {
    return absl::InvalidArgumentError(absl::StrCat("'", t, "' is not a ", what, "; write e.g. ",
                                                   example, " (a non-negative number and a unit)"));
  }
  return NumberAndUnit{digits, number, unit};
}

// number × scale as an exact integer no larger than max, or an error. Whole
// numbers are multiplied exactly; decimals go through double and must land
// on a whole number of the finest unit.
absl::StatusOr<int64_t> Scale(const std::string& text, const NumberAndUnit& n, int64_t scale,
                              int64_t max, const char* finest) {
  const auto too_large = absl::InvalidArgumentError(absl::StrCat("'", text, "' is too large"));
  if (n.digits.find('.') == std::string::npos) {
    int64_t whole = 0;
    if (!absl::SimpleAtoi(n.digits, &whole) || whole > max / scale) return too_large;
    return whole * scale;
  }
  const double value = n.number * static_cast<double>(scale);
  // The largest double below 2^63 that the cast cannot overflow is 2^63 - 1024.
  if (!(value <= std::min(static_cast<double>(max), 9223372036854774784.0))) return too_large;
  const double rounded = std::round(value);
  if (std::fabs(value - rounded) > 1e-6 * std::max(1.0, rounded)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a whole number of ", finest));
  }
  return static_cast<int64_t>(rounded);
}

}  // namespace

absl::StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto split = Split(text, "duration", "90s, 30m, 2h or 500ms");
  if (!split.ok()) return split.status();
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
  for (const auto& [unit, scale] : kUnits) {
    if (split->unit != unit) continue;
    auto ms = Scale(std::string(text), *split, scale, int64_t{1000000000000000}, "milliseconds");
    if (!ms.ok()) return ms.status();
    return std::chrono::milliseconds(*ms);
  }
  return absl::InvalidArgumentError(absl::StrCat("'", std::string(text), "' has unknown unit '",
                                                 split->unit, "'; use ms, s, m or h"));
}

std::string FormatDuration(std::chrono::milliseconds d) {
  const int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3600000 == 0) return absl::StrCat(ms / 3600000, "h");
  if (ms % 60000 == 0) return absl::StrCat(ms / 60000, "m");
  if (ms % 1000 == 0) return absl::StrCat(ms / 1000, "s");
  return absl::StrCat(ms, "ms");
}

namespace {

constexpr std::pair<const char*, int64_t> kByteUnits[] = {{"Pi", int64_t{1} << 50},
                                                          {"Ti", int64_t{1} << 40},
                                                          {"Gi", int64_t{1} << 30},
                                                          {"Mi", int64_t{1} << 20},
                                                          {"Ki", int64_t{1} << 10},
                                                          {"P", 1000000000000000},
                                                          {"T", 1000000000000},
                                                          {"G", 1000000000},
                                                          {"M", 1000000},
                                                          {"K", 1000},
                                                          {"k", 1000},
                                                          {"", 1}};

}  // namespace

absl::StatusOr<int64_t> ParseByteSize(std::string_view text) {
  auto split = Split(text, "byte size", "64Gi, 512Mi or 1G");
  if (!split.ok()) return split.status();
  for (const auto& [unit, scale] : kByteUnits) {
    if (split->unit != unit) continue;
    return Scale(std::string(text), *split, scale, std::numeric_limits<int64_t>::max(), "bytes");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", std::string(text), "' has unknown unit '", split->unit,
                   "'; use Ki, Mi, Gi, Ti, Pi (powers of 1024) or K, M, G, T, P (powers of 1000)"));
}

std::string FormatByteSize(int64_t n) {
  if (n == 0) return "0";
  for (const auto& [unit, scale] : kByteUnits) {
    if (std::string_view(unit) == "k") continue;  // "K" is the canonical spelling
    if (n % scale == 0) return absl::StrCat(n / scale, unit);
  }
  return absl::StrCat(n);
}

}  // namespace spindle::config
