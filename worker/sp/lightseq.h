// LightSeq's balanced causal schedule (DistAttn, arXiv 2310.03294) over the R
// ranks of a ring group holding a *contiguous* causal layout, R even: R/2 + 1
// steps instead of R, every rank computing one block per step.
//
// Step 0: every rank computes its diagonal block. Step t = 1…R/2: rank r >= t
// computes its queries against the key/value block of rank r − t (sent to it);
// an early rank r < t, idle in a plain causal ring, instead receives the
// queries of the late rank r + R − t, computes them against its own keys and
// values and returns the partial (o, lse) for the late rank to merge. Distance
// t is covered by owners, distance R − t by helpers (at t = R/2 both are the
// same blocks, so helpers rest). Backward mirrors it: owners return dK/dV
// deltas to the key/value owner, helpers keep dK/dV and return dQ.
//
// Next-step inputs are posted before the current block is computed (double
// buffers); results are returned right after it. Traffic is not symmetric
// across ranks: common/layout/comm_volume.h gives it per ring rank.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "worker/sp/context_attention.h"

namespace spindle::sp {

class LightSeqAttention : public ContextAttention {
 public:
  // Checks the schedule applies: causal, R even (or 1), contiguous positions.
  static absl::Status Validate(const RingOptions& options);

  // Aborts the op (torch error) when Validate fails.
  LightSeqAttention(RingOptions options, std::shared_ptr<comm::Communicator> comm);

  std::pair<at::Tensor, at::Tensor> Forward(const at::Tensor& q, const at::Tensor& k,
                                            const at::Tensor& v) const override;
  std::tuple<at::Tensor, at::Tensor, at::Tensor> Backward(const at::Tensor& q, const at::Tensor& k,
                                                          const at::Tensor& v, const at::Tensor& o,
                                                          const at::Tensor& lse,
                                                          const at::Tensor& d_o) const override;

 private:
  // Whether helpers work at step t (at t = R/2 their blocks are the owners').
  bool HelpersActive(int t) const { return t < size() / 2; }
  bool IsOwner(int t) const { return rank() >= t; }
  bool IsHelper(int t) const { return HelpersActive(t) && rank() < t; }
  bool IsLate(int t) const { return HelpersActive(t) && rank() >= size() - t; }
};

}  // namespace spindle::sp
