#include "worker/sp/lightseq.h"

#include <torch/torch.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "worker/sp/attention_adapter.h"

namespace spindle::sp {

absl::Status LightSeqAttention::Validate(const RingOptions& options) {
  const int r = static_cast<int>(options.positions.size());
  if (!options.causal) {
    return absl::InvalidArgumentError(
        "the lightseq schedule balances causal attention only; use the ring schedule for full "
        "masks");
  }
  if (r > 1 && r % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the lightseq schedule needs an even ring degree, got ", r,
                     "; use the ring schedule with the zigzag layout instead"));
  }
  for (int i = 0; i < r; ++i) {
    const auto& p = options.positions[i];
    for (size_t j = 1; j < p.size(); ++j) {
      if (p[j] != p[j - 1] + 1 || (i > 0 && p.front() <= options.positions[i - 1].back())) {
        return absl::InvalidArgumentError(
            "the lightseq schedule needs the contiguous layout (it balances causal work itself)");
      }
    }
  }
  return absl::OkStatus();
}

LightSeqAttention::LightSeqAttention(RingOptions options, std::shared_ptr<comm::Communicator> comm)
    : ContextAttention(std::move(options), std::move(comm)) {
  TORCH_CHECK_OK_STATUS(Validate(options_));
}

std::pair<at::Tensor, at::Tensor> LightSeqAttention::Forward(const at::Tensor& q,
                                                             const at::Tensor& k,
                                                             const at::Tensor& v) const {
  const int r_count = size(), me = rank(), steps = r_count / 2;
  const double scale = Scale(q);
  kernels::ThreadPool* pool = options_.pool;
  auto [o, lse] = BlockForward(q, k, v, Mask(me, me), scale, pool);
  if (r_count == 1) return {o, lse};
  o = o.to(at::kFloat);  // merges accumulate in fp32 (a no-op for fp32 activations)

  const at::Tensor kv = at::stack({k, v});
  const at::Tensor q_c = q.contiguous();
  const at::Tensor kv_in[2] = {at::empty_like(kv), at::empty_like(kv)};
  const at::Tensor q_in[2] = {at::empty_like(q_c), at::empty_like(q_c)};
  at::Tensor o_blk = at::empty_like(q_c), lse_blk = at::empty_like(lse), o_part;
  // Every rank posts the same sequence of batches (inputs(1), then per step
  // inputs(t+1) and the step's returns), so tags line up.
  auto inputs = [&](int t) {
    std::vector<comm::P2POp> ops;
    if (me + t < r_count) ops.push_back(Send(me + t, kv));
    if (IsOwner(t)) ops.push_back(Recv(me - t, kv_in[t % 2]));
    if (IsLate(t)) ops.push_back(Send(me - (r_count - t), q_c));
    if (IsHelper(t)) ops.push_back(Recv(me + r_count - t, q_in[t % 2]));
    return Start(ops);
  };
  auto pending = inputs(1);
  for (int t = 1; t <= steps; ++t) {
    TORCH_CHECK_OK_STATUS(pending->Wait());
    if (t < steps) pending = inputs(t + 1);
    if (IsOwner(t)) {
      const at::Tensor& kv_t = kv_in[t % 2];
      BlockForwardInto(q, kv_t[0], kv_t[1], Mask(me, me - t), scale, o_blk, lse_blk, pool);
      MergeInto(o, lse, o_blk, lse_blk, pool);
    }
    if (!HelpersActive(t)) continue;
    // The helper's partial result goes back to the late rank, which merges it.
    std::vector<comm::P2POp> ops;
    if (IsHelper(t)) {
      const int late = me + r_count - t;
      BlockForwardInto(q_in[t % 2], k, v, Mask(late, me), scale, o_blk, lse_blk, pool);
      o_part = o_blk.to(at::kFloat);  // partial results travel in fp32
      ops = {Send(late, o_part), Send(late, lse_blk)};
    }
    at::Tensor o_ret, lse_ret;
    if (IsLate(t)) {
      o_ret = at::empty_like(q_c, q_c.options().dtype(at::kFloat));
      lse_ret = at::empty_like(lse);
      ops = {Recv(me - (r_count - t), o_ret), Recv(me - (r_count - t), lse_ret)};
    }
    TORCH_CHECK_OK_STATUS(Start(ops)->Wait());
    if (IsLate(t)) MergeInto(o, lse, o_ret, lse_ret, pool);
  }
  return {o.to(q.scalar_type()), lse};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> LightSeqAttention::Backward(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& o,
    const at::Tensor& lse, const at::Tensor& d_o) const {
  const int r_count = size(), me = rank(), steps = r_count / 2;
  const double scale = Scale(q);
  kernels::ThreadPool* pool = options_.pool;
  const at::Tensor kv = at::stack({k, v});
  // Gradients accumulate in fp32 whatever the activations' type.
  at::Tensor dq = at::zeros(q.sizes(), q.options().dtype(at::kFloat));
  at::Tensor dkv = at::zeros_like(kv, kv.options().dtype(at::kFloat));  // this rank's own dK/dV
  at::Tensor dk = dkv[0], dv = dkv[1];
  BlockBackwardInto(q, k, v, o, d_o, lse, Mask(me, me), scale, dq, dk, dv, true, pool);
  if (r_count == 1) return {dq, dk, dv};

  // What a late rank ships to its helper: q, o, dO (b, n, h, d) and lse (b, h, n).
  const at::Tensor bundle[] = {q.contiguous(), o.contiguous(), d_o.contiguous(), lse.contiguous()};
  std::vector<at::Tensor> bundle_in[2];
  for (auto& b : bundle_in) {
    for (const at::Tensor& t : bundle) b.push_back(at::empty_like(t));
  }
  const at::Tensor kv_in[2] = {at::empty_like(kv), at::empty_like(kv)};
  at::Tensor dkv_blk = at::empty_like(dkv), dkv_ret = at::empty_like(dkv);
  at::Tensor dq_h = at::empty_like(dq), dq_ret = at::empty_like(dq);
  auto inputs = [&](int t) {
    std::vector<comm::P2POp> ops;
    if (me + t < r_count) ops.push_back(Send(me + t, kv));
    if (IsOwner(t)) ops.push_back(Recv(me - t, kv_in[t % 2]));
    for (int i = 0; i < 4; ++i) {
      if (IsLate(t)) ops.push_back(Send(me - (r_count - t), bundle[i]));
      if (IsHelper(t)) ops.push_back(Recv(me + r_count - t, bundle_in[t % 2][i]));
    }
    return Start(ops);
  };
  auto pending = inputs(1);
  for (int t = 1; t <= steps; ++t) {
    TORCH_CHECK_OK_STATUS(pending->Wait());
    if (t < steps) pending = inputs(t + 1);
    std::vector<comm::P2POp> ops;
    if (IsOwner(t)) {
      // A dK/dV delta for rank me − t's keys and values, returned to it.
      dkv_blk.zero_();
      at::Tensor dk_blk = dkv_blk[0], dv_blk = dkv_blk[1];
      const at::Tensor& kv_t = kv_in[t % 2];
      BlockBackwardInto(q, kv_t[0], kv_t[1], o, d_o, lse, Mask(me, me - t), scale, dq, dk_blk,
                        dv_blk, true, pool);
      ops.push_back(Send(me - t, dkv_blk));
    }
    if (me + t < r_count) ops.push_back(Recv(me + t, dkv_ret));
    if (IsHelper(t)) {
      // The late rank's dQ for this block goes back; dK/dV stay here.
      const int late = me + r_count - t;
      const auto& in = bundle_in[t % 2];
      dq_h.zero_();
      BlockBackwardInto(in[0], k, v, in[1], in[2], in[3], Mask(late, me), scale, dq_h, dk, dv, true,
                        pool);
      ops.push_back(Send(late, dq_h));
    }
    if (IsLate(t)) ops.push_back(Recv(me - (r_count - t), dq_ret));
    TORCH_CHECK_OK_STATUS(Start(ops)->Wait());
    if (me + t < r_count) dkv.add_(dkv_ret);
    if (IsLate(t)) dq.add_(dq_ret);
  }
  return {dq, dk, dv};
}

}  // namespace spindle::sp
