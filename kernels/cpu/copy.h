// The layout copies' descriptors (kernels/copy_args.h) walked on host memory:
// the CPU backend of the Ulysses pack/unpack, and the check in tests that a
// descriptor built for the GPU moves what it claims.
#pragma once

#include <cstdint>

#include "kernels/copy_args.h"

namespace spindle::kernels::cpu {

// The outer (i0, i1) pairs [begin, end) of n[0]·n[1], i0-major, each with its
// n[2] runs, so a caller can split one copy across threads. Runs are
// memcpy'd: source and destination must not overlap.
void Copy3dOuter(const Copy3dArgs& args, int64_t begin, int64_t end);

inline void Copy3d(const Copy3dArgs& args) { Copy3dOuter(args, 0, args.n[0] * args.n[1]); }

}  // namespace spindle::kernels::cpu
