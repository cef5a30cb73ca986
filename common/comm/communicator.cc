#include "common/comm/communicator.h"

#include <utility>

namespace spindle::comm {
namespace {

// A batch that was complete when it was returned.
class FinishedBatch final : public PendingBatch {
 public:
  explicit FinishedBatch(absl::Status status) : status_(std::move(status)) {}
  absl::Status Wait() override { return status_; }

 private:
  absl::Status status_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PendingBatch>> Communicator::StartAllReduce(void* data,
                                                                           int64_t count,
                                                                           DType dtype,
                                                                           ReduceOp op) {
  return std::unique_ptr<PendingBatch>(new FinishedBatch(AllReduce(data, count, dtype, op)));
}

const char* OpName(Op op) {
  switch (op) {
    case Op::kSendRecv:
      return "send_recv";
    case Op::kAllToAll:
      return "all_to_all";
    case Op::kAllReduce:
      return "all_reduce";
    case Op::kAllGather:
      return "all_gather";
    case Op::kBroadcast:
      return "broadcast";
    case Op::kBarrier:
      return "barrier";
  }
  return "unknown";
}

int64_t DTypeSize(DType t) {
  switch (t) {
    case DType::kFloat32:
      return 4;
    case DType::kFloat64:
      return 8;
    case DType::kInt64:
      return 8;
  }
  return 0;
}

int64_t CommCounters::TotalBytesSent() const {
  int64_t total = 0;
  for (const auto& c : ops) total += c.bytes_sent;
  return total;
}

int64_t CommCounters::TotalBytesReceived() const {
  int64_t total = 0;
  for (const auto& c : ops) total += c.bytes_received;
  return total;
}

CommCounters operator-(const CommCounters& a, const CommCounters& b) {
  CommCounters d;
  for (int i = 0; i < kNumOps; ++i) {
    d.ops[i].calls = a.ops[i].calls - b.ops[i].calls;
    d.ops[i].messages_sent = a.ops[i].messages_sent - b.ops[i].messages_sent;
    d.ops[i].bytes_sent = a.ops[i].bytes_sent - b.ops[i].bytes_sent;
    d.ops[i].bytes_received = a.ops[i].bytes_received - b.ops[i].bytes_received;
    d.ops[i].wait_seconds = a.ops[i].wait_seconds - b.ops[i].wait_seconds;
  }
  return d;
}

}  // namespace spindle::comm
