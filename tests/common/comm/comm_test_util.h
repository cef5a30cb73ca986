// Shared by the comm tests: form a group of ranks on threads over either
// backend and run a body on every rank.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "common/comm/communicator.h"

namespace spindle::comm {

enum class Backend { kLocal, kGloo };
std::string BackendName(Backend b);
inline void PrintTo(Backend b, std::ostream* os) { *os << BackendName(b); }

// Ranks 0..p-1 on threads; world ranks are `world_ranks` when given (a
// non-identity mapping shows up in error messages), else the group ranks.
// Fails the test (naming the rank) when a rank cannot connect.
void RunGroup(Backend backend, int p, const CommOptions& options,
              const std::function<void(Communicator& comm)>& body,
              std::vector<int> world_ranks = {});

}  // namespace spindle::comm
