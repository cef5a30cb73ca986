#include "worker/sp/ulysses.h"

#include <torch/torch.h>

#include "worker/sp/attention_adapter.h"
#include "worker/sp/ulysses_copy.h"

namespace spindle::sp {
UlyssesExchange::UlyssesExchange(const layout::HeadPlan& heads,
                                 std::shared_ptr<comm::Communicator> comm)
    : heads_(heads), comm_(std::move(comm)) {
  TORCH_CHECK(comm_ && comm_->size() == heads_.ulysses, "Ulysses group has ",
              comm_ ? comm_->size() : 0, " ranks but the head plan has degree ", heads_.ulysses);
}

at::Tensor UlyssesExchange::Exchange(const at::Tensor& send) const {
  const int64_t u = heads_.ulysses;
  const int64_t seg_bytes = send.size(1) * send.element_size();
  at::Tensor recv = at::empty_like(send);
  const std::vector<int64_t> bytes(u, seg_bytes);
  TORCH_CHECK_OK_STATUS(comm_->AllToAll(send.data_ptr(), bytes, recv.data_ptr(), bytes));
  return recv;
}

at::Tensor UlyssesExchange::Pack(const std::vector<at::Tensor>& parts, bool by_heads) const {
  const int64_t u = heads_.ulysses;
  int64_t seg = 0;
  for (const at::Tensor& t : parts) seg += t.numel() / u;
  at::Tensor send = at::empty({u, seg}, parts[0].options());
  int64_t offset = 0;
  for (const at::Tensor& t : parts) {
    const SegmentPart part{offset, t.size(0), by_heads ? t.size(1) : t.size(1) / u,
                           by_heads ? t.size(2) / u : t.size(2), t.size(3)};
    if (by_heads) {
      PackHeads(t, part, send);
    } else {
      PackTokens(t, part, send);
    }
    offset += t.numel() / u;
  }
  return send;
}

at::Tensor UlyssesExchange::ReplicateKv(const at::Tensor& kv) const {
  if (heads_.kv_replicas == 1) return kv;
  // Wire head e is a copy of model head e / kv_replicas.
  return kv.repeat_interleave(heads_.kv_replicas, /*dim=*/2);
}

at::Tensor UlyssesExchange::ReduceKvReplicas(const at::Tensor& grad) const {
  if (heads_.kv_replicas == 1) return grad;
  return grad.view({grad.size(0), grad.size(1), heads_.h_kv, heads_.kv_replicas, grad.size(3)})
      .sum(3);
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> UlyssesExchange::ScatterHeads(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) const {
  const int64_t b = q.size(0), l = q.size(1), d = q.size(3);
  const int64_t hq = heads_.h_local(), hkv = heads_.h_kv_local();
  at::Tensor recv = Exchange(Pack({q, ReplicateKv(k), ReplicateKv(v)}, /*by_heads=*/true));
  // recv segment j: rank j's L tokens of my heads, [q (b,L,hq,d) | k (b,L,hkv,d) | v],
  // unpacked with tokens in Ulysses-rank order.
  const int64_t nq = b * l * hq * d, nkv = b * l * hkv * d;
  return {UnpackTokens(recv, {0, b, l, hq, d}), UnpackTokens(recv, {nq, b, l, hkv, d}),
          UnpackTokens(recv, {nq + nkv, b, l, hkv, d})};
}

at::Tensor UlyssesExchange::ScatterHeads(const at::Tensor& d_o) const {
  const int64_t b = d_o.size(0), l = d_o.size(1), d = d_o.size(3);
  return UnpackTokens(Exchange(Pack({d_o}, /*by_heads=*/true)), {0, b, l, heads_.h_local(), d});
}

at::Tensor UlyssesExchange::GatherHeads(const at::Tensor& o) const {
  const int64_t u = heads_.ulysses, b = o.size(0), l = o.size(1) / u, d = o.size(3);
  // recv segment j: my L tokens of rank j's heads -> (b, L, U·hq, d), heads in rank order.
  return UnpackHeads(Exchange(Pack({o}, /*by_heads=*/false)), {0, b, l, heads_.h_local(), d});
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> UlyssesExchange::GatherGrads(
    const at::Tensor& dq, const at::Tensor& dk, const at::Tensor& dv) const {
  const int64_t u = heads_.ulysses, b = dq.size(0), l = dq.size(1) / u, d = dq.size(3);
  const int64_t hq = heads_.h_local(), hkv = heads_.h_kv_local();
  at::Tensor recv = Exchange(Pack({dq, dk, dv}, /*by_heads=*/false));
  const int64_t nq = b * l * hq * d, nkv = b * l * hkv * d;
  return {UnpackHeads(recv, {0, b, l, hq, d}),
          ReduceKvReplicas(UnpackHeads(recv, {nq, b, l, hkv, d})),
          ReduceKvReplicas(UnpackHeads(recv, {nq + nkv, b, l, hkv, d}))};
}

}  // namespace spindle::sp
