// The Ulysses exchange: an all-to-all inside a group of U ranks that turns
// "my L tokens, all heads" into "all U·L tokens of the group, my heads" and back.
// Received token blocks are concatenated in Ulysses-rank order, which is the
// ring sequence the layout defines (common/layout/sequence_layout.h).
//
// Forward packs q, k, v into one all-to-all (then one for the output);
// backward packs dq, dk, dv into one (after one for dO), so a layer costs
// 2 + 2 calls. Key/value heads are replicated before sending when U exceeds
// their count, and replica gradients are summed on the way back.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <tuple>
#include <vector>

#include "common/comm/communicator.h"
#include "common/layout/head_plan.h"

namespace spindle::sp {

class UlyssesExchange {
 public:
  // comm has size heads.ulysses.
  UlyssesExchange(const layout::HeadPlan& heads, std::shared_ptr<comm::Communicator> comm);

  // q (b, L, h, d), k, v (b, L, h_kv, d) -> q (b, U·L, h/U, d), k, v (b, U·L, h_kv'/U, d).
  std::tuple<at::Tensor, at::Tensor, at::Tensor> ScatterHeads(const at::Tensor& q,
                                                              const at::Tensor& k,
                                                              const at::Tensor& v) const;
  // o (b, U·L, h/U, d) -> (b, L, h, d).
  at::Tensor GatherHeads(const at::Tensor& o) const;
  // d_o (b, L, h, d) -> (b, U·L, h/U, d).
  at::Tensor ScatterHeads(const at::Tensor& d_o) const;
  // dq (b, U·L, h/U, d), dk, dv (b, U·L, h_kv'/U, d) -> dq (b, L, h, d), dk, dv (b, L, h_kv, d).
  std::tuple<at::Tensor, at::Tensor, at::Tensor> GatherGrads(const at::Tensor& dq,
                                                             const at::Tensor& dk,
                                                             const at::Tensor& dv) const;

 private:
  // Send buffer (U, seg) whose segment u holds, for each part in order:
  // by_heads: part (b, L, U·n, d) -> its heads [u·n, (u+1)·n) of all L tokens;
  // else:     part (b, U·L, n, d) -> its tokens [u·L, (u+1)·L) of all n heads.
  at::Tensor Pack(const std::vector<at::Tensor>& parts, bool by_heads) const;
  at::Tensor Exchange(const at::Tensor& send) const;  // (U, seg) -> (U, seg)
  at::Tensor ReplicateKv(const at::Tensor& kv) const;
  at::Tensor ReduceKvReplicas(const at::Tensor& grad) const;

  layout::HeadPlan heads_;
  std::shared_ptr<comm::Communicator> comm_;
};

}  // namespace spindle::sp
