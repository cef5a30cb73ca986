// Wording shared by every backend's errors, so a failure reads the same
// whether it came from Gloo, the in-process fabric or the collectives:
// "all_to_all in group 'ring.dp0.u0': no data from rank 3 (world rank 7)
// within 10s; ...".
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/comm/communicator.h"

namespace spindle::comm {

// "rank 3 (world rank 7)"; the world rank comes from options.world_ranks
// (identity when empty).
std::string RankName(const CommOptions& options, int group_rank);

// "10s", "1.5s", "250ms".
std::string FormatTimeout(std::chrono::milliseconds t);

// DeadlineExceeded: "rendezvous of group 'g': rank 2 (world rank 5) did not
// arrive within 1s" (every missing rank is listed, in rank order).
absl::Status RendezvousTimeout(const CommOptions& options, const std::vector<int>& missing);

}  // namespace spindle::comm
