// The communication section of spindle-bench: bytes each rank sends per
// attention layer, counted by the communicators on in-process ranks, against
// the closed forms of common/layout/comm_volume.h (sp-algorithms §6).
#pragma once

#include <ostream>

namespace spindle::bench {

// Writes markdown tables to out; returns non-zero if any count differs from
// its formula.
int RunCommBench(std::ostream& out);

}  // namespace spindle::bench
