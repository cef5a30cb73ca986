// The sequence-parallel layout copies (kernels/layout_copy.h) on device
// memory: each call builds the shared descriptor and launches it, asynchronous
// on `stream` (a cudaStream_t; nullptr: the default stream). InvalidArgument
// for a bad shape or view, Internal for a launch error.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "kernels/layout_copy.h"

namespace spindle::kernels::cuda {

absl::Status UlyssesPackHeads(const UlyssesShape& u, BshdView<const void> in, void* send,
                              void* stream);
absl::Status UlyssesUnpackTokens(const UlyssesShape& u, const void* recv, BshdView<void> out,
                                 void* stream);
absl::Status UlyssesPackTokens(const UlyssesShape& u, BshdView<const void> in, void* send,
                               void* stream);
absl::Status UlyssesUnpackHeads(const UlyssesShape& u, const void* recv, BshdView<void> out,
                                void* stream);

// index is a device array.
absl::Status GatherRows(const GatherShape& g, BshdView<const void> in, const int64_t* index,
                        BshdView<void> out, void* stream);

// Any descriptor, e.g. one built by the torch adapter.
absl::Status Copy3d(const Copy3dArgs& args, void* stream);

}  // namespace spindle::kernels::cuda
