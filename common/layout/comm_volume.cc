#include "common/layout/comm_volume.h"

namespace spindle::layout {

AttentionTraffic AttentionCommVolume(const AttentionCommShape& s, const HeadPlan& heads,
                                     int ring) {
  AttentionTraffic t;
  const int64_t u = heads.ulysses;
  const int64_t r = ring;
  const int64_t local_len = s.padded_len / (u * r);
  if (u > 1) {
    const int64_t q_seg = s.b * local_len * heads.h_local() * s.d;         // per peer
    const int64_t kv_seg = 2 * s.b * local_len * heads.h_kv_local() * s.d;  // per peer
    const int64_t bytes = (u - 1) * (2 * q_seg + kv_seg) * s.act_bytes;
    t.all_to_all_forward = {2, 2 * (u - 1), bytes};
    t.all_to_all_backward = {2, 2 * (u - 1), bytes};
  }
  if (r > 1) {
    // After the all-to-all a ring rank holds S/R tokens of h_kv'/U heads.
    const int64_t kv_block = 2 * s.b * (s.padded_len / r) * heads.h_kv_local() * s.d;
    t.send_recv_forward = {r - 1, r - 1, (r - 1) * kv_block * s.act_bytes};
    t.send_recv_backward = {r + 1, (r - 1) + r,
                            (r - 1) * kv_block * s.act_bytes + r * kv_block * s.acc_bytes};
  }
  return t;
}

}  // namespace spindle::layout
