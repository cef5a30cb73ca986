#include "worker/sp/ring.h"

#include <torch/torch.h>

namespace spindle::sp {
namespace {

// (k, v) packed in one buffer (2, b, n, h_kv, d) so a ring step is one message.
at::Tensor PackKv(const at::Tensor& k, const at::Tensor& v) { return at::stack({k, v}); }

}  // namespace

std::pair<at::Tensor, at::Tensor> RingAttention::Forward(const at::Tensor& q, const at::Tensor& k,
                                                         const at::Tensor& v) const {
  const int r_count = size(), me = rank();
  const double scale = Scale(q);
  if (r_count == 1) return BlockForward(q, k, v, Mask(0, 0), scale, options_.pool);

  const int next = (me + 1) % r_count, prev = (me - 1 + r_count) % r_count;
  at::Tensor kv = PackKv(k, v);
  at::Tensor kv_next = at::empty_like(kv);
  at::Tensor o, lse;
  at::Tensor o_blk = at::empty(q.sizes(), q.options());
  at::Tensor lse_blk = at::empty({q.size(0), q.size(2), q.size(1)}, q.options().dtype(at::kFloat));
  for (int step = 0; step < r_count; ++step) {
    std::unique_ptr<comm::PendingBatch> batch;
    if (step + 1 < r_count) batch = Start({Send(next, kv), Recv(prev, kv_next)});
    const BlockMask mask = Mask(me, Source(step));
    if (step == 0) {
      std::tie(o, lse) = BlockForward(q, kv[0], kv[1], mask, scale, options_.pool);
      o = o.to(at::kFloat);  // merges accumulate in fp32 (a no-op for fp32 activations)
    } else {
      BlockForwardInto(q, kv[0], kv[1], mask, scale, o_blk, lse_blk, options_.pool);
      MergeInto(o, lse, o_blk, lse_blk, options_.pool);
    }
    if (batch) {
      TORCH_CHECK_OK_STATUS(batch->Wait());
      std::swap(kv, kv_next);
    }
  }
  return {o.to(q.scalar_type()), lse};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> RingAttention::Backward(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& o,
    const at::Tensor& lse, const at::Tensor& d_o) const {
  const int r_count = size(), me = rank();
  const double scale = Scale(q);
  at::Tensor dq = at::zeros(q.sizes(), q.options().dtype(at::kFloat));
  at::Tensor kv = PackKv(k, v);
  // dK/dV of one block, packed like kv: (2, b, n, h_kv, d).
  at::Tensor dkv_blk = at::empty_like(kv, kv.options().dtype(at::kFloat));
  auto block_backward = [&](int src, const at::Tensor& kv_src) {
    // dq sums over every step; the block's dK/dV start from zero.
    dkv_blk.zero_();
    at::Tensor dk = dkv_blk[0], dv = dkv_blk[1];
    BlockBackwardInto(q, kv_src[0], kv_src[1], o, d_o, lse, Mask(me, src), scale, dq, dk, dv,
                      /*accumulate=*/true, options_.pool);
  };
  if (r_count == 1) {
    block_backward(0, kv);
    return {dq, dkv_blk[0], dkv_blk[1]};
  }

  const int next = (me + 1) % r_count, prev = (me - 1 + r_count) % r_count;
  at::Tensor kv_next = at::empty_like(kv);
  at::Tensor acc_out = at::empty_like(dkv_blk);  // finished accumulator, sent next step
  at::Tensor acc_in = at::empty_like(dkv_blk);   // accumulator of the current block
  for (int step = 0; step < r_count; ++step) {
    std::vector<comm::P2POp> ops;
    if (step + 1 < r_count) ops = {Send(next, kv), Recv(prev, kv_next)};
    if (step > 0) {
      // The accumulator finished last step follows its block one hop behind;
      // the one for this step's block arrives from the rank that held it last.
      ops.push_back(Send(next, acc_out));
      ops.push_back(Recv(prev, acc_in));
    }
    auto batch = Start(ops);
    block_backward(Source(step), kv);
    TORCH_CHECK_OK_STATUS(batch->Wait());
    if (step == 0) {
      acc_out.copy_(dkv_blk);
    } else {
      at::add_out(acc_out, acc_in, dkv_blk);
    }
    if (step + 1 < r_count) std::swap(kv, kv_next);
  }
  // The last accumulator is complete: send it home; ours arrives from prev.
  TORCH_CHECK_OK_STATUS(Start({Send(next, acc_out), Recv(prev, acc_in)})->Wait());
  return {dq, acc_in[0], acc_in[1]};
}

}  // namespace spindle::sp
