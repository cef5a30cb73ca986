#include "common/comm/p2p_communicator.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/comm/errors.h"
#include "common/comm/reduce.h"
#include "common/status.h"

namespace spindle::comm {
namespace {

int Mod(int a, int p) { return ((a % p) + p) % p; }

}  // namespace

// A StartSendRecv batch: the call's transfers, waited for once.
class P2PCommunicator::Batch final : public PendingBatch {
 public:
  Batch(P2PCommunicator* comm, Call call) : comm_(comm), call_(std::move(call)) {
    ++comm_->open_batches_;
  }
  ~Batch() override {
    if (!waited_) Wait().IgnoreError();
    --comm_->open_batches_;
  }

  absl::Status Wait() override {
    if (waited_) return result_;
    waited_ = true;
    if (!comm_->broken_.ok()) {
      call_.posted.clear();  // a later call failed; these may never complete
      result_ = comm_->broken_;
    } else {
      result_ = comm_->WaitAll(call_);
    }
    return result_;
  }

 private:
  P2PCommunicator* comm_;
  Call call_;
  bool waited_ = false;
  absl::Status result_;
};

P2PCommunicator::P2PCommunicator(std::unique_ptr<Transport> transport, CommOptions options,
                                 const Memory& memory)
    : transport_(std::move(transport)), options_(std::move(options)), memory_(memory) {
  SPINDLE_CHECK(options_.world_ranks.empty() ||
                static_cast<int>(options_.world_ranks.size()) == transport_->size())
      << "group '" << options_.group << "' has " << transport_->size() << " ranks but "
      << options_.world_ranks.size() << " world ranks";
}

P2PCommunicator::~P2PCommunicator() {
  SPINDLE_CHECK(open_batches_ == 0) << open_batches_ << " send/recv batches of group '"
                                    << options_.group << "' outlive their communicator";
}

absl::StatusOr<P2PCommunicator::Call> P2PCommunicator::Begin(Op op) {
  ++counters_[op].calls;
  entered_.fetch_add(1, std::memory_order_relaxed);
  if (!broken_.ok()) return broken_;
  return Call{op, next_seq_++, std::chrono::steady_clock::now() + options_.timeout, {}};
}

void P2PCommunicator::PostSend(Call& call, int peer, int64_t index, const void* data,
                               int64_t bytes) {
  OpCounters& c = counters_[call.op];
  ++c.messages_sent;
  c.bytes_sent += bytes;
  call.posted.push_back(
      {peer, true, transport_->PostSend(peer, MessageTag{call.seq, call.op, index}, data, bytes)});
}

void P2PCommunicator::PostRecv(Call& call, int peer, int64_t index, void* data, int64_t bytes) {
  counters_[call.op].bytes_received += bytes;
  call.posted.push_back(
      {peer, false, transport_->PostRecv(peer, MessageTag{call.seq, call.op, index}, data, bytes)});
}

absl::Status P2PCommunicator::WaitAll(Call& call) {
  const auto start = std::chrono::steady_clock::now();
  absl::Status result;
  for (Posted& p : call.posted) {
    absl::Status s = p.transfer->Wait(call.deadline);
    if (!s.ok()) {
      result = Fail(&call, TransferError(call, p, s));
      break;
    }
  }
  call.posted.clear();
  counters_[call.op].wait_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

absl::Status P2PCommunicator::Fail(Call* call, absl::Status error) {
  if (broken_.ok()) {
    broken_ = error;
    transport_->Abort(error);
  }
  if (call != nullptr) call->posted.clear();
  return error;
}

absl::Status P2PCommunicator::InvalidArgument(Call& call, const std::string& what) {
  return Fail(&call, absl::InvalidArgumentError(absl::StrCat(OpName(call.op), " in group '",
                                                             options_.group, "': ", what)));
}

absl::Status P2PCommunicator::TransferError(const Call& call, const Posted& p,
                                            const absl::Status& s) const {
  const std::string prefix = absl::StrCat(OpName(call.op), " in group '", options_.group, "': ");
  const std::string peer = RankName(options_, p.peer);
  switch (s.code()) {
    case absl::StatusCode::kDeadlineExceeded: {
      const std::string why =
          "; that rank is dead, stuck, or called a different collective or size";
      return absl::DeadlineExceededError(
          p.is_send ? absl::StrCat(prefix, peer, " took no data within ",
                                   FormatTimeout(options_.timeout), why)
                    : absl::StrCat(prefix, "no data from ", peer, " within ",
                                   FormatTimeout(options_.timeout), why));
    }
    case absl::StatusCode::kUnavailable:
      return absl::UnavailableError(absl::StrCat(prefix, "lost ", peer, ": ", s.message()));
    case absl::StatusCode::kFailedPrecondition:
      return absl::FailedPreconditionError(absl::StrCat(prefix, peer, " ", s.message()));
    case absl::StatusCode::kAborted:
      return absl::AbortedError(absl::StrCat(prefix, s.message()));
    default:
      return absl::Status(s.code(),
                          absl::StrCat(prefix, "transfer with ", peer, ": ", s.message()));
  }
}

absl::StatusOr<std::unique_ptr<PendingBatch>> P2PCommunicator::StartSendRecv(
    absl::Span<const P2POp> ops) {
  SPINDLE_ASSIGN_OR_RETURN(Call call, Begin(Op::kSendRecv));
  for (size_t i = 0; i < ops.size(); ++i) {
    const P2POp& op = ops[i];
    if (op.peer < 0 || op.peer >= size() || op.peer == rank()) {
      return InvalidArgument(
          call, absl::StrCat("op ", i, " names peer ", op.peer, " in a group of ", size(),
                             " where this is rank ", rank()));
    }
    if (op.bytes < 0 || (op.bytes > 0 && op.data == nullptr)) {
      return InvalidArgument(call, absl::StrCat("op ", i, " has ", op.bytes, " bytes at ",
                                                op.data == nullptr ? "null" : "a buffer"));
    }
  }
  // Per-peer message numbers make messages of one pair match in listed order.
  std::vector<int64_t> sends(size(), 0), recvs(size(), 0);
  for (const P2POp& op : ops) {
    if (op.kind == P2POp::Kind::kSend) {
      PostSend(call, op.peer, sends[op.peer]++, op.data, op.bytes);
    } else {
      PostRecv(call, op.peer, recvs[op.peer]++, op.data, op.bytes);
    }
  }
  return std::unique_ptr<PendingBatch>(new Batch(this, std::move(call)));
}

absl::Status P2PCommunicator::AllToAll(const void* send, absl::Span<const int64_t> send_bytes,
                                       void* recv, absl::Span<const int64_t> recv_bytes) {
  SPINDLE_ASSIGN_OR_RETURN(Call call, Begin(Op::kAllToAll));
  const int p = size();
  const int r = rank();
  if (static_cast<int>(send_bytes.size()) != p || static_cast<int>(recv_bytes.size()) != p) {
    return InvalidArgument(call, absl::StrCat(send_bytes.size(), " send and ", recv_bytes.size(),
                                              " recv sizes for ", p, " ranks"));
  }
  std::vector<int64_t> send_off(p + 1, 0), recv_off(p + 1, 0);
  for (int i = 0; i < p; ++i) {
    if (send_bytes[i] < 0 || recv_bytes[i] < 0) {
      return InvalidArgument(call, absl::StrCat("negative size for rank ", i));
    }
    send_off[i + 1] = send_off[i] + send_bytes[i];
    recv_off[i + 1] = recv_off[i] + recv_bytes[i];
  }
  if (send_bytes[r] != recv_bytes[r]) {
    return InvalidArgument(call, absl::StrCat("this rank sends itself ", send_bytes[r],
                                              " bytes but expects ", recv_bytes[r]));
  }
  if ((send_off[p] > 0 && send == nullptr) || (recv_off[p] > 0 && recv == nullptr)) {
    return InvalidArgument(call, "null buffer for a non-empty exchange");
  }
  const char* in = static_cast<const char*>(send);
  char* out = static_cast<char*>(recv);
  for (int s = 1; s < p; ++s) {
    const int src = Mod(r - s, p);
    const int dst = Mod(r + s, p);
    PostRecv(call, src, 0, out + recv_off[src], recv_bytes[src]);
    PostSend(call, dst, 0, in + send_off[dst], send_bytes[dst]);
  }
  SPINDLE_RETURN_IF_ERROR(LocalCopy(call, out + recv_off[r], in + send_off[r], send_bytes[r]));
  return WaitAll(call);
}

absl::Status P2PCommunicator::AllReduce(void* data, int64_t count, DType dtype, ReduceOp op) {
  SPINDLE_ASSIGN_OR_RETURN(Call call, Begin(Op::kAllReduce));
  if (count < 0 || (count > 0 && data == nullptr)) {
    return InvalidArgument(call, absl::StrCat("bad buffer: ", count, " elements at ",
                                              data == nullptr ? "null" : "a buffer"));
  }
  if (size() == 1) return absl::OkStatus();
  if (count == 0 || memory_.IsHost(data)) {
    return AllReduceRing(call, static_cast<char*>(data), count, dtype, op);
  }
  // Device data: the reduction runs on a host copy (same messages, same bytes).
  std::vector<char> host(static_cast<size_t>(count * DTypeSize(dtype)));
  const int64_t bytes = static_cast<int64_t>(host.size());
  SPINDLE_RETURN_IF_ERROR(LocalCopy(call, host.data(), data, bytes));
  SPINDLE_RETURN_IF_ERROR(AllReduceRing(call, host.data(), count, dtype, op));
  return LocalCopy(call, data, host.data(), bytes);
}

absl::Status P2PCommunicator::LocalCopy(Call& call, void* dst, const void* src, int64_t bytes) {
  if (bytes <= 0 || dst == src) return absl::OkStatus();
  absl::Status s = memory_.Copy(dst, src, bytes);
  if (s.ok()) return s;
  return Fail(&call, absl::InternalError(absl::StrCat(OpName(call.op), " in group '",
                                                      options_.group, "': ", s.message())));
}

absl::Status P2PCommunicator::AllReduceRing(Call& call, char* data, int64_t count, DType dtype,
                                            ReduceOp op) {
  const int p = size();
  const int r = rank();
  const int next = Mod(r + 1, p);
  const int prev = Mod(r - 1, p);
  const int64_t esize = DTypeSize(dtype);
  // Chunk c holds elements [begin(c), begin(c) + len(c)); see [Traffic formulas].
  const int64_t base = count / p;
  const int64_t extra = count % p;
  auto len = [&](int c) { return base + (c < extra ? 1 : 0); };
  auto begin = [&](int c) { return c * base + std::min<int64_t>(c, extra); };
  std::vector<char> incoming(static_cast<size_t>(len(0) * esize));

  // Reduce-scatter: after step s, rank r holds chunk r-s-1 summed over ranks
  // r-s-1..r; after P-1 steps it owns the fully reduced chunk r+1.
  for (int s = 0; s < p - 1; ++s) {
    const int send_c = Mod(r - s, p);
    const int recv_c = Mod(r - s - 1, p);
    PostRecv(call, prev, s, incoming.data(), len(recv_c) * esize);
    PostSend(call, next, s, data + begin(send_c) * esize, len(send_c) * esize);
    SPINDLE_RETURN_IF_ERROR(WaitAll(call));
    ReduceInto(data + begin(recv_c) * esize, incoming.data(), len(recv_c), dtype, op);
  }
  // All-gather: each reduced chunk travels the ring unchanged.
  for (int s = 0; s < p - 1; ++s) {
    const int send_c = Mod(r + 1 - s, p);
    const int recv_c = Mod(r - s, p);
    PostRecv(call, prev, p - 1 + s, data + begin(recv_c) * esize, len(recv_c) * esize);
    PostSend(call, next, p - 1 + s, data + begin(send_c) * esize, len(send_c) * esize);
    SPINDLE_RETURN_IF_ERROR(WaitAll(call));
  }
  return absl::OkStatus();
}

absl::Status P2PCommunicator::AllGather(const void* send, int64_t bytes, void* recv) {
  SPINDLE_ASSIGN_OR_RETURN(Call call, Begin(Op::kAllGather));
  if (bytes < 0 || (bytes > 0 && (send == nullptr || recv == nullptr))) {
    return InvalidArgument(call, absl::StrCat("bad buffers for ", bytes, " bytes"));
  }
  const int p = size();
  const int r = rank();
  char* out = static_cast<char*>(recv);
  SPINDLE_RETURN_IF_ERROR(LocalCopy(call, out + r * bytes, send, bytes));
  for (int s = 0; s < p - 1; ++s) {
    const int send_b = Mod(r - s, p);
    const int recv_b = Mod(r - s - 1, p);
    PostRecv(call, Mod(r - 1, p), s, out + recv_b * bytes, bytes);
    PostSend(call, Mod(r + 1, p), s, out + send_b * bytes, bytes);
    SPINDLE_RETURN_IF_ERROR(WaitAll(call));
  }
  return absl::OkStatus();
}

absl::Status P2PCommunicator::Broadcast(void* data, int64_t bytes, int root) {
  SPINDLE_ASSIGN_OR_RETURN(Call call, Begin(Op::kBroadcast));
  if (root < 0 || root >= size()) {
    return InvalidArgument(call, absl::StrCat("root ", root, " outside a group of ", size()));
  }
  if (bytes < 0 || (bytes > 0 && data == nullptr)) {
    return InvalidArgument(call, absl::StrCat("bad buffer for ", bytes, " bytes"));
  }
  if (rank() == root) {
    for (int s = 1; s < size(); ++s) PostSend(call, Mod(root + s, size()), 0, data, bytes);
  } else {
    PostRecv(call, root, 0, data, bytes);
  }
  return WaitAll(call);
}

absl::Status P2PCommunicator::Barrier() {
  SPINDLE_ASSIGN_OR_RETURN(Call call, Begin(Op::kBarrier));
  const int p = size();
  int round = 0;
  for (int d = 1; d < p; d *= 2, ++round) {
    PostRecv(call, Mod(rank() - d, p), round, nullptr, 0);
    PostSend(call, Mod(rank() + d, p), round, nullptr, 0);
    SPINDLE_RETURN_IF_ERROR(WaitAll(call));
  }
  return absl::OkStatus();
}

}  // namespace spindle::comm
