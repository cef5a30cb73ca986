// Launch boundary of the data-movement kernels behind the sequence layouts
// (zigzag/striped permutes, Ulysses pack/unpack): plain arguments only.
// Descriptors from kernels/copy_args.h. Every copy moves whole "inner" runs
// of contiguous bytes (a token's heads), with 16-, 8-, 4- or 2-byte
// accesses, the widest that every address allows.
#pragma once

#include "kernels/copy_args.h"

namespace spindle::kernels::cuda {

// Return a cudaError_t as int (0 = success); asynchronous on stream.
int LaunchCopy3d(const Copy3dArgs& args, void* stream);
int LaunchGatherRows(const GatherRowsArgs& args, void* stream);

}  // namespace spindle::kernels::cuda
