// Element-wise reduction of one buffer into another, the arithmetic step of
// the ring all-reduce. Plain loops; the order of combination is the caller's.
#pragma once

#include <cstdint>

#include "common/comm/communicator.h"

namespace spindle::comm {

// acc[i] = op(acc[i], in[i]) for i < count. For floats, max/min keep acc[i]
// when the comparison is false, so a NaN in `in` is dropped and a NaN in
// `acc` is kept; sums follow IEEE addition.
void ReduceInto(void* acc, const void* in, int64_t count, DType dtype, ReduceOp op);

}  // namespace spindle::comm
