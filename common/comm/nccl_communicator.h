// The NCCL backend: the same Communicator interface as Gloo, on device
// memory, for one process per GPU. Compiled when CUDA and NCCL are found.
//
// Streams: every transfer runs on the communicator's own stream. A call first
// makes that stream wait for the work queued so far on the compute stream
// (the producer of what is sent), and a completed batch makes the compute
// stream wait for the transfer (the consumer of what arrived), with events in
// both directions. StartSendRecv therefore returns at once and a ring step's
// transfer overlaps the block computed meanwhile.
//
// Buffers: device memory, or host memory for small control values (a loss,
// a flag; up to 64 KiB), which go through a pinned and a device staging
// buffer allocated with the communicator. StartAllReduce takes device memory.
//
// No hangs: the communicator is non-blocking (NCCL's config.blocking = 0).
// Every wait polls the completion event and NCCL's asynchronous error until
// the options' timeout; past it the communicator is aborted (ncclCommAbort
// frees the peers' pending operations too) and the call returns
// DeadlineExceeded naming the group and the peers involved. After any error
// the communicator is broken, as every backend's is.
#pragma once

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "common/comm/communicator.h"
#include "gloo/rendezvous/store.h"

namespace spindle::comm {

struct NcclOptions {
  int device = 0;  // CUDA device of this rank
  // The stream the caller computes on (a cudaStream_t); called on each
  // operation. Empty: the legacy default stream, which is also libtorch's
  // current stream unless the caller changed it.
  std::function<void*()> compute_stream;
};

// Forms the group of `size` ranks as `rank`: rank 0 draws NCCL's unique id
// and publishes it in `store` under "<group>/nccl_id"; the others wait for it
// up to options.timeout (DeadlineExceeded naming the group otherwise). Then
// initialises the communicator, polling it against the same timeout.
absl::StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(
    gloo::rendezvous::Store& store, int rank, int size, const CommOptions& options,
    const NcclOptions& nccl_options = {});

// NCCL's version as "2.28.9", from the library actually loaded.
std::string NcclVersion();

}  // namespace spindle::comm
