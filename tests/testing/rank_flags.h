// The rank side of multi-process tests: a rank executable started by
// RankProcesses (rank_processes.h) reads its flags with InitRank.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spindle::testing {

struct RankFlags {
  int rank = -1;
  int world = 0;
  std::string store;              // a directory shared by the ranks (FileStore, outputs)
  std::vector<std::string> rest;  // every other argument, in order
};

// Parses "--rank i --world N --store DIR" (in any order, among other
// arguments, which land in `rest`) and arranges for this process to be
// SIGKILLed when its parent dies, so a crashed test leaves no orphans.
absl::StatusOr<RankFlags> InitRank(int argc, char** argv);

}  // namespace spindle::testing
