// Communication of one sequence-parallel attention layer per rank, from the
// closed forms (docs/algorithms.md; sp-algorithms §6), so that tests can assert
// the communicator's counters against them byte for byte and the planner can
// price a plan. Pure arithmetic.
//
// With P = U·R, S = padded sequence length, L = S/P tokens per rank,
// h_kv' = h_kv·kv_replicas, per rank (bytes sent = bytes received):
//   Ulysses all-to-all, forward: q,k,v packed into one call, then the output:
//       (U−1)·b·L·d·(h/U + 2·h_kv'/U) + (U−1)·b·L·d·h/U   elements
//     = (U−1)/(U·P)·b·S·d·(2h + 2h_kv')                        [2 calls]
//   backward: the same volume (dO; then dq, dk, dv packed)          [2 calls]
//   Ring, forward: R−1 steps each passing one packed (k, v) block of
//       2·b·(S/R)·(h_kv'/U)·d elements                             [R−1 batches]
//   backward: the key/value blocks again (R−1 sends) plus the dK/dV
//       accumulators, which travel one hop behind and arrive home after R
//       sends, in the accumulator dtype                            [R+1 batches]
//   LightSeq (R even, T = R/2; n = S/R, per ring rank r, not symmetric):
//       kv sends  min(T, R−1−r), q sends max(0, r−T), helper results
//       max(0, T−1−r) (o and lse, accumulator dtype); backward ships
//       (q, o, dO, lse) instead of q, and returns dK/dV deltas (min(r, T)) and
//       dQ (max(0, T−1−r))                   [2T−1 batches fwd, 2T bwd]
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/layout/head_plan.h"

namespace spindle::layout {

struct TrafficPart {
  int64_t calls = 0;           // collective calls (a batched send/recv is one)
  int64_t messages = 0;        // point-to-point messages sent
  int64_t bytes = 0;           // bytes sent
  int64_t bytes_received = 0;  // equal to bytes except for LightSeq
};

// How ring ranks exchange blocks: pass-KV ring, or LightSeq's balanced causal
// schedule (contiguous layout, even R).
enum class RingSchedule { kRing, kLightSeq };
const char* ScheduleName(RingSchedule s);  // "ring", "lightseq"
absl::StatusOr<RingSchedule> ParseSchedule(const std::string& name);

struct AttentionTraffic {
  TrafficPart all_to_all_forward;
  TrafficPart all_to_all_backward;
  TrafficPart send_recv_forward;
  TrafficPart send_recv_backward;
};

struct AttentionCommShape {
  int64_t b = 1;
  int64_t padded_len = 0;  // S_pad
  int64_t d = 0;
  int64_t act_bytes = 4;  // element size of q, k, v, o and their gradients on the wire
  int64_t acc_bytes = 4;  // element size of the ring's dK/dV accumulators
};

// Per rank; ring_rank matters only for LightSeq.
AttentionTraffic AttentionCommVolume(const AttentionCommShape& shape, const HeadPlan& heads,
                                     int ring, RingSchedule schedule = RingSchedule::kRing,
                                     int ring_rank = 0);

}  // namespace spindle::layout
