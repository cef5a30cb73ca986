#include "worker/sp/context_attention.h"

#include <torch/torch.h>

#include <cmath>

namespace spindle::sp {
namespace {

int64_t Bytes(const at::Tensor& t) { return t.numel() * static_cast<int64_t>(t.element_size()); }

}  // namespace

ContextAttention::ContextAttention(RingOptions options, std::shared_ptr<comm::Communicator> comm)
    : options_(std::move(options)), comm_(std::move(comm)) {
  TORCH_CHECK(!options_.positions.empty(), "ring attention needs the positions of every rank");
  TORCH_CHECK(size() == 1 || (comm_ && comm_->size() == size()), "ring group has ",
              comm_ ? comm_->size() : 0, " ranks but the layout has ", size());
}

double ContextAttention::Scale(const at::Tensor& q) const {
  return options_.scale > 0 ? options_.scale : 1.0 / std::sqrt(static_cast<double>(q.size(3)));
}

BlockMask ContextAttention::Mask(int q_rank, int k_rank) const {
  return BlockMask{options_.causal, &options_.positions[q_rank], &options_.positions[k_rank],
                   options_.valid_len};
}

std::unique_ptr<comm::PendingBatch> ContextAttention::Start(
    const std::vector<comm::P2POp>& ops) const {
  auto batch = comm_->StartSendRecv(ops);
  TORCH_CHECK_OK_STATUS(batch.status());
  return std::move(*batch);
}

comm::P2POp ContextAttention::Send(int peer, const at::Tensor& t) {
  return comm::P2POp::Send(peer, t.data_ptr(), Bytes(t));
}

comm::P2POp ContextAttention::Recv(int peer, const at::Tensor& t) {
  return comm::P2POp::Recv(peer, t.data_ptr(), Bytes(t));
}

}  // namespace spindle::sp
