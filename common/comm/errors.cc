#include "common/comm/errors.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace spindle::comm {

std::string RankName(const CommOptions& options, int group_rank) {
  const bool mapped = group_rank >= 0 && group_rank < static_cast<int>(options.world_ranks.size());
  const int world = mapped ? options.world_ranks[group_rank] : group_rank;
  return absl::StrCat("rank ", group_rank, " (world rank ", world, ")");
}

std::string FormatTimeout(std::chrono::milliseconds t) {
  const int64_t ms = t.count();
  if (ms < 1000) return absl::StrCat(ms, "ms");
  if (ms % 1000 == 0) return absl::StrCat(ms / 1000, "s");
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%gs", static_cast<double>(ms) / 1000.0);
  return buf;
}

absl::Status RendezvousTimeout(const CommOptions& options, const std::vector<int>& missing) {
  std::string who;
  for (size_t i = 0; i < missing.size(); ++i) {
    if (i > 0) absl::StrAppend(&who, i + 1 == missing.size() ? " and " : ", ");
    absl::StrAppend(&who, RankName(options, missing[i]));
  }
  return absl::DeadlineExceededError(absl::StrCat("rendezvous of group '", options.group,
                                                  "': ", who, " did not arrive within ",
                                                  FormatTimeout(options.timeout)));
}

}  // namespace spindle::comm
