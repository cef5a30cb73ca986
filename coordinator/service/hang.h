// Who a hang is waiting on. When no rank finished a step for
// fault_tolerance.hang_timeout, the coordinator looks at each rank's last
// sign of life (worker/train/liveness.h, relayed in heartbeats):
//   - a rank whose sign of life is older than `stale_ms` (or never came) is
//     stopped or frozen: it is the culprit;
//   - else a rank whose collective sequence number in some group is below
//     the others' has not reached the collective they are waiting in: it is
//     stuck before it (compute, data, a deadlock of its own);
//   - else every rank is inside the same collective: the transport is stuck.
// Pure: no clock, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace spindle::coordinator {

struct RankLife {
  int rank = 0;
  std::string worker;
  int device = 0;
  int64_t time_ms = 0;                 // unix ms of its last sign of life; 0 = none yet
  int64_t step = 0;                    // steps it had finished
  std::map<std::string, int64_t> seq;  // group -> collective sequence number
};

struct HangDiagnosis {
  std::vector<int> culprits;  // ranks, ascending; empty: no single rank to blame
  std::string text;           // one line for people
};

HangDiagnosis DiagnoseHang(const std::vector<RankLife>& ranks, int64_t now_ms, int64_t stale_ms);

}  // namespace spindle::coordinator
