// The point-to-point transport under P2PCommunicator: post an asynchronous
// send or receive of bytes to one group peer, then wait for it with a
// deadline. Every collective is written once over this (p2p_communicator.h),
// so all backends share algorithms, byte counts and error messages.
//
// A transport only moves and matches messages; it formats no user-facing
// errors (the communicator names the op, group and peer) and keeps no order
// beyond the tags.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "common/comm/communicator.h"

namespace spindle::comm {

using Deadline = std::chrono::steady_clock::time_point;

// Identifies one message of one operation from a sender to a receiver. Both
// ends compute it independently; a send matches only the receive with the
// same tag AND byte count, so a rank that issued another op, or the same op
// with another size, never completes against its peer.
struct MessageTag {
  uint64_t seq = 0;  // the communicator's operation number, equal on all ranks
  Op op = Op::kSendRecv;
  int64_t index = 0;  // k-th message of this op from this sender to this receiver
};

// One posted send or receive. Destroying it before completion cancels it:
// afterwards the transport no longer touches its buffer (the connection it
// used may be left unusable; callers only cancel after an error).
class PendingTransfer {
 public:
  virtual ~PendingTransfer() = default;

  // Blocks until the transfer completed or `deadline` passed. Error codes:
  //   DeadlineExceeded: not complete by the deadline (message unused);
  //   Unavailable: the peer is lost; message says why ("it was killed", the
  //     socket error), phrased to follow "lost rank 3 (world rank 7): ";
  //   FailedPrecondition: the peer posted a mismatching message; message is
  //     phrased to follow "rank 3 (world rank 7) " ("sends 12 bytes where
  //     this rank expects 16");
  //   Aborted: this rank itself can no longer communicate (killed).
  // Once it returned OK, the data is in place (receive) or no longer read
  // (send).
  virtual absl::Status Wait(Deadline deadline) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  // `peer` is a group rank other than rank(); `data` must stay valid until
  // the transfer completed or was destroyed. A failure to post is reported
  // by the returned transfer's Wait().
  virtual std::unique_ptr<PendingTransfer> PostSend(int peer, const MessageTag& tag,
                                                    const void* data, int64_t bytes) = 0;
  virtual std::unique_ptr<PendingTransfer> PostRecv(int peer, const MessageTag& tag, void* data,
                                                    int64_t bytes) = 0;

  // Called once, with the communicator's first error, before it cancels its
  // pending transfers: peers waiting on this rank should fail fast (seeing it
  // as lost) rather than time out.
  virtual void Abort(const absl::Status& error) = 0;
};

}  // namespace spindle::comm
