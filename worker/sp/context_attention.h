// The stage that runs attention across the ranks of a ring group once every
// rank holds its ring sequence (after any Ulysses exchange): the pass-KV ring
// (ring.h) or LightSeq's balanced causal schedule (lightseq.h). Both take and
// return this rank's tensors only, and share the plumbing below: which global
// positions each ring rank holds, the softmax scale, and batched transfers of
// whole tensors.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "common/comm/communicator.h"
#include "worker/sp/attention_adapter.h"

namespace spindle::kernels {
class ThreadPool;
}

namespace spindle::sp {

struct RingOptions {
  // positions[r]: global positions of ring rank r's tokens (RingPositions).
  std::vector<std::vector<int64_t>> positions;
  int64_t valid_len = INT64_MAX;  // positions >= valid_len are padding
  bool causal = true;
  double scale = 0;  // 0 means 1/sqrt(d)
  kernels::ThreadPool* pool = nullptr;
};

class ContextAttention {
 public:
  virtual ~ContextAttention() = default;

  // q (b, n, h, d), k, v (b, n, h_kv, d) -> o (b, n, h, d), lse (b, h, n) fp32.
  virtual std::pair<at::Tensor, at::Tensor> Forward(const at::Tensor& q, const at::Tensor& k,
                                                    const at::Tensor& v) const = 0;
  // Gradients of this rank's q, k, v from the global o, lse and d_o.
  virtual std::tuple<at::Tensor, at::Tensor, at::Tensor> Backward(
      const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& o,
      const at::Tensor& lse, const at::Tensor& d_o) const = 0;

 protected:
  // comm: the ring group (size R = positions.size()); may be null when R = 1.
  ContextAttention(RingOptions options, std::shared_ptr<comm::Communicator> comm);

  int size() const { return static_cast<int>(options_.positions.size()); }
  int rank() const { return comm_ ? comm_->rank() : 0; }
  double Scale(const at::Tensor& q) const;
  // Queries of ring rank q_rank against keys of ring rank k_rank.
  BlockMask Mask(int q_rank, int k_rank) const;
  // Posts a batch of whole-tensor transfers (tensors contiguous, alive until
  // Wait); a communicator error becomes a torch error naming the peer.
  std::unique_ptr<comm::PendingBatch> Start(const std::vector<comm::P2POp>& ops) const;
  static comm::P2POp Send(int peer, const at::Tensor& t);
  static comm::P2POp Recv(int peer, const at::Tensor& t);

  RingOptions options_;
  std::shared_ptr<comm::Communicator> comm_;
};

}  // namespace spindle::sp
