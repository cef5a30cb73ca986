#include "coordinator/service/hang.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace spindle::coordinator {
namespace {

std::string Who(const RankLife& r) {
  return absl::StrCat("rank ", r.rank, " on worker ", r.worker, " (device ", r.device, ")");
}

}  // namespace

HangDiagnosis DiagnoseHang(const std::vector<RankLife>& ranks, int64_t now_ms, int64_t stale_ms) {
  HangDiagnosis d;
  std::vector<std::string> parts;
  for (const RankLife& r : ranks) {
    if (r.time_ms == 0) {
      d.culprits.push_back(r.rank);
      parts.push_back(absl::StrCat(Who(r), " never gave a sign of life"));
    } else if (now_ms - r.time_ms > stale_ms) {
      d.culprits.push_back(r.rank);
      parts.push_back(absl::StrFormat("%s gave no sign of life for %.0f s (stopped or frozen)",
                                      Who(r), static_cast<double>(now_ms - r.time_ms) / 1000));
    }
  }
  if (d.culprits.empty()) {
    std::map<std::string, int64_t> most;
    for (const RankLife& r : ranks) {
      for (const auto& [group, n] : r.seq) most[group] = std::max(most[group], n);
    }
    std::set<int> behind;
    for (const RankLife& r : ranks) {
      for (const auto& [group, n] : r.seq) {
        if (n >= most[group]) continue;
        behind.insert(r.rank);
        parts.push_back(absl::StrCat(Who(r), " is behind in group '", group, "' (collective ", n,
                                     ", others at ", most[group],
                                     "): stuck before the collective its peers wait in"));
      }
    }
    d.culprits.assign(behind.begin(), behind.end());
  }
  if (parts.empty()) {
    d.text = "every rank is alive and at the same collective in every group: stuck inside it";
  } else {
    d.text = absl::StrJoin(parts, "; ");
  }
  std::sort(d.culprits.begin(), d.culprits.end());
  return d;
}

}  // namespace spindle::coordinator
