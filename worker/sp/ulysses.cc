#include "worker/sp/ulysses.h"

#include <torch/torch.h>

#include "worker/sp/attention_adapter.h"

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
    const int64_t b = t.size(0), d = t.size(3);
    const int64_t l = by_heads ? t.size(1) : t.size(1) / u;
    const int64_t n = by_heads ? t.size(2) / u : t.size(2);
    // One copy straight into segment order (U, b, L, n, d).
    at::Tensor src = by_heads ? t.view({b, l, u, n, d}).permute({2, 0, 1, 3, 4})
                              : t.view({b, u, l, n, d}).permute({1, 0, 2, 3, 4});
    send.narrow(1, offset, b * l * n * d).view({u, b, l, n, d}).copy_(src);
    offset += b * l * n * d;
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
  const int64_t u = heads_.ulysses, b = q.size(0), l = q.size(1), d = q.size(3);
  const int64_t hq = heads_.h_local(), hkv = heads_.h_kv_local();
  at::Tensor recv = Exchange(Pack({q, ReplicateKv(k), ReplicateKv(v)}, /*by_heads=*/true));
  // recv segment j: rank j's L tokens of my heads: [q (b,L,hq,d) | k (b,L,hkv,d) | v].
  const int64_t nq = b * l * hq * d, nkv = b * l * hkv * d;
  auto unpack = [&](int64_t offset, int64_t n, int64_t heads) {
    // (U, b, L, heads, d) -> (b, U·L, heads, d): tokens in Ulysses-rank order.
    return recv.narrow(1, offset, n)
        .view({u, b, l, heads, d})
        .permute({1, 0, 2, 3, 4})
        .reshape({b, u * l, heads, d});
  };
  return {unpack(0, nq, hq), unpack(nq, nkv, hkv), unpack(nq + nkv, nkv, hkv)};
}

at::Tensor UlyssesExchange::ScatterHeads(const at::Tensor& d_o) const {
  const int64_t u = heads_.ulysses, b = d_o.size(0), l = d_o.size(1), d = d_o.size(3);
  return Exchange(Pack({d_o}, /*by_heads=*/true))
      .view({u, b, l, heads_.h_local(), d})
      .permute({1, 0, 2, 3, 4})
      .reshape({b, u * l, heads_.h_local(), d});
}

at::Tensor UlyssesExchange::GatherHeads(const at::Tensor& o) const {
  const int64_t u = heads_.ulysses, b = o.size(0), l = o.size(1) / u, d = o.size(3);
  // recv segment j: my L tokens of rank j's heads -> (b, L, U·hq, d) with heads in rank order.
  return Exchange(Pack({o}, /*by_heads=*/false))
      .view({u, b, l, heads_.h_local(), d})
      .permute({1, 2, 0, 3, 4})
      .reshape({b, l, heads_.h, d});
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> UlyssesExchange::GatherGrads(
    const at::Tensor& dq, const at::Tensor& dk, const at::Tensor& dv) const {
  const int64_t u = heads_.ulysses, b = dq.size(0), l = dq.size(1) / u, d = dq.size(3);
  const int64_t hq = heads_.h_local(), hkv = heads_.h_kv_local();
  at::Tensor recv = Exchange(Pack({dq, dk, dv}, /*by_heads=*/false));
  const int64_t nq = b * l * hq * d, nkv = b * l * hkv * d;
  auto unpack = [&](int64_t offset, int64_t n, int64_t heads) {
    // (U, b, L, heads, d) -> (b, L, U·heads, d)
    return recv.narrow(1, offset, n)
        .view({u, b, l, heads, d})
        .permute({1, 2, 0, 3, 4})
        .reshape({b, l, u * heads, d});
  };
  return {unpack(0, nq, hq), ReduceKvReplicas(unpack(nq, nkv, hkv)),
          ReduceKvReplicas(unpack(nq + nkv, nkv, hkv))};
}

}  // namespace spindle::sp
