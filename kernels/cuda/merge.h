// CUDA log-sum-exp merge: the same MergeProblem and conventions as the CPU
// MergeAttention (kernels/attention.h), on device pointers, asynchronous on
// the given stream. Compiled only when nvcc is found.
#pragma once

#include "absl/status/status.h"
#include "kernels/attention.h"

namespace spindle::kernels::cuda {

// stream is a cudaStream_t (nullptr: the default stream). Returns
// InvalidArgument for a malformed problem and Internal for a launch error.
absl::Status MergeAttention(const MergeProblem& m, void* stream);

}  // namespace spindle::kernels::cuda
