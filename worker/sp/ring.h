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

#include <cmath>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "common/comm/communicator.h"
#include "worker/sp/context_attention.h"

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

class RingAttention : public ContextAttention {
 public:
  // comm: the ring group (size R = positions.size()); may be null when R = 1.
  RingAttention(RingOptions options, std::shared_ptr<comm::Communicator> comm);

  std::pair<at::Tensor, at::Tensor> Forward(const at::Tensor& q, const at::Tensor& k,
                                            const at::Tensor& v) const override;
  std::tuple<at::Tensor, at::Tensor, at::Tensor> Backward(const at::Tensor& q, const at::Tensor& k,
                                                          const at::Tensor& v, const at::Tensor& o,
                                                          const at::Tensor& lse,
                                                          const at::Tensor& d_o) const override;

 private:
  int size() const { return static_cast<int>(options_.positions.size()); }
  int rank() const { return comm_ ? comm_->rank() : 0; }
  double Scale(const at::Tensor& q) const {
    return options_.scale > 0 ? options_.scale : 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  }
  int Source(int step) const { return ((rank() - step) % size() + size()) % size(); }

  RingOptions options_;
  std::shared_ptr<comm::Communicator> comm_;
};

}  // namespace spindle::sp
