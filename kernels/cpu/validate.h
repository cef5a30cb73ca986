// Argument checks shared by the CPU entry points. Each returns
// InvalidArgument naming the offending field, e.g.
// "AttentionProblem.h_kv: 3 does not divide h = 8".
#pragma once

#include "absl/status/status.h"
#include "kernels/attention.h"

namespace spindle::kernels::cpu {

// Sizes, scale, valid_len, q/k/v pointers and strides, positions (>= 0).
absl::Status ValidateProblem(const AttentionProblem& p);
absl::Status ValidateForwardOut(const AttentionProblem& p, const AttentionForwardOut& out);
absl::Status ValidateBackward(const AttentionProblem& p, const AttentionBackwardIn& in,
                              const AttentionBackwardOut& out);
absl::Status ValidateMerge(const MergeProblem& m);

}  // namespace spindle::kernels::cpu
