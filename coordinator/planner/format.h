// Number formatting shared by the planner's verdicts, refusals and
// ExplainPlan, so one quantity always reads the same way. Internal to
// spindle_planner.
#pragma once

#include <cstdint>
#include <string>

namespace spindle::planner::internal {

// Device memory in binary units: "147.6 GiB", or "12.3 MiB" below 1 GiB.
std::string GiB(int64_t bytes);
// bytes as a bare number in the unit GiB() picks for total: "44.9".
std::string InUnitOf(int64_t bytes, int64_t total);
const char* UnitOf(int64_t total);  // "GiB", or "MiB" below 1 GiB

std::string GB(double bytes);          // "22.5 GB", "393.2 kB" (decimal, as links are quoted)
std::string Seconds(double s);         // "3.21 s", "48.2 ms", "310 µs", "0 s"
std::string Percent(double fraction);  // "37.1%"
std::string Count(int64_t n);          // "131,072"

}  // namespace spindle::planner::internal
