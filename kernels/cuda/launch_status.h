// The host side of every launcher in kernels/cuda: a launch's cudaError_t,
// passed across the nvcc boundary as an int, as a Status naming the kernel.
#pragma once

#include "absl/status/status.h"

namespace spindle::kernels::cuda {

// OK for 0 (cudaSuccess); otherwise Internal "<what> launch: <CUDA's message>".
absl::Status LaunchStatus(int err, const char* what);

}  // namespace spindle::kernels::cuda
