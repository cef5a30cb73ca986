// Ring attention (pass-KV) across the R ranks of a ring group. Each rank keeps
// its query block; packed (k, v) blocks travel the ring, and each step merges
// one block's partial result with log-sum-exp in fp32. The next block's
// send/recv is posted before the current block is computed, so transfers
// overlap compute. Layouts (contiguous, zigzag, striped) and padding enter
// only through global positions: the kernel skips fully masked tiles, which is
// what makes zigzag and striped balanced.
//
// Backward: key/value blocks travel the ring again, and their dK/dV
// accumulators (fp32) travel one hop behind; each rank adds its block gradient
// and forwards the accumulator, which is home after R sends. See
// common/layout/comm_volume.h for the exact traffic.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "worker/sp/context_attention.h"

namespace spindle::sp {

class RingAttention : public ContextAttention {
 public:
  RingAttention(RingOptions options, std::shared_ptr<comm::Communicator> comm)
      : ContextAttention(std::move(options), std::move(comm)) {}

  std::pair<at::Tensor, at::Tensor> Forward(const at::Tensor& q, const at::Tensor& k,
                                            const at::Tensor& v) const override;
  std::tuple<at::Tensor, at::Tensor, at::Tensor> Backward(const at::Tensor& q, const at::Tensor& k,
                                                          const at::Tensor& v, const at::Tensor& o,
                                                          const at::Tensor& lse,
                                                          const at::Tensor& d_o) const override;

 private:
  // The ring rank whose key/value block this rank holds at a step.
  int Source(int step) const { return ((rank() - step) % size() + size()) % size(); }
};

}  // namespace spindle::sp
