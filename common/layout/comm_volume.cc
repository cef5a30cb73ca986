#include "common/layout/comm_volume.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace spindle::layout {

const char* ScheduleName(RingSchedule s) {
  return s == RingSchedule::kLightSeq ? "lightseq" : "ring";
}

absl::StatusOr<RingSchedule> ParseSchedule(const std::string& name) {
  if (name == "ring") return RingSchedule::kRing;
  if (name == "lightseq") return RingSchedule::kLightSeq;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown ring schedule '", name, "'; use ring or lightseq"));
}

namespace {

TrafficPart Symmetric(int64_t calls, int64_t messages, int64_t bytes) {
  return {calls, messages, bytes, bytes};
}

// LightSeq traffic of ring rank r (see the header). Block sizes in bytes.
void LightSeqVolume(const AttentionCommShape& s, const HeadPlan& heads, int64_t r_count, int64_t r,
                    AttentionTraffic& t) {
  const int64_t steps = r_count / 2;
  const int64_t n = s.padded_len / r_count;
  const int64_t q_elems = s.b * n * heads.h_local() * s.d;
  const int64_t lse_bytes = s.b * heads.h_local() * n * 4;  // lse is fp32 always
  const int64_t kv = 2 * s.b * n * heads.h_kv_local() * s.d * s.act_bytes;
  const int64_t q = q_elems * s.act_bytes;
  const int64_t result = q_elems * s.acc_bytes + lse_bytes;      // partial o and lse
  const int64_t bundle = 3 * q_elems * s.act_bytes + lse_bytes;  // q, o, dO, lse
  const int64_t dkv = 2 * s.b * n * heads.h_kv_local() * s.d * s.acc_bytes;
  const int64_t dq = q_elems * s.acc_bytes;
  const int64_t kv_sends = std::min(steps, std::max<int64_t>(0, r_count - 1 - r));
  const int64_t kv_recvs = std::min(r, steps);
  const int64_t q_sends = std::max<int64_t>(0, r - steps);    // late rank
  const int64_t helps = std::max<int64_t>(0, steps - 1 - r);  // early rank
  t.send_recv_forward = {2 * steps - 1, kv_sends + q_sends + 2 * helps,
                         kv_sends * kv + q_sends * q + helps * result,
                         kv_recvs * kv + helps * q + q_sends * result};
  t.send_recv_backward = {2 * steps, kv_sends + 4 * q_sends + kv_recvs + helps,
                          kv_sends * kv + q_sends * bundle + kv_recvs * dkv + helps * dq,
                          kv_recvs * kv + helps * bundle + kv_sends * dkv + q_sends * dq};
}

}  // namespace

AttentionTraffic AttentionCommVolume(const AttentionCommShape& s, const HeadPlan& heads, int ring,
                                     RingSchedule schedule, int ring_rank) {
  AttentionTraffic t;
  const int64_t u = heads.ulysses;
  const int64_t r = ring;
  const int64_t local_len = s.padded_len / (u * r);
  if (u > 1) {
    const int64_t q_seg = s.b * local_len * heads.h_local() * s.d;          // per peer
    const int64_t kv_seg = 2 * s.b * local_len * heads.h_kv_local() * s.d;  // per peer
    const int64_t bytes = (u - 1) * (2 * q_seg + kv_seg) * s.act_bytes;
    t.all_to_all_forward = Symmetric(2, 2 * (u - 1), bytes);
    t.all_to_all_backward = Symmetric(2, 2 * (u - 1), bytes);
  }
  if (r > 1 && schedule == RingSchedule::kLightSeq) {
    LightSeqVolume(s, heads, r, ring_rank, t);
  } else if (r > 1) {
    // After the all-to-all a ring rank holds S/R tokens of h_kv'/U heads.
    const int64_t kv_block = 2 * s.b * (s.padded_len / r) * heads.h_kv_local() * s.d;
    t.send_recv_forward = Symmetric(r - 1, r - 1, (r - 1) * kv_block * s.act_bytes);
    t.send_recv_backward = Symmetric(r + 1, (r - 1) + r,
                                     (r - 1) * kv_block * s.act_bytes + r * kv_block * s.acc_bytes);
  }
  return t;
}

}  // namespace spindle::layout
