// The communicator: the one interface every sequence-parallel algorithm talks
// through, for one process group. Backends: Gloo over TCP between processes
// (gloo_communicator.h), in-process threads for fast tests and virtual ranks
// (local_communicator.h); NCCL on GPUs.
//
// It moves bytes; it knows nothing of tensors. Every blocking call has a
// deadline: a dead, missing or mismatched peer produces an error naming that
// peer (its rank in this group and in the world) within the timeout, never a
// hang. After any error the communicator is broken: every later call fails at
// once with the first error, since the group's message order is lost.
//
// All ranks of a group must issue the same operations in the same order.
// A communicator is used from one thread at a time.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace spindle::comm {

enum class Op : int { kSendRecv = 0, kAllToAll, kAllReduce, kAllGather, kBroadcast, kBarrier };
inline constexpr int kNumOps = 6;
const char* OpName(Op op);  // "send_recv", "all_to_all", ...

// Per-operation traffic of this rank in this group. Bytes count payload put
// on or taken off the wire to other ranks; copies to self are not traffic.
struct OpCounters {
  int64_t calls = 0;          // API calls (a batched send/recv is one call)
  int64_t messages_sent = 0;  // point-to-point messages this rank sent
  int64_t bytes_sent = 0;
  int64_t bytes_received = 0;
  // Time the calling thread was blocked waiting for this op's transfers
  // (for a StartSendRecv batch: inside Wait, i.e. what compute did not hide).
  double wait_seconds = 0;
};

struct CommCounters {
  std::array<OpCounters, kNumOps> ops{};
  const OpCounters& operator[](Op op) const { return ops[static_cast<int>(op)]; }
  OpCounters& operator[](Op op) { return ops[static_cast<int>(op)]; }
  int64_t TotalBytesSent() const;
  int64_t TotalBytesReceived() const;
};
CommCounters operator-(const CommCounters& a, const CommCounters& b);

enum class DType : int { kFloat32, kFloat64, kInt64 };
int64_t DTypeSize(DType t);
enum class ReduceOp : int { kSum, kMax, kMin };

// One half of a point-to-point transfer in a batch. Between one pair of ranks,
// the messages of a batch are matched in the order they are listed, so a send
// of (kv, then dkv) pairs with a recv of (kv, then dkv) on the peer.
struct P2POp {
  enum class Kind { kSend, kRecv };
  Kind kind;
  int peer;    // rank in this group, != own rank
  void* data;  // send: read, must stay valid until Wait; recv: written
  int64_t bytes;

  static P2POp Send(int peer, const void* data, int64_t bytes) {
    return {Kind::kSend, peer, const_cast<void*>(data), bytes};
  }
  static P2POp Recv(int peer, void* data, int64_t bytes) {
    return {Kind::kRecv, peer, data, bytes};
  }
};

// Transfers in flight. Wait() blocks until every transfer completed or the
// deadline (set when the batch started) passed. Destroying a batch that was
// not waited for waits for it.
class PendingBatch {
 public:
  virtual ~PendingBatch() = default;
  virtual absl::Status Wait() = 0;
};

struct CommOptions {
  std::string group = "world";   // name used in errors and metrics
  int world_rank = 0;            // this rank's world rank, for error messages
  std::vector<int> world_ranks;  // group rank -> world rank; empty means identity
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // per blocking call
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const CommOptions& options() const = 0;

  // Posts every transfer and returns at once (one ring step: the next block's
  // send/recv is posted before the current block is computed).
  virtual absl::StatusOr<std::unique_ptr<PendingBatch>> StartSendRecv(
      absl::Span<const P2POp> ops) = 0;

  // send holds size() consecutive segments, segment j (send_bytes[j] bytes)
  // going to rank j; recv receives segment i (recv_bytes[i] bytes) from rank i
  // at offset sum(recv_bytes[0..i)). Uneven splits are allowed; the sizes a
  // pair agrees on must match.
  virtual absl::Status AllToAll(const void* send, absl::Span<const int64_t> send_bytes, void* recv,
                                absl::Span<const int64_t> recv_bytes) = 0;

  // In place; every rank ends with bitwise identical results (the reduction
  // order is fixed by the group, not by arrival order).
  virtual absl::Status AllReduce(void* data, int64_t count, DType dtype, ReduceOp op) = 0;

  // AllReduce that returns before completion where the backend queues work
  // (NCCL: on its stream; Wait polls against the timeout from the start).
  // `data` must stay valid until Wait. Elsewhere it runs AllReduce and
  // returns a finished batch. Lets one thread keep every group's operations
  // in one order, as NCCL needs, and still overlap them with compute.
  virtual absl::StatusOr<std::unique_ptr<PendingBatch>> StartAllReduce(void* data, int64_t count,
                                                                       DType dtype, ReduceOp op);
  // Whether StartAllReduce returns before the reduction is done (NCCL).
  virtual bool StartsWithoutBlocking() const { return false; }

  // recv holds size() * bytes: rank i's send at offset i * bytes.
  virtual absl::Status AllGather(const void* send, int64_t bytes, void* recv) = 0;

  virtual absl::Status Broadcast(void* data, int64_t bytes, int root) = 0;

  virtual absl::Status Barrier() = 0;

  virtual const CommCounters& counters() const = 0;

  // Collective calls this rank has entered in this group: the group's
  // sequence number, equal on every member between calls. Safe to read from
  // any thread, so a hang can be pinned on the member that is behind.
  virtual int64_t sequence() const = 0;
};

}  // namespace spindle::comm
