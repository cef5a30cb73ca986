// P2PCommunicator: every Communicator operation written once over a
// point-to-point Transport (transport.h). The Gloo and in-process backends
// are this class over their transport, so algorithms, traffic counts and
// error messages are identical across backends.
//
// [Traffic formulas] Per call on group rank r of P ranks; B = bytes,
// n = element count, E = DTypeSize(dtype). Every listed message is sent even
// when it carries 0 bytes (matching needs it: a size mismatch is detected,
// not skipped). Counters are updated when transfers are posted.
//
//   op          messages_sent        bytes_sent                 bytes_received
//   send_recv   #sends               sum of send bytes          sum of recv bytes
//   all_to_all  P-1                  sum_{j!=r} send_bytes[j]   sum_{i!=r} recv_bytes[i]
//   all_reduce  2(P-1)               E(2n - c(r+1) - c(r+2))    E(2n - c(r) - c(r+1))
//   all_gather  P-1                  (P-1)B                     (P-1)B
//   broadcast   root: P-1, else 0    root: (P-1)B, else 0       root: 0, else B
//   barrier     ceil(log2 P)         0                          0
//
// where c(k) = floor(n/P) + (k mod P < n mod P ? 1 : 0) is the element count
// of ring chunk k mod P (chunks are consecutive, larger ones first). With P
// dividing n, all_reduce sends and receives 2(P-1)/P·n·E. With P = 1 every
// op counts its call and no traffic. Each API call adds 1 to its op's calls.
//
// Algorithms: all_to_all posts every pairwise transfer at once (receive from
// r-s, send to r+s, s = 1..P-1) and copies its own segment locally;
// all_reduce is a ring reduce-scatter then ring all-gather over the P chunks,
// so each chunk is reduced by one rank in a fixed order and copied to the
// rest (bitwise identical everywhere); all_gather is a ring; broadcast sends
// from the root to each rank; barrier is a dissemination barrier (round k
// sends to r+2^k and receives from r-2^k).
//
// Errors: a call fails with DeadlineExceeded (a peer sent or took nothing
// within options().timeout of the call's start), Unavailable (a peer is
// lost), FailedPrecondition (a peer issued another op or size) or
// InvalidArgument (bad arguments on this rank); the message names the op,
// the group and the peer's group and world rank. The first error breaks the
// communicator (see communicator.h) and is handed to Transport::Abort.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/comm/communicator.h"
#include "common/comm/memory.h"
#include "common/comm/transport.h"

namespace spindle::comm {

class P2PCommunicator final : public Communicator {
 public:
  // options.world_ranks must be empty or hold transport->size() entries.
  // `memory` (outliving this) holds the caller's buffers: own-segment copies
  // go through it, and an all-reduce of non-host data is staged on the host.
  P2PCommunicator(std::unique_ptr<Transport> transport, CommOptions options,
                  const Memory& memory = HostMemory());
  ~P2PCommunicator() override;

  int rank() const override { return transport_->rank(); }
  int size() const override { return transport_->size(); }
  const CommOptions& options() const override { return options_; }
  const CommCounters& counters() const override { return counters_; }
  int64_t sequence() const override { return entered_.load(std::memory_order_relaxed); }

  absl::StatusOr<std::unique_ptr<PendingBatch>> StartSendRecv(absl::Span<const P2POp> ops) override;
  absl::Status AllToAll(const void* send, absl::Span<const int64_t> send_bytes, void* recv,
                        absl::Span<const int64_t> recv_bytes) override;
  absl::Status AllReduce(void* data, int64_t count, DType dtype, ReduceOp op) override;
  absl::Status AllGather(const void* send, int64_t bytes, void* recv) override;
  absl::Status Broadcast(void* data, int64_t bytes, int root) override;
  absl::Status Barrier() override;

 private:
  std::atomic<int64_t> entered_{0};  // sequence()
  class Batch;
  struct Posted {
    int peer;
    bool is_send;
    std::unique_ptr<PendingTransfer> transfer;
  };

  // State of one API call: its tag and deadline, and the transfers it posted
  // but has not yet waited for.
  struct Call {
    Op op;
    uint64_t seq;
    Deadline deadline;
    std::vector<Posted> posted;
  };

  // Counts the call and returns its state, or the sticky error.
  absl::StatusOr<Call> Begin(Op op);
  void PostSend(Call& call, int peer, int64_t index, const void* data, int64_t bytes);
  void PostRecv(Call& call, int peer, int64_t index, void* data, int64_t bytes);
  // Waits for every posted transfer in posting order and clears the list.
  absl::Status WaitAll(Call& call);
  // Records the first error (breaking the communicator), aborts the
  // transport and cancels the call's pending transfers.
  absl::Status Fail(Call* call, absl::Status error);
  absl::Status InvalidArgument(Call& call, const std::string& what);
  absl::Status TransferError(const Call& call, const Posted& posted, const absl::Status& s) const;

  absl::Status AllReduceRing(Call& call, char* data, int64_t count, DType dtype, ReduceOp op);

  // Copies within this rank's buffers, through memory_.
  absl::Status LocalCopy(Call& call, void* dst, const void* src, int64_t bytes);

  std::unique_ptr<Transport> transport_;
  CommOptions options_;
  const Memory& memory_;
  CommCounters counters_;
  uint64_t next_seq_ = 0;
  absl::Status broken_;   // first error; OK while usable
  int open_batches_ = 0;  // batches not yet destroyed; must be 0 at destruction
};

}  // namespace spindle::comm
