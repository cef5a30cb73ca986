#include "worker/sp/ring.h"

#include <torch/torch.h>

#include "worker/sp/attention_adapter.h"

namespace spindle::sp {
namespace {

void CheckOk(const absl::Status& s) { TORCH_CHECK(s.ok(), std::string(s.message())); }

int64_t Bytes(const at::Tensor& t) { return t.numel() * static_cast<int64_t>(t.element_size()); }

// (k, v) packed in one buffer (2, b, n, h_kv, d) so a ring step is one message.
at::Tensor PackKv(const at::Tensor& k, const at::Tensor& v) { return at::stack({k, v}); }

}  // namespace

RingAttention::RingAttention(RingOptions options, std::shared_ptr<comm::Communicator> comm)
    : options_(std::move(options)), comm_(std::move(comm)) {
  TORCH_CHECK(!options_.positions.empty(), "ring attention needs the positions of every rank");
  TORCH_CHECK(size() == 1 || (comm_ && comm_->size() == size()), "ring group has ",
              comm_ ? comm_->size() : 0, " ranks but the layout has ", size());
}

std::pair<at::Tensor, at::Tensor> RingAttention::Forward(const at::Tensor& q, const at::Tensor& k,
                                                         const at::Tensor& v) const {
  const int r_count = size();
  const double scale = Scale(q);
  const auto& q_pos = options_.positions[rank()];
  auto mask_for = [&](int src) {
    return BlockMask{options_.causal, &q_pos, &options_.positions[src], options_.valid_len};
  };
  if (r_count == 1) return BlockForward(q, k, v, mask_for(0), scale, options_.pool);

  const int next = (rank() + 1) % r_count, prev = (rank() - 1 + r_count) % r_count;
  at::Tensor kv = PackKv(k, v);
  at::Tensor kv_next = at::empty_like(kv);
  at::Tensor o, lse;
  at::Tensor o_blk = at::empty(q.sizes(), q.options());
  at::Tensor lse_blk = at::empty({q.size(0), q.size(2), q.size(1)}, q.options());
  for (int step = 0; step < r_count; ++step) {
    std::unique_ptr<comm::PendingBatch> batch;
    if (step + 1 < r_count) {
      const comm::P2POp ops[] = {comm::P2POp::Send(next, kv.data_ptr(), Bytes(kv)),
                                 comm::P2POp::Recv(prev, kv_next.data_ptr(), Bytes(kv_next))};
      auto started = comm_->StartSendRecv(ops);
      CheckOk(started.status());
      batch = std::move(*started);
    }
    const BlockMask mask = mask_for(Source(step));
    if (step == 0) {
      std::tie(o, lse) = BlockForward(q, kv[0], kv[1], mask, scale, options_.pool);
    } else {
      BlockForwardInto(q, kv[0], kv[1], mask, scale, o_blk, lse_blk, options_.pool);
      MergeInto(o, lse, o_blk, lse_blk, options_.pool);
    }
    if (batch) {
      CheckOk(batch->Wait());
      std::swap(kv, kv_next);
    }
  }
  return {o, lse};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> RingAttention::Backward(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& o,
    const at::Tensor& lse, const at::Tensor& d_o) const {
  const int r_count = size();
  const double scale = Scale(q);
  const auto& q_pos = options_.positions[rank()];
  at::Tensor dq = at::zeros(q.sizes(), q.options());
  at::Tensor kv = PackKv(k, v);
  // dK/dV of one block, packed like kv: (2, b, n, h_kv, d).
  at::Tensor dkv_blk = at::empty_like(kv, kv.options().dtype(at::kFloat));
  auto block_backward = [&](int src, const at::Tensor& kv_src) {
    const BlockMask mask{options_.causal, &q_pos, &options_.positions[src], options_.valid_len};
    // dq sums over every step; the block's dK/dV start from zero.
    dkv_blk.zero_();
    at::Tensor dk = dkv_blk[0], dv = dkv_blk[1];
    BlockBackwardInto(q, kv_src[0], kv_src[1], o, d_o, lse, mask, scale, dq, dk, dv,
                      /*accumulate=*/true, options_.pool);
  };
  if (r_count == 1) {
    block_backward(0, kv);
    return {dq, dkv_blk[0], dkv_blk[1]};
  }

  const int next = (rank() + 1) % r_count, prev = (rank() - 1 + r_count) % r_count;
  at::Tensor kv_next = at::empty_like(kv);
  at::Tensor acc_out = at::empty_like(dkv_blk);  // finished accumulator, sent next step
  at::Tensor acc_in = at::empty_like(dkv_blk);   // accumulator of the current block
  for (int step = 0; step < r_count; ++step) {
    std::vector<comm::P2POp> ops;
    if (step + 1 < r_count) {
      ops.push_back(comm::P2POp::Send(next, kv.data_ptr(), Bytes(kv)));
      ops.push_back(comm::P2POp::Recv(prev, kv_next.data_ptr(), Bytes(kv_next)));
    }
    if (step > 0) {
      // The accumulator finished last step follows its block one hop behind;
      // the one for this step's block arrives from the rank that held it last.
      ops.push_back(comm::P2POp::Send(next, acc_out.data_ptr(), Bytes(acc_out)));
      ops.push_back(comm::P2POp::Recv(prev, acc_in.data_ptr(), Bytes(acc_in)));
    }
    auto started = comm_->StartSendRecv(ops);
    CheckOk(started.status());
    block_backward(Source(step), kv);
    CheckOk((*started)->Wait());
    if (step == 0) {
      acc_out.copy_(dkv_blk);
    } else {
      at::add_out(acc_out, acc_in, dkv_blk);
    }
    if (step + 1 < r_count) std::swap(kv, kv_next);
  }
  // The last accumulator is complete: send it home; ours arrives from prev.
  const comm::P2POp home[] = {comm::P2POp::Send(next, acc_out.data_ptr(), Bytes(acc_out)),
                              comm::P2POp::Recv(prev, acc_in.data_ptr(), Bytes(acc_in))};
  auto started = comm_->StartSendRecv(home);
  CheckOk(started.status());
  CheckOk((*started)->Wait());
  return {dq, acc_in[0], acc_in[1]};
}

}  // namespace spindle::sp
