// Where a communicator's buffers live and how its own copies touch them:
// the local segment of an all-to-all or all-gather, the in-process backend's
// rank-to-rank copies, and the host staging of an all-reduce. Host memory by
// default; virtual ranks sharing one GPU hand the in-process backend device
// memory (cuda_memory.h), so the same collectives run on device buffers.
#pragma once

#include <cstdint>

#include "absl/status/status.h"

namespace spindle::comm {

class Memory {
 public:
  virtual ~Memory() = default;

  // Copies `bytes` from src to dst, either of which may be host memory. On
  // return a host dst holds the bytes; a device dst holds them for any work
  // queued after the call in the order this memory's kind defines.
  virtual absl::Status Copy(void* dst, const void* src, int64_t bytes) const = 0;

  // Whether the CPU may read and write *p directly (reductions run there).
  virtual bool IsHost(const void* p) const = 0;

  virtual const char* name() const = 0;  // "host", "cuda", for errors
};

// memcpy on ordinary memory.
const Memory& HostMemory();

}  // namespace spindle::comm
