// Device memory for the in-process backend: virtual ranks, threads sharing
// one GPU, exchange device buffers through LocalFabric::Create(n,
// &CudaMemory()), so a sequence-parallel step's compute split can be
// measured on a single device (copies stand in for transfers).
//
// Ordering: every copy is queued on the legacy default stream, the stream
// libtorch runs on unless told otherwise. A rank's kernels queued before it
// posts a send therefore finish before the copy, and the copy before the
// receiver's later kernels, without host synchronisation. Copies to or from
// host memory are synchronous. Compiled when CUDA is found.
#pragma once

#include "common/comm/memory.h"

namespace spindle::comm {

const Memory& CudaMemory();

}  // namespace spindle::comm
